package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// systemPane shows CPU (total and per core, each with its history), load,
// memory (used, cache and buffers, available, swap) with history, pressure
// stall, filesystems, and per-disk and per-interface rates with history and
// totals. Content comes in sections, most important first; a section that
// does not fit whole is left out (and counted), so no row is ever cut.
type systemPane struct {
	c    *common
	w, h int
	off  int // scroll offset when the pane is shorter than its content
}

// paneSystem is the system pane's place: first in Tab order, key 1.
const paneSystem = 0

func init() { registerPane(paneSystem, func(c *common, _ Options) Pane { return newSystemPane(c) }) }

func newSystemPane(c *common) *systemPane { return &systemPane{c: c} }

func (p *systemPane) SetSize(w, h int) { p.w, p.h = w, h }

func (p *systemPane) Update(msg tea.Msg) (Pane, tea.Cmd) {
	k := p.c.keys
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Up):
			p.off = max(p.off-1, 0)
		case key.Matches(msg, k.Down):
			p.off++
		case key.Matches(msg, k.Home):
			p.off = 0
		}
	case scrollMsg:
		p.off = max(p.off+msg.delta, 0)
	}
	return p, nil
}

func (p *systemPane) ShortHelp() []key.Binding { return []key.Binding{p.c.keys.Up, p.c.keys.Down} }
func (p *systemPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{p.c.keys.Up, p.c.keys.Down, p.c.keys.Home}}
}

func (p *systemPane) View() string {
	bodyH := max(p.h-2, 0)
	secs := p.sections(p.w - 2)
	// Whole sections, most important first, while they fit; shown in
	// their usual order. The rest is reached by scrolling (or z, which
	// gives the pane the screen).
	all := 0
	for _, sec := range secs {
		all += len(sec.lines)
	}
	keep := make([]bool, len(secs))
	left := 0
	if all <= bodyH || p.off > 0 {
		for i := range keep {
			keep[i] = true
		}
	} else {
		order := make([]int, len(secs))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(secs[a].prio, secs[b].prio) })
		used := 0
		for _, i := range order {
			if n := len(secs[i].lines); used+n <= bodyH-1 {
				keep[i], used = true, used+n
			} else {
				left += n
			}
		}
	}
	var lines []string
	for i, sec := range secs {
		if keep[i] {
			lines = append(lines, sec.lines...)
		}
	}
	if left > 0 {
		lines = append(lines, p.c.st.Dim.Render(fmt.Sprintf("+%d rows · z shows all", left)))
	}
	p.off = min(p.off, max(len(lines)-bodyH, 0))
	title := " 1 system "
	if h := p.c.host; h != nil {
		title = fmt.Sprintf(" 1 system · %d cpu ", h.CPU.Count)
	}
	return strings.Join(box(p.c.st, title, p.c.focus == paneSystem, lines[p.off:], p.w, p.h), "\n")
}

// sections renders the content for an inner width w, most important first.
func (p *systemPane) sections(w int) []section {
	st, g, h := p.c.st, p.c.st.G, p.c.host
	if h == nil {
		return []section{{lines: []string{st.Dim.Render("waiting for the first host sample…")}}}
	}
	var secs []section
	prio := 0
	add := func(lines ...string) {
		if len(lines) > 0 {
			secs = append(secs, section{lines, prio})
		}
	}
	// Big graphs when the pane has the room (zoomed): btop's history.
	big := max(p.h-2, 0) >= 30
	if len(h.Errors) > 0 && h.CPU.Count == 0 {
		var errs []string
		for part, e := range h.Errors {
			errs = append(errs, st.Bad.Render(textsafe.Truncate(part+": "+e, w)))
		}
		add(errs...)
	}
	label := func(s string) string { return st.Dim.Render(fmt.Sprintf("%-5s", s)) }
	gw := max(w-19, 4) // graph width after "CPU  100.0% " and a margin
	cpu := h.CPU.Total.Busy
	if big {
		add(append([]string{label("CPU") + st.pctStyle(cpu).Render(fmt.Sprintf("%5.1f%% ", cpu)) + st.Dim.Render("busy, last "+fmt.Sprint(min(len(p.c.cpuHistory()), w))+" samples")},
			tallGraph(st, p.c.cpuHistory(), w, 8, 100)...)...)
	} else {
		add(label("CPU") + st.pctStyle(cpu).Render(fmt.Sprintf("%5.1f%% ", cpu)) +
			st.Graph.Render(sparkline(g, p.c.cpuHistory(), gw, 100)))
	}
	// Per-core cells, as many per line as fit in cells of at least 16: each
	// core's recent history (a single pegged core shows as a wall), or a
	// gauge until there are two samples.
	if n := len(h.CPU.PerCore); n > 0 {
		cell := 16
		if w >= 80 {
			cell = 20
		}
		perLine := max(w/cell, 1)
		bw := cell - 10
		var line strings.Builder
		var cores []string
		for i, c := range h.CPU.PerCore {
			graph := bar(g, c.Busy, bw)
			if cores := p.c.snap.Host.Cores; i < len(cores) && len(cores[i]) > 1 {
				graph = sparkline(g, cores[i], bw, 100)
			}
			line.WriteString(st.Dim.Render(fmt.Sprintf("%3d ", i)) + st.pctStyle(c.Busy).Render(graph) +
				fmt.Sprintf("%4.0f%% ", c.Busy))
			if (i+1)%perLine == 0 || i == n-1 {
				cores = append(cores, line.String())
				line.Reset()
			}
		}
		prio = 4
		add(cores...)
	}
	prio = 3
	add(label("Load") + fmt.Sprintf("%.2f %.2f %.2f", h.Load.Load1, h.Load.Load5, h.Load.Load15) +
		st.Dim.Render(fmt.Sprintf("   up %s", humanDuration(time.Duration(h.Host.UptimeS)*time.Second))))
	m := h.Memory
	if m.Total > 0 {
		pct := float64(m.Used) / float64(m.Total) * 100
		prio = 1
		memLine := label("Mem") + st.pctStyle(pct).Render(fmt.Sprintf("%5.1f%% ", pct)) +
			fmt.Sprintf("%s/%s ", humanBytes(float64(m.Used)), humanBytes(float64(m.Total)))
		if big {
			add(append([]string{memLine + st.Dim.Render("used")}, tallGraph(st, p.c.memHistory(), w, 4, 100)...)...)
		} else {
			add(memLine + st.Graph.Render(sparkline(g, p.c.memHistory(), max(w-27, 4), 100)))
		}
		prio = 5
		var mem []string
		// The breakdown free(1) gives: what is cache and buffers (the kernel
		// gives it back under pressure) and what is available.
		mem = append(mem, clipStyled(label("")+st.Dim.Render("cache ")+humanBytes(float64(m.Cached+m.Buffers))+
			st.Dim.Render("  avail ")+humanBytes(float64(m.Available))+st.Dim.Render("  free ")+humanBytes(float64(m.Free)), w))
		swap := label("Swap") + st.Dim.Render("none")
		if m.SwapTotal > 0 {
			sp := float64(m.SwapUsed) / float64(m.SwapTotal) * 100
			swap = label("Swap") + st.pctStyle(sp).Render(fmt.Sprintf("%5.1f%% ", sp)) +
				fmt.Sprintf("%s/%s", humanBytes(float64(m.SwapUsed)), humanBytes(float64(m.SwapTotal)))
			if r := m.SwapInPerS + m.SwapOutPerS; r > 0 {
				swap += st.Warn.Render(fmt.Sprintf(" %.0f pg/s", r))
			}
		}
		mem = append(mem, clipStyled(swap, w))
		add(mem...)
	}
	prio = 2
	if l := pressureLine(st, h, w); l != "" {
		add(label("PSI") + l)
	}
	// Sensors: rows that exist only when the host has them (most VMs and
	// containers have none). A battery on an on-call laptop matters more
	// than a frequency.
	if se := h.Sensors; se != nil {
		prio = 3
		if l := batteryLine(st, se.Batteries, w); l != "" {
			add(label("Bat") + l)
		}
		prio = 5
		if l := tempLine(st, se.Temps, w); l != "" {
			add(label("Temp") + l)
		}
		prio = 6
		if l := freqLine(st, se.CPUFreqMHz, w); l != "" {
			add(label("Freq") + l)
		}
	}
	prio = 0
	if m.OOMKillsNew > 0 {
		add(st.Bad.Render(fmt.Sprintf("OOM killer: %d kill(s) this interval", m.OOMKillsNew)))
	}
	var fss []string
	for _, fs := range h.Filesystems {
		bw := max(min(w-30, 20), 4)
		fss = append(fss, label("FS")+textsafe.Pad(fs.Mount, max(w-bw-23, 6))+" "+
			st.pctStyle(fs.UsedPct).Render(bar(g, fs.UsedPct, bw))+fmt.Sprintf(" %3.0f%% %6s", fs.UsedPct, humanBytes(float64(fs.Free))))
	}
	prio = 6
	add(fss...)
	// Disks and interfaces: the rate now, its history, and the total since
	// boot. Idle devices are left out.
	var disks []string
	for _, d := range h.Disks {
		if d.ReadBytes == 0 && d.WriteBytes == 0 && d.ReadBytesPerS == 0 && d.WriteBytesPerS == 0 {
			continue
		}
		l := label("Disk") + textsafe.Pad(d.Name, 8) + fmt.Sprintf(" r%6s w%6s %3.0f%% ",
			humanBytes(d.ReadBytesPerS), humanBytes(d.WriteBytesPerS), d.BusyPct)
		disks = append(disks, p.withHistory(l, p.c.snap.Host.Disks[d.Name], w,
			st.Dim.Render(fmt.Sprintf("tot %s/%s", humanBytes(float64(d.ReadBytes)), humanBytes(float64(d.WriteBytes))))))
	}
	prio = 8
	add(disks...)
	var nets []string
	for _, i := range h.Interfaces {
		if i.RxBytes == 0 && i.TxBytes == 0 {
			continue
		}
		l := label("Net") + textsafe.Pad(i.Name, 8) + fmt.Sprintf(" ↓%6s ↑%6s ",
			humanBytes(i.RxBytesPerS), humanBytes(i.TxBytesPerS))
		if i.RxDropsPerS+i.TxDropsPerS+i.RxErrorsPerS+i.TxErrorsPerS > 0 {
			l += st.Warn.Render(fmt.Sprintf("drop %.0f/s err %.0f/s ", i.RxDropsPerS+i.TxDropsPerS, i.RxErrorsPerS+i.TxErrorsPerS))
		}
		nets = append(nets, p.withHistory(l, p.c.snap.Host.Ifaces[i.Name], w,
			st.Dim.Render(fmt.Sprintf("tot %s/%s", humanBytes(float64(i.RxBytes)), humanBytes(float64(i.TxBytes))))))
	}
	prio = 7
	add(nets...)
	return secs
}

// section is rows that are shown whole or not at all; lower prio is kept
// first when the pane is short.
type section struct {
	lines []string
	prio  int
}

// tallGraph draws vals (newest right) as rows x w cells of block
// characters, eight levels a cell, scaled to top.
func tallGraph(st *Styles, vals []float64, w, rows int, top float64) []string {
	g := st.G
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	levels := len(g.Spark) - 1
	out := make([]string, rows)
	for r := range rows {
		var b strings.Builder
		b.WriteString(strings.Repeat(" ", w-len(vals)))
		base := (rows - 1 - r) * levels
		for _, v := range vals {
			n := int(min(max(v/top, 0), 1)*float64(rows*levels) + 0.5)
			b.WriteString(g.Spark[min(max(n-base, 0), levels)])
		}
		out[r] = st.Graph.Render(b.String())
	}
	return out
}

// withHistory ends a device row with its history (scaled to its own peak)
// and its totals, as room allows: totals first, then the graph.
func (p *systemPane) withHistory(line string, hist []float64, w int, totals string) string {
	st := p.c.st
	room, tw := w-ansi.StringWidth(line), ansi.StringWidth(totals)
	if room < tw {
		return clipStyled(line, w)
	}
	if gw := room - tw - 1; gw >= 6 && len(hist) > 1 {
		line += st.Graph.Render(sparkline(st.G, hist, gw, peak(hist))) + " "
	}
	return line + totals
}

func peak(h []float64) float64 {
	m := 1.0
	for _, v := range h {
		m = max(m, v)
	}
	return m
}

// pressureLine shows the share of time some task stalled on each resource
// (the kernel's avg10 and avg60, in percent), the most direct "is this box
// struggling" signal Linux has; or why it is missing.
func pressureLine(st *Styles, h *hoststat.Snapshot, w int) string {
	p := h.Pressure
	if p == nil {
		// "pressure" is system.PartPressure (tui does not import sources).
		if e := h.Errors["pressure"]; e != "" {
			return st.Dim.Render(textsafe.Truncate("n/a: "+e, max(w-5, 0)))
		}
		return ""
	}
	var b strings.Builder
	for _, r := range []struct {
		name string
		v    hoststat.PressureResource
	}{{"cpu", p.CPU}, {"mem", p.Memory}, {"io", p.IO}} {
		b.WriteString(st.Dim.Render(r.name + " "))
		if !r.v.Readable {
			b.WriteString(st.Dim.Render("n/a") + "  ")
			continue
		}
		b.WriteString(psiStyle(st, r.v.Some.Avg10).Render(psiNum(r.v.Some.Avg10)) +
			st.Dim.Render("/"+psiNum(r.v.Some.Avg60)) + "  ")
	}
	if w >= 64 {
		b.WriteString(st.Dim.Render("% stalled 10s/60s"))
	}
	return clipStyled(strings.TrimRight(b.String(), " "), max(w-5, 0))
}

// psiStyle colours a stall share: a few percent is a box that is busy, tens
// of percent one whose users wait.
func psiStyle(st *Styles, pct float64) lipgloss.Style {
	switch {
	case pct >= 40:
		return st.Bad
	case pct >= 10:
		return st.Warn
	}
	return st.Good
}

// clipStyled cuts a line that holds styling (its text already cleaned by
// textsafe) to w cells; textsafe.Truncate would escape the styling.
func clipStyled(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, "…")
}

// psiNum prints a stall share in at most four characters.
func psiNum(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// batteryLine shows each system battery: charge, state, power and time
// left, as upower would.
func batteryLine(st *Styles, bs []hoststat.Battery, w int) string {
	var parts []string
	for _, b := range bs {
		style := st.Good
		switch {
		case b.Status == "Discharging" && b.CapacityPct < 10:
			style = st.Bad
		case b.Status == "Discharging" && b.CapacityPct < 25:
			style = st.Warn
		}
		s := textsafe.Truncate(b.Name, 12) + " " + style.Render(fmt.Sprintf("%.0f%%", b.CapacityPct)) + " " +
			st.Dim.Render(strings.ToLower(textsafe.Truncate(b.Status, 12)))
		if b.PowerW > 0 {
			s += fmt.Sprintf(" %.1fW", b.PowerW)
		}
		if b.TimeLeftS > 0 {
			s += " " + humanDuration(time.Duration(b.TimeLeftS)*time.Second)
			if b.Status == "Charging" {
				s += st.Dim.Render(" to full")
			} else {
				s += st.Dim.Render(" left")
			}
		}
		parts = append(parts, s)
	}
	return clipStyled(strings.Join(parts, "  "), max(w-5, 0))
}

// tempLine lists the temperatures, hottest first, as many as fit whole;
// each is coloured against its driver's limits when it has them.
func tempLine(st *Styles, ts []hoststat.Temp, w int) string {
	if len(ts) == 0 {
		return ""
	}
	order := slices.Clone(ts)
	slices.SortStableFunc(order, func(a, b hoststat.Temp) int { return cmp.Compare(b.C, a.C) })
	room := max(w-5, 0)
	var b strings.Builder
	used, shown := 0, 0
	for _, t := range order {
		name := t.Label
		if strings.HasPrefix(name, "temp") || strings.HasPrefix(name, "zone ") {
			name = t.Chip // "temp1" says nothing; the chip does
		}
		name = textsafe.Truncate(name, 16)
		cell := fmt.Sprintf("%s %.0fC", name, t.C)
		n := textsafe.Width(cell) + 2
		if used+n > room && shown > 0 {
			if rest := fmt.Sprintf("+%d", len(order)-shown); used+len(rest) <= room {
				b.WriteString(st.Dim.Render(rest))
			}
			break
		}
		b.WriteString(st.Dim.Render(name+" ") + tempStyle(st, t).Render(fmt.Sprintf("%.0fC", t.C)) + "  ")
		used += n
		shown++
	}
	return clipStyled(strings.TrimRight(b.String(), " "), room)
}

func tempStyle(st *Styles, t hoststat.Temp) lipgloss.Style {
	high, crit := t.HighC, t.CritC
	if high <= 0 {
		high = 80 // no limit from the driver: where most CPUs start to throttle
	}
	switch {
	case (crit > 0 && t.C >= crit) || t.C >= high:
		return st.Bad
	case t.C >= high-10:
		return st.Warn
	}
	return st.Good
}

// freqLine shows the CPUs' current frequency: the mean, and the range
// when the cores differ (one pinned core at full clock, the rest idle).
func freqLine(st *Styles, f []float64, w int) string {
	if len(f) == 0 {
		return ""
	}
	lo, hi, sum := f[0], f[0], 0.0
	for _, v := range f {
		lo, hi, sum = min(lo, v), max(hi, v), sum+v
	}
	s := ghz(sum/float64(len(f))) + st.Dim.Render(" avg")
	if hi-lo >= 50 {
		s += st.Dim.Render("  min ") + ghz(lo) + st.Dim.Render("  max ") + ghz(hi)
	}
	return clipStyled(s, max(w-5, 0))
}

func ghz(mhz float64) string { return fmt.Sprintf("%.2f GHz", mhz/1000) }
