package tui

import (
	"testing"
)

// TestViewCachesNeverStale: after every key and snapshot, the screen drawn
// with the caches (each pane's fitted lines, the footer's key help) is the
// screen drawn without them (and the process table's last drawing).
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
		procsOf(m).memo = procsView{}
		if want := m.View(); got != want {
			t.Fatalf("after %q (step %d) the cached screen differs from a fresh draw", k, i)
		}
	}
}

// TestProcsDrawnWhenChanged: a snapshot whose processes the table does not
// take (within procEvery of the last) leaves the table's drawing as it was;
// a key that changes it draws it again.
func TestProcsDrawnWhenChanged(t *testing.T) {
	snap := fixtureSnapshot("")
	m := newTestModel(snap, 160, 45, trueColorRenderer())
	p := procsOf(m)
	m.View()
	gen, before := p.gen, p.View()
	m.Update(SnapshotMsg{Snap: snap}) // the same host sample: not taken
	if p.gen != gen || p.View() != before {
		t.Fatalf("a snapshot the table did not take changed its drawing (gen %d -> %d)", gen, p.gen)
	}
	_, cmd := m.Update(keyMsg("2")) // focus the table
	drain(m, cmd)
	_, cmd = m.Update(keyMsg("s")) // next sort column
	drain(m, cmd)
	if p.View() == before {
		t.Fatal("focusing and sorting the table left its drawing as it was")
	}
}
