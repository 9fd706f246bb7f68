package tui

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// netView is how the network pane groups traffic.
type netView int

const (
	viewHosts netView = iota
	viewFlows
	viewProcs
	viewProtos
	numViews
)

var netViewNames = [numViews]string{"by host", "by flow", "by process", "by protocol"}

// netRow is one line of the network pane, whatever the view.
type netRow struct {
	key    string
	cols   []string // cells after the first
	name   string   // first cell (already clean)
	server string   // flows view: the server end, kept whole when the cell is cut
	bytes  uint64
	d      detailTarget
}

// networkPane shows flows and top talkers with the owning process, rates
// and history, or why there is no capture.
type networkPane struct {
	c    *common
	w, h int
	view netView
	l    list
	rows []netRow
	r    rates
}

// rates turns the byte totals of two snapshots into bytes per second, by
// row key (for the hosts and flows views at once, so that a view switched
// to already has its rates), as bandwhich and nethogs show them. Processes
// have theirs from the engine (attrib.ProcNet).
type rates struct {
	at, prevAt int64             // packet time (ns) of the snapshot and of the one before
	cur, prev  map[string]uint64 // totals by key
	rate       map[string]float64
}

// update takes a snapshot's totals; the same snapshot again changes
// nothing.
func (r *rates) update(s *engine.Snapshot) {
	at := s.Now.UnixNano()
	if at == r.at && r.cur != nil {
		return
	}
	r.prev, r.prevAt = r.cur, r.at
	r.cur, r.at = make(map[string]uint64, len(r.prev)), at
	for _, t := range s.Talkers {
		r.cur["h|"+t.Addr.String()] = t.Bytes()
	}
	for _, f := range s.TopFlows {
		r.cur[fmt.Sprint("f|", f.ID)] = f.BytesToServer + f.BytesToClient
	}
	dt := float64(r.at-r.prevAt) / 1e9
	r.rate = make(map[string]float64, len(r.cur))
	for k, v := range r.cur {
		if old, ok := r.prev[k]; ok && dt > 0 && v >= old {
			r.rate[k] = float64(v-old) / dt
		}
	}
}

// of returns key's bytes per second between the last two snapshots (0 for
// a row new in the last one).
func (r *rates) of(key string) float64 { return r.rate[key] }

// paneNet is the network pane's place: third in Tab order, key 3.
const paneNet = 2

func init() { registerPane(paneNet, func(c *common, _ Options) Pane { return newNetworkPane(c) }) }

func newNetworkPane(c *common) *networkPane { return &networkPane{c: c} }

func (p *networkPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.l.setHeight(p.listHeight())
}

// listHeight is the body minus the rate line, the column header and the
// capture error lines.
func (p *networkPane) listHeight() int {
	n := p.h - 2 - 2
	if p.sourceProblem() {
		n -= 3
	}
	return max(n, 0)
}

func (p *networkPane) sourceProblem() bool {
	s := p.c.snap.Source.State
	return s == "error" || s == "unavailable"
}

func (p *networkPane) Update(msg tea.Msg) (Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case SnapshotMsg:
		p.refresh()
		return p, nil
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, p.c.keys.View):
			p.view = (p.view + 1) % numViews
			p.l = list{height: p.listHeight()}
			p.refresh()
			return p, nil
		case key.Matches(msg, p.c.keys.Open):
			if p.l.cursor < len(p.rows) {
				return p, cmdOf(openDetailMsg{p.rows[p.l.cursor].d})
			}
			return p, nil
		}
	case clickMsg:
		msg.row -= p.h - 2 - p.listHeight() // rows above the list
		p.l.update(msg, p.c.keys)
		return p, nil
	}
	p.l.update(msg, p.c.keys)
	return p, nil
}

func (p *networkPane) ShortHelp() []key.Binding {
	k := p.c.keys
	return []key.Binding{k.View, k.Open}
}

func (p *networkPane) FullHelp() [][]key.Binding {
	k := p.c.keys
	return [][]key.Binding{{k.View, k.Open, k.Up, k.Down}}
}

func (p *networkPane) refresh() {
	s := p.c.snap
	p.rows = p.rows[:0]
	p.r.update(s)
	rate := func(key string) string { return humanBytes(p.r.of(key)) + "/s" }
	switch p.view {
	case viewHosts:
		for _, t := range s.Talkers {
			// The address first (what a firewall rule needs), then the name a
			// DNS answer gave it, which a narrow column cuts first.
			label := t.Addr.String()
			if n := p.c.name(t.Addr); n != "" {
				label += " " + n
				if o := len(s.OtherNames[t.Addr]); o > 0 {
					label += fmt.Sprintf(" +%d", o) // more names: the host detail lists them
				}
			}
			p.rows = append(p.rows, netRow{key: t.Addr.String(), name: label, bytes: t.Bytes(),
				cols: []string{rate("h|" + t.Addr.String()), humanBytes(float64(t.BytesOut)), humanBytes(float64(t.BytesIn)), fmt.Sprint(t.Flows)},
				d:    detailTarget{host: t.Addr}})
		}
	case viewFlows:
		for i := range s.TopFlows {
			f := &s.TopFlows[i]
			app := f.AppProto
			if app == "" {
				app = f.Proto
			}
			total := f.BytesToServer + f.BytesToClient
			p.rows = append(p.rows, netRow{key: fmt.Sprint(f.ID), name: p.c.endpointLabel(f.Client), server: p.c.endpointLabel(f.Server),
				bytes: total,
				cols: []string{textsafe.Truncate(app, 8), rate(fmt.Sprint("f|", f.ID)), humanBytes(float64(total)),
					procLabel(f.PID, f.Process), humanCount(float64(f.PktsToServer + f.PktsToClient))},
				d: detailTarget{flow: f}})
		}
	case viewProcs:
		// The engine's accounting (attribution's, every packet counted);
		// the flows column counts the flows on show that the process owns.
		shown := map[int32]int{}
		for _, f := range s.TopFlows {
			shown[f.PID]++
		}
		for _, pn := range s.Processes {
			pid, name := pn.PID, pn.Name
			label := procLabel(pid, name)
			if pn.State != attrib.Known && pn.State != attrib.Gone {
				pid, label = 0, "- ("+pn.State.String()+")"
			} else if pn.State == attrib.Gone {
				label += " (exited)"
			}
			total := pn.BytesIn + pn.BytesOut
			p.rows = append(p.rows, netRow{key: fmt.Sprint(pid, "|", pn.State), name: label, bytes: total,
				cols: []string{fmt.Sprint(shown[pid]), humanBytes(pn.RateIn+pn.RateOut) + "/s", humanBytes(float64(total))},
				d:    detailTarget{pid: pid, procName: name}})
		}
	case viewProtos:
		for _, pr := range s.Protos {
			p.rows = append(p.rows, netRow{key: pr.Name, name: textsafe.Clean(pr.Name), bytes: pr.Bytes,
				cols: []string{fmt.Sprint(pr.Flows), humanBytes(float64(pr.Bytes))}})
		}
	}
	keys := make([]string, len(p.rows))
	for i, r := range p.rows {
		keys[i] = r.key
	}
	p.l.setHeight(p.listHeight())
	p.l.setRows(keys)
}

// flowLabel is "client → server" within width. When it does not fit,
// the client gets at most a third, and each end keeps its port: the
// server's address and port, what a firewall rule or ss needs, stay
// visible at every width, a long name being cut before its port.
func flowLabel(client, arrow, server string, width int) string {
	full := client + " " + arrow + " " + server
	if textsafe.Width(full) <= width {
		return full
	}
	avail := width - textsafe.Width(arrow) - 2
	cw := min(textsafe.Width(client), max(avail-textsafe.Width(server), avail/3))
	return cutEndpoint(client, cw) + " " + arrow + " " + cutEndpoint(server, avail-cw)
}

// cutEndpoint fits "host:port" into w cells, cutting the host and keeping
// ":port".
func cutEndpoint(l string, w int) string {
	if textsafe.Width(l) <= w {
		return l
	}
	i := strings.LastIndexByte(l, ':')
	port := ""
	if i >= 0 && i < len(l)-1 && strings.Trim(l[i+1:], "0123456789") == "" {
		l, port = l[:i], l[i:]
	}
	if w-len(port) < 2 {
		return textsafe.Truncate(l+port, w)
	}
	return textsafe.Truncate(l, w-len(port)) + port
}

// procLabel names a process for a table cell.
func procLabel(pid int32, name string) string {
	if pid <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%s", pid, textsafe.Clean(name))
}

// The columns of each view; when the pane is narrow the last ones go
// first, so the least needed come last.
var netHeaders = [numViews][]string{
	{"host", "rate", "out", "in", "flows"},
	{"flow", "app", "rate", "bytes", "process", "pkts"},
	{"process", "flows", "rate", "bytes"},
	{"protocol", "flows", "bytes"},
}

var netWidths = [numViews][]int{{0, 9, 7, 7, 6}, {0, 8, 9, 7, 18, 6}, {0, 6, 9, 7}, {0, 6, 7}}

func (p *networkPane) View() string {
	st, g, s := p.c.st, p.c.st.G, p.c.snap
	w := p.w - 2
	var body []string
	if p.sourceProblem() {
		src := s.Source
		// Wrapped, not cut: the fix is at the end of these lines.
		for _, l := range textsafe.Wrap("no capture: "+src.Err, w, 3) {
			body = append(body, st.Bad.Render(l))
		}
		for _, l := range textsafe.Wrap(src.Hint, w, 3) {
			body = append(body, st.Warn.Render(l))
		}
	}
	gw := max((w-34)/2, 4)
	body = append(body, st.Dim.Render("pkt/s ")+fmt.Sprintf("%6s ", humanCount(last(s.PPS)))+st.Graph.Render(sparkline(g, s.PPS, gw, 0))+
		st.Dim.Render("  bytes/s ")+fmt.Sprintf("%6s ", humanBytes(last(s.BPS)))+st.Graph.Render(sparkline(g, s.BPS, gw, 0)))

	// Columns: the first takes what is left; drop trailing ones when narrow.
	hdr, widths := netHeaders[p.view], slices.Clone(netWidths[p.view])
	for len(widths) > 1 && sum(widths[1:])+len(widths) > w-16 {
		widths = widths[:len(widths)-1]
	}
	widths[0] = w - sum(widths[1:]) - (len(widths) - 1)
	row := func(first string, cols []string) string {
		var b strings.Builder
		b.WriteString(textsafe.Pad(first, widths[0]))
		for i := 1; i < len(widths) && i-1 < len(cols); i++ {
			b.WriteString(" ")
			if hdr[i] == "process" {
				b.WriteString(textsafe.Pad(cols[i-1], widths[i]))
			} else {
				b.WriteString(textsafe.PadLeft(cols[i-1], widths[i]))
			}
		}
		return b.String()
	}
	body = append(body, st.ColHeader.Render(row(hdr[0], hdr[1:])))
	if len(p.rows) == 0 && !p.sourceProblem() {
		body = append(body, st.Dim.Render("no traffic yet"))
	}
	from, to := p.l.visible()
	for i := from; i < to; i++ {
		first := p.rows[i].name
		if srv := p.rows[i].server; srv != "" {
			first = flowLabel(first, p.c.st.G.Arrow, srv, widths[0])
		}
		line := row(first, p.rows[i].cols)
		if i == p.l.cursor && p.c.focus == paneNet {
			line = st.Selected.Render(line)
		}
		body = append(body, line)
	}
	title := fmt.Sprintf(" 3 network · %s · %s ", netViewNames[p.view], sourceLabel(s.Source))
	if l := lossLabel(s); l != "" {
		title += "· " + l + " "
	}
	return strings.Join(box(st, title, p.c.focus == paneNet, body, p.w, p.h), "\n")
}

// lossLabel says what the bounds dropped, so that an engineer knows the
// view is partial: flows evicted from the full table, and stream
// directions given up at the reassembly memcap or a gap ("" when none).
func lossLabel(s *engine.Snapshot) string {
	var parts []string
	if n := s.Flows.Evicted; n > 0 {
		parts = append(parts, humanCount(float64(n))+" flows")
	}
	if n := s.Reassembly.MemcapDrops + s.Reassembly.GapDrops; n > 0 {
		parts = append(parts, humanCount(float64(n))+" streams")
	}
	if parts == nil {
		return ""
	}
	return "dropped " + strings.Join(parts, ", ")
}

func sourceLabel(src engine.SourceStatus) string {
	name := src.Name
	if src.Kind == "file" {
		name = filepath.Base(name)
	}
	name = textsafe.Clean(name)
	if name == "" {
		name = "no capture"
	}
	if src.State != "" && src.State != "running" {
		name += " (" + textsafe.Clean(src.State) + ")"
	}
	return name
}

func sum(v []int) int {
	t := 0
	for _, x := range v {
		t += x
	}
	return t
}

// hostOf is used by details to match flows and alerts to a host.
func involves(a netip.Addr, addrs ...netip.Addr) bool {
	for _, b := range addrs {
		if a.IsValid() && a == b {
			return true
		}
	}
	return false
}
