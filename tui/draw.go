package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// fit cuts or pads a line (which may hold styling) to exactly w cells. Text
// from outside must already have passed through textsafe, so the widths
// measured here are the ones the terminal draws.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// block makes exactly h lines of exactly w cells from lines.
func block(lines []string, w, h int) []string {
	out := make([]string, h)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", max(w, 0))
		}
	}
	return out
}

// box draws body inside a border with a title, exactly w x h.
func box(st *Styles, title string, focused bool, body []string, w, h int) []string {
	if w < 4 || h < 2 {
		return block(nil, w, h)
	}
	bs, ts := st.Border, st.Title
	if focused {
		bs, ts = st.BorderFocused, st.TitleFocused
	}
	g := st.G
	title = ansi.Truncate(title, w-4, "")
	tw := ansi.StringWidth(title)
	top := bs.Render(g.TL+g.H) + ts.Render(title) + bs.Render(strings.Repeat(g.H, w-3-tw)+g.TR)
	out := make([]string, 0, h)
	out = append(out, top)
	left, right := bs.Render(g.V), bs.Render(g.V)
	for _, l := range block(body, w-2, h-2) {
		out = append(out, left+l+right)
	}
	out = append(out, bs.Render(g.BL+strings.Repeat(g.H, w-2)+g.BR))
	return out
}

// sparkline draws the last w values scaled to top (or their maximum when
// top is 0), one cell per value, right-aligned.
func sparkline(g glyphs, vals []float64, w int, top float64) string {
	if w <= 0 {
		return ""
	}
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	if top <= 0 {
		for _, v := range vals {
			top = math.Max(top, v)
		}
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", w-len(vals)))
	levels := len(g.Spark) - 1
	for _, v := range vals {
		i := 0
		if top > 0 && v > 0 {
			i = int(math.Ceil(v / top * float64(levels)))
			i = min(max(i, 1), levels)
		}
		b.WriteString(g.Spark[i])
	}
	return b.String()
}

// bar draws a w-cell gauge filled to pct percent.
func bar(g glyphs, pct float64, w int) string {
	if w <= 0 {
		return ""
	}
	n := int(math.Round(pct / 100 * float64(w)))
	n = min(max(n, 0), w)
	return strings.Repeat(g.BarFull, n) + strings.Repeat(g.BarEmpty, w-n)
}

// humanBytes formats a byte count with a binary unit in at most 6 cells.
func humanBytes(v float64) string {
	units := []string{"B", "K", "M", "G", "T", "P"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s", v, units[i])
	}
	if v < 10 {
		return fmt.Sprintf("%.1f%s", v, units[i])
	}
	return fmt.Sprintf("%.0f%s", v, units[i])
}

// humanCount formats a count (packets) with k, M, G suffixes.
func humanCount(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// humanDuration formats an uptime: 3d04h, 5h12m, 7m03s.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%02dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
}

// last returns the newest value of a series, or 0.
func last(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}
