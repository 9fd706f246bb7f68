package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/proto"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// logPane is the protocol log: DNS names, TLS SNI, HTTP requests and
// credentials (masked unless --show-secrets), newest first. The engine
// keeps the events' facts (engine.Event); the pane makes their lines
// (EventLine).
type logPane struct {
	c    *common
	w, h int
	l    list
	rows []engine.Event
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
		e := &p.rows[i]
		summary, detail := EventLine(e, p.c.showSecrets)
		head := fmt.Sprintf("%s %-5s ", e.TS.Format("15:04:05"), textsafe.Truncate(e.Kind, 5))
		who := ""
		if w >= 70 && e.Client.IsValid() {
			who = fmt.Sprintf("%-15s ", e.Client.Addr())
		}
		text := textsafe.Clean(summary)
		if detail != "" {
			text += "  " + st.Dim.Render(textsafe.Clean(detail))
		}
		line := head + who + text
		switch {
		case i == p.l.cursor && p.c.focus == paneLog:
			line = st.Selected.Render(fit(head+who+textsafe.Clean(summary+"  "+detail), w))
		case e.Cred != nil: // a login seen in clear stands out
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

// EventLine is the protocol log's line of e: its summary, the headline
// fact (a name, an SNI, "GET host/uri", a user), and its detail (answers,
// version, status, outcome), as raw as the packet had them: the pane
// cleans them (textsafe) when it draws them. A secret passes
// proto.ShowSecret with the console's switch (--show-secrets), as in the
// EVE writer.
func EventLine(e *engine.Event, showSecrets bool) (summary, detail string) {
	switch {
	case e.DNS != nil:
		d := e.DNS
		if len(d.Queries) > 0 {
			summary, detail = d.Queries[0].RRName, d.Queries[0].RRType
		}
		if d.Type == "response" {
			detail += " " + d.RCode
			for i, a := range d.Answers {
				if i == 3 {
					detail += " …"
					break
				}
				detail += " " + a.RData
			}
		}
	case e.TLS != nil:
		summary, detail = e.TLS.SNI, e.TLS.Version
		if e.TLS.Subject != "" {
			detail += " " + e.TLS.Subject
		}
	case e.QUIC != nil:
		q := e.QUIC
		detail = "QUIC " + quicVersionLabel(q.Version)
		switch {
		case q.SNI != "":
			summary = q.SNI
			if len(q.ALPN) > 0 {
				detail += " " + strings.Join(q.ALPN, ",")
			}
		case q.JA3S != nil:
			summary = "server hello"
		default:
			summary = "handshake packet"
		}
	case e.HTTP != nil:
		h := e.HTTP
		summary = h.Method + " " + h.Hostname + h.URL
		if h.Status != 0 {
			detail = strconv.Itoa(h.Status)
		}
		if h.UserAgent != "" {
			detail += " " + h.UserAgent
		}
	case e.FTP != nil:
		summary = e.FTP.Command + " " + e.FTP.ShownData(showSecrets)
		if len(e.FTP.CompletionCode) > 0 {
			detail = e.FTP.CompletionCode[0]
		}
	case e.RDP != nil:
		summary = e.RDP.Summary()
	case e.Cred != nil:
		c := e.Cred
		summary = c.Protocol + " user " + c.User + " password " + proto.ShowSecret(c.Password, showSecrets)
		detail = c.Outcome
	case e.Line != nil:
		summary, detail = e.Line.Summary, e.Line.Detail
	}
	return summary, detail
}

// quicVersionLabel names the QUIC versions people know by name.
func quicVersionLabel(v string) string {
	switch v {
	case "1":
		return "v1"
	case "6b3343cf":
		return "v2"
	}
	if strings.HasPrefix(v, "Q") { // Google's: Q043, Q046
		return v
	}
	return "version " + v
}
