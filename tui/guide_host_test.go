package tui

import (
	"testing"

	"github.com/opsdeck/opsdeck/internal/detect"
)

// Issue 19: the ops rules that read pressure, restarts and the clock are in
// the catalog and explain themselves in the detail view.
func TestHostRuleGuides(t *testing.T) {
	for _, name := range []string{"host.pressure", "host.restart", "host.clock"} {
		if detect.Catalog[name] == nil {
			t.Errorf("%s is not in the catalog", name)
		}
		if g, ok := guides[name]; !ok || g.means == "" || g.matters == "" || g.sure == "" || len(g.next) == 0 {
			t.Errorf("%s has no full guide", name)
		}
	}
}
