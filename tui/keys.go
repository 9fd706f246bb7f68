package tui

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/config"
)

// KeyMap holds every binding of the console. Its actions, default keys and
// help come from config.Actions, the one table of them; a field names its
// action in its tag. Help is generated from it, and users may rebind any
// action by name (see Rebind).
type KeyMap struct {
	// Global.
	Quit     key.Binding `action:"quit"`
	Help     key.Binding `action:"help"`
	NextPane key.Binding `action:"next_pane"`
	PrevPane key.Binding `action:"prev_pane"`
	Zoom     key.Binding `action:"zoom"`
	Pause    key.Binding `action:"pause"`
	Faster   key.Binding `action:"faster"`
	Slower   key.Binding `action:"slower"`
	// Panes[i] focuses the pane registered at i (actions pane1, pane2, ...).
	Panes []key.Binding
	// Evidence.
	Bundle key.Binding `action:"bundle"`
	Export key.Binding `action:"export_alert"`
	// Lists.
	Up       key.Binding `action:"up"`
	Down     key.Binding `action:"down"`
	PageUp   key.Binding `action:"page_up"`
	PageDown key.Binding `action:"page_down"`
	Home     key.Binding `action:"home"`
	End      key.Binding `action:"end"`
	Open     key.Binding `action:"open"`
	Back     key.Binding `action:"back"`
	// Details: the process and the remote host behind an alert or flow.
	OpenProcess key.Binding `action:"open_process"`
	OpenHost    key.Binding `action:"open_host"`
	// Panes.
	Ack    key.Binding `action:"ack"`
	AckAll key.Binding `action:"ack_all"`
	View   key.Binding `action:"view"`
	Sort   key.Binding `action:"sort"`
	Filter key.Binding `action:"filter"`
	Tree   key.Binding `action:"tree"`
	Signal key.Binding `action:"signal"`
	// Processes (htop's: < > pick the sort column, I inverts it, K shows
	// kernel threads).
	SortPrev   key.Binding `action:"sort_prev"`
	SortNext   key.Binding `action:"sort_next"`
	SortInvert key.Binding `action:"sort_invert"`
	Search     key.Binding `action:"search"`
	Kernel     key.Binding `action:"kernel_threads"`
	Renice     key.Binding `action:"renice"`
	Unit       key.Binding `action:"unit_filter"`
	// Confirmation.
	Yes  key.Binding `action:"yes"`
	Kill key.Binding `action:"kill"`
	No   key.Binding `action:"no"`

	// byName is every action's binding: the fields above, Panes, and
	// those of config.Actions that have no field (see Action).
	byName map[string]*key.Binding
}

// DefaultKeyMap returns the standard bindings (config.Actions): arrows and
// vim keys, digits for panes, tmux-friendly (no Ctrl-B, no Alt).
func DefaultKeyMap() *KeyMap {
	k := &KeyMap{Panes: make([]key.Binding, len(paneDefs)), byName: map[string]*key.Binding{}}
	v := reflect.ValueOf(k).Elem()
	for i := range v.NumField() {
		if name := v.Type().Field(i).Tag.Get("action"); name != "" {
			k.byName[name] = v.Field(i).Addr().Interface().(*key.Binding)
		}
	}
	for i := range k.Panes {
		k.byName[paneAction(i)] = &k.Panes[i]
	}
	for _, a := range config.Actions {
		b := k.byName[a.Name]
		if b == nil {
			b = new(key.Binding)
			k.byName[a.Name] = b
		}
		*b = key.NewBinding(key.WithKeys(fromConfig(a.Keys)...), key.WithHelp(a.HelpKeys(), a.Desc))
	}
	return k
}

// paneAction names the action that focuses pane i.
func paneAction(i int) string { return "pane" + strconv.Itoa(i+1) }

// paneFor is the pane whose focus action msg is, or -1.
func (k *KeyMap) paneFor(msg tea.KeyMsg) int {
	for i, b := range k.Panes {
		if key.Matches(msg, b) {
			return i
		}
	}
	return -1
}

// Action is the binding of the named action: for a pane's own action that
// has no field here.
func (k *KeyMap) Action(name string) key.Binding {
	if b := k.byName[name]; b != nil {
		return *b
	}
	return key.NewBinding(key.WithDisabled())
}

// fromConfig turns configuration key names into Bubble Tea's: the space bar
// is " " to Bubble Tea and "space" in files.
func fromConfig(keys []string) []string {
	keys = slices.Clone(keys)
	for i, k := range keys {
		if k == "space" {
			keys[i] = " "
		}
	}
	return keys
}

// Rebind replaces the keys of the named actions (e.g. {"quit": {"q", "ctrl+q"}}).
// Unknown action names are an error that lists the valid ones.
func (k *KeyMap) Rebind(m map[string][]string) error {
	all := k.byName
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
		keys = fromConfig(keys)
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
	for name, b := range k.byName {
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
		append([]key.Binding{k.NextPane, k.PrevPane}, k.Panes...),
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Open, k.Back},
		{k.Zoom, k.Pause, k.Faster, k.Slower, k.Bundle, k.Help, k.Quit},
	}
}
