package ops

import (
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

func TestHostMemoryAvailable(t *testing.T) {
	tests := []struct {
		name     string
		availMiB uint64 // of 1000 MiB
		secs     int
		fires    bool
	}{
		{"exactly 10% available", 100, 60, false},
		{"just under 10% for 30 s", 99, 30, true},
		{"just under 10% for 29 s", 99, 29, false},
		{"2% for 30 s", 20, 30, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(Config{})
			for i := 0; i <= tc.secs; i++ {
				s := hostSnap(i)
				s.Memory.Available = tc.availMiB << 20
				r.observe(s)
			}
			got := r.rule("host.memory")
			if (len(got) == 1) != tc.fires || len(got) > 1 {
				t.Fatalf("%d host.memory alerts, want fires=%v", len(got), tc.fires)
			}
			if tc.fires && (!strings.Contains(got[0].Signature, "largest: java (pid 12)") || got[0].PID != 12) {
				t.Errorf("signature %q / pid %d should name the largest process", got[0].Signature, got[0].PID)
			}
		})
	}
}

func TestHostMemorySwap(t *testing.T) {
	for _, tc := range []struct {
		in, out float64
		fires   bool
	}{{250, 250, false}, {250, 251, true}, {0, 5000, true}} {
		r := newHostRun(Config{})
		for i := 0; i <= 30; i++ {
			s := hostSnap(i)
			s.Memory.SwapInPerS, s.Memory.SwapOutPerS = tc.in, tc.out
			r.observe(s)
		}
		got := r.rule("host.memory")
		if (len(got) == 1) != tc.fires {
			t.Errorf("swap %v+%v pages/s: %d alerts, want fires=%v", tc.in, tc.out, len(got), tc.fires)
		}
		if tc.fires && got[0].Evidence["swap_out_per_s"] != tc.out {
			t.Errorf("evidence = %v", got[0].Evidence)
		}
	}
}

func TestHostMemoryOOM(t *testing.T) {
	r := newHostRun(Config{})
	r.observe(hostSnap(0))
	s := hostSnap(1)
	s.Memory.OOMKills, s.Memory.OOMKillsNew = 3, 1
	s.Memory.OOMVictims = []hoststat.OOMVictim{{PID: 4321, Name: "stress-ng-vm"}}
	got := r.observe(s)
	if len(got) != 1 || got[0].Severity != detect.SevHigh || got[0].PID != 4321 || !strings.Contains(got[0].Signature, "stress-ng-vm (pid 4321)") {
		t.Fatalf("OOM alert = %+v", got)
	}
	// A second kill in the window: an Update, and the log is unreadable now.
	s = hostSnap(5)
	s.Memory.OOMKills, s.Memory.OOMKillsNew = 4, 1
	s.Memory.OOMLogError = "kernel log not readable (permission denied)"
	got = r.observe(s)
	if len(got) != 1 || !got[0].Update || got[0].Suppressed != 1 || !strings.Contains(got[0].Signature, "unknown process (kernel log not readable") {
		t.Fatalf("second OOM = %+v", got)
	}
	if got[0].Evidence["victims_unknown"] == nil {
		t.Error("evidence does not say why the victim is unknown")
	}
	// No new kill: nothing.
	if got := r.observe(hostSnap(6)); len(got) != 0 {
		t.Errorf("no new kill raised %d alerts", len(got))
	}
}
