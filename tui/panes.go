package tui

import "fmt"

// A pane registers itself from its own file (registerPane in an init): its
// place in Tab order and how it is made. The root model makes every
// registered pane, and the key map gives each a focus action (pane1,
// pane2, ... in config.Actions); where a pane sits on screen is the root's
// layout.

// paneDef is what a pane registers about itself.
type paneDef struct {
	make func(c *common, o Options) Pane
}

// paneDefs is indexed by pane id: the pane's place in Tab order, as
// numbered on screen (its focus action is pane<id+1>).
var paneDefs []paneDef

// registerPane adds the pane made by mk at id. It panics on an id taken
// twice: a mistake the first test run finds.
func registerPane(id int, mk func(c *common, o Options) Pane) {
	if id < 0 || id > 64 {
		panic(fmt.Sprintf("tui: pane id %d out of range", id))
	}
	for len(paneDefs) <= id {
		paneDefs = append(paneDefs, paneDef{})
	}
	if paneDefs[id].make != nil {
		panic(fmt.Sprintf("tui: pane id %d registered twice", id))
	}
	paneDefs[id] = paneDef{make: mk}
}

// newPanes makes every registered pane, in Tab order.
func newPanes(c *common, o Options) []Pane {
	ps := make([]Pane, len(paneDefs))
	for id, d := range paneDefs {
		if d.make == nil {
			panic(fmt.Sprintf("tui: no pane registered at id %d (ids run from 0 without gaps)", id))
		}
		ps[id] = d.make(c, o)
	}
	return ps
}
