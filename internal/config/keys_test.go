package config

import (
	"strings"
	"testing"
)

// TestActions: every action has a unique name a file can use, default
// keys and a description; DefaultKeys is the table's keys by name.
func TestActions(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Actions {
		switch {
		case a.Name == "" || strings.ContainsAny(a.Name, " .=\"") || seen[a.Name]:
			t.Errorf("action name %q: empty, not a bare TOML key, or taken twice", a.Name)
		case len(a.Keys) == 0 || a.Desc == "":
			t.Errorf("action %q: keys %q desc %q", a.Name, a.Keys, a.Desc)
		}
		seen[a.Name] = true
		if got := DefaultKeys[a.Name]; strings.Join(got, " ") != strings.Join(a.Keys, " ") {
			t.Errorf("DefaultKeys[%q] = %q, want %q", a.Name, got, a.Keys)
		}
	}
	if len(DefaultKeys) != len(Actions) {
		t.Errorf("DefaultKeys has %d actions, Actions %d", len(DefaultKeys), len(Actions))
	}
}
