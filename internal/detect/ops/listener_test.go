package ops

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

func TestHostListener(t *testing.T) {
	r := newHostRun(Config{})
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
	r = newHostRun(Config{})
	failed := hostSnap(0)
	failed.Sockets, failed.Errors = nil, map[string]string{"sockets": "open /proc/net/tcp: permission denied"}
	r.observe(failed)
	if got := r.observe(hostSnap(1)); len(got) != 0 {
		t.Errorf("first good socket list after a failure alerted: %q", got[0].Signature)
	}
}
