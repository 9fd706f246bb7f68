package tui

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// vterm is a tiny terminal: enough of one to replay what Bubble Tea's
// renderer and TerminalWriter write (text, SGR, cursor position, CR, LF,
// erase line and erase below) and compare the screens cell by cell.
type vterm struct {
	mu    sync.Mutex
	w, h  int
	x, y  int
	pen   string
	cells [][]cell
}

func newVterm(w, h int) *vterm {
	v := &vterm{}
	v.resize(w, h)
	return v
}

func (v *vterm) resize(w, h int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	rows := make([][]cell, h)
	for y := range rows {
		rows[y] = make([]cell, w)
		for x := range rows[y] {
			rows[y][x] = blank
			if y < len(v.cells) && x < len(v.cells[y]) {
				rows[y][x] = v.cells[y][x] // kept, like tmux keeps a cropped screen
			}
		}
	}
	v.w, v.h, v.cells = w, h, rows
}

func (v *vterm) erase(y, from int) {
	for x := max(from, 0); x < v.w; x++ {
		v.cells[y][x] = blank
	}
}

func (v *vterm) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := string(p)
	var state byte
	for len(s) > 0 {
		seq, w, n, st := ansi.DecodeSequence(s, state, nil)
		state = st
		if n <= 0 {
			break
		}
		s = s[n:]
		switch {
		case w > 0:
			if v.y < v.h && v.x+w <= v.w {
				v.cells[v.y][v.x] = cell{pen: v.pen, ch: seq, w: w}
				for i := 1; i < w; i++ {
					v.cells[v.y][v.x+i] = cell{pen: v.pen}
				}
			}
			v.x += w
		case seq == "\r":
			v.x = 0
		case seq == "\n":
			v.y = min(v.y+1, v.h-1)
		case seq == "\x1b[m" || seq == "\x1b[0m":
			v.pen = ""
		case strings.HasPrefix(seq, "\x1b[") && strings.HasSuffix(seq, "m"):
			v.pen += seq
		case seq == "\x1b[?1049h" || seq == "\x1b[2J":
			for y := range v.cells {
				v.erase(y, 0)
			}
		case seq == "\x1b[K":
			if v.y < v.h {
				v.erase(v.y, v.x)
			}
		case seq == "\x1b[J":
			for y := v.y; y < v.h; y++ {
				from := 0
				if y == v.y {
					from = v.x
				}
				v.erase(y, from)
			}
		case strings.HasPrefix(seq, "\x1b[") && strings.HasSuffix(seq, "H"):
			row, col, _ := strings.Cut(seq[2:len(seq)-1], ";")
			r, _ := strconv.Atoi(row)
			c, _ := strconv.Atoi(col)
			v.y, v.x = min(max(r, 1), v.h)-1, min(max(c, 1), v.w)-1
		}
	}
	return len(p), nil
}

// screen returns the cells as lines of "pen|char" for comparison.
func (v *vterm) screen() []cell {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []cell
	for _, r := range v.cells {
		out = append(out, r...)
	}
	return out
}

// want is what a terminal of w x h shows after view is drawn.
func want(view string, w, h int) []cell {
	lines := strings.Split(view, "\n")
	var out []cell
	for y := 0; y < h; y++ {
		var row []cell
		if y < len(lines) {
			row = parseLine(nil, lines[y])
		}
		for len(row) < w {
			row = append(row, blank)
		}
		out = append(out, row[:w]...)
	}
	return out
}

func sameScreen(a, b []cell) (int, bool) {
	if len(a) != len(b) {
		return -1, false
	}
	for i := range a {
		if a[i] != b[i] {
			return i, false
		}
	}
	return 0, true
}

// rendererFrame writes next the way Bubble Tea's standard renderer does in
// the alternate screen: unchanged lines are skipped with a line feed.
func rendererFrame(prev, next []string, w int) string {
	var b strings.Builder
	b.WriteString(ansi.CursorHomePosition)
	for i, l := range next {
		if i < len(prev) && prev[i] == l {
			if i < len(next)-1 {
				b.WriteByte('\n')
			}
			continue
		}
		b.WriteString(l)
		if ansi.StringWidth(l) < w {
			b.WriteString(ansi.EraseLineRight)
		}
		if i < len(next)-1 {
			b.WriteString("\r\n")
		}
	}
	b.WriteString(ansi.CursorPosition(0, len(next)))
	return b.String()
}

var penSeqs = []string{"\x1b[1m", "\x1b[38;5;60m", "\x1b[7m", "\x1b[1;38;2;255;95;86m", "\x1b[48;5;17m"}

// randomLine is a styled line of at most w cells with wide characters.
func randomLine(r *rand.Rand, w int) string {
	words := []string{"a", "bc", "│", "█", "░", "日本", "→", "x", " ", "  ", "12.5%", "✓", "é"}
	var b strings.Builder
	for ansi.StringWidth(b.String()) < w {
		if r.IntN(4) == 0 {
			b.WriteString(penSeqs[r.IntN(len(penSeqs))])
		}
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(5) == 0 {
			b.WriteString(ansi.ResetStyle)
		}
	}
	s := ansi.Truncate(b.String(), w-r.IntN(3), "")
	return s + ansi.ResetStyle
}

// mutate changes a few lines of a screen, some in a few cells only.
func mutate(r *rand.Rand, lines []string, w int) []string {
	out := append([]string(nil), lines...)
	for range 1 + r.IntN(4) {
		y := r.IntN(len(out))
		if r.IntN(2) == 0 {
			out[y] = randomLine(r, w)
			continue
		}
		x := r.IntN(w - 4)
		l := out[y]
		out[y] = ansi.Truncate(l, x, "") + ansi.ResetStyle + penSeqs[r.IntN(len(penSeqs))] + fmt.Sprint(r.IntN(100)) + ansi.ResetStyle
		rest := ansi.TruncateLeft(l, min(x+2, ansi.StringWidth(l)), "")
		out[y] = ansi.Truncate(out[y]+rest, w, "")
	}
	return out
}

// TestTerminalWriterFrames replays frames in the renderer's format through
// a terminal directly and through TerminalWriter: the screens must be the
// same after every frame, and the writer must send less.
func TestTerminalWriterFrames(t *testing.T) {
	const w, h = 100, 30
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		direct, viaWriter := newVterm(w, h), newVterm(w, h)
		tw := &TerminalWriter{out: viaWriter, size: func() (int, int, bool) { return w, h, true }}
		var prev []string
		lines := make([]string, h)
		for i := range lines {
			lines[i] = randomLine(r, w)
		}
		var rawBytes, sent int
		for f := range 40 {
			fr := rendererFrame(prev, lines, w)
			direct.Write([]byte(fr))
			n := countingWrite(tw, viaWriter, fr)
			rawBytes += len(fr)
			sent += n
			if i, ok := sameScreen(direct.screen(), viaWriter.screen()); !ok {
				t.Fatalf("seed %d frame %d: screens differ at cell %d (row %d col %d): direct %+v writer %+v",
					seed, f, i, i/w, i%w, direct.screen()[i], viaWriter.screen()[i])
			}
			if i, ok := sameScreen(direct.screen(), want(strings.Join(lines, "\n"), w, h)); !ok {
				t.Fatalf("seed %d frame %d: the direct replay differs from the view at cell %d", seed, f, i)
			}
			prev, lines = lines, mutate(r, lines, w)
		}
		if sent >= rawBytes {
			t.Errorf("seed %d: writer sent %d bytes, the renderer %d", seed, sent, rawBytes)
		}
	}
}

// countingWrite writes frame through tw and returns the bytes tw sent on.
func countingWrite(tw *TerminalWriter, v *vterm, frame string) int {
	var c countWriter
	c.next = v
	tw.out = &c
	tw.Write([]byte(frame))
	return c.n
}

type countWriter struct {
	next *vterm
	n    int
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return c.next.Write(p)
}

// TestTerminalWriterSmallChange checks what one changed figure costs.
func TestTerminalWriterSmallChange(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 160, 45, trueColorRenderer())
	a := strings.Split(m.View(), "\n")
	b := append([]string(nil), a...)
	b[2] = strings.Replace(b[2], "37.5%", "38.1%", 1)
	if b[2] == a[2] {
		t.Fatalf("fixture changed: no CPU figure on line 2: %q", a[2])
	}
	v := newVterm(160, 45)
	tw := &TerminalWriter{out: v, size: func() (int, int, bool) { return 160, 45, true }}
	countingWrite(tw, v, rendererFrame(nil, a, 160))
	fr := rendererFrame(a, b, 160)
	n := countingWrite(tw, v, fr)
	if n > 60 {
		t.Errorf("one changed figure cost %d bytes (the renderer wrote %d)", n, len(fr))
	}
	if i, ok := sameScreen(v.screen(), want(strings.Join(b, "\n"), 160, 45)); !ok {
		t.Errorf("screen differs at cell %d", i)
	}
}

// TestTerminalWriterPassThrough: what is not a frame goes out unchanged and
// makes the writer forget the screen, so the next frame is written whole.
func TestTerminalWriterPassThrough(t *testing.T) {
	var out bytes.Buffer
	tw := &TerminalWriter{out: &out, size: func() (int, int, bool) { return 20, 2, true }}
	lines := []string{"hello", "world"}
	tw.Write([]byte(rendererFrame(nil, lines, 20)))
	for _, s := range []string{"\x1b[?1049h", "\x1b[2J", "\x1b[?25h", "plain text", "\x1b[Hbroken\rframe"} {
		out.Reset()
		tw.Write([]byte(s))
		if out.String() != s {
			t.Errorf("%q passed as %q", s, out.String())
		}
		out.Reset()
		tw.Write([]byte(rendererFrame([]string{"hello", "x"}, lines, 20)))
		if !strings.Contains(out.String(), "world") {
			t.Errorf("after %q the next frame was not written whole: %q", s, out.String())
		}
	}
}

// frameModel shows whatever view it is sent.
type frameModel struct{ v string }

type setView string

func (m frameModel) Init() tea.Cmd { return nil }
func (m frameModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if s, ok := msg.(setView); ok {
		m.v = string(s)
	}
	return m, nil
}
func (m frameModel) View() string { return m.v }

// TestTerminalWriterWithBubbleTea runs a real Bubble Tea program on the
// writer, so a renderer that changes its output format fails here: every
// screen, including after a resize, must equal the view.
func TestTerminalWriterWithBubbleTea(t *testing.T) {
	var mu sync.Mutex
	w, h := 120, 40
	v := newVterm(w, h)
	tw := &TerminalWriter{out: v, size: func() (int, int, bool) {
		mu.Lock()
		defer mu.Unlock()
		return w, h, true
	}}
	p := tea.NewProgram(frameModel{}, tea.WithOutput(tw), tea.WithInput(nil), tea.WithAltScreen(), tea.WithFPS(120),
		tea.WithoutSignalHandler())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	p.Send(tea.WindowSizeMsg{Width: w, Height: h})
	r := rand.New(rand.NewPCG(3, 4))
	lines := make([]string, h)
	for i := range lines {
		lines[i] = randomLine(r, w)
	}
	check := func(step string) {
		t.Helper()
		view := strings.Join(lines, "\n")
		p.Send(setView(view))
		// The deadline only bounds a hang; it is not a performance figure.
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			cw, ch := w, h
			mu.Unlock()
			if _, ok := sameScreen(v.screen(), want(view, cw, ch)); ok {
				return
			}
			if time.Now().After(deadline) {
				i, _ := sameScreen(v.screen(), want(view, cw, ch))
				t.Fatalf("%s: screen never matched the view (first difference at cell %d)", step, i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := range 15 {
		check(fmt.Sprint("frame ", i))
		lines = mutate(r, lines, w)
	}
	// Resize: tmux keeps a cropped copy of the old screen.
	mu.Lock()
	w, h = 90, 30
	mu.Unlock()
	v.resize(90, 30)
	p.Send(tea.WindowSizeMsg{Width: 90, Height: 30})
	lines = lines[:30]
	for i := range lines {
		lines[i] = ansi.Truncate(lines[i], 90, "") + ansi.ResetStyle
	}
	for i := range 10 {
		check(fmt.Sprint("after resize, frame ", i))
		lines = mutate(r, lines, 90)
	}
	p.Quit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// FuzzTerminalWriter: any pair of styled screens drawn one after the other
// leaves the terminal as a full redraw would.
func FuzzTerminalWriter(f *testing.F) {
	// A styled line as lipgloss writes them (no model here: building a
	// renderer may query the terminal, which fuzz workers do not have).
	seed := "\x1b[38;5;60m│\x1b[m\x1b[38;5;103mCPU  \x1b[m\x1b[38;5;71m 37.5% \x1b[m\x1b[38;5;80m ▆▅▆\x1b[m\n│ 0 ██░░ 28%"
	f.Add(seed, strings.Replace(seed, "37.5", "99.9", 1))
	f.Add("a\x01b日本\x02c\nd", "a\x02b日\x03c\ne")
	f.Fuzz(func(t *testing.T, a, b string) {
		const w, h = 40, 6
		screen := func(s string) []string {
			// Views hold only text and SGR: map a few bytes to styles and
			// drop other controls, as textsafe does upstream.
			s = strings.NewReplacer("\x01", penSeqs[0], "\x02", penSeqs[1], "\x03", ansi.ResetStyle).Replace(s)
			lines := strings.Split(s, "\n")
			out := make([]string, h)
			for i := range out {
				if i < len(lines) {
					l := strings.Map(func(r rune) rune {
						if r < 0x20 && r != 0x1b || r == 0x7f || (r >= 0x80 && r < 0xa0) {
							return -1
						}
						return r
					}, lines[i])
					l = sgrOrText(l)
					out[i] = ansi.Truncate(l, w, "") + ansi.ResetStyle
				}
			}
			return out
		}
		sa, sb := screen(a), screen(b)
		direct, via := newVterm(w, h), newVterm(w, h)
		tw := &TerminalWriter{out: via, size: func() (int, int, bool) { return w, h, true }}
		for _, fr := range []string{rendererFrame(nil, sa, w), rendererFrame(sa, sb, w)} {
			direct.Write([]byte(fr))
			tw.Write([]byte(fr))
		}
		if i, ok := sameScreen(direct.screen(), via.screen()); !ok {
			t.Fatalf("screens differ at cell %d: %+v vs %+v", i, direct.screen()[i], via.screen()[i])
		}
	})
}

// sgrOrText keeps SGR sequences and printable text, dropping every other
// escape sequence (views never hold them).
func sgrOrText(s string) string {
	var b strings.Builder
	var state byte
	for len(s) > 0 {
		seq, w, n, st := ansi.DecodeSequence(s, state, nil)
		state = st
		if n <= 0 {
			break
		}
		s = s[n:]
		if w > 0 || (strings.HasPrefix(seq, "\x1b[") && strings.HasSuffix(seq, "m") && len(seq) < 32) {
			b.WriteString(seq)
		}
	}
	return b.String()
}

// waitScreen waits until v shows view; the deadline only bounds a hang.
func waitScreen(t *testing.T, v *vterm, view string, w, h int, step string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := sameScreen(v.screen(), want(view, w, h)); ok {
			return
		}
		if time.Now().After(deadline) {
			i, _ := sameScreen(v.screen(), want(view, w, h))
			t.Fatalf("%s: screen never matched the view (first difference at cell %d)", step, i)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTerminalWriterPresent: Present alone, with no renderer frame, paints
// each view inside the alternate screen, and nothing before it is entered
// or after it is left.
func TestTerminalWriterPresent(t *testing.T) {
	const w, h = 40, 5
	v := newVterm(w, h)
	var out meteredVterm
	out.w = v
	tw := &TerminalWriter{out: &out, size: func() (int, int, bool) { return w, h, true }}
	r := rand.New(rand.NewPCG(5, 6))
	lines := make([]string, h)
	for i := range lines {
		lines[i] = randomLine(r, w)
	}
	tw.Present(strings.Join(lines, "\n"))
	time.Sleep(2 * paintGap) // no assertion on time: nothing may come at all
	if n := out.bytes(); n != 0 {
		t.Fatalf("painted %d bytes before the alternate screen", n)
	}
	tw.Write([]byte(ansi.SetModeAltScreenSaveCursor))
	waitScreen(t, v, strings.Join(lines, "\n"), w, h, "pending view on entering the alternate screen")
	for i := range 10 {
		lines = mutate(r, lines, w)
		tw.Present(strings.Join(lines, "\n"))
		waitScreen(t, v, strings.Join(lines, "\n"), w, h, fmt.Sprint("view ", i))
	}
	// The renderer's own frame of the same view costs nothing.
	before := out.bytes()
	tw.Write([]byte(rendererFrame(nil, lines, w)))
	if n := out.bytes() - before; n != 0 {
		t.Errorf("the renderer's frame of the painted view wrote %d bytes", n)
	}
	tw.Write([]byte(ansi.ResetModeAltScreenSaveCursor))
	before = out.bytes()
	tw.Present("after\nthe end")
	time.Sleep(2 * paintGap)
	if n := out.bytes() - before; n != 0 {
		t.Errorf("painted %d bytes after leaving the alternate screen", n)
	}
}

// meteredVterm counts what passes to w.
type meteredVterm struct {
	mu sync.Mutex
	w  *vterm
	n  int
}

func (c *meteredVterm) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.n += len(p)
	c.mu.Unlock()
	return c.w.Write(p)
}

func (c *meteredVterm) bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// presentModel shows whatever view it is sent and hands it to Present, as
// the console's Model does.
type presentModel struct {
	v       string
	present func(string)
}

func (m presentModel) Init() tea.Cmd { return nil }
func (m presentModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if s, ok := msg.(setView); ok {
		m.v = string(s)
	}
	return m, nil
}
func (m presentModel) View() string { m.present(m.v); return m.v }

// TestTerminalWriterPresentWithBubbleTea: the console's arrangement (a
// renderer ticking once a second, every view presented) keeps the screen
// equal to the view, through a resize.
func TestTerminalWriterPresentWithBubbleTea(t *testing.T) {
	var mu sync.Mutex
	w, h := 100, 30
	v := newVterm(w, h)
	tw := &TerminalWriter{out: v, size: func() (int, int, bool) {
		mu.Lock()
		defer mu.Unlock()
		return w, h, true
	}}
	p := tea.NewProgram(presentModel{present: tw.Present}, tea.WithOutput(tw), tea.WithInput(nil), tea.WithAltScreen(),
		tea.WithFPS(1), tea.WithoutSignalHandler())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	p.Send(tea.WindowSizeMsg{Width: w, Height: h})
	r := rand.New(rand.NewPCG(7, 8))
	lines := make([]string, h)
	for i := range lines {
		lines[i] = randomLine(r, w)
	}
	for i := range 10 {
		view := strings.Join(lines, "\n")
		p.Send(setView(view))
		waitScreen(t, v, view, w, h, fmt.Sprint("frame ", i))
		lines = mutate(r, lines, w)
	}
	mu.Lock()
	w, h = 70, 20
	mu.Unlock()
	v.resize(70, 20)
	p.Send(tea.WindowSizeMsg{Width: 70, Height: 20})
	lines = lines[:20]
	for i := range lines {
		lines[i] = ansi.Truncate(lines[i], 70, "") + ansi.ResetStyle
	}
	for i := range 5 {
		view := strings.Join(lines, "\n")
		p.Send(setView(view))
		waitScreen(t, v, view, 70, 20, fmt.Sprint("after resize, frame ", i))
		lines = mutate(r, lines, 70)
	}
	p.Quit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestParseLinePens: a cell's pen is every styling sequence since the last
// reset, whether the sequences were written one after another (a slice of
// the line) or apart (a concatenation), and parsing into a used row gives
// the same cells.
func TestParseLinePens(t *testing.T) {
	bold, red, ul := "\x1b[1m", "\x1b[31m", "\x1b[4m"
	line := bold + red + "a" + ul + "b\x1b[mc" + red + "d"
	want := []cell{
		{pen: bold + red, ch: "a", w: 1},
		{pen: bold + red + ul, ch: "b", w: 1},
		{ch: "c", w: 1},
		{pen: red, ch: "d", w: 1},
	}
	used := parseLine(nil, strings.Repeat("xyz", 40))
	for _, out := range [][]cell{parseLine(nil, line), parseLine(used[:0], line)} {
		if len(out) != len(want) {
			t.Fatalf("parseLine(%q) = %+v, want %+v", line, out, want)
		}
		for i := range want {
			if out[i] != want[i] {
				t.Errorf("cell %d = %+v, want %+v", i, out[i], want[i])
			}
		}
	}
}
