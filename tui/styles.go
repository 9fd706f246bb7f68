package tui

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/opsdeck/opsdeck/internal/detect"
	"strconv"
)

// glyphs are the characters used to draw, in Unicode or plain ASCII.
type glyphs struct {
	TL, TR, BL, BR, H, V string
	Spark                []string // lowest to highest
	BarFull, BarEmpty    string
	Arrow, Tree, TreeEnd string
	Check                string
}

var unicodeGlyphs = glyphs{
	TL: "┌", TR: "┐", BL: "└", BR: "┘", H: "─", V: "│",
	Spark:   []string{" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"},
	BarFull: "█", BarEmpty: "░", Arrow: "→", Tree: "├─", TreeEnd: "└─", Check: "✓",
}

var asciiGlyphs = glyphs{
	TL: "+", TR: "+", BL: "+", BR: "+", H: "-", V: "|",
	Spark:   []string{" ", ".", ".", ":", "-", "=", "+", "*", "#"},
	BarFull: "#", BarEmpty: ".", Arrow: ">", Tree: "|-", TreeEnd: "`-", Check: "*",
}

// Styles is every style the console draws with, built once from a theme and
// a renderer whose colour profile decides truecolor, 256, 16 or none.
type Styles struct {
	G glyphs

	Border, BorderFocused lipgloss.Style
	Title, TitleFocused   lipgloss.Style
	Header, HeaderDim     lipgloss.Style
	HeaderBad             lipgloss.Style // the header when capture has stopped
	Footer, Status        lipgloss.Style
	ColHeader             lipgloss.Style
	Dim, Bold             lipgloss.Style
	Selected              lipgloss.Style
	Good, Warn, Bad       lipgloss.Style
	Graph                 lipgloss.Style
	Sev                   [4]lipgloss.Style // index = detect.Severity
	Acked                 lipgloss.Style
	Modal                 lipgloss.Style
}

// theme is the palette. Colours are hex; lipgloss degrades them to the
// terminal's profile (256 or 16 colours) and drops them for NO_COLOR.
type theme struct {
	border, focus, title, dim, good, warn, bad, graph, high, medium, low, headerBG, selBG string
}

var defaultTheme = theme{
	border: "#5f6b7a", focus: "#4fb3ff", title: "#e0e6ee", dim: "#8a94a3",
	good: "#4caf50", warn: "#f2c037", bad: "#ff5f56", graph: "#56c7d6",
	high: "#ff5f56", medium: "#ffaf00", low: "#87afd7", headerBG: "#1f2937", selBG: "#334155",
}

// lightTheme keeps the same meanings with colours that read on a light
// background.
var lightTheme = theme{
	border: "#8a94a3", focus: "#005fd7", title: "#1f2937", dim: "#5f6b7a",
	good: "#2e7d32", warn: "#9a6700", bad: "#c62828", graph: "#00838f",
	high: "#c62828", medium: "#b45309", low: "#1d4ed8", headerBG: "#dbe4ee", selBG: "#cbd5e1",
}

// themes are the palettes by configuration name; "mono" has no colours
// (bold, faint and reverse video still mark focus, severity and selection).
var themes = map[string]theme{"dark": defaultTheme, "auto": defaultTheme, "light": lightTheme, "mono": {}}

// DefaultStyles builds the dark theme's styles for renderer r (nil:
// lipgloss's default, which follows the terminal and NO_COLOR). ascii
// selects glyphs for terminals or fonts without box drawing and block
// characters.
func DefaultStyles(r *lipgloss.Renderer, ascii bool) *Styles {
	return ThemeStyles(r, ascii, "dark")
}

// ThemeStyles builds the styles of the named theme (dark, light, mono;
// unknown names take dark).
func ThemeStyles(r *lipgloss.Renderer, ascii bool, name string) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	t, ok := themes[name]
	if !ok {
		t = defaultTheme
	}
	profile := r.ColorProfile()
	c := func(s string) lipgloss.TerminalColor {
		if s == "" {
			return lipgloss.NoColor{}
		}
		// Convert to the terminal's palette once: otherwise every render
		// repeats the nearest-colour search (in HSLuv) for each cell style.
		switch v := profile.Color(s).(type) {
		case termenv.ANSI256Color:
			return lipgloss.Color(strconv.Itoa(int(v)))
		case termenv.ANSIColor:
			return lipgloss.Color(strconv.Itoa(int(v)))
		}
		return lipgloss.Color(s)
	}
	n := r.NewStyle
	s := &Styles{G: unicodeGlyphs}
	if ascii {
		s.G = asciiGlyphs
	}
	s.Border = n().Foreground(c(t.border))
	s.BorderFocused = n().Foreground(c(t.focus))
	s.Title = n().Foreground(c(t.title))
	s.TitleFocused = n().Foreground(c(t.focus)).Bold(true)
	s.Header = n().Foreground(c(t.title)).Background(c(t.headerBG))
	s.HeaderDim = n().Foreground(c(t.dim)).Background(c(t.headerBG))
	// Reverse video: still loud under NO_COLOR.
	s.HeaderBad = n().Foreground(c(t.bad)).Reverse(true).Bold(true)
	s.Footer = n().Foreground(c(t.dim))
	s.Status = n().Foreground(c(t.warn))
	s.ColHeader = n().Foreground(c(t.dim)).Bold(true)
	s.Dim = n().Foreground(c(t.dim))
	s.Bold = n().Bold(true)
	// Reverse video keeps the selection visible without colours (NO_COLOR).
	s.Selected = n().Reverse(true)
	s.Good = n().Foreground(c(t.good))
	s.Warn = n().Foreground(c(t.warn))
	s.Bad = n().Foreground(c(t.bad)).Bold(true)
	s.Graph = n().Foreground(c(t.graph))
	s.Sev[0] = n().Foreground(c(t.dim))
	s.Sev[detect.SevHigh] = n().Foreground(c(t.high)).Bold(true)
	s.Sev[detect.SevMedium] = n().Foreground(c(t.medium))
	s.Sev[detect.SevLow] = n().Foreground(c(t.low))
	s.Acked = n().Foreground(c(t.dim)).Faint(true)
	s.Modal = n().Foreground(c(t.warn)).Bold(true)
	if profile == termenv.ANSI && t.border != "" {
		// With 16 colours the palette's grey border and blue focus fall on
		// the same colour, and the focused pane vanishes: pick two of the
		// 16 that differ (bright black and bright cyan).
		s.Border = n().Foreground(lipgloss.Color("8"))
		s.BorderFocused = n().Foreground(lipgloss.Color("14"))
		s.TitleFocused = n().Foreground(lipgloss.Color("14")).Bold(true)
	}
	return s
}

// sevStyle returns the style of severity v, tolerating unknown values.
func (s *Styles) sevStyle(v detect.Severity) lipgloss.Style {
	if int(v) < len(s.Sev) {
		return s.Sev[v]
	}
	return s.Sev[0]
}

// pctStyle colours a utilisation percentage.
func (s *Styles) pctStyle(p float64) lipgloss.Style {
	switch {
	case p >= 90:
		return s.Bad
	case p >= 70:
		return s.Warn
	}
	return s.Good
}
