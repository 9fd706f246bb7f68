package ops

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// psi is a pressure file's content: some and full avg10 (and the
// interval's stall share).
func psi(someAvg10, fullAvg10 float64) hoststat.PressureResource {
	return hoststat.PressureResource{Readable: true, HasFull: true,
		Some: hoststat.PressureLine{Avg10: someAvg10, Avg60: someAvg10 / 2, StallPct: someAvg10},
		Full: hoststat.PressureLine{Avg10: fullAvg10, StallPct: fullAvg10}}
}

func TestHostPressureMemory(t *testing.T) {
	tests := []struct {
		name      string
		some      func(sec int) float64
		full      float64
		secs      int
		fires     bool
		sev       detect.Severity
		fireAtSec int
	}{
		{"25% for 30 s", func(int) float64 { return 25 }, 2, 30, true, detect.SevMedium, 30},
		{"at the level for 30 s", func(int) float64 { return 20 }, 0, 30, true, detect.SevMedium, 30},
		{"just below for 2 min", func(int) float64 { return 19.9 }, 0, 120, false, 0, 0},
		{"25% for 29 s", func(int) float64 { return 25 }, 0, 29, false, 0, 0},
		{"interrupted at 15 s", func(sec int) float64 {
			if sec == 15 {
				return 5
			}
			return 40
		}, 0, 40, false, 0, 0},
		{"every task stalled: severity 1", func(int) float64 { return 80 }, 65, 30, true, detect.SevHigh, 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(Config{})
			for i := 0; i <= tc.secs; i++ {
				s := hostSnap(i)
				s.Pressure = &hoststat.Pressure{Memory: psi(tc.some(i), tc.full)}
				// java grows 10 MiB a second while the stall lasts.
				s.Processes[2].RSS = uint64(400+10*i) << 20
				r.observe(s)
			}
			got := r.rule("host.pressure")
			if (len(got) == 1) != tc.fires || len(got) > 1 {
				t.Fatalf("%d host.pressure alerts, want fires=%v", len(got), tc.fires)
			}
			if !tc.fires {
				return
			}
			a := got[0]
			mustJSON(t, a)
			if a.Severity != tc.sev || !a.TS.Equal(hostT0.Add(time.Duration(tc.fireAtSec)*time.Second)) {
				t.Errorf("severity %v at %v", a.Severity, a.TS.Sub(hostT0))
			}
			if !strings.Contains(a.Signature, "memory pressure") || !strings.Contains(a.Signature, "grew most: java (pid 12) +300.0 MiB") {
				t.Errorf("signature %q does not name java's growth since the stall began", a.Signature)
			}
			g := a.Evidence["grew_processes"].([]map[string]any)
			if len(g) != 1 || g[0]["pid"] != int32(12) || g[0]["grew_bytes"] != uint64(300<<20) {
				t.Errorf("grew_processes = %v, want java alone (+300 MiB)", g)
			}
			if a.PID != 12 || a.Evidence["resource"] != "memory" || a.Evidence["measure"] != "avg10" {
				t.Errorf("pid %d evidence %v", a.PID, a.Evidence)
			}
		})
	}
}

// TestHostPressureNewProcess: a process born during the stall grew by all
// of its memory.
func TestHostPressureNewProcess(t *testing.T) {
	r := newHostRun(Config{})
	for i := 0; i <= 30; i++ {
		s := hostSnap(i)
		s.Pressure = &hoststat.Pressure{Memory: psi(30, 0)}
		if i >= 5 {
			s.Processes = append(s.Processes, hoststat.Process{PID: 99, Name: "leaky", Unit: "leaky.service", RSS: 700 << 20})
		}
		r.observe(s)
	}
	got := r.rule("host.pressure")
	if len(got) != 1 || got[0].PID != 99 {
		t.Fatalf("alerts %v, want one naming leaky", got)
	}
	g := got[0].Evidence["grew_processes"].([]map[string]any)
	if g[0]["unit"] != "leaky.service" || g[0]["grew_bytes"] != uint64(700<<20) {
		t.Errorf("grew_processes[0] = %v", g[0])
	}
}

func TestHostPressureIO(t *testing.T) {
	r := newHostRun(Config{})
	for i := 0; i <= 40; i++ {
		s := hostSnap(i)
		s.Pressure = &hoststat.Pressure{Memory: psi(1, 0), IO: psi(55, 10)}
		s.Processes[3].ReadBytesPerS, s.Processes[3].IOReadable = 80<<20, true // gzip reads 80 MiB/s
		s.Processes[1].WriteBytesPerS, s.Processes[1].IOReadable = 5<<20, true
		s.Disks = []hoststat.DiskIO{{Name: "vda", BusyPct: 99, ReadBytesPerS: 85 << 20}}
		r.observe(s)
	}
	got := r.rule("host.pressure")
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1", len(got))
	}
	a := got[0]
	mustJSON(t, a)
	if !strings.Contains(a.Signature, "I/O pressure: tasks stalled 55% of the time for 30s (all tasks 10%); top I/O: gzip (pid 13) 80.0 MiB/s, stress (pid 11) 5.0 MiB/s") {
		t.Errorf("signature %q", a.Signature)
	}
	if a.Evidence["io_unreadable_processes"] != 2 || a.PID != 13 || a.Severity != detect.SevMedium {
		t.Errorf("evidence %v pid %d sev %v", a.Evidence, a.PID, a.Severity)
	}
}

// TestHostPressureLongInterval: with samples 15 s apart the interval's own
// stall share is the measure (avg10 would see only its last 10 s).
func TestHostPressureLongInterval(t *testing.T) {
	r := newHostRun(Config{})
	for i := 0; i <= 3; i++ {
		s := hostSnap(15 * i)
		s.IntervalS = 15
		m := psi(0, 0) // the last 10 s were calm
		m.Some.StallPct = 35
		s.Pressure = &hoststat.Pressure{Memory: m}
		r.observe(s)
	}
	got := r.rule("host.pressure")
	if len(got) != 1 || got[0].Evidence["measure"] != "interval" || !got[0].TS.Equal(hostT0.Add(30*time.Second)) {
		t.Fatalf("alerts %v, want one at 30 s measured over the interval", got)
	}
}

// TestHostPressureHostile: corrupt samples neither fire nor break the EVE
// encoder; an unreadable or absent file is no pressure.
func TestHostPressureHostile(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *hoststat.Pressure
	}{
		{"no PSI", nil},
		{"unreadable", &hoststat.Pressure{Memory: hoststat.PressureResource{Some: hoststat.PressureLine{Avg10: 99}}}},
		{"NaN", &hoststat.Pressure{Memory: psi(math.NaN(), math.NaN()), IO: psi(math.NaN(), 0)}},
		{"+Inf", &hoststat.Pressure{Memory: psi(math.Inf(1), math.Inf(1)), IO: psi(math.Inf(1), 0)}},
		{"negative", &hoststat.Pressure{Memory: psi(-50, -1), IO: psi(-50, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(Config{})
			for i := 0; i <= 60; i++ {
				s := hostSnap(i)
				s.Pressure = tc.p
				r.observe(s)
			}
			if got := r.rule("host.pressure"); len(got) != 0 {
				t.Errorf("raised %q", got[0].Signature)
			}
		})
	}
	// Above the level with NaN and Inf everywhere else: fires, encodes.
	r := newHostRun(Config{})
	for i := 0; i <= 30; i++ {
		s := hostSnap(i)
		p := psi(90, math.NaN())
		p.Some.Avg60 = math.Inf(-1)
		s.Pressure = &hoststat.Pressure{Memory: p, IO: p}
		s.Memory.SwapInPerS = math.NaN()
		s.CPU.Total.IOWait = math.Inf(1)
		s.Processes[3].ReadBytesPerS = math.Inf(1)
		s.Processes[2].WriteBytesPerS = 1 << 20
		s.Disks = []hoststat.DiskIO{{Name: "x", BusyPct: math.NaN()}}
		r.observe(s)
	}
	got := r.rule("host.pressure")
	if len(got) != 2 {
		t.Fatalf("%d alerts, want memory and io", len(got))
	}
	for _, a := range got {
		mustJSON(t, a)
	}
}

// TestHostPressureSwapRates: the memory stall's evidence carries the swap
// rates in pages/s as sampled (they are rates, not shares: never clamped
// to 100; the copy before the package move clamped them), and a corrupt
// rate as 0.
func TestHostPressureSwapRates(t *testing.T) {
	r := newHostRun(Config{})
	for i := 0; i <= 30; i++ {
		s := hostSnap(i)
		s.Pressure = &hoststat.Pressure{Memory: psi(40, 0)}
		s.Memory.SwapInPerS, s.Memory.SwapOutPerS = 172.54, math.Inf(1)
		r.observe(s)
	}
	got := r.rule("host.pressure")
	if len(got) != 1 || got[0].Evidence["swap_in_per_s"] != 172.5 || got[0].Evidence["swap_out_per_s"] != 0.0 {
		t.Fatalf("alerts %v, want one with swap_in_per_s 172.5 and swap_out_per_s 0", got)
	}
}
