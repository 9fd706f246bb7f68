package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// logPane is the protocol log: DNS names, TLS SNI, HTTP requests and
// credentials (masked by the engine), newest first.
type logPane struct {
	c    *common
	w, h int
	l    list
	rows []engine.EventLine
}

// paneLog is the protocol log's place: fifth in Tab order, key 5.
const paneLog = 4

func init() { registerPane(paneLog, func(c *common, _ Options) Pane { return newLogPane(c) }) }

func newLogPane(c *common) *logPane { return &logPane{c: c} }

func (p *logPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.l.setHeight(h - 2)
}

func (p *logPane) Update(msg tea.Msg) (Pane, tea.Cmd) {
	if _, ok := msg.(SnapshotMsg); ok {
		ev := p.c.snap.Events
		p.rows = p.rows[:0]
		keys := make([]string, 0, len(ev))
		for i := len(ev) - 1; i >= 0; i-- {
			p.rows = append(p.rows, ev[i])
			keys = append(keys, fmt.Sprintf("%d/%d/%s", ev[i].TS.UnixNano(), ev[i].FlowID, ev[i].Kind))
		}
		p.l.setRows(keys)
		return p, nil
	}
	if p.l.update(msg, p.c.keys) {
		return p, nil
	}
	if msg, ok := msg.(tea.KeyMsg); ok && key.Matches(msg, p.c.keys.Open) && p.l.cursor < len(p.rows) {
		e := p.rows[p.l.cursor]
		return p, cmdOf(openDetailMsg{detailTarget{event: &e}})
	}
	return p, nil
}

func (p *logPane) ShortHelp() []key.Binding { return []key.Binding{p.c.keys.Open} }
func (p *logPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{p.c.keys.Open}}
}

func (p *logPane) View() string {
	st := p.c.st
	w := p.w - 2
	var body []string
	if len(p.rows) == 0 {
		body = append(body, st.Dim.Render("no DNS, TLS, HTTP or login seen yet"))
	}
	from, to := p.l.visible()
	for i := from; i < to; i++ {
		e := p.rows[i]
		head := fmt.Sprintf("%s %-5s ", e.TS.Format("15:04:05"), textsafe.Truncate(e.Kind, 5))
		who := ""
		if w >= 70 && e.Client.IsValid() {
			who = fmt.Sprintf("%-15s ", e.Client.Addr())
		}
		text := textsafe.Clean(e.Summary)
		if e.Detail != "" {
			text += "  " + st.Dim.Render(textsafe.Clean(e.Detail))
		}
		line := head + who + text
		switch {
		case i == p.l.cursor && p.c.focus == paneLog:
			line = st.Selected.Render(fit(head+who+textsafe.Clean(e.Summary+"  "+e.Detail), w))
		case e.Severity >= 2:
			line = st.Warn.Render(head+who) + text
		}
		body = append(body, line)
	}
	title := fmt.Sprintf(" 5 protocol log · %d ", len(p.rows))
	if m := p.l.heldMarker(); m != "" {
		title += "· " + m + " "
	}
	return strings.Join(box(st, title, p.c.focus == paneLog, body, p.w, p.h), "\n")
}
