package tui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
)

// addAlert appends a new incident to a copy of snap.
func addAlert(snap *engine.Snapshot, i int) *engine.Snapshot {
	s := *snap
	s.Alerts = append(append([]*detect.Alert(nil), snap.Alerts...), &detect.Alert{
		Rule: &detect.Rule{Name: "scan.port", Severity: detect.SevMedium}, Severity: detect.SevMedium,
		TS: t0.Add(time.Duration(i) * time.Second), Src: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}),
		Dst: netip.MustParseAddr("10.0.0.5"), Signature: fmt.Sprintf("scanner %d", i)})
	return &s
}

// Issue 14: lists follow new events. Untouched, the alerts list keeps its
// newest row selected as alerts arrive; moved off the head it holds still
// on the chosen incident and counts what arrived; Home follows again.
func TestListsFollowNewRows(t *testing.T) {
	snap := fixtureSnapshot("")
	m := newTestModel(snap, 160, 45, asciiRenderer())
	press(m, "4")
	for i := 1; i <= 3; i++ {
		snap = addAlert(snap, i)
		m.Update(SnapshotMsg{Snap: snap})
	}
	if a := m.panes[paneAlerts].(*alertsPane).selected(); a == nil || a.Signature != "scanner 3" {
		t.Fatalf("following: selected %+v, want the newest (scanner 3)", a)
	}
	press(m, "down")
	held := m.panes[paneAlerts].(*alertsPane).selected()
	for i := 4; i <= 9; i++ {
		snap = addAlert(snap, i)
		m.Update(SnapshotMsg{Snap: snap})
	}
	if a := m.panes[paneAlerts].(*alertsPane).selected(); a != held {
		t.Fatalf("held: the selection moved from %q to %q", held.Signature, a.Signature)
	}
	if scr := m.View(); !strings.Contains(scr, "held, 6 new") {
		t.Errorf("held list does not count what arrived:\n%s", scr)
	}
	press(m, "home")
	snap = addAlert(snap, 10)
	m.Update(SnapshotMsg{Snap: snap})
	if a := m.panes[paneAlerts].(*alertsPane).selected(); a == nil || a.Signature != "scanner 10" {
		t.Fatalf("after Home: selected %+v, want the newest (scanner 10)", a)
	}
	if strings.Contains(m.View(), "held,") {
		t.Error("the held marker stays after Home")
	}
}

// Issue 14: --ascii is ASCII throughout: titles, help, truncation marks,
// not only the boxes and graphs.
func TestASCIIOnly(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
		m, err := New(Options{Renderer: asciiRenderer(), ASCII: true})
		if err != nil {
			t.Fatal(err)
		}
		m.Update(SnapshotMsg{Snap: fixtureSnapshot("")})
		m.Update(windowSize(size[0], size[1]))
		for _, keys := range [][]string{nil, {"?"}} {
			press(m, keys...)
			for i, r := range m.View() {
				if r > 0x7e || (r < 0x20 && r != '\n') {
					t.Fatalf("%dx%d keys %v: non-ASCII %q at byte %d", size[0], size[1], keys, r, i)
				}
			}
		}
	}
}

// Issue 14: one attack, one row. A spoofed-source flood's updates name a
// different most-frequent source each time; they are one incident (the
// detector's key: the target) and fold into one row.
func TestFloodUpdatesFoldIntoOneRow(t *testing.T) {
	snap := fixtureSnapshot("")
	rule := &detect.Rule{Name: "dos.synflood", Severity: detect.SevHigh}
	s := *snap
	s.Alerts = append([]*detect.Alert(nil), snap.Alerts...)
	for i := 0; i < 6; i++ {
		s.Alerts = append(s.Alerts, &detect.Alert{Rule: rule, Severity: detect.SevHigh, TS: t0.Add(time.Duration(i) * time.Second),
			Src: netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)}), Dst: netip.MustParseAddr("10.0.0.5"), DstPort: 80,
			Update: i > 0, Incident: "9000010|invalid IP|10.0.0.5|80|0", Signature: fmt.Sprintf("flood record %d", i)})
	}
	m := newTestModel(&s, 200, 60, asciiRenderer())
	press(m, "4", "z")
	scr := m.View()
	if n := strings.Count(scr, "dos.synflood"); n != 1 {
		t.Errorf("%d dos.synflood rows for one flood, want 1:\n%s", n, scr)
	}
	if !strings.Contains(scr, "flood record 5") {
		t.Errorf("the flood's row is not its newest record:\n%s", scr)
	}
}
