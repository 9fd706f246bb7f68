package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// systemPane shows CPU (total and per core, each with its history), load,
// memory and swap, disks, filesystems and interface rates.
type systemPane struct {
	c    *common
	w, h int
	off  int // scroll offset when the pane is shorter than its content
}

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
	lines := p.lines(p.w - 2)
	bodyH := max(p.h-2, 0)
	p.off = min(p.off, max(len(lines)-bodyH, 0))
	title := " 1 system "
	if h := p.c.host; h != nil {
		title = fmt.Sprintf(" 1 system · %d cpu ", h.CPU.Count)
	}
	return strings.Join(box(p.c.st, title, p.c.focus == paneSystem, lines[p.off:], p.w, p.h), "\n")
}

// lines renders the content for an inner width w, most important first so
// that a short pane keeps CPU and memory.
func (p *systemPane) lines(w int) []string {
	st, g, h := p.c.st, p.c.st.G, p.c.host
	if h == nil {
		return []string{st.Dim.Render("waiting for the first host sample…")}
	}
	var out []string
	if len(h.Errors) > 0 && h.CPU.Count == 0 {
		for part, e := range h.Errors {
			out = append(out, st.Bad.Render(textsafe.Truncate(part+": "+e, w)))
		}
	}
	label := func(s string) string { return st.Dim.Render(fmt.Sprintf("%-5s", s)) }
	gw := max(w-19, 4) // graph width after "CPU  100.0% " and a margin
	cpu := h.CPU.Total.Busy
	out = append(out, label("CPU")+st.pctStyle(cpu).Render(fmt.Sprintf("%5.1f%% ", cpu))+
		st.Graph.Render(sparkline(g, p.c.cpuHistory(), gw, 100)))
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
		for i, c := range h.CPU.PerCore {
			graph := bar(g, c.Busy, bw)
			if i < len(p.c.coreHist) && len(p.c.coreHist[i]) > 1 {
				graph = sparkline(g, p.c.coreHist[i], bw, 100)
			}
			line.WriteString(st.Dim.Render(fmt.Sprintf("%3d ", i)) + st.pctStyle(c.Busy).Render(graph) +
				fmt.Sprintf("%4.0f%% ", c.Busy))
			if (i+1)%perLine == 0 || i == n-1 {
				out = append(out, line.String())
				line.Reset()
			}
		}
	}
	out = append(out, label("Load")+fmt.Sprintf("%.2f %.2f %.2f", h.Load.Load1, h.Load.Load5, h.Load.Load15)+
		st.Dim.Render(fmt.Sprintf("   up %s", humanDuration(time.Duration(h.Host.UptimeS)*time.Second))))
	m := h.Memory
	if m.Total > 0 {
		pct := float64(m.Used) / float64(m.Total) * 100
		out = append(out, label("Mem")+st.pctStyle(pct).Render(fmt.Sprintf("%5.1f%% ", pct))+
			fmt.Sprintf("%s/%s ", humanBytes(float64(m.Used)), humanBytes(float64(m.Total)))+
			st.Graph.Render(sparkline(g, p.c.memHistory(), max(w-27, 4), 100)))
	}
	if m.SwapTotal > 0 {
		pct := float64(m.SwapUsed) / float64(m.SwapTotal) * 100
		out = append(out, label("Swap")+st.pctStyle(pct).Render(fmt.Sprintf("%5.1f%% ", pct))+
			fmt.Sprintf("%s/%s", humanBytes(float64(m.SwapUsed)), humanBytes(float64(m.SwapTotal))))
	}
	if l := pressureLine(st, h, w); l != "" {
		out = append(out, label("PSI")+l)
	}
	if m.OOMKillsNew > 0 {
		out = append(out, st.Bad.Render(fmt.Sprintf("OOM killer: %d kill(s) this interval", m.OOMKillsNew)))
	}
	for _, fs := range h.Filesystems {
		bw := max(min(w-30, 20), 4)
		out = append(out, label("FS")+textsafe.Pad(fs.Mount, max(w-bw-23, 6))+" "+
			st.pctStyle(fs.UsedPct).Render(bar(g, fs.UsedPct, bw))+fmt.Sprintf(" %3.0f%% %6s", fs.UsedPct, humanBytes(float64(fs.Free))))
	}
	for _, d := range h.Disks {
		if d.ReadBytesPerS == 0 && d.WriteBytesPerS == 0 && d.BusyPct == 0 {
			continue
		}
		out = append(out, label("Disk")+textsafe.Pad(d.Name, 10)+fmt.Sprintf(" r %6s/s w %6s/s %3.0f%%",
			humanBytes(d.ReadBytesPerS), humanBytes(d.WriteBytesPerS), d.BusyPct))
	}
	for _, i := range h.Interfaces {
		if i.RxBytes == 0 && i.TxBytes == 0 {
			continue
		}
		line := label("Net") + textsafe.Pad(i.Name, 10) + fmt.Sprintf(" rx %6s/s tx %6s/s",
			humanBytes(i.RxBytesPerS), humanBytes(i.TxBytesPerS))
		if i.RxDropsPerS+i.TxDropsPerS+i.RxErrorsPerS+i.TxErrorsPerS > 0 {
			line += st.Warn.Render(fmt.Sprintf(" drop %.0f/s err %.0f/s", i.RxDropsPerS+i.TxDropsPerS, i.RxErrorsPerS+i.TxErrorsPerS))
		}
		out = append(out, line)
	}
	return out
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
		b.WriteString(psiStyle(st, r.v.Some.Avg10).Render(fmt.Sprintf("%.1f", r.v.Some.Avg10)) +
			st.Dim.Render(fmt.Sprintf("/%.1f", r.v.Some.Avg60)) + "  ")
	}
	return textsafe.Truncate(b.String()+st.Dim.Render("% stalled 10s/60s"), max(w-5, 0))
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
