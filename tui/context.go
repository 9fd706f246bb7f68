package tui

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// Pane is the contract every component of the screen keeps.
type Pane interface {
	Update(msg tea.Msg) (Pane, tea.Cmd)
	View() string
	SetSize(w, h int)
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// capturer is a pane that is reading text or a confirmation: it receives every
// key, including the global ones.
type capturer interface {
	Capturing() bool
}

// common is the context every pane shares: styles, keys and the current data.
type common struct {
	st   *Styles
	keys *KeyMap

	snap *engine.Snapshot
	host *hoststat.Snapshot // newest full host sample
	// Histories kept here because the host source may feed the console
	// directly (the engine's HostState histories are used when present).

	acked   map[*detect.Alert]bool
	focus   int // index of the focused pane
	save    saver
	noNames bool // -n: addresses only
	// showSecrets shows the secrets of the protocol log in clear
	// (--show-secrets), as the EVE writer does.
	showSecrets bool
}

// name is what a DNS answer seen on the wire named a, cleaned for the
// terminal, or "" (none seen, or -n).
func (c *common) name(a netip.Addr) string {
	if c.noNames || c.snap == nil {
		return ""
	}
	if n := c.snap.Names[a]; n != "" {
		return textsafe.Clean(n)
	}
	return ""
}

// learnedMark prefixes a name shown in an address's place: it was learned
// from a DNS answer on the wire, which can be forged, and is not the
// address itself ("~payroll.corp.example:443").
const learnedMark = "~"

// endpointLabel shows an address and port as tcpdump does without -n: the
// name in place of the address when one is known, marked as a name.
func (c *common) endpointLabel(ap netip.AddrPort) string {
	if n := c.name(ap.Addr()); n != "" {
		if ap.Port() == 0 {
			return learnedMark + n
		}
		return fmt.Sprintf("%s%s:%d", learnedMark, n, ap.Port())
	}
	return ap.String()
}

func newCommon(st *Styles, keys *KeyMap) *common {
	return &common{st: st, keys: keys, snap: &engine.Snapshot{}, acked: map[*detect.Alert]bool{}}
}

// setSnapshot installs a new snapshot and folds in its host sample.
func (c *common) setSnapshot(s *engine.Snapshot) {
	if s == nil {
		return
	}
	c.snap = s
	if h := s.Host.Latest; h != nil && !h.Partial {
		c.setHost(h)
	}
	// Acknowledgements of alerts that scrolled out of the engine's ring are
	// dropped so the map stays bounded.
	if len(c.acked) > 0 {
		live := make(map[*detect.Alert]bool, len(c.acked))
		for _, a := range s.Alerts {
			if c.acked[a] {
				live[a] = true
			}
		}
		c.acked = live
	}
}

func (c *common) setHost(h *hoststat.Snapshot) {
	if c.host != nil && !h.Time.After(c.host.Time) {
		return
	}
	c.host = h
}

// The host's histories are the engine's (engine.HostState): one owner
// for every consumer.
func (c *common) cpuHistory() []float64 { return c.snap.Host.CPU }
func (c *common) memHistory() []float64 { return c.snap.Host.Mem }

// Messages.

// SnapshotMsg delivers a new engine snapshot to the console.
type SnapshotMsg struct{ Snap *engine.Snapshot }

// tickMsg asks for the next snapshot; gen discards ticks of an older chain
// (after a pause or a refresh-rate change).
type tickMsg struct {
	t   time.Time
	gen int
}

// scrollMsg and clickMsg are mouse events translated to the pane's rows.
type scrollMsg struct{ delta int }
type clickMsg struct{ row int }

// openDetailMsg asks the root to open the detail view.
type openDetailMsg struct{ d detailTarget }

// statusMsg shows a line in the footer for a few refreshes.
type statusMsg string

// signalDoneMsg reports the outcome of a signal sent to a process.
type signalDoneMsg struct {
	pid  int32
	name string
	sig  syscall.Signal
	err  error
}

func cmdOf(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }
