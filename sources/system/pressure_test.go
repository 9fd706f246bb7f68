package system

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

func TestParsePressure(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  string
		some10   float64
		someTot  uint64
		full60   float64
		hasFull  bool
	}{
		{name: "memory", in: "some avg10=1.50 avg60=0.75 avg300=0.10 total=123456\nfull avg10=0.50 avg60=0.25 avg300=0.00 total=6543\n",
			some10: 1.5, someTot: 123456, full60: 0.25, hasFull: true},
		{name: "cpu before 5.13", in: "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", someTot: 7},
		{name: "unknown key skipped", in: "some avg10=2 avg60=0 avg300=0 total=1 avg3600=9\n", some10: 2, someTot: 1},
		{name: "no trailing newline", in: "some avg10=3.00 avg60=0 avg300=0 total=5", some10: 3, someTot: 5},
		{name: "empty", in: "", wantErr: "no some line"},
		{name: "full only", in: "full avg10=0 avg60=0 avg300=0 total=0\n", wantErr: "no some line"},
		{name: "truncated", in: "some avg10=0.00 avg60=0.00\n", wantErr: "too few fields"},
		{name: "nan", in: "some avg10=NaN avg60=0 avg300=0 total=0\n", wantErr: "not a percentage"},
		{name: "over 100", in: "some avg10=100.01 avg60=0 avg300=0 total=0\n", wantErr: "not a percentage"},
		{name: "negative", in: "some avg10=-1 avg60=0 avg300=0 total=0\n", wantErr: "not a percentage"},
		{name: "total overflow", in: "some avg10=0 avg60=0 avg300=0 total=18446744073709551616\n", wantErr: "total"},
		{name: "no equals", in: "some avg10 avg60=0 avg300=0 total=0\n", wantErr: "not key=value"},
		{name: "other line", in: "\x1b[2Jsome avg10=0 avg60=0 avg300=0 total=0\n", wantErr: "neither some nor full"},
		{name: "two some", in: "some avg10=0 avg60=0 avg300=0 total=0\nsome avg10=0 avg60=0 avg300=0 total=0\n", wantErr: "two some"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parsePressure([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Some.Avg10 != tt.some10 || r.Some.TotalUs != tt.someTot || r.Full.Avg60 != tt.full60 || r.HasFull != tt.hasFull {
				t.Errorf("got %+v", r)
			}
		})
	}
}

// TestParsePressureReal parses the files captured from a Linux 5.x/6.x host.
func TestParsePressureReal(t *testing.T) {
	for _, f := range []string{"pressure_cpu", "pressure_memory", "pressure_io"} {
		b, err := os.ReadFile("testdata/real/" + f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parsePressure(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !r.HasFull {
			t.Errorf("%s: no full line", f)
		}
	}
}

// TestSamplePressure samples the fixture root twice and checks that the
// interval's stall share comes from the totals.
func TestSamplePressure(t *testing.T) {
	s := &Sampler{ProcRoot: "testdata/proc"}
	s.setup()
	var snap1, snap2 = newSnap(), newSnap()
	if err := s.samplePressure(snap1, 0); err != nil {
		t.Fatal(err)
	}
	if snap1.Pressure == nil || !snap1.Pressure.CPU.Readable || snap1.Pressure.CPU.Some.StallPct != 0 {
		t.Fatalf("first sample: %+v", snap1.Pressure)
	}
	// Pretend the previous totals were 0.5 s of stall lower over 2 s.
	s.prevPSI.IO.Some.TotalUs -= 500000
	if err := s.samplePressure(snap2, 2); err != nil {
		t.Fatal(err)
	}
	if got := snap2.Pressure.IO.Some.StallPct; got != 25 {
		t.Errorf("io some stall = %v%%, want 25%%", got)
	}
	if got := snap2.Pressure.CPU.Some.StallPct; got != 0 {
		t.Errorf("cpu some stall = %v%%, want 0 (total unchanged)", got)
	}
}

// TestSamplePressureHostile: an old kernel's cpu file (no full line), a
// memory file with NaN and no io file. What can be read is kept and each
// failure is named.
func TestSamplePressureHostile(t *testing.T) {
	s := &Sampler{ProcRoot: "testdata/psi_hostile"}
	s.setup()
	snap := newSnap()
	err := s.samplePressure(snap, 1)
	if err == nil || !strings.Contains(err.Error(), "memory") || !strings.Contains(err.Error(), "CONFIG_PSI") {
		t.Errorf("err = %v, want the memory parse failure and io missing", err)
	}
	p := snap.Pressure
	if p == nil || !p.CPU.Readable || p.CPU.HasFull || p.CPU.Some.TotalUs != 1234 || p.Memory.Readable || p.IO.Readable {
		t.Errorf("pressure = %+v", p)
	}
	// No pressure directory at all: no Pressure, and a clear error.
	s = &Sampler{ProcRoot: "testdata/nosuchproc"}
	s.setup()
	snap = newSnap()
	if err := s.samplePressure(snap, 1); err == nil || !strings.Contains(err.Error(), "without pressure stall information") {
		t.Errorf("err = %v", err)
	}
	if snap.Pressure != nil {
		t.Errorf("pressure without files: %+v", snap.Pressure)
	}
}

// TestSamplePressureLive reads this machine's pressure files when it has them.
func TestSamplePressureLive(t *testing.T) {
	if _, err := os.Stat("/proc/pressure/cpu"); err != nil {
		t.Skipf("this kernel has no /proc/pressure: %v", err)
	}
	snap, err := New().Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Pressure == nil || !snap.Pressure.CPU.Readable {
		t.Errorf("pressure = %+v, errors %v", snap.Pressure, snap.Errors)
	}
}

func FuzzParsePressure(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parsePressure(b)
		if err != nil {
			return
		}
		for _, l := range []float64{r.Some.Avg10, r.Some.Avg60, r.Some.Avg300, r.Full.Avg10, r.Full.Avg60, r.Full.Avg300} {
			if !(l >= 0 && l <= 100) {
				t.Fatalf("average %v outside [0, 100] without error", l)
			}
		}
	})
}

func newSnap() *hoststat.Snapshot { return &hoststat.Snapshot{} }
