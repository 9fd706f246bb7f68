package tui

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"net/netip"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
)

// Issue 14: every rule's detail explains itself, and the lines wrap at the
// width instead of being cut; placeholders are all filled.
func TestGuidesWrapAndFill(t *testing.T) {
	for name := range guides {
		a := &detect.Alert{Rule: &detect.Rule{Name: name}, Src: netip.MustParseAddr("198.51.100.7"),
			Dst: netip.MustParseAddr("10.0.0.5"), DstPort: 4444, PID: 4242}
		for _, w := range []int{40, 78, 118} {
			lines := guideLines(a, w)
			if len(lines) < 3 {
				t.Errorf("%s: %d lines of guide", name, len(lines))
			}
			text := strings.Join(lines, "\n")
			if strings.Contains(text, "{") {
				t.Errorf("%s: a placeholder is left: %s", name, text)
			}
			for _, l := range lines {
				if width := len([]rune(l)); width > w {
					t.Errorf("%s at %d: line of %d: %q", name, w, width, l)
				}
			}
		}
	}
}

// From an alert's detail, o opens its process and r its remote host.
func TestDetailOpensProcessAndHost(t *testing.T) {
	snap := fixtureSnapshot("")
	m := newTestModel(snap, 120, 40, asciiRenderer())
	var tunnel *detect.Alert
	for _, a := range snap.Alerts {
		if a.Rule.Name == "dns.tunnel" {
			tunnel = a
		}
	}
	m.Update(openDetailMsg{detailTarget{alert: tunnel}})
	if !strings.Contains(m.View(), "happened") {
		t.Fatalf("the alert detail does not explain the alert:\n%s", m.View())
	}
	drain(m, press(m, "r"))
	if scr := m.View(); !strings.Contains(scr, "host 10.0.0.7") {
		t.Errorf("r did not open the remote host:\n%s", scr)
	}
}

// Issue 14: at 80x24 the help is taller than the screen; it scrolls, and
// its last line can be reached.
func TestHelpScrolls(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 80, 24, asciiRenderer())
	press(m, "?")
	first := m.View()
	if !strings.Contains(first, "lines 1-") {
		t.Fatalf("the help does not say it scrolls:\n%s", first)
	}
	for range 40 {
		press(m, "down")
	}
	if last := m.View(); !strings.Contains(last, "keys can be rebound") {
		t.Errorf("the help's last line cannot be reached:\n%s", last)
	}
}

// Issue 14: evidence reads as facts, not Go's printing of maps and floats.
func TestEvidenceValues(t *testing.T) {
	for v, want := range map[string]string{
		evidenceValue(30.000323061):  "30.0",
		evidenceValue(float64(960)):  "960",
		evidenceValue(95.45):         "95.5",
		evidenceValue([]string{"a"}): "a",
		evidenceValue([]any{map[string]any{"pid": float64(7), "cpu_pct": 95.5, "name": "nc"}}): "cpu pct 95.5, name nc, pid 7",
	} {
		if v != want {
			t.Errorf("got %q, want %q", v, want)
		}
	}
}

// Issue 14: with 16 colours the focused pane's border differs from the
// others'.
func TestFocusVisibleIn16Colours(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	st := DefaultStyles(r, false)
	if a, b := st.Border.Render("─"), st.BorderFocused.Render("─"); a == b {
		t.Errorf("focused and plain borders render the same with 16 colours: %q", a)
	}
}

// Issue 14: an alert's related flows are its incident's (its flow, and
// those between its actor and target), not a flood's to the same server.
func TestAlertRelatedFlowsAreTheIncidents(t *testing.T) {
	snap := fixtureSnapshot("")
	s := *snap
	s.TopFlows = append([]engine.FlowView(nil), snap.TopFlows...)
	for i := 0; i < 30; i++ { // a flood's flows to the same server
		s.TopFlows = append(s.TopFlows, engine.FlowView{ID: uint64(9000 + i), Proto: "TCP",
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), 1234), Server: netip.MustParseAddrPort("10.0.0.53:53")})
	}
	var tunnel *detect.Alert
	for _, a := range s.Alerts {
		if a.Rule.Name == "dns.tunnel" {
			tunnel = a
		}
	}
	m := newTestModel(&s, 120, 40, asciiRenderer())
	m.Update(openDetailMsg{detailTarget{alert: tunnel}})
	press(m, "end")
	if scr := m.View(); strings.Contains(scr, "203.0.113.") || !strings.Contains(scr, "related flows (1)") {
		t.Errorf("related flows hold the flood's or miss the incident's:\n%s", scr)
	}
}
