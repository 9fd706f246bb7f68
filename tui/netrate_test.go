package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/attrib"
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

// The by-process view is the engine's accounting (every packet of the
// process, attrib.ProcNet), not a re-count of the flows on show: a process
// whose flows are not among the top flows is there with its rate, and
// traffic with no owner is a row of its own, named by why.
func TestNetworkProcessesFromEngine(t *testing.T) {
	snap := fixtureSnapshot("")
	snap.Processes = append(snap.Processes, attrib.ProcNet{PID: 4242, Name: "rsync", State: attrib.Known,
		BytesOut: 300 << 20, RateOut: 3 << 20})
	m := newTestModel(snap, 200, 60, asciiRenderer())
	press(m, "3", "v", "v")
	scr := m.View()
	for _, want := range []string{"4242/rsync", "3.0M/s", "300M", "1401/nginx", "61K/s", "- (unknown)"} {
		if !strings.Contains(scr, want) {
			t.Errorf("by-process view lacks %q:\n%s", want, scr)
		}
	}
}
