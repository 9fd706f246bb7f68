package pump

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// TestSocketRefreshIsNotAFullSample: a socket-only refresh (attribution asks
// for several a second) reaches the engine as the whole host with the new
// sockets, but adds no point to the host histories: only full samples do.
func TestSocketRefreshIsNotAFullSample(t *testing.T) {
	eng := newEngine(t)
	p := New(eng, Options{})
	sk := &sink{p: p, name: "system"}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	full := func(at time.Duration, busy float64) *hoststat.Snapshot {
		return &hoststat.Snapshot{Time: t0.Add(at), IntervalS: 1, CPU: hoststat.CPU{Total: hoststat.CPUTimes{Busy: busy}},
			Memory: hoststat.Memory{Total: 100, Used: 50}}
	}
	sock := hoststat.Socket{Proto: "tcp", Local: netip.MustParseAddrPort("127.0.0.1:22"), PID: 7, Process: "sshd"}
	sk.Host(&hoststat.Snapshot{Time: t0.Add(-time.Second), Partial: true}) // before any full sample: dropped
	sk.Host(full(0, 10))
	for i := 1; i <= 3; i++ {
		sk.Host(&hoststat.Snapshot{Time: t0.Add(time.Duration(i) * 200 * time.Millisecond), Partial: true, Sockets: []hoststat.Socket{sock}})
	}
	h := eng.Snapshot(engine.SnapshotOptions{}).Host
	if l := h.Latest; l == nil || len(l.Sockets) != 1 || l.Sockets[0].Process != "sshd" || l.CPU.Total.Busy != 10 || !l.Partial {
		t.Errorf("latest after a refresh: %+v, want the full sample with the refresh's socket, marked Partial", l)
	}
	sk.Host(full(time.Second, 30))
	h = eng.Snapshot(engine.SnapshotOptions{}).Host
	if len(h.CPU) != 2 || h.CPU[0] != 10 || h.CPU[1] != 30 {
		t.Errorf("CPU history %v, want [10 30]: one point per full sample", h.CPU)
	}
}
