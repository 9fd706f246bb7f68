package detect

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// psi is a pressure file's content: some and full avg10 (and the
// interval's stall share).
func psi(someAvg10, fullAvg10 float64) hoststat.PressureResource {
	return hoststat.PressureResource{Readable: true, HasFull: true,
		Some: hoststat.PressureLine{Avg10: someAvg10, Avg60: someAvg10 / 2, StallPct: someAvg10},
		Full: hoststat.PressureLine{Avg10: fullAvg10, StallPct: fullAvg10}}
}

// mustJSON fails when evidence would not encode (NaN, Inf).
func mustJSON(t *testing.T, a *Alert) {
	t.Helper()
	if _, err := json.Marshal(a.Evidence); err != nil {
		t.Errorf("evidence of %q does not encode: %v", a.Signature, err)
	}
}

func TestHostPressureMemory(t *testing.T) {
	tests := []struct {
		name      string
		some      func(sec int) float64
		full      float64
		secs      int
		fires     bool
		sev       Severity
		fireAtSec int
	}{
		{"25% for 30 s", func(int) float64 { return 25 }, 2, 30, true, SevMedium, 30},
		{"at the level for 30 s", func(int) float64 { return 20 }, 0, 30, true, SevMedium, 30},
		{"just below for 2 min", func(int) float64 { return 19.9 }, 0, 120, false, 0, 0},
		{"25% for 29 s", func(int) float64 { return 25 }, 0, 29, false, 0, 0},
		{"interrupted at 15 s", func(sec int) float64 {
			if sec == 15 {
				return 5
			}
			return 40
		}, 0, 40, false, 0, 0},
		{"every task stalled: severity 1", func(int) float64 { return 80 }, 65, 30, true, SevHigh, 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(HostConfig{})
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
	r := newHostRun(HostConfig{})
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
	r := newHostRun(HostConfig{})
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
	if a.Evidence["io_unreadable_processes"] != 2 || a.PID != 13 || a.Severity != SevMedium {
		t.Errorf("evidence %v pid %d sev %v", a.Evidence, a.PID, a.Severity)
	}
}

// TestHostPressureLongInterval: with samples 15 s apart the interval's own
// stall share is the measure (avg10 would see only its last 10 s).
func TestHostPressureLongInterval(t *testing.T) {
	r := newHostRun(HostConfig{})
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
			r := newHostRun(HostConfig{})
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
	r := newHostRun(HostConfig{})
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

// restartSnap is a host at t0+sec with the given extra processes.
func restartSnap(sec int, extra ...hoststat.Process) *hoststat.Snapshot {
	s := hostSnap(sec)
	s.Processes = append([]hoststat.Process{
		{PID: 1, Name: "systemd", Unit: "init.scope"},
		{PID: 2, Name: "kthreadd", Kernel: true},
		{PID: 50, PPID: 1, Name: "bash", Unit: "session-3.scope"},
		{PID: 70, PPID: 1, Name: "supervisord", Unit: ""},
		{PID: 100, PPID: 1, Name: "nginx", Unit: "nginx.service"},
	}, extra...)
	return s
}

func TestHostRestart(t *testing.T) {
	const every = 2 // seconds between process samples
	tests := []struct {
		name   string
		procs  func(sec int) []hoststat.Process
		secs   int
		alerts int
		key    string
	}{
		{"unit crashing every 10 s", func(sec int) []hoststat.Process {
			gen := int32(sec / 10)
			return []hoststat.Process{{PID: 1000 + gen, PPID: 1, Name: "crashy", Unit: "crashy.service", Cmdline: "/usr/bin/crashy --serve"}}
		}, 60, 1, "unit crashy.service"},
		{"nginx workers recycled under a living master", func(sec int) []hoststat.Process {
			return []hoststat.Process{{PID: 200 + int32(sec), PPID: 100, Name: "nginx", Unit: "nginx.service"}}
		}, 600, 0, ""},
		{"timer job every minute", func(sec int) []hoststat.Process {
			if sec%60 > 1 {
				return nil
			}
			return []hoststat.Process{{PID: 3000 + int32(sec), PPID: 1, Name: "job", Unit: "job.service"}}
		}, 900, 0, ""},
		{"a shell running sleep in a loop", func(sec int) []hoststat.Process {
			return []hoststat.Process{{PID: 4000 + int32(sec), PPID: 50, Name: "sleep", Unit: ""}}
		}, 300, 0, ""},
		{"supervised worker dying every 4 s", func(sec int) []hoststat.Process {
			return []hoststat.Process{{PID: 5000 + int32(sec/4), PPID: 70, Name: "worker"}}
		}, 30, 1, "process worker (parent pid 70)"},
		{"restarted by hand four times", func(sec int) []hoststat.Process {
			return []hoststat.Process{{PID: 6000 + int32(min(sec/60, 4)), PPID: 1, Name: "app", Unit: "app.service"}}
		}, 600, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(HostConfig{})
			for sec := 0; sec <= tc.secs; sec += every {
				s := restartSnap(sec, tc.procs(sec)...)
				s.IntervalS = every
				r.observe(s)
			}
			got := r.rule("host.restart")
			if len(got) != tc.alerts {
				for _, a := range got {
					t.Logf("%v %s", a.TS.Sub(hostT0), a.Signature)
				}
				t.Fatalf("%d host.restart alerts, want %d", len(got), tc.alerts)
			}
			if tc.alerts == 0 {
				return
			}
			a := got[0]
			mustJSON(t, a)
			if !strings.HasPrefix(a.Signature, tc.key+" restarted 5 times") || a.Evidence["restarts"] != 5 {
				t.Errorf("signature %q evidence %v", a.Signature, a.Evidence)
			}
			if pids := a.Evidence["pids"].([]int32); len(pids) != 5 || pids[4] != a.PID {
				t.Errorf("pids %v, alert pid %d", pids, a.PID)
			}
		})
	}
}

// TestHostRestartFolding: a loop that goes on is one alert and an update
// when its count doubles, not one per restart.
func TestHostRestartFolding(t *testing.T) {
	r := newHostRun(HostConfig{})
	for sec := 0; sec <= 300; sec += 2 {
		s := restartSnap(sec, hoststat.Process{PID: 1000 + int32(sec/10), PPID: 1, Name: "crashy", Unit: "crashy.service"})
		s.IntervalS = 2
		r.observe(s)
	}
	got := r.rule("host.restart")
	if len(got) != 3 || got[0].Update || !got[1].Update || !got[2].Update {
		for _, a := range got {
			t.Logf("%v update=%v %s", a.TS.Sub(hostT0), a.Update, a.Signature)
		}
		t.Fatalf("%d alerts, want the first and updates at 10 and 20 restarts", len(got))
	}
	if got[1].Evidence["restarts"] != 10 || got[2].Evidence["restarts"] != 20 {
		t.Errorf("updates at %v and %v restarts", got[1].Evidence["restarts"], got[2].Evidence["restarts"])
	}
}

// TestHostRestartUntrusted: a repeated or failed process list is not
// compared (it would look like every unit replaced), and the table of
// followed units is bounded.
func TestHostRestartUntrusted(t *testing.T) {
	r := newHostRun(HostConfig{})
	for sec := 0; sec <= 600; sec += 2 {
		// nginx's master (pid 100) lives on while its worker is recycled
		// every sample; lists that missed the master must not count.
		worker := hoststat.Process{PID: 200 + int32(sec), PPID: 100, Name: "nginx", Unit: "nginx.service"}
		s := restartSnap(sec, worker)
		partial := []hoststat.Process{s.Processes[0], worker}
		switch sec % 8 {
		case 2:
			s.ProcessesRepeated, s.Processes = true, partial
		case 4:
			s.Errors, s.Processes = map[string]string{"processes": "read /proc/100/stat: no such process"}, partial
		case 6:
			s.Processes = nil
		}
		r.observe(s)
	}
	if got := r.rule("host.restart"); len(got) != 0 {
		t.Errorf("raised %q from untrusted lists", got[0].Signature)
	}

	r = newHostRun(HostConfig{})
	var many []hoststat.Process
	for i := range hostRestartMaxTracks + 100 {
		many = append(many, hoststat.Process{PID: int32(10000 + i), PPID: 1, Name: "x", Unit: fmt.Sprintf("u%d.service", i)})
	}
	r.observe(restartSnap(0, many...))
	if n := len(r.h.restart.tracks); n != hostRestartMaxTracks {
		t.Errorf("%d units followed, want the bound %d", n, hostRestartMaxTracks)
	}
	if r.h.restart.dropped == 0 {
		t.Error("units beyond the bound not counted")
	}
}

func TestHostClock(t *testing.T) {
	tests := []struct {
		name     string
		steps    []float64 // ClockStepS of samples 1..n (sample 0 is the first)
		alerts   int
		sev      Severity
		dir      string
		contains string
	}{
		{"forward 42 s", []float64{42}, 1, SevMedium, "forward", "stepped forward by 42s"},
		{"back 10 min", []float64{-600}, 1, SevHigh, "back", "stepped back by 10m0s"},
		{"under the level", []float64{0.9, -0.9, 0.5}, 0, 0, "", ""},
		{"repeats fold; a doubled step updates", []float64{2, 2, 2, 5}, 2, SevMedium, "forward", "by 2s"},
		{"NaN and Inf are no step", []float64{math.NaN(), math.Inf(1), math.Inf(-1)}, 0, 0, "", ""},
		{"a step of a million years", []float64{-3.2e13}, 1, SevHigh, "back", "3.2e+13 s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(HostConfig{})
			first := hostSnap(0)
			first.IntervalS, first.ClockStepS = 0, 1e6 // the first sample has no interval
			r.observe(first)
			for i, st := range tc.steps {
				s := hostSnap(i + 1)
				s.ClockStepS = st
				r.observe(s)
			}
			got := r.rule("host.clock")
			if len(got) != tc.alerts {
				t.Fatalf("%d alerts, want %d", len(got), tc.alerts)
			}
			if tc.alerts == 0 {
				return
			}
			a := got[0]
			mustJSON(t, a)
			if a.Severity != tc.sev || a.Evidence["direction"] != tc.dir || !strings.Contains(a.Signature, tc.contains) {
				t.Errorf("sev %v evidence %v signature %q", a.Severity, a.Evidence, a.Signature)
			}
			if len(got) > 1 && (!got[1].Update || got[1].Suppressed != 3) {
				t.Errorf("second alert update=%v suppressed=%d", got[1].Update, got[1].Suppressed)
			}
		})
	}
	// The previous sample's wall time is in the evidence, as the clock
	// read it then: 1 s of interval and a 42 s step before t0+1 s.
	r := newHostRun(HostConfig{})
	r.observe(hostSnap(0))
	s := hostSnap(1)
	s.ClockStepS = 42
	r.observe(s)
	if got := r.rule("host.clock"); len(got) != 1 || got[0].Evidence["wall_before"] != hostT0.Add(-42*time.Second).Format(time.RFC3339Nano) {
		t.Errorf("wall_before = %v", got[0].Evidence["wall_before"])
	}
}

// TestHostIncidents: each host alert names its incident (rule and target),
// the same for its updates and different for another target, so the
// console folds one unit's restarts but not two units' into one row.
func TestHostIncidents(t *testing.T) {
	r := newHostRun(HostConfig{})
	for sec := 0; sec <= 300; sec += 2 {
		s := restartSnap(sec,
			hoststat.Process{PID: 1000 + int32(sec/10), PPID: 1, Name: "crashy", Unit: "crashy.service"},
			hoststat.Process{PID: 20000 + int32(sec/10), PPID: 1, Name: "flaky", Unit: "flaky.service"})
		s.IntervalS = 2
		s.Pressure = &hoststat.Pressure{Memory: psi(30, 0), IO: psi(70, 0)}
		r.observe(s)
	}
	byIncident := map[string][]*Alert{}
	for _, a := range r.alerts {
		if a.Incident == "" {
			t.Fatalf("%s has no incident", a.Signature)
		}
		byIncident[a.Incident] = append(byIncident[a.Incident], a)
	}
	for _, want := range []string{"host.restart/unit crashy.service", "host.restart/unit flaky.service", "host.pressure/memory", "host.pressure/io"} {
		as := byIncident[want]
		if len(as) == 0 || as[0].Update {
			t.Errorf("incident %q: %d alerts", want, len(as))
		}
		for _, a := range as[1:] {
			if !a.Update {
				t.Errorf("incident %q: a second first alert %q", want, a.Signature)
			}
		}
	}
	if len(byIncident) != 4 {
		t.Errorf("%d incidents, want 4", len(byIncident))
	}
}
