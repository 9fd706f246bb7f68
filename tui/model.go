// Package tui is opsdeck's console: a Bubble Tea program that renders engine
// snapshots as panes (system, processes, network, alerts, protocol log) with
// a detail view. It never reads the outside world itself: snapshots arrive
// through Options.Snapshot, called from a command at the refresh rate, and
// signals go through Options.Signal.
package tui

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
)

// Options configure the console.
type Options struct {
	// Snapshot returns the engine's current state; it runs in a command,
	// never in Update. Nil means snapshots only arrive as SnapshotMsg.
	Snapshot func() *engine.Snapshot
	// Signal sends sig to pid (nil hides nothing but reports "not available").
	Signal func(pid int32, sig syscall.Signal) error
	// Refresh is the snapshot interval (default 1 s).
	Refresh time.Duration
	// ASCII draws without box drawing or block characters.
	ASCII bool
	// Theme is the palette: "dark" (default), "light" or "mono".
	Theme string
	// Renderer decides the colour profile (nil: the terminal's, honouring NO_COLOR).
	Renderer *lipgloss.Renderer
	// Keys rebinds actions by name (see KeyMap.Rebind).
	Keys map[string][]string
	// Bundle writes an incident bundle (trigger is the alert in view, or
	// nil) and ExportAlert writes an alert's packets to a pcap. Both run in
	// commands; nil makes their keys say "not available".
	Bundle      func(trigger *detect.Alert) (Saved, error)
	ExportAlert func(a *detect.Alert) (Saved, error)
	// NoNames shows addresses only (-n), not the names DNS answers on the
	// wire gave them (engine.Snapshot.Names).
	NoNames bool
	// ShowSecrets shows the passwords the protocol log holds in clear
	// (--show-secrets); they are masked otherwise (proto.ShowSecret).
	ShowSecrets bool
	// Present, when set, is handed every newly drawn screen
	// (TerminalWriter.Present paints it at once, so the renderer's frame
	// ticks can be rare).
	Present func(view string)
}

// Minimum usable size; below it the console says what it needs.
const (
	minWidth  = 60
	minHeight = 15
)

// Model is the root of the console.
type Model struct {
	c       *common
	opts    Options
	panes   []Pane // the registered panes, by id (registerPane)
	rects   []rect
	shown   []bool
	second  int // pane shown under the system pane in the one-column layout
	zoom    bool
	detail  Pane
	help    bool
	helpOff int // first help line shown: the help scrolls when it is taller than the screen
	helpM   help.Model
	w, h    int
	paused  bool
	refresh time.Duration
	gen     int // tick chain generation
	pending bool
	now     time.Time
	status  string
	statusN int // refreshes left before the status line clears
	view    string
	dirty   bool
	// Each pane's last View and its lines fitted to its rectangle: a pane
	// that draws the same as last time (at rest, most of them, most
	// seconds) is not measured and fitted again.
	fitted []fittedPane
	// rowParts is composeBody's scratch: each body row's pane pieces.
	rowParts [][]string
	// The footer's key help as last drawn, and what it was drawn from.
	footKey, foot string
}

type fittedPane struct {
	view  string
	w, h  int
	lines []string
}

type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool { return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h }

// New builds the console model.
func New(o Options) (*Model, error) {
	keys := DefaultKeyMap()
	if err := keys.Rebind(o.Keys); err != nil {
		return nil, err
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	st := ThemeStyles(o.Renderer, o.ASCII, o.Theme)
	c := newCommon(st, keys)
	c.noNames = o.NoNames
	c.showSecrets = o.ShowSecrets
	c.focus = paneAlerts
	c.save = saver{bundle: o.Bundle, export: o.ExportAlert}
	m := &Model{c: c, opts: o, refresh: o.Refresh, second: paneNet, dirty: true}
	m.panes = newPanes(c, o)
	n := len(m.panes)
	m.rects, m.shown, m.fitted = make([]rect, n), make([]bool, n), make([]fittedPane, n)
	m.helpM = help.New()
	hs := &m.helpM.Styles
	hs.ShortKey, hs.FullKey = st.Bold, st.Bold
	hs.ShortDesc, hs.FullDesc = st.Dim, st.Dim
	hs.ShortSeparator, hs.FullSeparator, hs.Ellipsis = st.Dim, st.Dim, st.Dim
	return m, nil
}

// Init asks for the first snapshot at once.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Update routes messages: global keys and sizes here, the rest to the pane
// that owns them.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if t, ok := msg.(tickMsg); ok {
		if t.gen != m.gen || m.paused {
			return m, nil
		}
		m.now = t.t
		return m, m.fetch()
	}
	m.dirty = true
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.layout()
		return m, nil
	case SnapshotMsg:
		return m, m.applySnapshot(msg)
	case openDetailMsg:
		m.detail = newDetailPane(m.c, msg.d)
		m.layout()
		return m, nil
	case statusMsg:
		m.setStatus(string(msg))
		return m, nil
	case signalDoneMsg:
		m.signalDone(msg)
		return m, nil
	case evidenceDoneMsg:
		// Where the evidence went matters for the handoff: keep it longer.
		m.status, m.statusN = evidenceStatus(msg), 15
		return m, nil
	case tea.KeyMsg:
		return m, m.handleKey(msg)
	case tea.MouseMsg:
		return m, m.handleMouse(msg)
	}
	return m, m.route(msg)
}

// fetch takes a snapshot in a command and schedules the next tick.
func (m *Model) fetch() tea.Cmd {
	gen, every := m.gen, m.refresh
	// On the wall clock's whole intervals (tea.Every): just after the
	// system sample and the engine's clock tick (system.UntilBeat), so the
	// screen shows this second's sample; drawing no longer drifts through
	// the second, waking the process at a moment of its own.
	next := tea.Every(every, func(t time.Time) tea.Msg { return tickMsg{t: t, gen: gen} })
	if m.opts.Snapshot == nil || m.pending {
		return next
	}
	m.pending = true
	get := m.opts.Snapshot
	return tea.Batch(func() tea.Msg { return SnapshotMsg{Snap: get()} }, next)
}

func (m *Model) applySnapshot(msg SnapshotMsg) tea.Cmd {
	m.pending = false
	if m.paused || msg.Snap == nil {
		return nil
	}
	m.c.setSnapshot(msg.Snap)
	for _, p := range m.panes {
		p.Update(msg)
	}
	if m.statusN > 0 {
		if m.statusN--; m.statusN == 0 {
			m.status = ""
		}
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.keys
	if msg.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	if cp, ok := m.panes[m.c.focus].(capturer); ok && cp.Capturing() && m.detail == nil && !m.help {
		return m.route(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case m.help:
		switch {
		case key.Matches(msg, k.Help, k.Back):
			m.help, m.helpOff = false, 0
		case key.Matches(msg, k.Down):
			m.helpOff++
		case key.Matches(msg, k.Up):
			m.helpOff--
		case key.Matches(msg, k.PageDown):
			m.helpOff += max(m.h-4, 1)
		case key.Matches(msg, k.PageUp):
			m.helpOff -= max(m.h-4, 1)
		case key.Matches(msg, k.Home):
			m.helpOff = 0
		}
		m.helpOff = max(m.helpOff, 0) // the upper bound is applied when drawn
		return nil
	case key.Matches(msg, k.Help):
		m.help = true
	case key.Matches(msg, k.Bundle):
		return m.c.save.bundleCmd(m.alertInView())
	case m.detail != nil:
		if key.Matches(msg, k.Back) {
			m.detail = nil
			return nil
		}
		return m.route(msg)
	case key.Matches(msg, k.NextPane):
		m.focusPane((m.c.focus + 1) % len(m.panes))
	case key.Matches(msg, k.PrevPane):
		m.focusPane((m.c.focus + len(m.panes) - 1) % len(m.panes))
	case key.Matches(msg, k.Panes...):
		m.focusPane(k.paneFor(msg))
	case key.Matches(msg, k.Zoom):
		m.zoom = !m.zoom
		m.layout()
	case key.Matches(msg, k.Back) && m.zoom:
		m.zoom = false
		m.layout()
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		m.gen++
		if !m.paused {
			return m.fetch()
		}
	case key.Matches(msg, k.Faster, k.Slower):
		if key.Matches(msg, k.Faster) {
			m.refresh = max(m.refresh/2, 250*time.Millisecond)
		} else {
			m.refresh = min(m.refresh*2, 16*time.Second)
		}
		m.gen++
		m.setStatus("refresh every " + m.refresh.String())
		return m.fetch()
	default:
		return m.route(msg)
	}
	return nil
}

// alertInView is the alert the user is looking at: the open detail's, or
// the selected one while the alerts pane has the focus.
func (m *Model) alertInView() *detect.Alert {
	if d, ok := m.detail.(*detailPane); ok && m.detail != nil {
		return d.t.alert
	}
	if m.detail == nil && m.c.focus == paneAlerts {
		return m.panes[paneAlerts].(*alertsPane).selected()
	}
	return nil
}

// route hands a message to the detail view when open, else the focused pane.
func (m *Model) route(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	if m.detail != nil {
		m.detail, cmd = m.detail.Update(msg)
		return cmd
	}
	_, cmd = m.panes[m.c.focus].Update(msg)
	return cmd
}

func (m *Model) focusPane(i int) {
	if i < 0 || i >= len(m.panes) {
		return
	}
	m.c.focus = i
	if i == paneProcs || i == paneNet || i == paneLog {
		m.second = i
	}
	m.layout()
}

// handleMouse focuses the pane under a click and turns clicks and wheel
// turns into row events for it.
func (m *Model) handleMouse(msg tea.MouseMsg) tea.Cmd {
	if m.help {
		return nil
	}
	delta := 0
	switch {
	case msg.Button == tea.MouseButtonWheelUp:
		delta = -3
	case msg.Button == tea.MouseButtonWheelDown:
		delta = 3
	case msg.Button == tea.MouseButtonLeft && msg.Action == tea.MouseActionPress:
	default:
		return nil
	}
	if m.detail != nil {
		return m.route(scrollMsg{delta})
	}
	for i, r := range m.rects {
		if !m.shown[i] || !r.contains(msg.X, msg.Y) {
			continue
		}
		if delta != 0 {
			_, cmd := m.panes[i].Update(scrollMsg{delta})
			return cmd
		}
		m.focusPane(i)
		_, cmd := m.panes[i].Update(clickMsg{row: msg.Y - r.y - 1})
		return cmd
	}
	return nil
}

func (m *Model) setStatus(s string) {
	m.status, m.statusN = s, 5
}

func (m *Model) signalDone(msg signalDoneMsg) {
	name := fmt.Sprintf("%d (%s)", msg.pid, msg.name)
	if msg.err != nil {
		m.setStatus(fmt.Sprintf("signal %s to %s failed: %v", sigName(msg.sig), name, msg.err))
		return
	}
	m.setStatus(fmt.Sprintf("sent %s to %s", sigName(msg.sig), name))
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return fmt.Sprintf("signal %d", int(s))
}

// layout computes every pane's rectangle once per resize, zoom or focus
// change; View only draws into them.
func (m *Model) layout() {
	clear(m.shown)
	if m.w < minWidth || m.h < minHeight {
		return
	}
	bodyY, bodyH := 1, m.h-2
	full := rect{0, bodyY, m.w, bodyH}
	if m.detail != nil {
		m.detail.SetSize(full.w, full.h)
	}
	set := func(i int, r rect) {
		m.rects[i], m.shown[i] = r, true
		m.panes[i].SetSize(r.w, r.h)
	}
	if m.zoom {
		set(m.c.focus, full)
		return
	}
	sysH := m.systemHeight(bodyH)
	if m.w >= 100 {
		lw := max(m.w*2/5, 46)
		rw := m.w - lw
		set(paneSystem, rect{0, bodyY, lw, sysH})
		set(paneProcs, rect{0, bodyY + sysH, lw, bodyH - sysH})
		netH, alH := bodyH*2/5, bodyH*3/10
		set(paneNet, rect{lw, bodyY, rw, netH})
		set(paneAlerts, rect{lw, bodyY + netH, rw, alH})
		set(paneLog, rect{lw, bodyY + netH + alH, rw, bodyH - netH - alH})
		return
	}
	// One column: system, one of processes/network/log, and the alerts,
	// which always stay visible.
	sysH = min(sysH, max(bodyH/3, 5))
	rest := bodyH - sysH
	secH := rest / 2
	set(paneSystem, rect{0, bodyY, m.w, sysH})
	set(m.second, rect{0, bodyY + sysH, m.w, secH})
	set(paneAlerts, rect{0, bodyY + sysH + secH, m.w, rest - secH})
}

// systemHeight is what the system pane needs, within a share of the body.
func (m *Model) systemHeight(bodyH int) int {
	want := 9
	if h := m.c.host; h != nil {
		cores := len(h.CPU.PerCore)
		perLine := max((m.w*2/5-2)/20, 1)
		if m.w < 100 {
			perLine = max((m.w-2)/16, 1)
		}
		want = 2 + 4 + (cores+perLine-1)/perLine + len(h.Filesystems)
	}
	return min(max(want, 6), bodyH*11/20)
}

// View draws the screen: exactly w x h cells.
func (m *Model) View() string {
	if !m.dirty {
		return m.view
	}
	m.dirty = false
	m.view = m.render()
	if m.c.st.G.V == "|" {
		m.view = asciiOnly.Replace(m.view)
	}
	if m.opts.Present != nil {
		m.opts.Present(m.view)
	}
	return m.view
}

// asciiOnly maps the separators, bullets and marks that panes, help and
// textsafe's truncation draw to ASCII of the same width, so that --ascii
// is ASCII throughout (box drawing and graphs have their own glyph sets).
var asciiOnly = strings.NewReplacer("·", "|", "•", "*", "…", "~", "×", "x", "→", ">", "←", "<", "↑", "^", "↓", "v",
	"▲", "^", "▼", "v", "✓", "*", "─", "-", "│", "|")

func (m *Model) render() string {
	w, h := m.w, m.h
	if w <= 0 || h <= 0 {
		return ""
	}
	if w < minWidth || h < minHeight {
		msg := []string{"terminal too small", fmt.Sprintf("%dx%d, need %dx%d", w, h, minWidth, minHeight)}
		lines := make([]string, h)
		for i := range lines {
			j := i - (h-len(msg))/2
			s := ""
			if j >= 0 && j < len(msg) {
				s = lipgloss.PlaceHorizontal(w, lipgloss.Center, fit(msg[j], w))
			}
			lines[i] = fit(s, w)
		}
		return strings.Join(lines, "\n")
	}
	screen := make([]string, h)
	for i := range screen {
		screen[i] = ""
	}
	screen[0] = m.headerView()
	screen[h-1] = m.footerView()
	var body []string
	switch {
	case m.help:
		body = m.helpView(w, h-2)
	case m.detail != nil:
		body = strings.Split(m.detail.View(), "\n")
	default:
		return m.composeScreen(screen[0], screen[h-1])
	}
	for i, l := range block(body, w, h-2) {
		screen[1+i] = l
	}
	return strings.Join(screen, "\n")
}

// composeScreen draws the header, the panes and the footer as one string,
// written once into a buffer of its size: the body's rows are exactly w
// wide, as its panes tile the width.
func (m *Model) composeScreen(header, footer string) string {
	rows := m.composeBody()
	size := len(header) + 1 + len(footer)
	for _, r := range rows {
		for _, p := range r {
			size += len(p)
		}
		size++
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(header)
	for _, r := range rows {
		b.WriteByte('\n')
		for _, p := range r {
			b.WriteString(p)
		}
	}
	b.WriteByte('\n')
	b.WriteString(footer)
	return b.String()
}

// composeBody places each shown pane's lines into its rectangle: each row's
// pieces, left to right. The rows are the model's, reused by the next call.
func (m *Model) composeBody() [][]string {
	n := m.h - 2
	if cap(m.rowParts) < n {
		m.rowParts = make([][]string, n)
	}
	rows := m.rowParts[:n]
	for i := range rows {
		rows[i] = rows[i][:0]
	}
	// Panes are placed left to right; layout guarantees rectangles tile.
	for _, x := range []int{0, 1} {
		for i := range m.panes {
			r := m.rects[i]
			if !m.shown[i] || (x == 0) != (r.x == 0) {
				continue
			}
			v, f := m.panes[i].View(), &m.fitted[i]
			if f.lines == nil || f.view != v || f.w != r.w || f.h != r.h {
				*f = fittedPane{view: v, w: r.w, h: r.h, lines: block(strings.Split(v, "\n"), r.w, r.h)}
			}
			for j, l := range f.lines {
				if y := r.y - 1 + j; y >= 0 && y < len(rows) {
					rows[y] = append(rows[y], l)
				}
			}
		}
	}
	return rows
}

func (m *Model) headerView() string {
	st, s := m.c.st, m.c.snap
	host, up := "", ""
	if h := m.c.host; h != nil {
		host = sanitize(h.Host.Hostname)
		up = " up " + humanDuration(time.Duration(h.Host.UptimeS)*time.Second)
	}
	src := sourceLabel(s.Source)
	rate := ""
	if s.Source.State == "running" || s.Source.State == "finished" {
		rate = fmt.Sprintf(" %s pkt/s", humanCount(last(s.PPS)))
		if s.Source.Kind == "live" {
			rate += fmt.Sprintf(" drops %d", s.Source.KernelDrops)
		}
	}
	if s.Source.Kind == "live" {
		// Who may capture decides what the network pane can show.
		src += " " + privilegeLabel(s.Source.Privilege)
	}
	clock, label := m.now, ""
	if s.Source.Kind == "file" || s.Source.Kind == "demo" {
		clock, label = s.Now, "packet time "
	}
	date, tod := "", ""
	if !clock.IsZero() {
		date, tod = clock.Format("2006-01-02 "), clock.Format("15:04:05")
	}
	alerts := fmt.Sprintf("alerts H %d M %d L %d", s.AlertsBySeverity[1], s.AlertsBySeverity[2], s.AlertsBySeverity[3])
	state := ""
	switch {
	case s.Source.Stopped():
		// Loud, and first to survive narrowing: an engineer must not
		// read a quiet screen as a quiet network.
		state = " CAPTURE STOPPED: " + sourceLabel(s.Source)
	case m.paused:
		state = " PAUSED"
	case s.Source.State == "finished":
		state = " FINISHED"
	}
	if n := faults(s.Counters); n > 0 {
		state += fmt.Sprintf(" faults %d", n)
	}
	sep := " │ "
	if st.G.V == "|" {
		sep = " | "
	}
	// From the most to the least verbose; the first that fits is drawn.
	variants := []string{
		"opsdeck " + host + up + sep + src + rate + sep + label + date + tod + sep + alerts + state,
		host + up + sep + src + rate + sep + date + tod + sep + alerts + state,
		host + sep + src + sep + tod + sep + alerts + state,
		host + sep + tod + sep + alerts + state,
	}
	line := variants[len(variants)-1]
	for _, v := range variants {
		if ansi.StringWidth(v) <= m.w {
			line = v
			break
		}
	}
	if s.Source.Stopped() {
		return st.HeaderBad.Render(fit(line, m.w))
	}
	return st.Header.Render(fit(line, m.w))
}

// faults counts the panics the engine contained (engine.Fault).
func faults(c engine.Counters) uint64 {
	var n uint64
	for _, v := range c.Faults {
		n += v
	}
	return n
}

// privilegeLabel names the capture privilege for the header.
func privilegeLabel(p string) string {
	switch p {
	case "cap_net_raw":
		return "[CAP_NET_RAW]"
	case "", "none":
		return "[no capture privilege]"
	}
	return "[" + sanitize(p) + "]"
}

func (m *Model) footerView() string {
	st := m.c.st
	if m.status != "" {
		return st.Status.Render(fit(sanitize(m.status), m.w))
	}
	var b []key.Binding
	switch {
	case m.help:
		b = []key.Binding{m.c.keys.Help, m.c.keys.Quit}
	case m.detail != nil:
		b = append(m.detail.ShortHelp(), m.c.keys.Quit)
	default:
		b = append(m.panes[m.c.focus].ShortHelp(), m.c.keys.ShortHelp()...)
	}
	// Drawing the key help measures and styles every binding: draw it
	// again only when the bindings or the width change.
	var k strings.Builder
	k.WriteString(strconv.Itoa(m.w))
	for _, kb := range b {
		h := kb.Help()
		k.WriteString("\x00" + h.Key + "\x01" + h.Desc + "\x01" + strconv.FormatBool(kb.Enabled()))
	}
	if k.String() != m.footKey {
		m.helpM.Width = m.w
		m.footKey, m.foot = k.String(), fit(m.helpM.ShortHelpView(b), m.w)
	}
	return m.foot
}

// helpView lists every binding, generated from the key map: global groups
// first, then the focused pane's.
func (m *Model) helpView(w, h int) []string {
	groups := append(m.c.keys.FullHelp(), m.panes[m.c.focus].FullHelp()...)
	m.helpM.Width = 0
	var body []string
	full := m.helpM.FullHelpView(groups)
	if lipgloss.Width(full) <= w-2 {
		body = strings.Split(full, "\n")
	} else {
		for _, g := range groups {
			body = append(body, strings.Split(m.helpM.FullHelpView([][]key.Binding{g}), "\n")...)
			body = append(body, "")
		}
	}
	body = append(body, "", m.c.st.Dim.Render("mouse: click a pane or row, wheel scrolls · keys can be rebound in the configuration"))
	title := " help · ? or esc to close "
	if rows, total := h-2, len(body); total > rows && rows > 0 {
		m.helpOff = min(m.helpOff, total-rows)
		body = body[m.helpOff : m.helpOff+rows]
		title = fmt.Sprintf(" help · ↑↓ lines %d-%d of %d · ? closes ", m.helpOff+1, m.helpOff+rows, total)
	}
	return box(m.c.st, title, true, body, w, h)
}
