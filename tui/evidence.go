package tui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/detect"
)

// Saved says what an evidence key wrote.
type Saved struct {
	// Path is the file or directory written.
	Path string
	// Packets is how many packets it holds; -1 when not counted.
	Packets int
}

// evidenceDoneMsg reports the outcome of an evidence key.
type evidenceDoneMsg struct {
	what  string // "incident bundle", "alert pcap"
	saved Saved
	err   error
}

// saver holds the evidence callbacks of Options; they run in commands,
// never in Update (they write files).
type saver struct {
	bundle func(trigger *detect.Alert) (Saved, error)
	export func(a *detect.Alert) (Saved, error)
}

// bundleCmd writes an incident bundle; trigger may be nil (saved by hand).
func (s saver) bundleCmd(trigger *detect.Alert) tea.Cmd {
	if s.bundle == nil {
		return cmdOf(statusMsg("incident bundles are not available here"))
	}
	f := s.bundle
	return tea.Sequence(cmdOf(statusMsg("writing incident bundle…")), func() tea.Msg {
		sv, err := f(trigger)
		return evidenceDoneMsg{what: "incident bundle", saved: sv, err: err}
	})
}

// exportCmd writes the packets of alert a to a pcap.
func (s saver) exportCmd(a *detect.Alert) tea.Cmd {
	if a == nil {
		return cmdOf(statusMsg("select an alert to export its packets"))
	}
	if s.export == nil {
		return cmdOf(statusMsg("packet export is not available here"))
	}
	f := s.export
	return tea.Sequence(cmdOf(statusMsg("writing alert pcap…")), func() tea.Msg {
		sv, err := f(a)
		return evidenceDoneMsg{what: "alert pcap", saved: sv, err: err}
	})
}

// evidenceStatus is the footer line after an evidence key; the path came
// from the file system and is cleaned like any outside text.
func evidenceStatus(m evidenceDoneMsg) string {
	if m.err != nil {
		return fmt.Sprintf("%s failed: %s", m.what, sanitize(m.err.Error()))
	}
	pk := ""
	if m.saved.Packets >= 0 {
		pk = fmt.Sprintf(" (%d packets)", m.saved.Packets)
	}
	return fmt.Sprintf("%s written: %s%s", m.what, sanitize(m.saved.Path), pk)
}
