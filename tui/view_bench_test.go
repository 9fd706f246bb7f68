package tui

import (
	"strings"
	"testing"
)

// BenchmarkViewPerSecond is the console's work each second at rest: a new
// snapshot, then the screen drawn, at 160x45 (scripts/console-idle.sh's
// size); the sub-benchmarks draw one pane each.
func BenchmarkViewPerSecond(b *testing.B) {
	snap := fixtureSnapshot("")
	m := newTestModel(snap, 160, 45, trueColorRenderer())
	b.Run("screen", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Update(SnapshotMsg{Snap: snap})
			if !strings.Contains(m.View(), "\n") {
				b.Fatal("empty view")
			}
		}
	})
	for i, name := range []string{"system", "procs", "network", "alerts", "log"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.panes[i].View()
			}
		})
	}
}
