package metrics

import (
	"testing"

	"github.com/opsdeck/opsdeck/internal/engine"
)

// TestSourceUp: each input's state is a series, 1 only while it runs, and
// an interface name from the command line stays a printable label.
func TestSourceUp(t *testing.T) {
	c := New(nil, nil)
	c.SetSources(func() []engine.SourceStatus {
		return []engine.SourceStatus{
			{Name: "eth0,wg0", Kind: "live", State: "error", Err: "capture interface went away"},
			{Name: "system", Kind: "system", State: "running"},
			{Name: "ev\x1b[2Jil", Kind: "live", State: "running"},
		}
	})
	mfs := parse(t, scrapeBody(t, serve(t, c, defaultLimits)))
	if got := value(t, mfs, "opsdeck_source_up", "source", "eth0,wg0", "kind", "live"); got != 0 {
		t.Errorf("a lost capture: opsdeck_source_up %v, want 0", got)
	}
	if got := value(t, mfs, "opsdeck_source_up", "source", "system", "kind", "system"); got != 1 {
		t.Errorf("a running sampler: opsdeck_source_up %v, want 1", got)
	}
	if n := len(mfs["opsdeck_source_up"].GetMetric()); n != 3 {
		t.Errorf("%d series, want 3", n)
	}
}
