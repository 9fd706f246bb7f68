package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// alertsPane is the timeline of ops and security alerts, newest first.
type alertsPane struct {
	c    *common
	w, h int
	l    list
	rows []*detect.Alert
}

// paneAlerts is the alerts pane's place: fourth in Tab order, key 4.
const paneAlerts = 3

func init() { registerPane(paneAlerts, func(c *common, _ Options) Pane { return newAlertsPane(c) }) }

func newAlertsPane(c *common) *alertsPane { return &alertsPane{c: c} }

func (p *alertsPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.l.setHeight(h - 2)
}

func (p *alertsPane) refresh() {
	all := p.c.snap.Alerts
	p.rows = p.rows[:0]
	keys := make([]string, 0, len(all))
	// A record with Update set re-reports an alert whose count grew: show
	// only the newest record of each such chain.
	updated := map[string]bool{}
	for i := len(all) - 1; i >= 0; i-- {
		a := all[i]
		id := alertIdentity(a)
		if updated[id] {
			if !a.Update {
				delete(updated, id) // the chain's first record: stop here
			}
			continue
		}
		if a.Update {
			updated[id] = true
		}
		p.rows = append(p.rows, all[i])
		// The incident, not the record: an update replaces the row and
		// the selection stays on it.
		keys = append(keys, alertIdentity(a))
	}
	p.l.setRows(keys)
}

func (p *alertsPane) selected() *detect.Alert {
	if p.l.cursor < len(p.rows) {
		return p.rows[p.l.cursor]
	}
	return nil
}

func (p *alertsPane) Update(msg tea.Msg) (Pane, tea.Cmd) {
	if _, ok := msg.(SnapshotMsg); ok {
		p.refresh()
		return p, nil
	}
	if p.l.update(msg, p.c.keys) {
		return p, nil
	}
	k := p.c.keys
	if msg, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(msg, k.Ack):
			if a := p.selected(); a != nil {
				if p.c.acked[a] {
					delete(p.c.acked, a)
				} else {
					p.c.acked[a] = true
				}
			}
		case key.Matches(msg, k.AckAll):
			for _, a := range p.rows {
				p.c.acked[a] = true
			}
		case key.Matches(msg, k.Open):
			if a := p.selected(); a != nil {
				return p, cmdOf(openDetailMsg{detailTarget{alert: a}})
			}
		case key.Matches(msg, k.Export):
			return p, p.c.save.exportCmd(p.selected())
		}
	}
	return p, nil
}

func (p *alertsPane) ShortHelp() []key.Binding {
	k := p.c.keys
	return []key.Binding{k.Open, k.Ack, k.Export}
}

func (p *alertsPane) FullHelp() [][]key.Binding {
	k := p.c.keys
	return [][]key.Binding{{k.Open, k.Ack, k.AckAll, k.Export}}
}

func (p *alertsPane) title() string {
	s := p.c.snap
	unacked := 0
	for _, a := range p.rows {
		if !p.c.acked[a] {
			unacked++
		}
	}
	t := fmt.Sprintf(" 4 alerts · %d high %d med %d low · %d unacked ",
		s.AlertsBySeverity[detect.SevHigh], s.AlertsBySeverity[detect.SevMedium], s.AlertsBySeverity[detect.SevLow], unacked)
	if m := p.l.heldMarker(); m != "" {
		t += "· " + m + " "
	}
	return t
}

func (p *alertsPane) View() string {
	st, g := p.c.st, p.c.st.G
	w := p.w - 2
	var body []string
	if len(p.rows) == 0 {
		body = append(body, st.Dim.Render("no alerts"))
	}
	from, to := p.l.visible()
	for i := from; i < to; i++ {
		a := p.rows[i]
		sev := a.Sev()
		rule := "?"
		if a.Rule != nil {
			rule = a.Rule.Name
		}
		mark := " "
		if p.c.acked[a] {
			mark = g.Check
		}
		var who string
		if a.Src.IsValid() {
			who = a.Src.String()
			if a.Dst.IsValid() {
				who += " " + g.Arrow + " " + a.Dst.String()
				if a.DstPort != 0 {
					who += fmt.Sprintf(":%d", a.DstPort)
				}
			}
		}
		extra := ""
		if a.Suppressed > 0 {
			extra = fmt.Sprintf(" ×%d", a.Suppressed)
			if g.Check == "*" {
				extra = fmt.Sprintf(" x%d", a.Suppressed)
			}
		}
		head := fmt.Sprintf("%s %s %-6s %-17s ", mark, a.TS.Format("15:04:05"), strings.ToUpper(sev.String()), rule)
		rest := who + extra
		if w > 90 && a.Signature != "" {
			rest = textsafe.Clean(a.Signature) + extra
		}
		var line string
		switch {
		case i == p.l.cursor && p.c.focus == paneAlerts:
			line = st.Selected.Render(fit(head+rest, w))
		case p.c.acked[a]:
			line = st.Acked.Render(head + rest)
		default:
			line = st.sevStyle(sev).Render(head) + rest
		}
		body = append(body, line)
	}
	return strings.Join(box(st, p.title(), p.c.focus == paneAlerts, body, p.w, p.h), "\n")
}

// alertIdentity groups the records of one alert and its updates: the
// detector's incident when it names one (a spoofed flood keyed by its
// target stays one row while its most frequent source changes).
func alertIdentity(a *detect.Alert) string {
	if a.Incident != "" {
		return a.Incident
	}
	name := ""
	if a.Rule != nil {
		name = a.Rule.Name
	}
	// Not the flow: the updates of a scan or flood come from other packets
	// of other flows, but they are the same incident.
	return fmt.Sprintf("%s|%s|%s|%d", name, a.Src, a.Dst, a.DstPort)
}
