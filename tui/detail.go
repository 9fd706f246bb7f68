package tui

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// detailTarget is what Enter opened: exactly one field is set.
type detailTarget struct {
	alert    *detect.Alert
	flow     *engine.FlowView
	host     netip.Addr
	pid      int32
	procName string
	event    *engine.Event
}

// detailPane shows what is known about one alert, flow, host, process or
// protocol event: evidence, related flows and alerts, the process, MITRE.
// Its lines are built from the snapshot it was opened on, so they do not
// jump while read.
type detailPane struct {
	c     *common
	w, h  int
	t     detailTarget
	lines []string
	off   int
}

func newDetailPane(c *common, t detailTarget) *detailPane {
	d := &detailPane{c: c, t: t}
	d.build()
	return d
}

// SetSize lays the lines out again: they wrap to the width.
func (d *detailPane) SetSize(w, h int) {
	if w != d.w {
		d.w = w
		d.build()
	}
	d.h = h
}

func (d *detailPane) Update(msg tea.Msg) (Pane, tea.Cmd) {
	k := d.c.keys
	page := max(d.h-3, 1)
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Up):
			d.off--
		case key.Matches(msg, k.Down):
			d.off++
		case key.Matches(msg, k.PageUp):
			d.off -= page
		case key.Matches(msg, k.PageDown):
			d.off += page
		case key.Matches(msg, k.Home):
			d.off = 0
		case key.Matches(msg, k.End):
			d.off = len(d.lines)
		}
	case scrollMsg:
		d.off += msg.delta
	}
	if msg, ok := msg.(tea.KeyMsg); ok && d.t.alert != nil {
		a := d.t.alert
		switch {
		case key.Matches(msg, k.Export):
			return d, d.c.save.exportCmd(a)
		case key.Matches(msg, k.OpenProcess) && a.PID > 0:
			return d, cmdOf(openDetailMsg{detailTarget{pid: a.PID, procName: a.Process}})
		case key.Matches(msg, k.OpenHost) && a.Src.IsValid():
			return d, cmdOf(openDetailMsg{detailTarget{host: a.Src}})
		}
	}
	if msg, ok := msg.(tea.KeyMsg); ok && d.t.flow != nil {
		f := d.t.flow
		switch {
		case key.Matches(msg, k.OpenProcess) && f.PID > 0:
			return d, cmdOf(openDetailMsg{detailTarget{pid: f.PID, procName: f.Process}})
		case key.Matches(msg, k.OpenHost):
			return d, cmdOf(openDetailMsg{detailTarget{host: f.Server.Addr()}})
		}
	}
	d.off = min(max(d.off, 0), max(len(d.lines)-(d.h-2), 0))
	return d, nil
}

func (d *detailPane) ShortHelp() []key.Binding {
	k := d.c.keys
	if d.t.alert != nil {
		return []key.Binding{k.Back, k.OpenProcess, k.OpenHost, k.Export, k.Bundle, k.Up, k.Down}
	}
	return []key.Binding{k.Back, k.Bundle, k.Up, k.Down}
}

func (d *detailPane) FullHelp() [][]key.Binding {
	k := d.c.keys
	if d.t.alert != nil {
		return [][]key.Binding{{k.Back, k.Up, k.Down, k.PageUp, k.PageDown}, {k.Export, k.Bundle}}
	}
	return [][]key.Binding{{k.Back, k.Up, k.Down, k.PageUp, k.PageDown}, {k.Bundle}}
}

func (d *detailPane) View() string {
	end := min(d.off+max(d.h-2, 0), len(d.lines))
	return strings.Join(box(d.c.st, " "+d.title()+" · esc to go back ", true, d.lines[min(d.off, end):end], d.w, d.h), "\n")
}

func (d *detailPane) title() string {
	switch t := d.t; {
	case t.alert != nil:
		return "alert"
	case t.flow != nil:
		return "flow"
	case t.host.IsValid():
		return "host " + t.host.String()
	case t.pid != 0:
		return fmt.Sprintf("process %d", t.pid)
	case t.event != nil:
		return "protocol event"
	}
	return "detail"
}

// build renders the facts as lines. Every outside string is cleaned.
func (d *detailPane) build() {
	st, s := d.c.st, d.c.snap
	var out []string
	width := max(d.w-2, 40)
	// Values wrap under their label, never cut: at 80x24 the sentence
	// that matters is often the long one.
	field := func(name, value string) {
		for i, l := range wrapLabelled("", value, width) {
			lab := ""
			if i == 0 {
				lab = name
			}
			out = append(out, st.Dim.Render(fmt.Sprintf("%-14s", textsafe.Truncate(lab, labelWidth-1)))+l[labelWidth:])
		}
	}
	section := func(name string) {
		out = append(out, "", st.Bold.Render(name))
	}
	var addrs []netip.Addr
	var pid int32
	var flowID uint64
	switch t := d.t; {
	case t.alert != nil:
		a := t.alert
		// Saving the proof is the next step after reading an alert: say how.
		k := d.c.keys
		out = append(out, st.Warn.Render(fmt.Sprintf("%s saves this alert's packets as pcap · %s saves an incident bundle",
			k.Export.Help().Key, k.Bundle.Help().Key)), "")
		if a.Rule != nil {
			field("rule", fmt.Sprintf("%s (sid %d rev %d)", a.Rule.Name, a.Rule.SID, a.Rule.Rev))
			field("what", a.Rule.Summary)
			field("category", a.Rule.Category)
			if len(a.Rule.MITRE) > 0 {
				field("MITRE ATT&CK", strings.Join(a.Rule.MITRE, ", "))
			}
		}
		field("severity", a.Severity.String())
		field("time", a.TS.Format("2006-01-02 15:04:05.000000 MST"))
		field("signature", a.Signature)
		field("source", withName(endpoint(a.Src, a.SrcPort), d.c.name(a.Src)))
		field("target", withName(endpoint(a.Dst, a.DstPort), d.c.name(a.Dst)))
		if a.PID > 0 {
			field("process", procLabel(a.PID, a.Process))
		}
		// What it means and what to do, before the raw fields: the
		// reader is an engineer on call, not a rule author. Commands are
		// shown, never run.
		out = append(out, guideLines(a, width)...)
		out = append(out, st.Warn.Render(fmt.Sprintf("%s opens the process · %s opens the remote host %s",
			k.OpenProcess.Help().Key, k.OpenHost.Help().Key, addrOr(a.Src))), "")
		if a.Proto != "" {
			field("proto", a.Proto)
		}
		if a.Suppressed > 0 {
			field("suppressed", fmt.Sprintf("%d more like it in the window", a.Suppressed))
		}
		if a.Community != "" {
			field("community_id", a.Community)
		}
		field("acknowledged", fmt.Sprint(d.c.acked[a]))
		if len(a.Evidence) > 0 {
			section("evidence")
			keys := make([]string, 0, len(a.Evidence))
			for k := range a.Evidence {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				field(strings.ReplaceAll(k, "_", " "), evidenceValue(a.Evidence[k]))
			}
		}
		addrs, pid, flowID = []netip.Addr{a.Src, a.Dst}, a.PID, a.FlowID
	case t.flow != nil:
		f := t.flow
		field("client", withName(f.Client.String(), d.c.name(f.Client.Addr())))
		field("server", withName(f.Server.String(), d.c.name(f.Server.Addr())))
		field("proto", f.Proto+" "+f.AppProto)
		field("state", f.State)
		field("to server", fmt.Sprintf("%d pkts %s", f.PktsToServer, humanBytes(float64(f.BytesToServer))))
		field("to client", fmt.Sprintf("%d pkts %s", f.PktsToClient, humanBytes(float64(f.BytesToClient))))
		field("first, last", f.First.Format("15:04:05")+", "+f.Last.Format("15:04:05")+" ("+f.Last.Sub(f.First).Round(time.Millisecond).String()+")")
		field("community_id", f.CommunityID)
		field("process", procLabel(f.PID, f.Process))
		addrs, pid, flowID = []netip.Addr{f.Client.Addr(), f.Server.Addr()}, f.PID, f.ID
	case t.host.IsValid():
		if n := d.c.name(t.host); n != "" {
			field("name", n+" (from a DNS answer seen on the wire; answers can be forged)")
			if o := s.OtherNames[t.host]; len(o) > 0 && !d.c.noNames {
				field("also named", strings.Join(o, ", "))
			}
		}
		for _, tk := range s.Talkers {
			if tk.Addr == t.host {
				field("out", fmt.Sprintf("%s in %d pkts", humanBytes(float64(tk.BytesOut)), tk.PktsOut))
				field("in", fmt.Sprintf("%s in %d pkts", humanBytes(float64(tk.BytesIn)), tk.PktsIn))
				field("flows", fmt.Sprint(tk.Flows))
			}
		}
		addrs = []netip.Addr{t.host}
	case t.pid != 0:
		pid = t.pid
		field("name", t.procName)
	case t.event != nil:
		e := t.event
		field("kind", e.Kind)
		field("time", e.TS.Format("2006-01-02 15:04:05.000000"))
		field("client", e.Client.String())
		field("server", e.Server.String())
		summary, detail := EventLine(e, d.c.showSecrets)
		field("summary", summary)
		field("detail", detail)
		addrs, flowID = []netip.Addr{e.Client.Addr(), e.Server.Addr()}, e.FlowID
	}
	if pid > 0 && d.c.host != nil {
		for i := range d.c.host.Processes {
			p := &d.c.host.Processes[i]
			if p.PID != pid {
				continue
			}
			section("process")
			field("pid, ppid", fmt.Sprintf("%d, %d", p.PID, p.PPID))
			field("user", fmt.Sprintf("%s (%d)", p.User, p.UID))
			field("name", p.Name)
			field("command", p.Cmdline)
			field("cpu, rss", fmt.Sprintf("%.1f%%, %s", p.CPUPct, humanBytes(float64(p.RSS))))
			field("disk", fmt.Sprintf("r %s/s w %s/s", humanBytes(p.ReadBytesPerS), humanBytes(p.WriteBytesPerS)))
			if !p.StartTime.IsZero() {
				field("started", p.StartTime.Format("2006-01-02 15:04:05"))
			}
			for _, sk := range d.c.host.Sockets {
				if sk.PID == pid {
					field("socket", fmt.Sprintf("%s %s %s %s", sk.Proto, sk.Local, sk.Remote, sk.State))
				}
			}
		}
	}
	// Related flows and alerts.
	var flows []string
	for _, f := range s.TopFlows {
		if a := d.t.alert; a != nil {
			// An alert's related flows are its incident's: its own flow and
			// those between its actor and its target, not every flow of
			// either host (a flood to the same server is another story).
			c, sv := f.Client.Addr(), f.Server.Addr()
			if !(flowID != 0 && f.ID == flowID) && !((c == a.Src && sv == a.Dst) || (c == a.Dst && sv == a.Src)) {
				continue
			}
		} else if !((flowID != 0 && f.ID == flowID) || (pid > 0 && f.PID == pid) || involves(f.Client.Addr(), addrs...) || involves(f.Server.Addr(), addrs...)) {
			continue
		}
		flows = append(flows, fmt.Sprintf("%s %s %s %s %s %s", f.Proto, f.Client, st.G.Arrow, f.Server,
			humanBytes(float64(f.BytesToServer+f.BytesToClient)), procLabel(f.PID, f.Process)))
	}
	if len(flows) > 0 {
		section(fmt.Sprintf("related flows (%d)", len(flows)))
		out = append(out, capLines(flows, 20)...)
	}
	var alerts []string
	for i := len(s.Alerts) - 1; i >= 0; i-- {
		a := s.Alerts[i]
		if a == d.t.alert {
			continue
		}
		if (flowID != 0 && a.FlowID == flowID) || (pid > 0 && a.PID == pid) || involves(a.Src, addrs...) || involves(a.Dst, addrs...) {
			name := "?"
			if a.Rule != nil {
				name = a.Rule.Name
			}
			alerts = append(alerts, st.sevStyle(a.Severity).Render(fmt.Sprintf("%s %-6s %s", a.TS.Format("15:04:05"), a.Severity, name))+" "+textsafe.Clean(a.Signature))
		}
	}
	if len(alerts) > 0 {
		section(fmt.Sprintf("related alerts (%d)", len(alerts)))
		out = append(out, capLines(alerts, 20)...)
	}
	d.lines = out
}

func capLines(l []string, n int) []string {
	if len(l) <= n {
		return l
	}
	return append(l[:n:n], fmt.Sprintf("… and %d more", len(l)-n))
}

func endpoint(a netip.Addr, port uint16) string {
	if !a.IsValid() {
		return "-"
	}
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// withName appends the name a DNS answer gave an address, when there is one.
func withName(addr, name string) string {
	if name == "" {
		return addr
	}
	return addr + " (" + name + ")"
}

// evidenceValue writes an evidence value for people: numbers without
// float noise (30.000323061 s reads 30), lists one item after another,
// objects (a top process) as "key value" pairs in a stable order.
func evidenceValue(v any) string {
	switch x := v.(type) {
	case float64:
		return formatNumber(x)
	case float32:
		return formatNumber(float64(x))
	case []string:
		return strings.Join(x, ", ")
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, evidenceValue(e))
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, strings.ReplaceAll(k, "_", " ")+" "+evidenceValue(x[k]))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

func formatNumber(f float64) string {
	if f == float64(int64(f)) || f >= 100 || f <= -100 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}
