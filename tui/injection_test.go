package tui

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// hostileTexts are what an attacker can put in a packet field, a process
// name or command line, an interface or file name. TestInjection covers
// ESC/CSI/OSC 0/OSC 52/DCS/C1/bidi; these add hyperlinks (OSC 8), device
// status and DECRQSS queries the terminal would answer into the input,
// C1 controls written raw and in UTF-8, zero-width and double-width runes,
// combining marks, and length.
var hostileTexts = map[string]string{
	"controls": evil,
	"osc8-hyperlink": "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\" +
		"\x1b]8;id=1;file:///etc/passwd\x07x\x1b]8;;\x07",
	"queries":    "\x1b[6n\x1b[c\x1bP$qm\x1b\\\x1b]10;?\x07\x1b[21t",
	"c1":         "\xc2\x9b2J\xc2\x9d0;t\xc2\x9c\x9b\x9d\x90\xc2\x84\xc2\x8d",
	"zero-width": "a\u200bb\u200cc\u200dd\u2060e\ufeff\u180e\u00ad",
	"wide":       "漢字ｱｲｳ🙂👩\u200d💻🇺🇸\u2764\ufe0f한\u1161",
	"combining":  "e" + strings.Repeat("\u0301", 40) + "Z\u0336\u0335",
	"bidi":       "\u202egpj.exe\u202c\u2067x\u2069\u200f\u061c",
	"long":       strings.Repeat("A漢\x1b[m", 400),
}

// hostileSnapshot is the fixture with text in every outside-sourced field,
// including the ones fixtureSnapshot leaves clean: the capture source's
// error (it quotes interface names), a listening socket's process, and a
// live interface list as the source name.
func hostileSnapshot(ev string) *engine.Snapshot {
	s := fixtureSnapshot(ev)
	s.Source.Err = "interface eth0" + ev + " went away"
	s.Source.Hint = "check eth0" + ev
	s.Host.Latest.Sockets = append(s.Host.Latest.Sockets,
		hoststat.Socket{Proto: "TCP", Local: s.Host.Latest.Sockets[0].Local, State: "LISTEN", PID: 1400, Process: "nginx" + ev})
	return s
}

// colAt returns the display column where tok starts in line, or -1.
func colAt(line, tok string) int {
	i := strings.Index(line, tok)
	if i < 0 {
		return -1
	}
	return ansi.StringWidth(line[:i])
}

// alignedColumn checks that, in the lines of v, every token of toks that
// is found starts (or ends, for right-aligned columns) at one display
// column. Each token is looked up in the first line holding marker[i] and
// the token.
func alignedColumn(t *testing.T, where, v string, markers, toks []string, rightAligned, require bool) {
	t.Helper()
	lines := strings.Split(v, "\n")
	want, found := -1, 0
	var got []string
	for i, mk := range markers {
		for _, l := range lines {
			c := colAt(l, toks[i])
			if !strings.Contains(l, mk) || c < 0 {
				continue
			}
			if rightAligned {
				c += ansi.StringWidth(toks[i])
			}
			found++
			got = append(got, fmt.Sprintf("%q@%d", toks[i], c))
			if want < 0 {
				want = c
			} else if c != want {
				t.Errorf("%s: column misaligned: %s\n%s", where, strings.Join(got, " "), v)
				return
			}
			break
		}
	}
	if found < 2 && require {
		t.Errorf("%s: found %d rows of the column %v, want at least 2\n%s", where, found, toks, v)
	}
}

// TestInjectionEveryField renders every pane, zoomed, with details, at three
// sizes and two colour profiles, with each hostile text in every outside
// field: no control sequence may reach the terminal, every line must have
// the terminal's width, and the tables' columns must stay aligned.
func TestInjectionEveryField(t *testing.T) {
	for name, ev := range hostileTexts {
		for _, prof := range []string{"ascii", "truecolor"} {
			for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
				r := asciiRenderer()
				if prof == "truecolor" {
					r = trueColorRenderer()
				}
				m := newTestModel(hostileSnapshot(ev), sz[0], sz[1], r)
				views := map[string]string{"main": m.View()}
				for _, p := range []string{"1", "2", "3", "4", "5"} {
					press(m, p, "z")
					views["zoom"+p] = m.View()
					// The detail of every row, not only the first.
					for row := 0; row < 6; row++ {
						if _, cmd := m.Update(keyMsg("enter")); cmd != nil {
							m.Update(cmd())
						}
						views[fmt.Sprintf("detail%s.%d", p, row)] = m.View()
						press(m, "esc", "down")
					}
					press(m, "z")
				}
				// Every network view, zoomed, from a fresh model.
				nm := newTestModel(hostileSnapshot(ev), sz[0], sz[1], r)
				press(nm, "3", "z")
				for i := 0; i < 4; i++ {
					press(nm, "v")
					views[fmt.Sprint("netview", i)] = nm.View()
				}
				for vn, v := range views {
					where := fmt.Sprintf("%s %s %dx%d %s", name, prof, sz[0], sz[1], vn)
					assertTerminalSafe(t, where, v, prof == "truecolor")
					if prof == "ascii" && strings.Contains(v, "\x1b") {
						t.Errorf("%s: ESC in output with the Ascii profile", where)
					}
					for _, bad := range []string{"\u00ad", "\u200b", "\u200d", "\ufeff", "\u2060"} {
						// Invisible runes must be shown, not drawn: an
						// invisible character hides what a name really is.
						if strings.Contains(sgrOnly.ReplaceAllString(v, ""), bad) {
							t.Errorf("%s: invisible %U reaches the terminal", where, []rune(bad)[0])
						}
					}
					checkSize(t, v, sz[0], sz[1])
				}
				if prof == "ascii" {
					checkColumns(t, fmt.Sprintf("%s %dx%d", name, sz[0], sz[1]), views, sz[0] >= 200)
				}
			}
		}
	}
}

// checkColumns: the fixture's rows carry hostile text in a middle column
// (a process's user, a flow's app protocol and process) or the last one;
// the columns after and beside it must not move. Narrower layouts drop
// some columns (the alerts' signature below 200 columns), so a column
// must be found only when require is set.
func checkColumns(t *testing.T, where string, views map[string]string, require bool) {
	t.Helper()
	// Processes: CPU% is right-aligned after USER, which holds hostile
	// text for pid 1400; COMMAND starts at one column.
	alignedColumn(t, where+" processes CPU%", views["zoom2"],
		[]string{" 1401 ", " 812 ", " 2222 ", " 1400 "}, []string{"41.0", "22.5", "7.7", "3.2"}, true, require)
	alignedColumn(t, where+" processes COMMAND", views["zoom2"],
		[]string{" 1401 ", " 2222 ", " 1400 ", "/sbin/init"}, []string{"nginx: worker", "[postgres]", "nginx: master", "/sbin/init"}, false, require)
	// Flows: bytes right-aligned after the app column (hostile for ssh).
	alignedColumn(t, where+" flows bytes", views["netview0"],
		[]string{"203.0.113.9:50022", "10.0.0.7:40000", "10.0.0.5:41234"}, []string{"21K", "49K", "1.2M"}, true, require)
	// By process and by protocol: the hostile name is first.
	alignedColumn(t, where+" by-process bytes", views["netview1"],
		[]string{"1401/", "812/"}, []string{"1.2M", "21K"}, true, require)
	alignedColumn(t, where+" by-protocol bytes", views["netview2"],
		[]string{"tls ", "dns"}, []string{"1.2M", "49K"}, true, require)
	// Alerts: the signature column after the rule name.
	alignedColumn(t, where+" alerts", views["zoom4"],
		[]string{"HIGH   dns.tunnel", "HIGH   bruteforce.ssh", "MEDIUM scan.port", "MEDIUM host.cpu"},
		[]string{"dns.tunnel:", "bruteforce.ssh:", "scan.port:", "host.cpu:"}, false, require)
	// Protocol log: the summary column, after kind and client.
	alignedColumn(t, where+" protocol log", views["zoom5"],
		[]string{"10.0.0.9 ", "10.0.0.5 ", "10.0.0.7 "}, []string{"GET example.org", "www.example.com", "aGVsbG8"}, false, require)
	// System: the usage bars of both filesystems, one of them named by
	// hostile text.
	alignedColumn(t, where+" filesystems", views["zoom1"],
		[]string{"FS   /", "/var/lib/docker"}, []string{"█", "█"}, false, require)
}

// TestResizeBurst sends hundreds of random window sizes, 0x0 and 1x1
// among them, interleaved with new snapshots and key presses, as a
// terminal being dragged does: every View must be exactly the new size.
func TestResizeBurst(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, prof := range []string{"ascii", "truecolor"} {
		rend := asciiRenderer()
		if prof == "truecolor" {
			rend = trueColorRenderer()
		}
		m := newTestModel(hostileSnapshot(evil), 80, 24, rend)
		for i := 0; i < 600; i++ {
			var w, h int
			switch i % 10 {
			case 0:
				w, h = 0, 0
			case 1:
				w, h = 1+r.IntN(3), 1+r.IntN(3)
			case 2:
				w, h = 59+r.IntN(3), 14+r.IntN(3) // around the minimum
			default:
				w, h = r.IntN(301), r.IntN(101)
			}
			m.Update(windowSize(w, h))
			switch i % 7 {
			case 3:
				m.Update(SnapshotMsg{Snap: hostileSnapshot(fmt.Sprint(evil, i))})
			case 5:
				press(m, []string{"1", "2", "3", "4", "5", "z", "v", "tab"}[r.IntN(8)])
			}
			v := m.View()
			where := fmt.Sprintf("%s resize %d to %dx%d", prof, i, w, h)
			assertTerminalSafe(t, where, v, prof == "truecolor")
			checkSize(t, v, w, h)
			if t.Failed() {
				t.FailNow()
			}
		}
	}
}
