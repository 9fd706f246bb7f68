package tui

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/engine"
)

func TestFocusKeys(t *testing.T) {
	tests := []struct {
		keys []string
		want int
	}{
		{nil, paneAlerts},
		{[]string{"tab"}, paneLog},
		{[]string{"tab", "tab"}, paneSystem},
		{[]string{"shift+tab"}, paneNet},
		{[]string{"2"}, paneProcs},
		{[]string{"5", "1"}, paneSystem},
	}
	for _, tt := range tests {
		m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
		press(m, tt.keys...)
		if m.c.focus != tt.want {
			t.Errorf("keys %v: focus %d, want %d", tt.keys, m.c.focus, tt.want)
		}
	}
}

func TestNarrowLayoutKeepsAlertsAndShowsFocusedPane(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 80, 24, asciiRenderer())
	for _, k := range []string{"2", "5", "3"} {
		press(m, k)
		if !m.shown[paneAlerts] || !m.shown[m.c.focus] {
			t.Errorf("after %q: shown %v, focus %d", k, m.shown, m.c.focus)
		}
	}
	press(m, "z")
	v := m.View()
	if !strings.Contains(v, "3 network") || strings.Contains(v, "4 alerts") {
		t.Errorf("zoom does not show only the network pane:\n%s", v)
	}
}

func TestAcknowledge(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	snap := m.c.snap
	newest := snap.Alerts[len(snap.Alerts)-1]
	press(m, "a")
	if !m.c.acked[newest] {
		t.Fatal("a did not acknowledge the selected alert")
	}
	if !strings.Contains(m.View(), "3 unacked") {
		t.Error("title does not count unacknowledged alerts")
	}
	press(m, "a")
	if m.c.acked[newest] {
		t.Fatal("a again did not clear the acknowledgement")
	}
	press(m, "A")
	if len(m.c.acked) != len(snap.Alerts) {
		t.Fatalf("A acknowledged %d of %d", len(m.c.acked), len(snap.Alerts))
	}
	// Acknowledgements survive a refresh with the same alerts.
	next := *snap
	m.Update(SnapshotMsg{Snap: &next})
	if len(m.c.acked) != len(snap.Alerts) {
		t.Fatal("acknowledgements lost on refresh")
	}
}

func TestDetailOpensAndCloses(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	press(m, "G") // oldest alert: the scan
	_, cmd := m.Update(keyMsg("enter"))
	if cmd == nil {
		t.Fatal("enter on an alert returned no command")
	}
	m.Update(cmd())
	v := m.View()
	for _, want := range []string{"scan.port", "T1046", "192.168.1.66", "evidence", "sample ports", "218 more"} {
		if !strings.Contains(v, want) {
			t.Errorf("detail lacks %q:\n%s", want, v)
		}
	}
	press(m, "esc")
	if m.detail != nil || !strings.Contains(m.View(), "4 alerts") {
		t.Error("esc did not close the detail")
	}
}

func TestPauseStopsFetching(t *testing.T) {
	calls := 0
	m, _ := New(Options{Renderer: asciiRenderer(), Snapshot: func() *engine.Snapshot { calls++; return fixtureSnapshot("") }})
	m.Update(windowSize(120, 40))
	press(m, "p")
	if !m.paused || !strings.Contains(m.View(), "PAUSED") {
		t.Fatal("p did not pause")
	}
	if _, cmd := m.Update(tickMsg{t: t0, gen: m.gen}); cmd != nil {
		t.Error("a tick while paused asked for a snapshot")
	}
	before := m.c.snap
	m.Update(SnapshotMsg{Snap: fixtureSnapshot("")})
	if m.c.snap != before {
		t.Error("a snapshot changed the frozen screen")
	}
	if cmd := press(m, "p"); cmd == nil {
		t.Error("resuming did not fetch")
	}
	if calls != 0 {
		t.Error("Update called the snapshot function itself")
	}
}

func TestStaleTickIgnored(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	old := m.gen
	press(m, "+")
	if m.refresh != 500*time.Millisecond {
		t.Fatalf("refresh %v after +", m.refresh)
	}
	if _, cmd := m.Update(tickMsg{gen: old}); cmd != nil {
		t.Error("a tick of the previous chain was acted on")
	}
}

func TestSignalConfirmation(t *testing.T) {
	type call struct {
		pid int32
		sig syscall.Signal
	}
	var got []call
	m, _ := New(Options{Renderer: asciiRenderer(), Signal: func(pid int32, sig syscall.Signal) error {
		got = append(got, call{pid, sig})
		return errors.New("operation not permitted")
	}})
	m.Update(SnapshotMsg{Snap: fixtureSnapshot("")})
	m.Update(windowSize(120, 40))
	press(m, "2", "x") // top CPU process: nginx worker 1401
	if v := m.View(); !strings.Contains(v, "send SIGTERM to 1401 (nginx)?") {
		t.Fatalf("no confirmation naming the process:\n%s", v)
	}
	if cmd := press(m, "q"); cmd != nil { // q must not quit while confirming
		t.Fatal("q during confirmation returned a command")
	}
	if cmd := press(m, "n"); cmd != nil || len(got) != 0 {
		t.Fatal("n did not cancel")
	}
	press(m, "x")
	cmd := press(m, "y")
	if cmd == nil || len(got) != 0 {
		t.Fatal("y must return a command and not signal from Update")
	}
	m.Update(cmd())
	if len(got) != 1 || got[0] != (call{1401, syscall.SIGTERM}) {
		t.Fatalf("signals sent: %v", got)
	}
	if v := m.View(); !strings.Contains(v, "signal SIGTERM to 1401 (nginx) failed: operation not permitted") {
		t.Errorf("failure not reported:\n%s", v)
	}
}

func TestProcessSortFilterTree(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	p := m.panes[paneProcs].(*procsPane)
	pids := func() []int32 {
		var out []int32
		for _, r := range p.rows {
			out = append(out, r.p.PID)
		}
		return out
	}
	press(m, "2")
	if got := pids(); got[0] != 1401 || got[1] != 812 {
		t.Errorf("cpu order %v", got)
	}
	press(m, "s") // mem
	if got := pids(); got[0] != 2222 {
		t.Errorf("mem order %v", got)
	}
	press(m, "s") // net
	if got := pids(); got[0] != 1401 || got[1] != 812 {
		t.Errorf("net order %v", got)
	}
	press(m, "s", "s", "t") // back to cpu, tree
	got := pids()
	if got[0] != 1 || p.rows[1].prefix == "" {
		t.Errorf("tree order %v (prefix %q)", got, p.rows[1].prefix)
	}
	press(m, "t", "/", "n", "g", "i", "enter")
	if got := pids(); len(got) != 2 {
		t.Errorf("filter nginx: %v", got)
	}
	press(m, "esc")
	if got := pids(); len(got) != 5 {
		t.Errorf("esc did not clear the filter: %v", got)
	}
}

func TestQuit(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
		cmd := press(m, k)
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s did not quit", k)
		}
	}
}

func TestMouseClickFocusesAndSelects(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	r := m.rects[paneProcs]
	m.Update(tea.MouseMsg{X: r.x + 3, Y: r.y + 3, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if m.c.focus != paneProcs {
		t.Fatalf("click did not focus processes (focus %d)", m.c.focus)
	}
	if p := m.panes[paneProcs].(*procsPane); p.l.cursor != 1 {
		t.Errorf("click on the second row selected %d", p.l.cursor)
	}
	m.Update(tea.MouseMsg{X: r.x + 3, Y: r.y + 3, Button: tea.MouseButtonWheelDown})
	if p := m.panes[paneProcs].(*procsPane); p.l.cursor != 4 {
		t.Errorf("wheel moved to %d", p.l.cursor)
	}
}

func TestRebind(t *testing.T) {
	m, err := New(Options{Renderer: asciiRenderer(), Keys: map[string][]string{"quit": {"Q"}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Update(windowSize(120, 40))
	if cmd := press(m, "q"); cmd != nil {
		t.Error("q still quits after rebinding")
	}
	if cmd := press(m, "Q"); cmd == nil {
		t.Error("Q does not quit")
	}
	if _, err := New(Options{Keys: map[string][]string{"nope": {"x"}}}); err == nil || !strings.Contains(err.Error(), "valid:") {
		t.Errorf("unknown action: %v", err)
	}
}

func TestNoRedrawWhenNothingChanged(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	m.View()
	m.Update(tickMsg{gen: m.gen + 1}) // stale tick: nothing to draw
	if m.dirty {
		t.Error("a stale tick marked the screen dirty")
	}
}
