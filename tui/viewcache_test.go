package tui

import (
	"testing"
)

// TestViewCachesNeverStale: after every key and snapshot, the screen drawn
// with the caches (each pane's fitted lines, the footer's key help) is the
// screen drawn without them.
func TestViewCachesNeverStale(t *testing.T) {
	snap := fixtureSnapshot("")
	m := newTestModel(snap, 160, 45, trueColorRenderer())
	steps := []string{"tab", "2", "down", "s", "z", "z", "3", "v", "down", "4", "enter", "esc", "?", "?", "5", "/", "x", "esc", "1", "shift+tab"}
	for i, k := range steps {
		_, cmd := m.Update(keyMsg(k))
		drain(m, cmd)
		if i%3 == 0 {
			m.Update(SnapshotMsg{Snap: snap})
		}
		if i == 10 {
			m.Update(windowSize(100, 30))
		}
		got := m.View()
		m.fitted, m.footKey, m.dirty = make([]fittedPane, len(m.panes)), "", true
		if want := m.View(); got != want {
			t.Fatalf("after %q (step %d) the cached screen differs from a fresh draw", k, i)
		}
	}
}
