package tui

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// procCol is one column of the process table. Columns are dropped from the
// narrowest panes in decreasing drop order; the command line takes what is
// left. Every column sorts (less gives its natural ascending order; numbers
// are shown highest first, names A-Z).
type procCol struct {
	name string
	w    int
	left bool // left-aligned (text); numbers are right-aligned
	drop int  // higher drops first; 0 never
	get  func(r procRow) string
	less func(a, b procRow) int
	desc bool // the default direction is descending
}

// procCols are the table's columns, in screen order.
var procCols = []procCol{
	{name: "PID", w: 7, get: func(r procRow) string { return fmt.Sprint(r.p.PID) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.PID, b.p.PID) }},
	{name: "USER", w: 8, left: true, drop: 2, get: func(r procRow) string { return textsafe.Clean(r.p.User) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.User, b.p.User) }},
	{name: "S", w: 1, drop: 7, get: func(r procRow) string { return textsafe.Clean(r.p.State) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.State, b.p.State) }},
	{name: "NI", w: 3, drop: 10, get: func(r procRow) string { return fmt.Sprint(r.p.Nice) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.Nice, b.p.Nice) }},
	{name: "THR", w: 4, drop: 9, desc: true, get: func(r procRow) string { return fmt.Sprint(r.p.Threads) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.Threads, b.p.Threads) }},
	{name: "START", w: 5, drop: 11, get: func(r procRow) string { return startLabel(r.p.StartTime, r.now) },
		less: func(a, b procRow) int { return a.p.StartTime.Compare(b.p.StartTime) }},
	{name: "TIME+", w: 8, drop: 8, desc: true, get: func(r procRow) string { return cpuTimeLabel(r.p.CPUTimeS) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.CPUTimeS, b.p.CPUTimeS) }},
	{name: "CPU%", w: 5, desc: true, get: func(r procRow) string { return fmt.Sprintf("%.1f", r.p.CPUPct) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.CPUPct, b.p.CPUPct) }},
	{name: "MEM", w: 6, desc: true, drop: 1, get: func(r procRow) string { return humanBytes(float64(r.p.RSS)) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.RSS, b.p.RSS) }},
	{name: "VIRT", w: 6, desc: true, drop: 12, get: func(r procRow) string { return humanBytes(float64(r.p.VSize)) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.VSize, b.p.VSize) }},
	{name: "READ/s", w: 6, desc: true, drop: 5, get: func(r procRow) string { return ioLabel(r.p, r.p.ReadBytesPerS) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.ReadBytesPerS, b.p.ReadBytesPerS) }},
	{name: "WRIT/s", w: 6, desc: true, drop: 5, get: func(r procRow) string { return ioLabel(r.p, r.p.WriteBytesPerS) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.WriteBytesPerS, b.p.WriteBytesPerS) }},
	{name: "NET", w: 6, desc: true, drop: 6, get: func(r procRow) string { return humanBytes(float64(r.net)) },
		less: func(a, b procRow) int { return cmp.Compare(a.net, b.net) }},
	{name: "UNIT", w: 20, left: true, drop: 4, get: func(r procRow) string { return unitLabel(r.p) },
		less: func(a, b procRow) int { return cmp.Compare(a.p.Unit, b.p.Unit) }},
}

// Indexes of the columns the s key cycles through (CPU, memory, network,
// disk: the questions asked most), in that order; colDisk sorts by read
// plus write.
const colDisk = -1

var procSortCycle = []int{colIndex("CPU%"), colIndex("MEM"), colIndex("NET"), colDisk}

func colIndex(name string) int {
	for i, c := range procCols {
		if c.name == name {
			return i
		}
	}
	panic("no process column " + name)
}

// procCmdMin is the narrowest command column kept before dropping columns.
const procCmdMin = 24

type procRow struct {
	p      *hoststat.Process
	net    uint64 // bytes of the process's flows in the snapshot
	prefix string // tree drawing
	now    time.Time
}

// signals are the signals the x key offers, most used first.
var signals = []struct {
	name string
	sig  syscall.Signal
}{
	{"TERM", syscall.SIGTERM}, {"KILL", syscall.SIGKILL}, {"HUP", syscall.SIGHUP}, {"INT", syscall.SIGINT},
	{"QUIT", syscall.SIGQUIT}, {"USR1", syscall.SIGUSR1}, {"USR2", syscall.SIGUSR2},
	{"STOP", syscall.SIGSTOP}, {"CONT", syscall.SIGCONT},
}

// procsPane lists processes as htop does: any column sorts, kernel threads
// are hidden until K, search jumps without filtering, a filter (text or the
// selected process's unit) narrows, a tree view, and any signal or a new
// nice value after a confirmation that names the process.
type procsPane struct {
	c       *common
	w, h    int
	l       list
	rows    []procRow
	sortCol int // index in procCols, or colDisk
	asc     bool
	tree    bool
	kernel  bool // show kernel threads
	hidden  int  // kernel threads hidden from the last refresh
	filter  string
	unit    string // only processes of this unit
	typing  bool   // the filter line is being edited
	// Search: the query jumps the selection; from is where it started.
	searching bool
	query     string
	from      int
	noMatch   bool
	// Confirmations: a signal (sigIdx into signals) or a nice value.
	target   *hoststat.Process
	sigIdx   int
	reniceOf *hoststat.Process
	niceTo   int
	signal   func(pid int32, sig syscall.Signal) error
	renice   func(pid int32, nice int) error
	// shown is the host sample the rows were built from; a newer one is
	// taken only every procEvery of its interval (see SnapshotMsg).
	shown *hoststat.Snapshot
	// gen counts what may change the drawing (a refresh, any message but
	// a snapshot that is not taken): View draws again only when it, the
	// size or the focus moved, so at rest the table is drawn every
	// procEvery seconds, not every second.
	gen  uint64
	memo procsView
}

// procsView is the procs pane's last drawing and what it was drawn from.
type procsView struct {
	gen     uint64
	w, h    int
	focus   bool
	hasHost bool
	view    string
}

// procEvery is how many host samples the process table skips between
// updates. CPU figures of idle processes flicker every second and reorder
// the table, which is most of what an idle console writes to the terminal;
// htop refreshes every 1.5 s, btop every 2 s. Keys that change the table
// (sort, filter, tree) rebuild it at once.
const procEvery = 3

// paneProcs is the process pane's place: second in Tab order, key 2.
const paneProcs = 1

func init() {
	registerPane(paneProcs, func(c *common, o Options) Pane { return newProcsPane(c, o.Signal) })
}

func newProcsPane(c *common, signal func(int32, syscall.Signal) error) *procsPane {
	p := &procsPane{c: c, signal: signal, sortCol: colIndex("CPU%")}
	// A console that may signal processes may renice them: the Options
	// carry no separate hook, and setpriority needs the same standing.
	if signal != nil {
		p.renice = func(pid int32, nice int) error {
			return syscall.Setpriority(syscall.PRIO_PROCESS, int(pid), nice)
		}
	}
	return p
}

func (p *procsPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.l.setHeight(h - 4) // border, column header, filter line
}

// Capturing is true while a line is typed or a confirmation is open.
func (p *procsPane) Capturing() bool {
	return p.typing || p.searching || p.target != nil || p.reniceOf != nil
}

func (p *procsPane) Update(msg tea.Msg) (Pane, tea.Cmd) {
	if _, ok := msg.(SnapshotMsg); !ok {
		p.gen++
	}
	k := p.c.keys
	switch msg := msg.(type) {
	case SnapshotMsg:
		if h := p.c.host; p.shown == nil || h == nil ||
			h.Time.Sub(p.shown.Time) >= time.Duration(procEvery*max(h.IntervalS, 1)*float64(time.Second))-time.Second/2 {
			p.refresh()
		}
		return p, nil
	case clickMsg:
		msg.row-- // column header
		p.l.update(msg, k)
		return p, nil
	case tea.KeyMsg:
		switch {
		case p.target != nil:
			return p, p.confirmSignal(msg)
		case p.reniceOf != nil:
			return p, p.confirmRenice(msg)
		case p.typing:
			p.editFilter(msg)
			return p, nil
		case p.searching:
			p.editSearch(msg)
			return p, nil
		}
		switch {
		case key.Matches(msg, k.Sort):
			p.sortCol = nextIn(procSortCycle, p.sortCol)
			p.asc = false
		case key.Matches(msg, k.SortNext):
			p.sortCol, p.asc = (max(p.sortCol, 0)+1)%len(procCols), false
		case key.Matches(msg, k.SortPrev):
			p.sortCol, p.asc = (max(p.sortCol, 0)+len(procCols)-1)%len(procCols), false
		case key.Matches(msg, k.SortInvert):
			p.asc = !p.asc
		case key.Matches(msg, k.Tree):
			p.tree = !p.tree
		case key.Matches(msg, k.Kernel):
			p.kernel = !p.kernel
		case key.Matches(msg, k.Filter):
			p.typing = true
			return p, nil
		case key.Matches(msg, k.Search):
			p.searching, p.from, p.noMatch = true, p.l.cursor, false
			return p, nil
		case key.Matches(msg, k.Unit):
			if p.unit != "" {
				p.unit = ""
			} else if r := p.selected(); r != nil {
				if r.p.Unit == "" {
					return p, cmdOf(statusMsg(fmt.Sprintf("%d (%s) is in no unit or container", r.p.PID, textsafe.Clean(r.p.Name))))
				}
				p.unit = r.p.Unit
			}
		case key.Matches(msg, k.Back) && (p.filter != "" || p.unit != ""):
			p.filter, p.unit = "", ""
		case key.Matches(msg, k.Signal):
			if r := p.selected(); r != nil {
				p.target, p.sigIdx = r.p, 0
			}
			return p, nil
		case key.Matches(msg, k.Renice):
			if r := p.selected(); r != nil {
				p.reniceOf, p.niceTo = r.p, int(r.p.Nice)
			}
			return p, nil
		case key.Matches(msg, k.Open):
			if r := p.selected(); r != nil {
				return p, cmdOf(openDetailMsg{detailTarget{pid: r.p.PID, procName: r.p.Name}})
			}
			return p, nil
		default:
			p.l.update(msg, k)
			return p, nil
		}
		p.refresh()
		return p, nil
	}
	p.l.update(msg, k)
	return p, nil
}

func nextIn(cycle []int, cur int) int {
	for i, c := range cycle {
		if c == cur {
			return cycle[(i+1)%len(cycle)]
		}
	}
	return cycle[0]
}

func (p *procsPane) editFilter(msg tea.KeyMsg) {
	switch msg.Type {
	case tea.KeyEnter:
		p.typing = false
	case tea.KeyEsc:
		p.typing, p.filter = false, ""
	default:
		p.filter = editLine(p.filter, msg)
	}
	p.refresh()
}

// editLine applies a key to a short line being typed.
func editLine(s string, msg tea.KeyMsg) string {
	switch msg.Type {
	case tea.KeyBackspace:
		if r := []rune(s); len(r) > 0 {
			return string(r[:len(r)-1])
		}
	case tea.KeyRunes, tea.KeySpace:
		if len(s) < 64 {
			return s + string(msg.Runes)
		}
	}
	return s
}

// editSearch moves the selection to the first row at or after where the
// search started that matches the query; the search key again goes to the
// next match. Rows are not filtered: the table around the match stays.
func (p *procsPane) editSearch(msg tea.KeyMsg) {
	switch {
	case msg.Type == tea.KeyEnter:
		p.searching = false
		return
	case msg.Type == tea.KeyEsc:
		p.searching = false
		p.jump(p.from)
		return
	case key.Matches(msg, p.c.keys.Search):
		p.find(p.l.cursor + 1)
		return
	}
	p.query = editLine(p.query, msg)
	p.find(p.from)
}

func (p *procsPane) find(from int) {
	q := strings.ToLower(p.query)
	p.noMatch = false
	if q == "" || len(p.rows) == 0 {
		return
	}
	for i := range p.rows {
		j := (from + i) % len(p.rows)
		if strings.Contains(procText(p.rows[j].p), q) {
			p.jump(j)
			return
		}
	}
	p.noMatch = true
}

// jump selects row i as a user move would: the list holds it from then on.
func (p *procsPane) jump(i int) {
	p.l.cursor = i
	p.l.clamp()
	p.l.moved()
}

// procText is what the filter and the search look in, lower-cased.
func procText(pr *hoststat.Process) string {
	return strings.ToLower(pr.Name + " " + pr.Cmdline + " " + pr.User + " " + fmt.Sprint(pr.PID) + " " + pr.Unit)
}

// confirmSignal handles the signal list: left/right (or up/down) pick,
// y or enter sends the one shown, K sends SIGKILL at once, n cancels. The
// signal is sent by a command: Update never does I/O.
func (p *procsPane) confirmSignal(msg tea.KeyMsg) tea.Cmd {
	k, t := p.c.keys, p.target
	switch {
	case msg.Type == tea.KeyLeft || key.Matches(msg, k.Up):
		p.sigIdx = (p.sigIdx + len(signals) - 1) % len(signals)
		return nil
	case msg.Type == tea.KeyRight || key.Matches(msg, k.Down):
		p.sigIdx = (p.sigIdx + 1) % len(signals)
		return nil
	case key.Matches(msg, k.Yes) || msg.Type == tea.KeyEnter:
	case key.Matches(msg, k.Kill):
		p.sigIdx = 1
	case key.Matches(msg, k.No):
		p.target = nil
		return nil
	default:
		return nil
	}
	p.target = nil
	send := p.signal
	if send == nil {
		return cmdOf(statusMsg("sending signals is not available here"))
	}
	pid, name, sig := t.PID, textsafe.Clean(t.Name), signals[p.sigIdx]
	return func() tea.Msg {
		if err := send(pid, sig.sig); err != nil {
			return statusMsg(fmt.Sprintf("signal SIG%s to %d (%s) failed: %v", sig.name, pid, name, err))
		}
		return statusMsg(fmt.Sprintf("sent SIG%s to %d (%s)", sig.name, pid, name))
	}
}

// confirmRenice handles "renice PID (name) from N to M?": left/right (or
// up/down, or + and -) change the value, y or enter applies it.
func (p *procsPane) confirmRenice(msg tea.KeyMsg) tea.Cmd {
	k, t := p.c.keys, p.reniceOf
	switch {
	case msg.Type == tea.KeyLeft || key.Matches(msg, k.Up) || msg.String() == "-":
		p.niceTo = max(p.niceTo-1, -20)
		return nil
	case msg.Type == tea.KeyRight || key.Matches(msg, k.Down) || msg.String() == "+":
		p.niceTo = min(p.niceTo+1, 19)
		return nil
	case key.Matches(msg, k.Yes) || msg.Type == tea.KeyEnter:
	case key.Matches(msg, k.No):
		p.reniceOf = nil
		return nil
	default:
		return nil
	}
	p.reniceOf = nil
	set := p.renice
	if set == nil {
		return cmdOf(statusMsg("renice is not available here"))
	}
	pid, name, nice := t.PID, textsafe.Clean(t.Name), p.niceTo
	return func() tea.Msg {
		if err := set(pid, nice); err != nil {
			return statusMsg(fmt.Sprintf("renice %d (%s) to %d failed: %v", pid, name, nice, err))
		}
		return statusMsg(fmt.Sprintf("reniced %d (%s) to %d", pid, name, nice))
	}
}

func (p *procsPane) selected() *procRow {
	if p.l.cursor < len(p.rows) {
		return &p.rows[p.l.cursor]
	}
	return nil
}

func (p *procsPane) refresh() {
	p.gen++
	p.rows = p.rows[:0]
	h := p.c.host
	p.shown = h
	if h == nil {
		p.l.setRows(nil)
		return
	}
	net := map[int32]uint64{}
	for _, f := range p.c.snap.TopFlows {
		if f.PID > 0 {
			net[f.PID] += f.BytesToServer + f.BytesToClient
		}
	}
	filter := strings.ToLower(p.filter)
	p.hidden = 0
	for i := range h.Processes {
		pr := &h.Processes[i]
		if pr.Kernel && !p.kernel {
			p.hidden++
			continue
		}
		if p.unit != "" && pr.Unit != p.unit {
			continue
		}
		if filter != "" && !strings.Contains(procText(pr), filter) {
			continue
		}
		p.rows = append(p.rows, procRow{p: pr, net: net[pr.PID], now: h.Time})
	}
	var by func(a, b procRow) int
	desc := true
	if p.sortCol == colDisk {
		by = func(a, b procRow) int {
			return cmp.Compare(a.p.ReadBytesPerS+a.p.WriteBytesPerS, b.p.ReadBytesPerS+b.p.WriteBytesPerS)
		}
	} else {
		by, desc = procCols[p.sortCol].less, procCols[p.sortCol].desc
	}
	if p.asc {
		desc = !desc
	}
	order := func(a, b procRow) int {
		c := by(a, b)
		if desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.p.PID, b.p.PID))
	}
	slices.SortFunc(p.rows, order)
	if p.tree && filter == "" && p.unit == "" {
		p.rows = treeOrder(p.rows, p.c.st.G)
	}
	keys := make([]string, len(p.rows))
	for i, r := range p.rows {
		keys[i] = fmt.Sprint(r.p.PID)
	}
	p.l.setRows(keys)
}

// treeOrder arranges rows (already sorted) as a process tree: each parent
// followed by its children in the same order.
func treeOrder(rows []procRow, g glyphs) []procRow {
	byPID := map[int32]bool{}
	for _, r := range rows {
		byPID[r.p.PID] = true
	}
	kids := map[int32][]procRow{}
	var roots []procRow
	for _, r := range rows {
		if r.p.PPID != r.p.PID && byPID[r.p.PPID] {
			kids[r.p.PPID] = append(kids[r.p.PPID], r)
		} else {
			roots = append(roots, r)
		}
	}
	out := make([]procRow, 0, len(rows))
	seen := map[int32]bool{}
	var walk func(r procRow, indent string, lastChild bool, depth int)
	walk = func(r procRow, indent string, lastChild bool, depth int) {
		if seen[r.p.PID] {
			return // a PID cycle in a racy /proc read
		}
		seen[r.p.PID] = true
		if depth > 0 {
			if lastChild {
				r.prefix = indent + g.TreeEnd
			} else {
				r.prefix = indent + g.Tree
			}
		}
		out = append(out, r)
		next := indent
		if depth > 0 {
			if lastChild {
				next += "  "
			} else {
				next += g.V + " "
			}
		}
		ch := kids[r.p.PID]
		for i, c := range ch {
			walk(c, next, i == len(ch)-1, min(depth+1, 12))
		}
	}
	for _, r := range roots {
		walk(r, "", true, 0)
	}
	return out
}

func (p *procsPane) ShortHelp() []key.Binding {
	k := p.c.keys
	switch {
	case p.target != nil:
		return []key.Binding{k.Yes, k.Kill, k.No}
	case p.reniceOf != nil:
		return []key.Binding{k.Yes, k.No}
	}
	return []key.Binding{k.Sort, k.SortNext, k.Filter, k.Search, k.Kernel, k.Signal, k.Renice, k.Unit}
}

func (p *procsPane) FullHelp() [][]key.Binding {
	k := p.c.keys
	return [][]key.Binding{
		{k.Sort, k.SortPrev, k.SortNext, k.SortInvert, k.Tree, k.Kernel},
		{k.Filter, k.Search, k.Unit, k.Signal, k.Renice, k.Open},
		{k.Yes, k.Kill, k.No},
	}
}

// columns returns the columns that fit an inner width w, leaving the
// command at least procCmdMin (or a third of a narrow pane).
func (p *procsPane) columns(w int) []procCol {
	cols := slices.Clone(procCols)
	need := func() int { return sumCols(len(cols), func(i int) int { return cols[i].w + 1 }) }
	cmdMin := min(procCmdMin, w/2)
	for need() > w-cmdMin {
		worst := -1
		for i, c := range cols {
			if c.drop > 0 && (worst < 0 || c.drop > cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		cols = slices.Delete(cols, worst, worst+1)
	}
	return cols
}

func (p *procsPane) sortLabel() string {
	name := "DISK"
	desc := !p.asc
	if p.sortCol != colDisk {
		name = procCols[p.sortCol].name
		desc = procCols[p.sortCol].desc != p.asc
	}
	if desc {
		return name + "▼"
	}
	return name + "▲"
}

func (p *procsPane) View() string {
	key := procsView{gen: p.gen, w: p.w, h: p.h, focus: p.c.focus == paneProcs, hasHost: p.c.host != nil}
	if m := p.memo; m.view != "" && m.gen == key.gen && m.w == key.w && m.h == key.h &&
		m.focus == key.focus && m.hasHost == key.hasHost {
		return m.view
	}
	key.view = p.draw()
	p.memo = key
	return key.view
}

// draw draws the pane (View keeps the last drawing).
func (p *procsPane) draw() string {
	st := p.c.st
	w := p.w - 2
	var body []string
	cols := p.columns(w)
	cmdW := max(w-sumCols(len(cols), func(i int) int { return cols[i].w + 1 }), 0)
	cell := func(c procCol, v string) string {
		if c.left {
			return textsafe.Pad(v, c.w) + " "
		}
		return textsafe.PadLeft(v, c.w) + " "
	}
	var hb strings.Builder
	sorted := ""
	if p.sortCol != colDisk {
		sorted = procCols[p.sortCol].name
	}
	for _, c := range cols {
		name := c.name
		if name == sorted {
			arrow := strings.TrimPrefix(p.sortLabel(), name)
			name = textsafe.Truncate(c.name, max(c.w-1, 1)) + arrow
		}
		hb.WriteString(cell(c, name))
	}
	hb.WriteString("COMMAND")
	body = append(body, st.ColHeader.Render(textsafe.Truncate(hb.String(), w)))
	if p.c.host == nil {
		body = append(body, st.Dim.Render("waiting for the first host sample…"))
	}
	from, to := p.l.visible()
	for i := from; i < to; i++ {
		r := p.rows[i]
		var b strings.Builder
		for _, c := range cols {
			b.WriteString(cell(c, c.get(r)))
		}
		cmd := r.p.Cmdline
		if cmd == "" {
			cmd = "[" + r.p.Name + "]"
		}
		b.WriteString(textsafe.Truncate(r.prefix+textsafe.Clean(cmd), cmdW))
		line := b.String()
		if i == p.l.cursor && p.c.focus == paneProcs {
			line = st.Selected.Render(fit(line, w))
		}
		body = append(body, line)
	}
	// The last line is a prompt, a confirmation or the filter.
	body = block(body, w, max(p.h-3, 0))
	switch {
	case p.target != nil:
		var sb strings.Builder
		for i, s := range signals {
			if i == p.sigIdx {
				sb.WriteString(st.Selected.Render("[" + s.name + "]"))
			} else {
				sb.WriteString(" " + s.name + " ")
			}
		}
		body = append(body, clipStyled(st.Modal.Render(fmt.Sprintf("send SIG%s to %d (%s)?", signals[p.sigIdx].name,
			p.target.PID, textsafe.Clean(p.target.Name)))+" "+sb.String()+st.Dim.Render(" ←→ pick · y send · K KILL · n cancel"), w))
	case p.reniceOf != nil:
		body = append(body, clipStyled(st.Modal.Render(fmt.Sprintf("renice %d (%s) from %d to %d?",
			p.reniceOf.PID, textsafe.Clean(p.reniceOf.Name), p.reniceOf.Nice, p.niceTo))+
			st.Dim.Render(" ←→ change · y apply · n cancel"), w))
	case p.typing:
		body = append(body, st.Warn.Render("/")+textsafe.Clean(p.filter)+"_")
	case p.searching:
		l := st.Warn.Render("search: ") + textsafe.Clean(p.query) + "_"
		if p.noMatch {
			l += st.Bad.Render("  no match")
		}
		body = append(body, clipStyled(l+st.Dim.Render("  ctrl+f next · enter done · esc back"), w))
	case p.filter != "" || p.unit != "":
		var l string
		if p.unit != "" {
			l = st.Dim.Render("unit: ") + textsafe.Clean(p.unit) + "  "
		}
		if p.filter != "" {
			l += st.Dim.Render("filter: ") + textsafe.Clean(p.filter)
		}
		body = append(body, clipStyled(l+st.Dim.Render("  (esc clears)"), w))
	}
	count := fmt.Sprint(len(p.rows))
	if p.hidden > 0 {
		count += fmt.Sprintf(" (+%d kernel)", p.hidden)
	}
	mode := "sort " + p.sortLabel()
	if p.tree {
		mode += " · tree"
	}
	title := fmt.Sprintf(" 2 processes · %s · %s ", count, mode)
	return strings.Join(box(st, title, p.c.focus == paneProcs, body, p.w, p.h), "\n")
}

func sumCols(n int, f func(int) int) int {
	t := 0
	for i := 0; i < n; i++ {
		t += f(i)
	}
	return t
}

// startLabel is when a process started, as ps does: the time of day today,
// else the month and day.
func startLabel(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if now.Sub(t) < 24*time.Hour && t.YearDay() == now.YearDay() {
		return t.Format("15:04")
	}
	return t.Format("Jan02")
}

// cpuTimeLabel is the CPU time used, as htop's TIME+: minutes:seconds.
// hundredths, then hours.
func cpuTimeLabel(s float64) string {
	switch {
	case s < 3600:
		return fmt.Sprintf("%d:%05.2f", int(s)/60, math.Mod(s, 60))
	case s < 100*3600:
		return fmt.Sprintf("%dh%02d:%02d", int(s)/3600, int(s)/60%60, int(s)%60)
	}
	return fmt.Sprintf("%dh", int(s)/3600)
}

// ioLabel is an I/O rate, or "-" when /proc/PID/io was unreadable (another
// user's process as non-root).
func ioLabel(pr *hoststat.Process, v float64) string {
	if !pr.IOReadable && !pr.Kernel {
		return "-"
	}
	return humanBytes(v)
}

func unitLabel(pr *hoststat.Process) string {
	if pr.Unit == "" {
		return "-"
	}
	return textsafe.Clean(pr.Unit)
}
