package ops

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

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
			r := newHostRun(Config{})
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
	r := newHostRun(Config{})
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
	r := newHostRun(Config{})
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

	r = newHostRun(Config{})
	var many []hoststat.Process
	for i := range restartMaxTracks + 100 {
		many = append(many, hoststat.Process{PID: int32(10000 + i), PPID: 1, Name: "x", Unit: fmt.Sprintf("u%d.service", i)})
	}
	r.observe(restartSnap(0, many...))
	if n := len(r.restart().tracks); n != restartMaxTracks {
		t.Errorf("%d units followed, want the bound %d", n, restartMaxTracks)
	}
	if r.restart().dropped == 0 {
		t.Error("units beyond the bound not counted")
	}
}
