package tui

import (
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkSize asserts the view is exactly w x h cells.
func checkSize(t *testing.T, v string, w, h int) {
	t.Helper()
	if w == 0 || h == 0 {
		if v != "" {
			t.Errorf("%dx%d: view is %q, want empty", w, h, v)
		}
		return
	}
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Fatalf("%dx%d: %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw != w {
			t.Fatalf("%dx%d: line %d is %d cells: %q", w, h, i, lw, l)
		}
	}
}

func TestViewGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
		for _, state := range []string{"main", "detail", "help"} {
			name := fmt.Sprintf("%s_%dx%d", state, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				m := newTestModel(fixtureSnapshot(""), sz[0], sz[1], asciiRenderer())
				switch state {
				case "detail":
					press(m, "down") // second newest alert: the DNS tunnel
					_, cmd := m.Update(keyMsg("enter"))
					m.Update(cmd())
				case "help":
					press(m, "?")
				}
				v := m.View()
				checkSize(t, v, sz[0], sz[1])
				checkGolden(t, name, v)
			})
		}
	}
}

func TestViewExactSize(t *testing.T) {
	sizes := [][2]int{{0, 0}, {1, 1}, {0, 10}, {10, 0}, {1, 40}, {200, 1}, {59, 14}, {60, 15}, {79, 23}, {80, 24},
		{99, 30}, {100, 30}, {120, 40}, {133, 41}, {160, 45}, {200, 60}, {300, 100}}
	states := map[string][]string{
		"main": nil, "zoom": {"z"}, "help": {"?"}, "procs": {"2"}, "log": {"5"}, "net-views": {"3", "v", "v"},
		"tree": {"2", "t"}, "detail": {"enter"}, "filter": {"2", "/", "n", "g"}, "confirm": {"2", "x"},
	}
	for _, sz := range sizes {
		for name, keys := range states {
			t.Run(fmt.Sprintf("%s_%dx%d", name, sz[0], sz[1]), func(t *testing.T) {
				m := newTestModel(fixtureSnapshot(""), sz[0], sz[1], trueColorRenderer())
				for _, k := range keys {
					if _, cmd := m.Update(keyMsg(k)); cmd != nil && k == "enter" {
						m.Update(cmd())
					}
				}
				checkSize(t, m.View(), sz[0], sz[1])
			})
		}
	}
}

func TestViewBeforeData(t *testing.T) {
	m, err := New(Options{Renderer: asciiRenderer()})
	if err != nil {
		t.Fatal(err)
	}
	if v := m.View(); v != "" {
		t.Errorf("view before any size = %q", v)
	}
	m.Update(windowSize(80, 24))
	v := m.View()
	checkSize(t, v, 80, 24)
	if !strings.Contains(v, "waiting for the first host sample") {
		t.Errorf("empty console does not say it is waiting:\n%s", v)
	}
}

func TestTooSmall(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 50, 10, asciiRenderer())
	v := m.View()
	if !strings.Contains(v, "terminal too small") || !strings.Contains(v, "need 60x15") {
		t.Errorf("small terminal message missing:\n%s", v)
	}
	m.Update(windowSize(80, 24))
	if v := m.View(); strings.Contains(v, "too small") {
		t.Errorf("message stays after growing:\n%s", v)
	}
}

const evil = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZWNobyBoaQ==\x1b\\\x1bP+q\x1b\\\u009b31m\u0085\x00\x7f\r\n\t\u202eexe.txt\u2066\xff\x1b[?1049l"

var bidi = regexp.MustCompile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")

// sgrOnly matches the styling sequences lipgloss writes, nothing else.
var sgrOnly = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func assertTerminalSafe(t *testing.T, where, v string, styled bool) {
	t.Helper()
	if !utf8.ValidString(v) {
		t.Errorf("%s: output is not valid UTF-8", where)
	}
	rest := v
	if styled {
		rest = sgrOnly.ReplaceAllString(v, "")
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Fatalf("%s: control byte %#x at %d in %q", where, c, i, rest[max(i-40, 0):min(i+40, len(rest))])
		}
	}
	for _, r := range rest {
		if r >= 0x80 && r < 0xa0 {
			t.Fatalf("%s: C1 control %U in output", where, r)
		}
	}
	if bidi.MatchString(rest) {
		t.Fatalf("%s: bidi control in output", where)
	}
}

func TestInjection(t *testing.T) {
	for _, prof := range []string{"ascii", "truecolor"} {
		for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
			r := asciiRenderer()
			if prof == "truecolor" {
				r = trueColorRenderer()
			}
			m := newTestModel(fixtureSnapshot(evil), sz[0], sz[1], r)
			views := map[string]string{"main": m.View()}
			// Every pane focused and zoomed, every network view, and the
			// detail of the first row of each pane.
			for _, p := range []string{"1", "2", "3", "4", "5"} {
				press(m, p, "z")
				views["zoom"+p] = m.View()
				if _, cmd := m.Update(keyMsg("enter")); cmd != nil {
					m.Update(cmd())
					views["detail"+p] = m.View()
					press(m, "esc")
				}
				press(m, "z")
			}
			press(m, "3")
			for i := 0; i < 4; i++ {
				press(m, "v")
				views[fmt.Sprint("netview", i)] = m.View()
				if _, cmd := m.Update(keyMsg("enter")); cmd != nil {
					m.Update(cmd())
					views[fmt.Sprint("netdetail", i)] = m.View()
					press(m, "esc")
				}
			}
			press(m, "2", "x")
			views["confirm"] = m.View()
			for name, v := range views {
				where := fmt.Sprintf("%s %dx%d %s", prof, sz[0], sz[1], name)
				assertTerminalSafe(t, where, v, prof == "truecolor")
				if prof == "ascii" && strings.Contains(v, "\x1b") {
					t.Errorf("%s: ESC in output with the Ascii profile", where)
				}
				checkSize(t, v, sz[0], sz[1])
			}
			if !strings.Contains(views["zoom5"], `\x1b[2J`) {
				t.Errorf("%s %v: the escaped text is not visible in the protocol log:\n%s", prof, sz, views["zoom5"])
			}
		}
	}
}

// TestPerCoreHistory: after a few samples each core shows its recent
// history, so a core pegged for a while stands out from one that just
// spiked; the first sample shows gauges. The samples go through a real
// engine, the one owner of the host's history.
func TestPerCoreHistory(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	eng := engine.New(engine.DefaultConfig(), nil)
	sample := func(i int, busy ...float64) {
		h := *fixtureSnapshot("").Host.Latest
		h.Time, h.IntervalS = t0.Add(time.Duration(i)*time.Second), 1
		h.CPU.PerCore = nil
		for _, b := range busy {
			h.CPU.PerCore = append(h.CPU.PerCore, hoststat.CPUTimes{Busy: b})
		}
		eng.HandleHost(&h)
		snap := *fixtureSnapshot("")
		snap.Host = eng.Snapshot(engine.SnapshotOptions{}).Host
		m.Update(SnapshotMsg{Snap: &snap})
	}
	g := m.c.st.G
	top, bottom := regexp.QuoteMeta(g.Spark[len(g.Spark)-1]), regexp.QuoteMeta(g.Spark[0])
	for i := 1; i <= 12; i++ {
		spike := 0.0
		if i == 12 {
			spike = 100
		}
		sample(i, 100, 0, spike, 50) // core 0 pegged, core 2 spikes last
	}
	scr := m.View()
	for _, c := range []struct{ what, re string }{
		{"core 0, pegged for 12 s, shows a full history", `  0 (` + top + `){4,} 100%`},
		{"core 1, idle, shows an empty history", `  1 (` + bottom + `){4,}   0%`},
		{"core 2, which spiked in the last sample, shows one full column", `  2 (` + bottom + `){3,}` + top + ` 100%`},
	} {
		if !regexp.MustCompile(c.re).MatchString(scr) {
			t.Errorf("%s (%s):\n%s", c.what, c.re, scr)
		}
	}
	// Before a second sample there is no history: gauges (six cells wide
	// at 120 columns).
	m = newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	if scr := m.View(); !strings.Contains(scr, "  0 "+bar(g, 12, 6)+"  12%") {
		t.Errorf("no gauge for core 0 after a single sample:\n%s", scr)
	}
}

// TestNamesFromDNS: the hosts view puts the name a DNS answer gave an
// address after the address, the flows view puts it in the address's
// place (as tcpdump without -n) marked "~" as a name, the host detail says where it came from,
// and -n (NoNames) shows addresses only.
func TestNamesFromDNS(t *testing.T) {
	for _, noNames := range []bool{false, true} {
		m, err := New(Options{Renderer: asciiRenderer(), NoNames: noNames})
		if err != nil {
			t.Fatal(err)
		}
		m.Update(SnapshotMsg{Snap: fixtureSnapshot("")})
		m.Update(windowSize(200, 60))
		hosts := m.View()
		press(m, "3", "v") // the network pane, then its flows view
		flows := m.View()
		named := map[string]bool{
			"hosts: 10.0.0.5 web-01.corp.example": strings.Contains(hosts, "10.0.0.5 web-01.corp.example"),
			// Marked as a name: it was learned, and can be forged.
			"flows: → ~www.example.com:443": strings.Contains(flows, "~www.example.com:443"),
		}
		for what, ok := range named {
			if ok == noNames {
				t.Errorf("NoNames=%v: %s shown=%v", noNames, what, ok)
			}
		}
		if noNames && !strings.Contains(flows, "93.184.216.34:443") {
			t.Errorf("NoNames: the flows view lost the address:\n%s", flows)
		}
	}
	// The host detail names the source of the name.
	m := newTestModel(fixtureSnapshot(""), 200, 60, asciiRenderer())
	drain(m, press(m, "3", "enter"))
	if scr := m.View(); !strings.Contains(scr, "web-01.corp.example (from a DNS answer seen on the wire") {
		t.Errorf("host detail does not say where the name came from:\n%s", scr)
	}
}

// TestAlertDetailNames: an alert's detail names its source and target when
// a DNS answer on the wire named them.
func TestAlertDetailNames(t *testing.T) {
	snap := fixtureSnapshot("")
	snap.Names[snap.Alerts[1].Src] = "brute.example.net"
	m := newTestModel(snap, 200, 60, asciiRenderer())
	m.Update(openDetailMsg{detailTarget{alert: snap.Alerts[1]}})
	if scr := m.View(); !strings.Contains(scr, "203.0.113.9 (brute.example.net)") {
		t.Errorf("alert detail does not name the source:\n%s", scr)
	}
}
