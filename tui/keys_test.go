package tui

import (
	"reflect"
	"slices"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/config"
)

// TestKeyMapFromConfigActions: config.Actions is the one table of actions,
// and the key map is built from it: every field names an action that exists
// there, every registered pane has its focus action and no focus action
// names a pane that is not registered, and each binding has the table's
// keys and help.
func TestKeyMapFromConfigActions(t *testing.T) {
	k := DefaultKeyMap()
	actions := map[string]config.Action{}
	for _, a := range config.Actions {
		actions[a.Name] = a
	}
	typ := reflect.TypeFor[KeyMap]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type != reflect.TypeFor[key.Binding]() {
			continue
		}
		name := f.Tag.Get("action")
		if _, ok := actions[name]; !ok {
			t.Errorf("KeyMap.%s: action %q is not in config.Actions", f.Name, name)
		}
	}
	if len(k.Panes) != len(paneDefs) || len(paneDefs) == 0 {
		t.Fatalf("%d pane bindings for %d panes", len(k.Panes), len(paneDefs))
	}
	for i := range paneDefs {
		if _, ok := actions[paneAction(i)]; !ok {
			t.Errorf("pane %d has no focus action %q in config.Actions", i, paneAction(i))
		}
	}
	if _, ok := actions[paneAction(len(paneDefs))]; ok {
		t.Errorf("config.Actions has %q but only %d panes are registered", paneAction(len(paneDefs)), len(paneDefs))
	}
	for _, a := range config.Actions {
		b := k.Action(a.Name)
		if !slices.Equal(b.Keys(), fromConfig(a.Keys)) || b.Help().Key != a.HelpKeys() || b.Help().Desc != a.Desc {
			t.Errorf("action %q: keys %q help %q %q, want %q %q %q", a.Name, b.Keys(), b.Help().Key, b.Help().Desc, a.Keys, a.HelpKeys(), a.Desc)
		}
	}
	// The fields are the bindings the table names, not copies.
	if k.Quit.Help().Desc != "quit" || k.Up.Help().Key != "↑/k" || k.Pause.Keys()[1] != " " {
		t.Errorf("fields not bound: quit %+v up %+v pause %q", k.Quit.Help(), k.Up.Help(), k.Pause.Keys())
	}
	if b := k.Action("no_such_action"); b.Enabled() {
		t.Error("an unknown action has an enabled binding")
	}
}

// TestRebindPaneKeys: a pane's focus action rebound to a key that is not
// its digit (a function key has no runes) focuses that pane, and the digit
// no longer does.
func TestRebindPaneKeys(t *testing.T) {
	m, err := New(Options{Renderer: asciiRenderer(), Keys: map[string][]string{"pane2": {"f2"}, "pane3": {"N"}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Update(windowSize(120, 40))
	m.Update(tea.KeyMsg{Type: tea.KeyF2})
	if m.c.focus != paneProcs {
		t.Errorf("f2: focus %d, want %d", m.c.focus, paneProcs)
	}
	press(m, "N")
	if m.c.focus != paneNet {
		t.Errorf("N: focus %d, want %d", m.c.focus, paneNet)
	}
	press(m, "1", "2")
	if m.c.focus != paneSystem {
		t.Errorf("2 after rebinding pane2: focus %d, want %d", m.c.focus, paneSystem)
	}
}

// TestRegisterPane: an id taken twice panics and leaves the registry as it
// was; every registered pane is made, in id order.
func TestRegisterPane(t *testing.T) {
	before := slices.Clone(paneDefs)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a pane id registered twice did not panic")
			}
		}()
		registerPane(paneAlerts, func(c *common, _ Options) Pane { return newAlertsPane(c) })
	}()
	if len(paneDefs) != len(before) {
		t.Fatalf("registry changed: %d panes, was %d", len(paneDefs), len(before))
	}
	ps := newPanes(newCommon(&Styles{}, DefaultKeyMap()), Options{})
	want := []Pane{&systemPane{}, &procsPane{}, &networkPane{}, &alertsPane{}, &logPane{}}
	if len(ps) != len(want) {
		t.Fatalf("%d panes, want %d", len(ps), len(want))
	}
	for i := range want {
		if reflect.TypeOf(ps[i]) != reflect.TypeOf(want[i]) {
			t.Errorf("pane %d is %T, want %T", i, ps[i], want[i])
		}
	}
}
