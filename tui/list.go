package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// list is the cursor and scroll state of a pane's rows. Rows carry a key so
// the selection follows the same item when a new snapshot reorders them.
type list struct {
	keys           []string
	cursor, offset int
	height         int
}

// setRows installs a new set of row keys, keeping the selected key selected.
func (l *list) setRows(keys []string) {
	sel := l.selectedKey()
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
		return true
	case scrollMsg:
		l.move(msg.delta)
		return true
	case clickMsg:
		if msg.row >= 0 && l.offset+msg.row < len(l.keys) {
			l.cursor = l.offset + msg.row
			l.clamp()
		}
		return true
	}
	return false
}
