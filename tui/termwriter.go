package tui

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
)

// TerminalWriter sits between Bubble Tea's renderer and the terminal and
// sends only the cells that changed. The renderer already skips unchanged
// lines, but rewrites a changed line across the whole width with all its
// colour codes: a CPU figure that moves from 61.7 to 63.8 costs a 160-cell
// line (about 250 bytes on a two-column screen) where the terminal needs 4
// characters and a cursor move. Over SSH that is the difference between
// 9 KB/s and a few hundred bytes per second on an idle host.
//
// It keeps a copy of what the terminal shows and recognises the renderer's
// frames in the alternate screen (cursor home, then each line either
// skipped with "\n" or written and ended with "\r\n", then the final cursor
// position). Anything else (mode switches, clears, a frame in another shape)
// passes through unchanged and makes the copy unknown, so the next frames
// write the lines they touch in full: a renderer that changes its output
// costs bytes, never a wrong screen.
type TerminalWriter struct {
	mu   sync.Mutex
	f    term.File // the terminal; nil in tests
	out  io.Writer
	size func() (w, h int, ok bool)
	w, h int
	rows [][]cell // what the terminal shows; nil row = unknown
	// texts[y] is the line last drawn into rows[y], as written: a line
	// drawn again unchanged is not parsed again (Present draws every line).
	texts []string
	buf   bytes.Buffer
	// spare is a row's cells no longer shown, parsed into next, and
	// changed diffRow's scratch: a frame at rest allocates no cells.
	spare   []cell
	changed []bool

	// Present's state: the alternate screen as seen in the output (frames
	// are painted only inside it), the newest view not yet painted, and
	// when the last paint was.
	alt       bool
	pending   string
	havePend  bool
	painted   string
	lastPaint time.Time
	paintAt   *time.Timer
}

// paintGap is the least time between two frames Present paints: at most
// 20 a second while the view keeps changing, as Bubble Tea's renderer at
// 20 frames a second; a change after a quiet spell is painted at once.
const paintGap = 50 * time.Millisecond

// NewTerminalWriter wraps the terminal f; pass it to tea.WithOutput. It
// keeps f's file descriptor visible so Bubble Tea still sees a terminal
// (raw mode, size, resize events).
func NewTerminalWriter(f *os.File) *TerminalWriter {
	return &TerminalWriter{f: f, out: f, size: func() (int, int, bool) {
		w, h, err := term.GetSize(f.Fd())
		return w, h, err == nil
	}}
}

// Write takes one write of the renderer.
func (t *TerminalWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fr, ok := parseFrame(p)
	if !ok {
		t.rows, t.texts = nil, nil
		t.noteModes(p)
		_, err := t.out.Write(p)
		return len(p), err
	}
	return len(p), t.draw(fr)
}

// draw sends what fr changes on the screen.
func (t *TerminalWriter) draw(fr frame) error {
	if t.size != nil {
		if w, h, ok := t.size(); ok && (w != t.w || h != t.h) {
			// A resize may have cut, reflowed or cleared what we copied.
			t.w, t.h, t.rows, t.texts = w, h, nil, nil
		}
	}
	t.buf.Reset()
	t.frame(fr)
	if t.buf.Len() == 0 {
		return nil
	}
	t.buf.WriteString(fr.tail)
	_, err := t.out.Write(t.buf.Bytes())
	return err
}

// noteModes follows the alternate screen through the renderer's writes:
// Present paints only inside it, so nothing is painted before the program
// has set the screen up or after it has restored it.
func (t *TerminalWriter) noteModes(p []byte) {
	on := bytes.LastIndex(p, []byte(ansi.SetModeAltScreenSaveCursor))
	off := bytes.LastIndex(p, []byte(ansi.ResetModeAltScreenSaveCursor))
	switch {
	case on > off:
		t.alt = true
		if t.havePend {
			t.schedule()
		}
	case off > on:
		t.alt = false
	}
}

// Present hands the writer the whole view, as the model's View returned
// it, to paint now rather than at the renderer's next frame tick. Bubble
// Tea's renderer wakes the process at every tick whether or not anything
// changed (at 20 frames a second that was a third of the idle console's
// CPU); with Present the renderer can tick rarely (tea.WithFPS(1)) while a
// key press is still drawn at once, and the renderer's own frames, which
// hold the same view, then cost no terminal bytes. It never blocks: the
// paint runs on a timer's goroutine, at most one per paintGap.
func (t *TerminalWriter) Present(view string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if view == t.painted && !t.havePend {
		return
	}
	t.pending, t.havePend = view, true
	if t.alt {
		t.schedule()
	}
}

// schedule arms the paint timer if it is not armed; t.mu is held.
func (t *TerminalWriter) schedule() {
	if t.paintAt != nil {
		return
	}
	wait := paintGap - time.Since(t.lastPaint)
	t.paintAt = time.AfterFunc(max(wait, 0), t.paint)
}

// paint draws the pending view as the renderer would draw it whole; the
// cell copy then sends only what differs from the screen.
func (t *TerminalWriter) paint() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.paintAt = nil
	if !t.alt || !t.havePend {
		return
	}
	view := t.pending
	t.pending, t.havePend = "", false
	t.painted, t.lastPaint = view, time.Now()
	w, h := t.w, t.h
	if t.size != nil {
		if sw, sh, ok := t.size(); ok {
			w, h = sw, sh
		}
	}
	lines := strings.Split(view, "\n")
	if h > 0 && len(lines) > h {
		lines = lines[len(lines)-h:] // as the renderer: the bottom fits
	}
	fr := frame{lines: make([]frameLine, len(lines)), tail: ansi.CursorPosition(0, len(lines))}
	for i, l := range lines {
		if w > 0 {
			l = ansi.Truncate(l, w, "")
		}
		fr.lines[i] = frameLine{row: i, text: l}
	}
	_ = t.draw(fr) // a failed write shows at the renderer's next one
}

// Read, Close and Fd make the writer a term.File like the terminal it wraps.
func (t *TerminalWriter) Read(p []byte) (int, error) {
	if t.f == nil {
		return 0, io.EOF
	}
	return t.f.Read(p)
}

// Close closes the terminal.
func (t *TerminalWriter) Close() error {
	if t.f == nil {
		return nil
	}
	return t.f.Close()
}

// Fd is the terminal's file descriptor.
func (t *TerminalWriter) Fd() uintptr {
	if t.f == nil {
		return ^uintptr(0)
	}
	return t.f.Fd()
}

// cell is one column of a line. w is 0 for the second column of a wide
// character. pen is the styling sequences in force since the last reset.
type cell struct {
	pen, ch string
	w       int
}

var blank = cell{ch: " ", w: 1}

// frameLine is one line a frame rewrites: its row and its text as written.
type frameLine struct {
	row  int
	text string // without the trailing erase-line
}

type frame struct {
	lines []frameLine
	tail  string // erase-below and the final cursor position
}

var frameTail = regexp.MustCompile(`(\x1b\[J)?\x1b\[[0-9]*;[0-9]*H$`)

// parseFrame recognises a frame of Bubble Tea's standard renderer in the
// alternate screen; ok is false for anything else.
func parseFrame(p []byte) (frame, bool) {
	s := string(p)
	body, ok := strings.CutPrefix(s, ansi.CursorHomePosition)
	if !ok {
		return frame{}, false
	}
	loc := frameTail.FindStringIndex(body)
	if loc == nil {
		return frame{}, false
	}
	fr := frame{tail: body[loc[0]:]}
	body = body[:loc[0]]
	row := 0
	for len(body) > 0 {
		if body[0] == '\n' {
			row++
			body = body[1:]
			continue
		}
		line, rest, more := strings.Cut(body, "\r\n")
		line = strings.TrimPrefix(line, "\r")
		line = strings.TrimSuffix(line, ansi.EraseLineRight)
		if strings.ContainsAny(line, "\r\n") {
			return frame{}, false
		}
		fr.lines = append(fr.lines, frameLine{row: row, text: line})
		body = rest
		if !more {
			break
		}
		row++
	}
	return fr, true
}

// parseLine splits a styled line into cells, appended to out. A cell's
// strings are slices of line: a run of styling sequences written one after
// another (as Lip Gloss writes them) is one slice, not a concatenation.
func parseLine(out []cell, line string) []cell {
	var pen string
	penEnd := -1 // where pen ends in line, when it is a slice of it
	var state byte
	for off := 0; off < len(line); {
		seq, w, n, st := ansi.DecodeSequence(line[off:], state, nil)
		state = st
		if n <= 0 {
			break
		}
		start := off
		off += n
		switch {
		case w > 0:
			out = append(out, cell{pen: pen, ch: seq, w: w})
			for i := 1; i < w; i++ {
				out = append(out, cell{pen: pen})
			}
		case seq == "\x1b[m" || seq == "\x1b[0m":
			pen, penEnd = "", -1
		case strings.HasPrefix(seq, "\x1b"):
			switch {
			case pen == "":
				pen, penEnd = seq, off
			case penEnd == start:
				pen, penEnd = line[start-len(pen):off], off
			default:
				pen, penEnd = pen+seq, -1
			}
		}
	}
	return out
}

// gapCells is the run of unchanged cells worth rewriting rather than
// moving the cursor over (a cursor move costs about 8 bytes).
const gapCells = 6

func (t *TerminalWriter) frame(fr frame) {
	for _, l := range fr.lines {
		if l.row < 0 || (t.h > 0 && l.row >= t.h) {
			continue
		}
		if l.row < len(t.texts) && t.rows[l.row] != nil && t.texts[l.row] == l.text {
			continue
		}
		cells := parseLine(t.spare[:0], l.text)
		width := max(t.w, len(cells))
		for len(cells) < width {
			cells = append(cells, blank)
		}
		for len(t.rows) <= l.row {
			t.rows = append(t.rows, nil)
			t.texts = append(t.texts, "")
		}
		t.texts[l.row] = l.text
		old := t.rows[l.row]
		t.rows[l.row] = cells
		t.spare = old // nothing keeps it: its cells were copied or drawn
		if len(old) != len(cells) {
			// Unknown row: write it as the renderer did.
			t.buf.WriteString(ansi.CursorPosition(1, l.row+1))
			t.buf.WriteString(l.text)
			t.buf.WriteString(ansi.EraseLineRight)
			continue
		}
		t.diffRow(l.row, old, cells)
	}
}

// diffRow writes the spans of row y where cells differ from old.
func (t *TerminalWriter) diffRow(y int, old, cells []cell) {
	n := len(cells)
	if cap(t.changed) < n {
		t.changed = make([]bool, n)
	}
	changed := t.changed[:n]
	diff := false
	for i := range cells {
		changed[i] = old[i] != cells[i]
		diff = diff || changed[i]
	}
	if !diff {
		return
	}
	// A wide character is written whole: widen changes to both its columns.
	for i := 0; i < n; i++ {
		if !changed[i] {
			continue
		}
		for j := i - 1; j >= 0 && (cells[j+1].w == 0 || old[j+1].w == 0); j-- {
			changed[j] = true
		}
		for j := i + 1; j < n && (cells[j].w == 0 || old[j].w == 0); j++ {
			changed[j] = true
		}
	}
	for i := 0; i < n; {
		if !changed[i] {
			i++
			continue
		}
		end := i + 1
		for end < n {
			if changed[end] {
				end++
				continue
			}
			gap := end
			for gap < n && !changed[gap] && gap-end < gapCells {
				gap++
			}
			if gap < n && changed[gap] {
				end = gap
				continue
			}
			break
		}
		t.writeSpan(y, i, cells[i:end])
		i = end
	}
}

func (t *TerminalWriter) writeSpan(y, x int, cells []cell) {
	t.buf.WriteString("\x1b[" + strconv.Itoa(y+1) + ";" + strconv.Itoa(x+1) + "H")
	pen := ""
	for _, c := range cells {
		if c.w == 0 {
			continue
		}
		if c.pen != pen {
			if pen != "" {
				t.buf.WriteString(ansi.ResetStyle)
			}
			t.buf.WriteString(c.pen)
			pen = c.pen
		}
		t.buf.WriteString(c.ch)
	}
	if pen != "" {
		t.buf.WriteString(ansi.ResetStyle)
	}
}
