package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// procSort is the processes pane's order.
type procSort int

const (
	sortCPU procSort = iota
	sortMem
	sortNet
	sortDisk
	numSorts
)

var procSortNames = [numSorts]string{"cpu", "mem", "net", "disk"}

type procRow struct {
	p      *hoststat.Process
	net    uint64 // bytes of the process's flows in the snapshot
	prefix string // tree drawing
}

// procsPane lists processes: sortable, filterable, as a tree, and can send
// a signal after a confirmation that names the process.
type procsPane struct {
	c      *common
	w, h   int
	l      list
	rows   []procRow
	sort   procSort
	tree   bool
	filter string
	typing bool              // the filter line is being edited
	target *hoststat.Process // process awaiting signal confirmation
	signal func(pid int32, sig syscall.Signal) error
	// shown is the host sample the rows were built from; a newer one is
	// taken only every procEvery of its interval (see SnapshotMsg).
	shown *hoststat.Snapshot
}

// procEvery is how many host samples the process table skips between
// updates. CPU figures of idle processes flicker every second and reorder
// the table, which is most of what an idle console writes to the terminal;
// htop refreshes every 1.5 s, btop every 2 s. Keys that change the table
// (sort, filter, tree) rebuild it at once.
const procEvery = 3

func newProcsPane(c *common, signal func(int32, syscall.Signal) error) *procsPane {
	return &procsPane{c: c, signal: signal}
}

func (p *procsPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.l.setHeight(h - 4) // border, column header, filter line
}

// Capturing is true while the filter is typed or a signal awaits confirmation.
func (p *procsPane) Capturing() bool { return p.typing || p.target != nil }

func (p *procsPane) Update(msg tea.Msg) (Pane, tea.Cmd) {
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
		if p.target != nil {
			return p, p.confirm(msg)
		}
		if p.typing {
			p.editFilter(msg)
			return p, nil
		}
		switch {
		case key.Matches(msg, k.Sort):
			p.sort = (p.sort + 1) % numSorts
			p.refresh()
			return p, nil
		case key.Matches(msg, k.Tree):
			p.tree = !p.tree
			p.refresh()
			return p, nil
		case key.Matches(msg, k.Filter):
			p.typing = true
			return p, nil
		case key.Matches(msg, k.Back) && p.filter != "":
			p.filter = ""
			p.refresh()
			return p, nil
		case key.Matches(msg, k.Signal):
			if r := p.selected(); r != nil {
				p.target = r.p
			}
			return p, nil
		case key.Matches(msg, k.Open):
			if r := p.selected(); r != nil {
				return p, cmdOf(openDetailMsg{detailTarget{pid: r.p.PID, procName: r.p.Name}})
			}
			return p, nil
		}
	}
	p.l.update(msg, k)
	return p, nil
}

func (p *procsPane) editFilter(msg tea.KeyMsg) {
	switch msg.Type {
	case tea.KeyEnter:
		p.typing = false
	case tea.KeyEsc:
		p.typing, p.filter = false, ""
	case tea.KeyBackspace:
		if r := []rune(p.filter); len(r) > 0 {
			p.filter = string(r[:len(r)-1])
		}
	case tea.KeyRunes, tea.KeySpace:
		if len(p.filter) < 64 {
			p.filter += string(msg.Runes)
		}
	}
	p.refresh()
}

// confirm handles the answer to "send SIGTERM to ...?". The signal is sent
// by a command: Update never does I/O.
func (p *procsPane) confirm(msg tea.KeyMsg) tea.Cmd {
	k, t := p.c.keys, p.target
	sig := syscall.Signal(0)
	switch {
	case key.Matches(msg, k.Yes):
		sig = syscall.SIGTERM
	case key.Matches(msg, k.Kill):
		sig = syscall.SIGKILL
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
	pid, name := t.PID, t.Name
	return func() tea.Msg {
		return signalDoneMsg{pid: pid, name: name, sig: sig, err: send(pid, sig)}
	}
}

func (p *procsPane) selected() *procRow {
	if p.l.cursor < len(p.rows) {
		return &p.rows[p.l.cursor]
	}
	return nil
}

func (p *procsPane) refresh() {
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
	for i := range h.Processes {
		pr := &h.Processes[i]
		if filter != "" && !strings.Contains(strings.ToLower(pr.Name+" "+pr.Cmdline+" "+pr.User+" "+fmt.Sprint(pr.PID)), filter) {
			continue
		}
		p.rows = append(p.rows, procRow{p: pr, net: net[pr.PID]})
	}
	metric := func(r procRow) float64 {
		switch p.sort {
		case sortMem:
			return float64(r.p.RSS)
		case sortNet:
			return float64(r.net)
		case sortDisk:
			return r.p.ReadBytesPerS + r.p.WriteBytesPerS
		}
		return r.p.CPUPct
	}
	order := func(a, b procRow) int {
		return cmp.Or(cmp.Compare(metric(b), metric(a)), cmp.Compare(a.p.PID, b.p.PID))
	}
	slices.SortFunc(p.rows, order)
	if p.tree && filter == "" {
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
	if p.target != nil {
		return []key.Binding{k.Yes, k.Kill, k.No}
	}
	return []key.Binding{k.Sort, k.Filter, k.Tree, k.Signal, k.Open}
}

func (p *procsPane) FullHelp() [][]key.Binding {
	k := p.c.keys
	return [][]key.Binding{{k.Sort, k.Filter, k.Tree, k.Signal, k.Open}, {k.Yes, k.Kill, k.No}}
}

func (p *procsPane) View() string {
	st := p.c.st
	w := p.w - 2
	var body []string
	// Columns from the right are dropped as the pane narrows.
	type col struct {
		name string
		w    int
		get  func(r procRow) string
	}
	cols := []col{
		{"PID", 7, func(r procRow) string { return fmt.Sprint(r.p.PID) }},
		{"USER", 8, func(r procRow) string { return textsafe.Clean(r.p.User) }},
		{"CPU%", 6, func(r procRow) string { return fmt.Sprintf("%.1f", r.p.CPUPct) }},
		{"MEM", 6, func(r procRow) string { return humanBytes(float64(r.p.RSS)) }},
		{"NET", 6, func(r procRow) string { return humanBytes(float64(r.net)) }},
		{"DISK/s", 7, func(r procRow) string { return humanBytes(r.p.ReadBytesPerS + r.p.WriteBytesPerS) }},
	}
	for len(cols) > 3 && sumCols(len(cols), func(i int) int { return cols[i].w + 1 }) > w-16 {
		// Drop USER first, then DISK, then NET.
		if cols[1].name == "USER" {
			cols = append(cols[:1], cols[2:]...)
		} else {
			cols = cols[:len(cols)-1]
		}
	}
	cmdW := max(w-sumCols(len(cols), func(i int) int { return cols[i].w + 1 }), 0)
	var hb strings.Builder
	for _, c := range cols {
		if c.name == "USER" {
			hb.WriteString(textsafe.Pad(c.name, c.w) + " ")
		} else {
			hb.WriteString(textsafe.PadLeft(c.name, c.w) + " ")
		}
	}
	hb.WriteString("COMMAND")
	body = append(body, st.ColHeader.Render(hb.String()))
	if p.c.host == nil {
		body = append(body, st.Dim.Render("waiting for the first host sample…"))
	}
	from, to := p.l.visible()
	for i := from; i < to; i++ {
		r := p.rows[i]
		var b strings.Builder
		for _, c := range cols {
			if c.name == "USER" {
				b.WriteString(textsafe.Pad(c.get(r), c.w) + " ")
			} else {
				b.WriteString(textsafe.PadLeft(c.get(r), c.w) + " ")
			}
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
	// The last line is the filter or the confirmation.
	body = block(body, w, max(p.h-3, 0))
	switch {
	case p.target != nil:
		body = append(body, st.Modal.Render(textsafe.Truncate(fmt.Sprintf("send SIGTERM to %d (%s)? y = TERM  K = KILL  n = cancel",
			p.target.PID, textsafe.Clean(p.target.Name)), w)))
	case p.typing:
		body = append(body, st.Warn.Render("/")+textsafe.Clean(p.filter)+"_")
	case p.filter != "":
		body = append(body, st.Dim.Render("filter: ")+textsafe.Clean(p.filter)+st.Dim.Render("  (esc clears)"))
	}
	mode := procSortNames[p.sort]
	if p.tree {
		mode += " · tree"
	}
	title := fmt.Sprintf(" 2 processes · %d · sort %s ", len(p.rows), mode)
	return strings.Join(box(st, title, p.c.focus == paneProcs, body, p.w, p.h), "\n")
}

func sumCols(n int, f func(int) int) int {
	t := 0
	for i := 0; i < n; i++ {
		t += f(i)
	}
	return t
}
