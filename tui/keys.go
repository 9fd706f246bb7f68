package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// KeyMap holds every binding of the console. Help is generated from it, and
// users may rebind any action by name (see Rebind).
type KeyMap struct {
	// Global.
	Quit, Help, NextPane, PrevPane, Zoom, Pause, Faster, Slower key.Binding
	Pane1, Pane2, Pane3, Pane4, Pane5                           key.Binding
	// Evidence.
	Bundle, Export key.Binding
	// Lists.
	Up, Down, PageUp, PageDown, Home, End, Open, Back key.Binding
	// Details: the process and the remote host behind an alert or flow.
	OpenProcess, OpenHost key.Binding
	// Panes.
	Ack, AckAll, View, Sort, Filter, Tree, Signal key.Binding
	// Processes (htop's: < > pick the sort column, I inverts it, K shows
	// kernel threads).
	SortPrev, SortNext, SortInvert, Search, Kernel, Renice, Unit key.Binding
	// Confirmation.
	Yes, Kill, No key.Binding
}

// DefaultKeyMap returns the standard bindings: arrows and vim keys, digits
// for panes, tmux-friendly (no Ctrl-B, no Alt).
func DefaultKeyMap() *KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return &KeyMap{
		Quit:     b("q", "quit", "q", "ctrl+c"),
		Help:     b("?", "help", "?"),
		NextPane: b("tab", "next pane", "tab"),
		PrevPane: b("shift+tab", "prev pane", "shift+tab"),
		Zoom:     b("z", "zoom pane", "z"),
		Pause:    b("p", "pause", "p", " "),
		Faster:   b("+", "refresh faster", "+", "="),
		Slower:   b("-", "refresh slower", "-"),
		Pane1:    b("1", "system", "1"),
		Pane2:    b("2", "processes", "2"),
		Pane3:    b("3", "network", "3"),
		Pane4:    b("4", "alerts", "4"),
		Pane5:    b("5", "protocol log", "5"),
		Bundle:   b("b", "save incident bundle", "b"),
		Export:   b("e", "save alert pcap", "e"),
		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		PageUp:   b("pgup", "page up", "pgup", "ctrl+u"),
		PageDown: b("pgdn", "page down", "pgdown", "ctrl+d"),
		Home:     b("home/g", "first", "home", "g"),
		End:      b("end/G", "last", "end", "G"),
		Open:     b("enter", "details", "enter"),
		Back:     b("esc", "back", "esc"),
		// In a detail view (in the process pane r is renice).
		OpenProcess: b("o", "open process", "o"),
		OpenHost:    b("r", "open remote host", "r"),
		Ack:         b("a", "acknowledge", "a"),
		AckAll:      b("A", "acknowledge all", "A"),
		View:        b("v", "next view", "v"),
		Sort:        b("s", "sort", "s"),
		Filter:      b("/", "filter", "/"),
		Tree:        b("t", "tree", "t"),
		Signal:      b("x", "signal", "x"),
		SortPrev:    b("<", "sort column left", "<", ","),
		SortNext:    b(">", "sort column right", ">", "."),
		SortInvert:  b("I", "invert sort", "I"),
		Search:      b("ctrl+f/f3", "search", "ctrl+f", "f3"),
		Kernel:      b("K", "kernel threads", "K"),
		Renice:      b("r", "renice", "r"),
		Unit:        b("u", "only this unit", "u"),
		Yes:         b("y", "SIGTERM", "y"),
		Kill:        b("K", "SIGKILL", "K"),
		No:          b("n", "cancel", "n", "esc"),
	}
}

// bindings names every binding for Rebind and the configuration file.
func (k *KeyMap) bindings() map[string]*key.Binding {
	return map[string]*key.Binding{
		"quit": &k.Quit, "help": &k.Help, "next_pane": &k.NextPane, "prev_pane": &k.PrevPane,
		"zoom": &k.Zoom, "pause": &k.Pause, "faster": &k.Faster, "slower": &k.Slower,
		"pane1": &k.Pane1, "pane2": &k.Pane2, "pane3": &k.Pane3, "pane4": &k.Pane4, "pane5": &k.Pane5,
		"up": &k.Up, "down": &k.Down, "page_up": &k.PageUp, "page_down": &k.PageDown,
		"home": &k.Home, "end": &k.End, "open": &k.Open, "back": &k.Back,
		"open_process": &k.OpenProcess, "open_host": &k.OpenHost,
		"ack": &k.Ack, "ack_all": &k.AckAll, "view": &k.View, "sort": &k.Sort,
		"filter": &k.Filter, "tree": &k.Tree, "signal": &k.Signal,
		"sort_prev": &k.SortPrev, "sort_next": &k.SortNext, "sort_invert": &k.SortInvert,
		"search": &k.Search, "kernel_threads": &k.Kernel, "renice": &k.Renice, "unit_filter": &k.Unit,
		"yes": &k.Yes, "kill": &k.Kill, "no": &k.No,
		"bundle": &k.Bundle, "export_alert": &k.Export,
	}
}

// Rebind replaces the keys of the named actions (e.g. {"quit": {"q", "ctrl+q"}}).
// Unknown action names are an error that lists the valid ones.
func (k *KeyMap) Rebind(m map[string][]string) error {
	all := k.bindings()
	for name, keys := range m {
		b, ok := all[name]
		if !ok {
			names := make([]string, 0, len(all))
			for n := range all {
				names = append(names, n)
			}
			slices.Sort(names)
			return fmt.Errorf("rebind key %q: unknown action (valid: %s)", name, strings.Join(names, ", "))
		}
		if len(keys) == 0 {
			return fmt.Errorf("rebind key %q: no keys given", name)
		}
		// Bubble Tea names the space bar " "; files say "space".
		keys = slices.Clone(keys)
		for i, k := range keys {
			if k == "space" {
				keys[i] = " "
			}
		}
		if slices.Equal(keys, b.Keys()) {
			continue // the default: keep its short help label ("↑/k")
		}
		b.SetKeys(keys...)
		b.SetHelp(strings.Join(m[name], "/"), b.Help().Desc)
	}
	return nil
}

// Actions returns every action name with its keys, as the configuration
// file's [keys] section names them.
func (k *KeyMap) Actions() map[string][]string {
	out := map[string][]string{}
	for name, b := range k.bindings() {
		keys := slices.Clone(b.Keys())
		for i, key := range keys {
			if key == " " {
				keys[i] = "space"
			}
		}
		out[name] = keys
	}
	return out
}

// ShortHelp is the footer's global part.
func (k *KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.NextPane, k.Zoom, k.Bundle, k.Pause, k.Quit}
}

// FullHelp groups the global bindings for the help screen.
func (k *KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextPane, k.PrevPane, k.Pane1, k.Pane2, k.Pane3, k.Pane4, k.Pane5},
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Open, k.Back},
		{k.Zoom, k.Pause, k.Faster, k.Slower, k.Bundle, k.Help, k.Quit},
	}
}
