package metrics

import (
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// TestCollectorSubscribes: a collector made over an engine reads the
// engine's records, with nothing else wired: the alerts the ops rules
// raise on host samples (an update is not counted again) and the latest
// full host sample (a socket-only one is not taken).
func TestCollectorSubscribes(t *testing.T) {
	eng := engine.New(engine.DefaultConfig(), nil)
	eng.EnableHostRules(ops.Config{})
	c := New(eng, nil)
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var last *hoststat.Snapshot
	for i := range 3 {
		s := &hoststat.Snapshot{Time: t0.Add(time.Duration(i) * time.Second), IntervalS: 1}
		s.Memory.Total, s.Memory.Available = 1000, 500
		s.Filesystems = []hoststat.Filesystem{{Mount: "/var", Total: 100, Used: 98, Free: 2, UsedPct: 98}}
		eng.HandleHost(s)
		last = s
	}
	eng.HandleHost(&hoststat.Snapshot{Time: t0.Add(4 * time.Second), Partial: true})
	c.mu.Lock()
	defer c.mu.Unlock()
	if got := c.alerts[alertKey{"host.disk", detect.SevHigh}]; got != 1 {
		t.Errorf("host.disk alerts counted %d, want 1 (alerts %v)", got, c.alerts)
	}
	if c.host != last {
		t.Errorf("latest host sample %p, want the last full one %p", c.host, last)
	}
}
