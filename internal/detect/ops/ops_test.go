package ops

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

var hostT0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// hostSnap is an idle, healthy host at t0+sec.
func hostSnap(sec int) *hoststat.Snapshot {
	return &hoststat.Snapshot{
		Time:      hostT0.Add(time.Duration(sec) * time.Second),
		IntervalS: 1,
		CPU:       hoststat.CPU{Count: 4, Total: hoststat.CPUTimes{Busy: 10, Idle: 90}},
		Memory:    hoststat.Memory{Total: 1000 << 20, Available: 500 << 20},
		Processes: []hoststat.Process{
			{PID: 10, Name: "idle", CPUPct: 1, RSS: 1 << 20},
			{PID: 11, Name: "stress", CPUPct: 190, RSS: 300 << 20, User: "bob"},
			{PID: 12, Name: "java", CPUPct: 120, RSS: 400 << 20},
			{PID: 13, Name: "gzip", CPUPct: 60, RSS: 2 << 20},
		},
		Filesystems: []hoststat.Filesystem{{Mount: "/", Device: "/dev/vda", FSType: "ext4",
			Total: 100 << 30, Used: 50 << 30, Free: 50 << 30, UsedPct: 50, InodesTotal: 1000, InodesUsed: 10, InodesUsedPct: 1}},
		Sockets: []hoststat.Socket{{Proto: "TCP", Local: netip.MustParseAddrPort("0.0.0.0:22"), State: "LISTEN", Inode: 5, PID: 1, Process: "sshd"}},
	}
}

type hostRun struct {
	h      *Rules
	alerts []*detect.Alert
}

func newHostRun(cfg Config) *hostRun { return &hostRun{h: New(cfg)} }

func (r *hostRun) observe(s *hoststat.Snapshot) []*detect.Alert {
	n := len(r.alerts)
	r.h.Observe(s, func(a *detect.Alert) { r.alerts = append(r.alerts, a) })
	return r.alerts[n:]
}

// restart is host.restart's state, for tests of its bounds.
func (r *hostRun) restart() *restartCheck {
	for _, c := range r.h.checks {
		if rc, ok := c.(*restartCheck); ok {
			return rc
		}
	}
	panic("host.restart is not registered")
}

func (r *hostRun) rule(name string) []*detect.Alert {
	var out []*detect.Alert
	for _, a := range r.alerts {
		if a.Rule.Name == name {
			out = append(out, a)
		}
	}
	return out
}

func TestConfigDefaults(t *testing.T) {
	c := Config{CPUBusyPct: 80}
	c.fill()
	d := DefaultConfig()
	d.CPUBusyPct = 80
	if c != d {
		t.Errorf("fill() = %+v, want %+v", c, d)
	}
}

// mustJSON fails when evidence would not encode (NaN, Inf).
func mustJSON(t *testing.T, a *detect.Alert) {
	t.Helper()
	if _, err := json.Marshal(a.Evidence); err != nil {
		t.Errorf("evidence of %q does not encode: %v", a.Signature, err)
	}
}

// TestHostIncidents: each host alert names its incident (rule and target),
// the same for its updates and different for another target, so the
// console folds one unit's restarts but not two units' into one row.
func TestHostIncidents(t *testing.T) {
	r := newHostRun(Config{})
	for sec := 0; sec <= 300; sec += 2 {
		s := restartSnap(sec,
			hoststat.Process{PID: 1000 + int32(sec/10), PPID: 1, Name: "crashy", Unit: "crashy.service"},
			hoststat.Process{PID: 20000 + int32(sec/10), PPID: 1, Name: "flaky", Unit: "flaky.service"})
		s.IntervalS = 2
		s.Pressure = &hoststat.Pressure{Memory: psi(30, 0), IO: psi(70, 0)}
		r.observe(s)
	}
	byIncident := map[string][]*detect.Alert{}
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

// TestRegistry: every ops rule registered itself from its file into the
// detection catalog (the same *Rule), and Rules runs them all, in
// catalog-name order, whatever order the files were initialised in.
func TestRegistry(t *testing.T) {
	want := []string{"host.clock", "host.cpu", "host.disk", "host.listener", "host.memory", "host.pressure", "host.restart"}
	vars := map[string]*detect.Rule{"host.clock": RuleClock, "host.cpu": RuleCPU, "host.disk": RuleDisk,
		"host.listener": RuleListener, "host.memory": RuleMemory, "host.pressure": RulePressure, "host.restart": RuleRestart}
	r := New(Config{})
	var got []string
	for i, d := range r.defs {
		got = append(got, d.rule.Name)
		if detect.Catalog[d.rule.Name] != d.rule || vars[d.rule.Name] != d.rule {
			t.Errorf("%s: the catalog's or the package's Rule is another one", d.rule.Name)
		}
		if d.rule.Category != "Host health" || d.rule.Rev != 1 || d.rule.SID < 9000100 || d.rule.SID > 9000199 {
			t.Errorf("%s: category %q rev %d sid %d", d.rule.Name, d.rule.Category, d.rule.Rev, d.rule.SID)
		}
		if r.checks[i] == nil {
			t.Errorf("%s: no state", d.rule.Name)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rules %v, want %v", got, want)
	}
	// A second rule with a name or a sid already taken is refused.
	for _, dup := range []*detect.Rule{{Name: "host.cpu", SID: 9000199}, {Name: "host.other", SID: RuleCPU.SID}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%s, sid %d) did not panic", dup.Name, dup.SID)
				}
			}()
			detect.Register(dup)
		}()
	}
}

// TestStats: the suppressor's table and the rules' bounded tables are
// counted, and the suppressor forgets incidents whose window ended.
func TestStats(t *testing.T) {
	r := newHostRun(Config{})
	s := hostSnap(0)
	s.Filesystems[0].UsedPct = 95
	r.observe(s)
	r.observe(hostSnap(1))
	st := r.h.Stats()
	for k, v := range map[string]uint64{"host.suppress.entries": 1, "host.suppress.evicted": 0, "host.listener.entries": 1, "host.restart.entries": 0, "host.restart.dropped": 0} {
		if got, ok := st[k]; !ok || got != v {
			t.Errorf("%s = %d (present %v), want %d", k, got, ok, v)
		}
	}
	r.observe(hostSnap(601))
	if n := r.h.Stats()["host.suppress.entries"]; n != 0 {
		t.Errorf("%d incidents kept after their window", n)
	}
}
