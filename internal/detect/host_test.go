package detect

import (
	"net/netip"
	"strings"
	"testing"
	"time"

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
	h      *HostRules
	alerts []*Alert
}

func newHostRun(cfg HostConfig) *hostRun { return &hostRun{h: NewHostRules(cfg)} }

func (r *hostRun) observe(s *hoststat.Snapshot) []*Alert {
	n := len(r.alerts)
	r.h.Observe(s, func(a *Alert) { r.alerts = append(r.alerts, a) })
	return r.alerts[n:]
}

func (r *hostRun) rule(name string) []*Alert {
	var out []*Alert
	for _, a := range r.alerts {
		if a.Rule.Name == name {
			out = append(out, a)
		}
	}
	return out
}

func TestHostCPU(t *testing.T) {
	tests := []struct {
		name  string
		busy  float64
		secs  int // samples at t0..t0+secs, one per second
		fires bool
	}{
		{"at threshold for exactly 30 s", 90, 30, true},
		{"just below threshold", 89.9, 120, false},
		{"above threshold for 29 s", 99, 29, false},
		{"above threshold for 31 s", 90.1, 31, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(HostConfig{})
			for i := 0; i <= tc.secs; i++ {
				s := hostSnap(i)
				s.CPU.Total.Busy = tc.busy
				r.observe(s)
			}
			got := r.rule("host.cpu")
			if (len(got) == 1) != tc.fires || len(got) > 1 {
				t.Fatalf("%d host.cpu alerts, want fires=%v", len(got), tc.fires)
			}
			if !tc.fires {
				return
			}
			a := got[0]
			if !strings.Contains(a.Signature, "top: stress (pid 11) 190%, java (pid 12) 120%, gzip (pid 13) 60%") {
				t.Errorf("signature %q does not name the top 3 in order", a.Signature)
			}
			if top := a.Evidence["top_processes"].([]map[string]any); len(top) != 3 || top[0]["pid"] != int32(11) {
				t.Errorf("evidence top_processes = %v", top)
			}
			if a.PID != 11 || a.Process != "stress" || a.Severity != SevMedium || !a.TS.Equal(hostT0.Add(30*time.Second)) {
				t.Errorf("alert = pid %d %q sev %v ts %v", a.PID, a.Process, a.Severity, a.TS)
			}
		})
	}
}

func TestHostCPUSuppression(t *testing.T) {
	r := newHostRun(HostConfig{})
	busyAt := func(sec int) float64 {
		switch {
		case sec < 100:
			return 92
		case sec < 200:
			return 97.5 // worse by 5 points: one Update
		default:
			return 95
		}
	}
	for i := 0; i <= 700; i++ {
		s := hostSnap(i)
		s.CPU.Total.Busy = busyAt(i)
		r.observe(s)
	}
	got := r.rule("host.cpu")
	if len(got) != 3 {
		for _, a := range got {
			t.Logf("%v update=%v suppressed=%d %s", a.TS.Sub(hostT0), a.Update, a.Suppressed, a.Signature)
		}
		t.Fatalf("%d alerts, want first, update, and one after the 10 min window", len(got))
	}
	if got[0].Update || got[0].TS != hostT0.Add(30*time.Second) {
		t.Errorf("first = update %v at %v", got[0].Update, got[0].TS.Sub(hostT0))
	}
	if !got[1].Update || got[1].Suppressed != 70 || got[1].TS != hostT0.Add(100*time.Second) {
		t.Errorf("update = update %v suppressed %d at %v", got[1].Update, got[1].Suppressed, got[1].TS.Sub(hostT0))
	}
	if got[2].Update || got[2].TS != hostT0.Add(630*time.Second) {
		t.Errorf("re-raise = update %v at %v", got[2].Update, got[2].TS.Sub(hostT0))
	}
	// The first sample has no rates: a 100% reading there is not trusted.
	r = newHostRun(HostConfig{CPUFor: time.Second})
	s := hostSnap(0)
	s.IntervalS, s.CPU.Total.Busy = 0, 100
	if a := r.observe(s); len(a) != 0 {
		t.Errorf("first sample raised %v", a[0].Signature)
	}
}

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
			r := newHostRun(HostConfig{})
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
		r := newHostRun(HostConfig{})
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
	r := newHostRun(HostConfig{})
	r.observe(hostSnap(0))
	s := hostSnap(1)
	s.Memory.OOMKills, s.Memory.OOMKillsNew = 3, 1
	s.Memory.OOMVictims = []hoststat.OOMVictim{{PID: 4321, Name: "stress-ng-vm"}}
	got := r.observe(s)
	if len(got) != 1 || got[0].Severity != SevHigh || got[0].PID != 4321 || !strings.Contains(got[0].Signature, "stress-ng-vm (pid 4321)") {
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

func TestHostDiskUsage(t *testing.T) {
	for _, tc := range []struct {
		pct     float64
		wantSev Severity // 0: none
	}{{89.9, 0}, {90, SevMedium}, {96.9, SevMedium}, {97, SevHigh}, {99.5, SevHigh}} {
		r := newHostRun(HostConfig{})
		s := hostSnap(0)
		s.Filesystems[0].UsedPct = tc.pct
		got := r.observe(s)
		if tc.wantSev == 0 {
			if len(got) != 0 {
				t.Errorf("%.1f%%: %d alerts, want none", tc.pct, len(got))
			}
			continue
		}
		if len(got) != 1 || got[0].Severity != tc.wantSev || got[0].Rule != RuleHostDisk || got[0].Evidence["mount"] != "/" {
			t.Errorf("%.1f%%: alerts %+v, want one of severity %v", tc.pct, got, tc.wantSev)
		}
	}
	// Growing from 90 to 97 in a window: an Update at severity 1.
	r := newHostRun(HostConfig{})
	for i, pct := range []float64{90, 91, 97} {
		s := hostSnap(i)
		s.Filesystems[0].UsedPct = pct
		r.observe(s)
	}
	got := r.rule("host.disk")
	if len(got) != 2 || !got[1].Update || got[1].Severity != SevHigh {
		t.Errorf("escalation: %d alerts (%+v)", len(got), got)
	}
	// Read-only filesystems are full by design.
	r = newHostRun(HostConfig{})
	s := hostSnap(0)
	s.Filesystems[0].UsedPct, s.Filesystems[0].ReadOnly = 100, true
	if got := r.observe(s); len(got) != 0 {
		t.Errorf("read-only full fs raised %d alerts", len(got))
	}
	// Inodes.
	r = newHostRun(HostConfig{})
	s = hostSnap(0)
	s.Filesystems[0].InodesUsedPct, s.Filesystems[0].InodesFree = 95, 50
	got = r.observe(s)
	if len(got) != 1 || !strings.Contains(got[0].Signature, "out of inodes") {
		t.Errorf("inode alert = %+v", got)
	}
}

func TestHostDiskFilling(t *testing.T) {
	const total = 100 << 30
	// Free space shrinks linearly so that, at the end, it is full in ttf.
	run := func(ttf time.Duration) []*Alert {
		r := newHostRun(HostConfig{})
		free0 := float64(40 << 30)
		// rate such that after 10 minutes free/rate == ttf.
		rate := free0 / (ttf.Seconds() + 600)
		for i := 0; i <= 600; i += 10 {
			s := hostSnap(i)
			used := float64(60<<30) + rate*float64(i)
			fs := &s.Filesystems[0]
			fs.Used, fs.Free = uint64(used), uint64(total-used)
			fs.UsedPct = 100 * used / total
			r.observe(s)
		}
		return r.rule("host.disk")
	}
	if got := run(61 * time.Minute); len(got) != 0 {
		t.Errorf("full in 61 min: %d alerts (%s)", len(got), got[0].Signature)
	}
	got := run(59 * time.Minute)
	if len(got) != 1 {
		t.Fatalf("full in 59 min: %d alerts, want 1", len(got))
	}
	// It fires at the first sample where the estimate drops under 1 h: at
	// t=550 s, with 3590 s left.
	ttf, ok := got[0].Evidence["time_to_full_s"].(float64)
	if !ok || ttf > 3600 || ttf < 3580 || got[0].TS != hostT0.Add(550*time.Second) {
		t.Errorf("time_to_full_s = %v at %v, want 3590 at 550s", got[0].Evidence["time_to_full_s"], got[0].TS.Sub(hostT0))
	}
	if !strings.Contains(got[0].Signature, "full in about 1h0m0s at 9.9 MiB/s") {
		t.Errorf("signature %q lacks the time to full", got[0].Signature)
	}
	// Not enough history (under half the rate window): no estimate yet.
	r := newHostRun(HostConfig{})
	for i := 0; i <= 200; i += 10 {
		s := hostSnap(i)
		fs := &s.Filesystems[0]
		fs.Used = uint64(60<<30) + uint64(i)*(100<<20) // 10 MB/s: full in ~1.1 h, fast enough later
		fs.Free = total - fs.Used
		r.observe(s)
	}
	if got := r.rule("host.disk"); len(got) != 0 {
		t.Errorf("with %ds of history: %d alerts", 200, len(got))
	}
}

func TestHostListener(t *testing.T) {
	r := newHostRun(HostConfig{})
	base := hostSnap(0)
	base.Sockets = append(base.Sockets, hoststat.Socket{Proto: "UDP", Local: netip.MustParseAddrPort("0.0.0.0:68"), Inode: 6})
	if got := r.observe(base); len(got) != 0 {
		t.Fatalf("baseline raised %d alerts", len(got))
	}
	s := hostSnap(1)
	s.Processes = append(s.Processes, hoststat.Process{PID: 4444, Name: "nc", User: "eve", Cmdline: "nc -l -p 4444"})
	s.Sockets = append(s.Sockets,
		hoststat.Socket{Proto: "TCP", V6: true, Local: netip.MustParseAddrPort("[::ffff:0.0.0.0]:4444"), State: "LISTEN", Inode: 7, PID: 4444, Process: "nc"},
		hoststat.Socket{Proto: "UDP", Local: netip.MustParseAddrPort("0.0.0.0:40000"), State: "CLOSE", Inode: 8},                                                        // ephemeral client
		hoststat.Socket{Proto: "UDP", Local: netip.MustParseAddrPort("[::]:5353"), State: "CLOSE", Inode: 9},                                                            // owner unknown
		hoststat.Socket{Proto: "TCP", Local: netip.MustParseAddrPort("10.0.0.1:5000"), Remote: netip.MustParseAddrPort("10.0.0.2:80"), State: "ESTABLISHED", Inode: 10}, // not a listener
	)
	got := r.observe(s)
	if len(got) != 2 {
		for _, a := range got {
			t.Log(a.Signature)
		}
		t.Fatalf("%d listener alerts, want 2", len(got))
	}
	a := got[0]
	if a.Signature != "new TCP listener on 0.0.0.0:4444 by nc (pid 4444)" || a.PID != 4444 || a.DstPort != 4444 ||
		a.Dst != netip.MustParseAddr("0.0.0.0") || a.Proto != "TCP" || a.Evidence["cmdline"] != "nc -l -p 4444" {
		t.Errorf("listener alert = %q pid %d dst %v:%d ev %v", a.Signature, a.PID, a.Dst, a.DstPort, a.Evidence)
	}
	if got[1].Signature != "new UDP listener on [::]:5353 by unknown process (owner not readable)" {
		t.Errorf("unknown-owner listener = %q", got[1].Signature)
	}
	// It goes away and comes back (a restart): already known, no alert.
	r.observe(hostSnap(2))
	if got := r.observe(s); len(got) != 0 {
		t.Errorf("known listener re-raised: %q", got[0].Signature)
	}
	// A socket-only snapshot feeds the listener rule too, and nothing else.
	p := &hoststat.Snapshot{Time: hostT0.Add(3 * time.Second), Partial: true, Sockets: []hoststat.Socket{
		{Proto: "TCP", Local: netip.MustParseAddrPort("127.0.0.1:6000"), State: "LISTEN", Inode: 11, PID: 5, Process: "x"}}}
	if got := r.observe(p); len(got) != 1 || got[0].DstPort != 6000 {
		t.Errorf("partial snapshot: %d alerts", len(got))
	}
	// A failed socket read must not become the baseline.
	r = newHostRun(HostConfig{})
	failed := hostSnap(0)
	failed.Sockets, failed.Errors = nil, map[string]string{"sockets": "open /proc/net/tcp: permission denied"}
	r.observe(failed)
	if got := r.observe(hostSnap(1)); len(got) != 0 {
		t.Errorf("first good socket list after a failure alerted: %q", got[0].Signature)
	}
}

func TestHostConfigDefaults(t *testing.T) {
	c := HostConfig{CPUBusyPct: 80}
	c.fill()
	d := DefaultHostConfig()
	d.CPUBusyPct = 80
	if c != d {
		t.Errorf("fill() = %+v, want %+v", c, d)
	}
}
