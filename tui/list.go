package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// list is the cursor and scroll state of a pane's rows. Rows carry a key so
// the selection follows the same item when a new snapshot reorders them.
//
// A list follows its head (the newest alert or log line, the biggest flow)
// until the user moves off it; then the view holds still, the selection
// stays on its item, and arrived counts the rows that came in since, for
// the pane to show. Moving back to the head (Home) follows again.
type list struct {
	keys           []string
	cursor, offset int
	height         int
	held           bool // the user moved off the head
	arrived        int  // rows new since the list was held
}

// setRows installs a new set of row keys: the head when following, else
// the selected key stays selected and new keys are counted.
func (l *list) setRows(keys []string) {
	if !l.held {
		l.keys = keys
		l.cursor, l.offset = 0, 0
		l.clamp()
		return
	}
	sel := l.selectedKey()
	old := make(map[string]struct{}, len(l.keys))
	for _, k := range l.keys {
		old[k] = struct{}{}
	}
	for _, k := range keys {
		if _, ok := old[k]; !ok {
			l.arrived++
		}
	}
	l.keys = keys
	if sel != "" {
		for i, k := range keys {
			if k == sel {
				l.cursor = i
				break
			}
		}
	}
	l.clamp()
}

// heldMarker says, while the list is held, how many rows arrived and how
// to follow again; "" when following.
func (l *list) heldMarker() string {
	if !l.held {
		return ""
	}
	return fmt.Sprintf("held, %d new · Home follows", l.arrived)
}

// moved records a navigation: off the head holds the list, back on it
// follows again.
func (l *list) moved() {
	l.held = l.cursor > 0
	if !l.held {
		l.arrived = 0
	}
}

func (l *list) selectedKey() string {
	if l.cursor >= 0 && l.cursor < len(l.keys) {
		return l.keys[l.cursor]
	}
	return ""
}

func (l *list) setHeight(h int) {
	l.height = max(h, 0)
	l.clamp()
}

func (l *list) clamp() {
	n := len(l.keys)
	l.cursor = min(max(l.cursor, 0), max(n-1, 0))
	if l.height <= 0 {
		l.offset = 0
		return
	}
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+l.height {
		l.offset = l.cursor - l.height + 1
	}
	l.offset = min(max(l.offset, 0), max(n-l.height, 0))
}

func (l *list) move(d int) {
	l.cursor += d
	l.clamp()
}

// visible returns the index range of the rows on screen.
func (l *list) visible() (int, int) {
	return l.offset, min(l.offset+l.height, len(l.keys))
}

// update handles the navigation keys and the mouse; it reports whether msg
// was one of them.
func (l *list) update(msg tea.Msg, k *KeyMap) bool {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Up):
			l.move(-1)
		case key.Matches(msg, k.Down):
			l.move(1)
		case key.Matches(msg, k.PageUp):
			l.move(-max(l.height-1, 1))
		case key.Matches(msg, k.PageDown):
			l.move(max(l.height-1, 1))
		case key.Matches(msg, k.Home):
			l.cursor = 0
			l.clamp()
		case key.Matches(msg, k.End):
			l.cursor = len(l.keys) - 1
			l.clamp()
		default:
			return false
		}
		l.moved()
		return true
	case scrollMsg:
		l.move(msg.delta)
		l.moved()
		return true
	case clickMsg:
		if msg.row >= 0 && l.offset+msg.row < len(l.keys) {
			l.cursor = l.offset + msg.row
			l.clamp()
		}
		l.moved()
		return true
	}
	return false
}
