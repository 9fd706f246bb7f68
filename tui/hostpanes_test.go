package tui

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// TestViewGoldenHost pins the zoomed process table and system pane at the
// three reference sizes (go test ./tui -run TestViewGolden -update).
func TestViewGoldenHost(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
		for _, state := range []string{"procs_zoom", "system_zoom"} {
			name := fmt.Sprintf("%s_%dx%d", state, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				m := newTestModel(fixtureSnapshot(""), sz[0], sz[1], asciiRenderer())
				if state == "procs_zoom" {
					press(m, "2", "z")
				} else {
					press(m, "1", "z")
				}
				v := m.View()
				checkSize(t, v, sz[0], sz[1])
				checkGolden(t, name, v)
			})
		}
	}
}

func procsOf(m *Model) *procsPane { return m.panes[paneProcs].(*procsPane) }

func rowPIDs(p *procsPane) []int32 {
	var out []int32
	for _, r := range p.rows {
		out = append(out, r.p.PID)
	}
	return out
}

func TestProcsKernelThreads(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	p := procsOf(m)
	press(m, "2")
	for _, pid := range rowPIDs(p) {
		if pid == 2 || pid == 15 {
			t.Fatalf("kernel thread %d shown by default: %v", pid, rowPIDs(p))
		}
	}
	if v := m.View(); !strings.Contains(v, "(+2 kernel)") {
		t.Errorf("title does not say kernel threads are hidden:\n%s", v)
	}
	press(m, "K")
	if got := rowPIDs(p); len(got) != 7 {
		t.Errorf("K shows %v, want all 7", got)
	}
	press(m, "K")
	if got := rowPIDs(p); len(got) != 5 {
		t.Errorf("K again hides: %v", got)
	}
}

func TestProcsSortAnyColumn(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 200, 60, asciiRenderer())
	p := procsOf(m)
	press(m, "2")
	// From CPU% two columns right: VIRT, highest first.
	press(m, ">", ">")
	if got := rowPIDs(p); procCols[p.sortCol].name != "VIRT" || got[0] != 2222 || got[1] != 1401 {
		t.Fatalf("sort %s: %v", procCols[p.sortCol].name, got)
	}
	if v := m.View(); !strings.Contains(v, "VIRT▼") {
		t.Errorf("header does not mark the sort column:\n%s", v)
	}
	press(m, "I") // lowest first
	if v := m.View(); !strings.Contains(v, "VIRT▲") {
		t.Errorf("header does not mark the inverted sort column:\n%s", v)
	}
	if got := rowPIDs(p); got[0] != 812 {
		t.Errorf("inverted VIRT: %v", got)
	}
	// Back to START (oldest first), NI, then USER A-Z.
	press(m, "<", "<", "<", "<")
	if procCols[p.sortCol].name != "START" {
		t.Fatalf("sort column %s", procCols[p.sortCol].name)
	}
	if got := rowPIDs(p); got[0] != 1 || got[len(got)-1] != 2222 {
		t.Errorf("START order %v", got)
	}
	press(m, "<", "<", "<", "<")
	if got := rowPIDs(p); procCols[p.sortCol].name != "USER" || got[len(got)-1] != 1401 {
		t.Errorf("USER order %v", got)
	}
}

// TestProcsResortKeepsTop: after a re-sort the top of the new order is in
// view unless the user had moved the selection.
func TestProcsResortKeepsTop(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	p := procsOf(m)
	press(m, "2", "s") // memory
	if p.l.cursor != 0 || p.rows[0].p.PID != 2222 {
		t.Fatalf("after re-sort the selection is %d on %d", p.l.cursor, p.rows[p.l.cursor].p.PID)
	}
	press(m, "down", "down")
	sel := p.rows[p.l.cursor].p.PID
	press(m, "s") // network: the moved selection is followed
	if got := p.rows[p.l.cursor].p.PID; got != sel {
		t.Errorf("selection moved from %d to %d", sel, got)
	}
}

func TestProcsSearchJumps(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	p := procsOf(m)
	press(m, "2")
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlF})
	press(m, "p", "o", "s", "t")
	if len(p.rows) != 5 {
		t.Fatalf("search filtered the table: %v", rowPIDs(p))
	}
	if got := p.rows[p.l.cursor].p.PID; got != 2222 {
		t.Errorf("search for post selected %d", got)
	}
	// Next match of "nginx" wraps through both.
	press(m, "backspace", "backspace", "backspace", "backspace", "n", "g", "i", "n", "x")
	first := p.rows[p.l.cursor].p.PID
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlF})
	second := p.rows[p.l.cursor].p.PID
	if first == second || (first != 1400 && first != 1401) || (second != 1400 && second != 1401) {
		t.Errorf("nginx matches %d then %d", first, second)
	}
	press(m, "z", "z", "z")
	if v := m.View(); !strings.Contains(v, "no match") {
		t.Errorf("no match not shown:\n%s", v)
	}
	press(m, "esc") // back to where the search started
	if p.l.cursor != 0 || p.Capturing() {
		t.Errorf("esc left cursor %d, capturing %v", p.l.cursor, p.Capturing())
	}
}

func TestProcsSignalList(t *testing.T) {
	var got []syscall.Signal
	m, _ := New(Options{Renderer: asciiRenderer(), Signal: func(pid int32, sig syscall.Signal) error {
		if pid != 1401 {
			t.Errorf("signal to %d", pid)
		}
		got = append(got, sig)
		return nil
	}})
	m.Update(SnapshotMsg{Snap: fixtureSnapshot("")})
	m.Update(windowSize(200, 60))
	press(m, "2", "x")
	m.Update(tea.KeyMsg{Type: tea.KeyRight})
	m.Update(tea.KeyMsg{Type: tea.KeyRight})
	if v := m.View(); !strings.Contains(v, "send SIGHUP to 1401 (nginx)?") {
		t.Fatalf("the list does not name the signal and the process:\n%s", v)
	}
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if cmd == nil || len(got) != 0 {
		t.Fatal("enter must return a command and not signal from Update")
	}
	m.Update(cmd())
	if len(got) != 1 || got[0] != syscall.SIGHUP {
		t.Fatalf("sent %v", got)
	}
	if v := m.View(); !strings.Contains(v, "sent SIGHUP to 1401 (nginx)") {
		t.Errorf("no status:\n%s", v)
	}
}

func TestProcsRenice(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	p := procsOf(m)
	type call struct {
		pid  int32
		nice int
	}
	var got []call
	p.renice = func(pid int32, nice int) error { got = append(got, call{pid, nice}); return nil }
	press(m, "2", "r")
	m.Update(tea.KeyMsg{Type: tea.KeyRight})
	m.Update(tea.KeyMsg{Type: tea.KeyRight})
	if v := m.View(); !strings.Contains(v, "renice 1401 (nginx) from 5 to 7?") {
		t.Fatalf("no confirmation naming the process:\n%s", v)
	}
	if cmd := press(m, "n"); cmd != nil || p.Capturing() {
		t.Fatal("n did not cancel")
	}
	press(m, "r")
	for range 30 {
		m.Update(tea.KeyMsg{Type: tea.KeyRight})
	}
	cmd := press(m, "y")
	if cmd == nil || len(got) != 0 {
		t.Fatal("y must return a command")
	}
	m.Update(cmd())
	if len(got) != 1 || got[0] != (call{1401, 19}) {
		t.Errorf("renice calls %v, want 1401 to 19 (clamped)", got)
	}
	if v := m.View(); !strings.Contains(v, "reniced 1401 (nginx) to 19") {
		t.Errorf("no status:\n%s", v)
	}
}

func TestProcsUnitColumnAndFilter(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 200, 60, asciiRenderer())
	p := procsOf(m)
	press(m, "2", "z")
	v := m.View()
	for _, want := range []string{"UNIT", "nginx.service", "docker:3f2a9c1b7d4e", "TIME+", "2h01:40", "VIRT", "NI"} {
		if !strings.Contains(v, want) {
			t.Errorf("zoomed table lacks %q:\n%s", want, v)
		}
	}
	press(m, "u") // the top row: nginx worker
	if got := rowPIDs(p); len(got) != 2 {
		t.Errorf("unit filter nginx.service: %v", got)
	}
	if v := m.View(); !strings.Contains(v, "unit: nginx.service") {
		t.Errorf("unit filter not shown")
	}
	press(m, "z", "esc")
	if got := rowPIDs(p); len(got) != 5 {
		t.Errorf("esc did not clear the unit filter: %v", got)
	}
}

// TestProcsCommandWidth: the command gets what the columns leave, and the
// columns that fit are kept as the pane widens.
func TestProcsCommandWidth(t *testing.T) {
	p := &procsPane{}
	for _, w := range []int{46, 78, 118, 198} {
		cols := p.columns(w)
		used := sumCols(len(cols), func(i int) int { return cols[i].w + 1 })
		if w-used < min(procCmdMin, w/2) {
			t.Errorf("width %d: command %d cells", w, w-used)
		}
		if w == 198 && len(cols) != len(procCols) {
			t.Errorf("width 198 keeps %d of %d columns", len(cols), len(procCols))
		}
	}
}

// TestHostPanesStyledPrompts: prompts and rows built from styled pieces
// keep their styling as escape sequences, never as escaped text (which
// textsafe would make of them), in a colour terminal.
func TestHostPanesStyledPrompts(t *testing.T) {
	for name, keys := range map[string][]tea.KeyMsg{
		"search": {keyMsg("2"), {Type: tea.KeyCtrlF}, keyMsg("n")},
		"signal": {keyMsg("2"), keyMsg("x")},
		"renice": {keyMsg("2"), keyMsg("r")},
		"filter": {keyMsg("2"), keyMsg("u")},
		"system": {keyMsg("1"), keyMsg("z")},
	} {
		m := newTestModel(fixtureSnapshot(""), 120, 40, trueColorRenderer())
		for _, k := range keys {
			m.Update(k)
		}
		v := m.View()
		if strings.Contains(v, `\x1b`) {
			t.Errorf("%s: styling escaped as text:\n%s", name, v)
		}
		checkSize(t, v, 120, 40)
	}
}
