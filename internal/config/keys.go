package config

// Action is one console action users can bind keys to. Actions is the one
// table of them: the console builds its key map from it (tui.DefaultKeyMap)
// and the [keys] section of a configuration file accepts exactly these
// names.
type Action struct {
	// Name is stable: users put it in their files.
	Name string
	// Keys are the default keys, as bubbles/key names them ("space" is
	// the space bar).
	Keys []string
	// Help is how the help shows the keys; "" shows the first.
	Help string
	// Desc says what the action does, as the help says it.
	Desc string
}

// HelpKeys is how the help shows the action's default keys.
func (a Action) HelpKeys() string {
	if a.Help != "" {
		return a.Help
	}
	return a.Keys[0]
}

// Actions are the console's actions with their default keys. pane1,
// pane2, ... focus the console's panes in Tab order, one per pane; a pane
// that has its own action adds it here, and the console reads it by name
// (tui KeyMap.Action) when it has no field of its own.
var Actions = []Action{
	{Name: "quit", Keys: []string{"q", "ctrl+c"}, Desc: "quit"},
	{Name: "help", Keys: []string{"?"}, Desc: "help"},
	{Name: "next_pane", Keys: []string{"tab"}, Desc: "next pane"},
	{Name: "prev_pane", Keys: []string{"shift+tab"}, Desc: "prev pane"},
	{Name: "zoom", Keys: []string{"z"}, Desc: "zoom pane"},
	{Name: "pause", Keys: []string{"p", "space"}, Desc: "pause"},
	{Name: "faster", Keys: []string{"+", "="}, Desc: "refresh faster"},
	{Name: "slower", Keys: []string{"-"}, Desc: "refresh slower"},
	{Name: "pane1", Keys: []string{"1"}, Desc: "system"},
	{Name: "pane2", Keys: []string{"2"}, Desc: "processes"},
	{Name: "pane3", Keys: []string{"3"}, Desc: "network"},
	{Name: "pane4", Keys: []string{"4"}, Desc: "alerts"},
	{Name: "pane5", Keys: []string{"5"}, Desc: "protocol log"},
	{Name: "bundle", Keys: []string{"b"}, Desc: "save incident bundle"},
	{Name: "export_alert", Keys: []string{"e"}, Desc: "save alert pcap"},
	// Lists.
	{Name: "up", Keys: []string{"up", "k"}, Help: "↑/k", Desc: "up"},
	{Name: "down", Keys: []string{"down", "j"}, Help: "↓/j", Desc: "down"},
	{Name: "page_up", Keys: []string{"pgup", "ctrl+u"}, Desc: "page up"},
	{Name: "page_down", Keys: []string{"pgdown", "ctrl+d"}, Help: "pgdn", Desc: "page down"},
	{Name: "home", Keys: []string{"home", "g"}, Help: "home/g", Desc: "first"},
	{Name: "end", Keys: []string{"end", "G"}, Help: "end/G", Desc: "last"},
	{Name: "open", Keys: []string{"enter"}, Desc: "details"},
	{Name: "back", Keys: []string{"esc"}, Desc: "back"},
	// In a detail view (in the process pane r is renice).
	{Name: "open_process", Keys: []string{"o"}, Desc: "open process"},
	{Name: "open_host", Keys: []string{"r"}, Desc: "open remote host"},
	// Panes.
	{Name: "ack", Keys: []string{"a"}, Desc: "acknowledge"},
	{Name: "ack_all", Keys: []string{"A"}, Desc: "acknowledge all"},
	{Name: "view", Keys: []string{"v"}, Desc: "next view"},
	{Name: "sort", Keys: []string{"s"}, Desc: "sort"},
	{Name: "filter", Keys: []string{"/"}, Desc: "filter"},
	{Name: "tree", Keys: []string{"t"}, Desc: "tree"},
	{Name: "signal", Keys: []string{"x"}, Desc: "signal"},
	// The process table, as htop's: < > pick the sort column, I inverts
	// it, K shows kernel threads (issue 19).
	{Name: "sort_prev", Keys: []string{"<", ","}, Desc: "sort column left"},
	{Name: "sort_next", Keys: []string{">", "."}, Desc: "sort column right"},
	{Name: "sort_invert", Keys: []string{"I"}, Desc: "invert sort"},
	{Name: "search", Keys: []string{"ctrl+f", "f3"}, Help: "ctrl+f/f3", Desc: "search"},
	{Name: "kernel_threads", Keys: []string{"K"}, Desc: "kernel threads"},
	{Name: "renice", Keys: []string{"r"}, Desc: "renice"},
	{Name: "unit_filter", Keys: []string{"u"}, Desc: "only this unit"},
	// Confirmation of a signal.
	{Name: "yes", Keys: []string{"y"}, Desc: "SIGTERM"},
	{Name: "kill", Keys: []string{"K"}, Desc: "SIGKILL"},
	{Name: "no", Keys: []string{"n", "esc"}, Desc: "cancel"},
}

// DefaultKeys are the default keys of every action, by name (from Actions).
var DefaultKeys = defaultKeys()

func defaultKeys() map[string][]string {
	m := make(map[string][]string, len(Actions))
	for _, a := range Actions {
		m[a.Name] = a.Keys
	}
	return m
}
