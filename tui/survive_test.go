package tui

import (
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/engine"
)

// Issue 12: a capture that stopped turns the header into an error state
// that names it, whatever the width; contained faults are counted there;
// what the bounds dropped is said in the network pane's title.
func TestHeaderSaysCaptureStopped(t *testing.T) {
	snap := fixtureSnapshot("")
	snap.Source = engine.SourceStatus{Name: "eth0", Kind: "live", State: "error", Err: "capture on eth0: capture interface went away",
		Hint: "waiting for the interface to come back", Privilege: "root"}
	snap.Counters.Faults[engine.StageParser] = 3
	snap.Flows.Evicted = 1200
	snap.Reassembly.MemcapDrops, snap.Reassembly.GapDrops = 40, 2
	for _, w := range []int{80, 120, 200} {
		m := newTestModel(snap, w, 40, asciiRenderer())
		scr := m.View()
		header := strings.SplitN(scr, "\n", 2)[0]
		if !strings.Contains(header, "CAPTURE STOPPED: eth0") {
			t.Errorf("%d columns: the header does not say capture stopped: %q", w, header)
		}
		if !strings.Contains(header, "faults 3") {
			t.Errorf("%d columns: the header does not count the contained faults: %q", w, header)
		}
		if w >= 120 && !strings.Contains(scr, "dropped 1.2k flows, 42 streams") {
			t.Errorf("%d columns: the network pane does not say what the bounds dropped:\n%s", w, scr)
		}
	}
	// A source that could not start for lack of privilege is not stopped:
	// the network pane explains it instead.
	snap.Source = engine.SourceStatus{Name: "any", Kind: "live", State: "unavailable", Err: "permission denied", Privilege: "none"}
	m := newTestModel(snap, 120, 40, asciiRenderer())
	if header := strings.SplitN(m.View(), "\n", 2)[0]; strings.Contains(header, "STOPPED") {
		t.Errorf("an unprivileged console reads as stopped: %q", header)
	}
}
