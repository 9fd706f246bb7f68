package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// Issue 14: the network views show bytes per second (by flow, process and
// host) from two snapshots, as bandwhich and nethogs do, not only totals.
func TestNetworkRates(t *testing.T) {
	snap := fixtureSnapshot("")
	m := newTestModel(snap, 200, 60, asciiRenderer())
	next := *snap
	next.Now = snap.Now.Add(2 * time.Second)
	next.Talkers = append(next.Talkers[:0:0], snap.Talkers...)
	next.Talkers[0].BytesOut += 4 << 20 // 4 MiB more in 2 s
	next.TopFlows = append(next.TopFlows[:0:0], snap.TopFlows...)
	next.TopFlows[0].BytesToServer += 2 << 20
	m.Update(SnapshotMsg{Snap: &next})
	press(m, "3")
	if scr := m.View(); !strings.Contains(scr, "2.0M/s") {
		t.Errorf("the hosts view shows no 2 MiB/s rate for the host that moved 4 MiB in 2 s:\n%s", scr)
	}
	press(m, "v")
	if scr := m.View(); !strings.Contains(scr, "1.0M/s") {
		t.Errorf("the flows view shows no 1 MiB/s rate:\n%s", scr)
	}
}

// The flows view keeps the server's address and port at every width: the
// client and long names are cut first.
func TestFlowLabelKeepsServer(t *testing.T) {
	long := strings.Repeat("verylongname.", 10) + "example"
	for _, w := range []int{20, 30, 45, 80} {
		got := flowLabel("~"+long+":50022", "->", "10.0.0.5:22", w)
		if !strings.HasSuffix(got, "10.0.0.5:22") || textsafe.Width(got) > w {
			t.Errorf("width %d: %q", w, got)
		}
		got = flowLabel("10.0.0.7:40000", "->", "~"+long+":443", w)
		if !strings.HasSuffix(got, ":443") || textsafe.Width(got) > w {
			t.Errorf("width %d, long server name: %q", w, got)
		}
	}
	_ = engine.FlowView{}
}
