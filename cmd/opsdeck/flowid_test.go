package main

import (
	"fmt"
	"path/filepath"
	"testing"
)

// flowIdentity names a flow independently of its id: its Community ID and
// start time (and the capture, for a report).
func flowIdentity(r record) string {
	return r.str("community_id") + " " + r.str("flow.start") + " " + r.str("proto")
}

// TestFlowIDStableAndUnique: flow_id derives from the flow, not from a
// per-process counter (issue 17). Three kinds of runs: the same capture
// twice gives the same ids to the same flows; across every corpus capture
// no id names two different flows; and every alert tied to a flow carries
// that flow's flow_id and community_id (with a non-default seed), so
// consumers joining alerts to flows by id across restarts join the right
// ones.
func TestFlowIDStableAndUnique(t *testing.T) {
	owner := map[string]string{} // flow_id -> identity, across all runs
	claim := func(file string, r record) {
		id, who := r.str("flow_id"), flowIdentity(r)
		if prev, ok := owner[id]; ok && prev != who {
			t.Errorf("flow_id %s names two flows: %s and %s (%s)", id, prev, who, filepath.Base(file))
		}
		owner[id] = who
	}
	files := corpusFiles(t)
	flows, joined := 0, 0
	for _, f := range files {
		var first map[string]string
		for run := 0; run < 2; run++ {
			recs, err := analyze(t, "--community-id-seed", "7", f)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]string{}
			byID := map[string]record{}
			for _, r := range ofType(recs, "flow") {
				claim(f, r)
				ids[r.str("flow_id")] = flowIdentity(r)
				byID[r.str("flow_id")] = r
			}
			if run == 0 {
				first = ids
				flows += len(ids)
			} else if fmt.Sprint(first) != fmt.Sprint(ids) {
				t.Errorf("%s: a second run gave other flow ids", filepath.Base(f))
			}
			for _, a := range ofType(recs, "alert") {
				id := a.str("flow_id")
				if id == "" {
					continue
				}
				fl, ok := byID[id]
				if !ok {
					t.Errorf("%s: alert %q has flow_id %s, and no flow record has it", filepath.Base(f), a.str("alert.signature"), id)
					continue
				}
				joined++
				if a.str("community_id") != fl.str("community_id") {
					t.Errorf("%s: alert %q community_id %s, its flow's %s", filepath.Base(f), a.str("alert.signature"), a.str("community_id"), fl.str("community_id"))
				}
			}
		}
	}
	// All captures in one run: the same flows keep their ids.
	recs, err := analyze(t, append([]string{"--community-id-seed", "7"}, files...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ofType(recs, "flow") {
		claim("all", r)
	}
	if flows < 100 {
		t.Fatalf("only %d flows in the corpus: the test proves little", flows)
	}
	if joined == 0 {
		t.Error("no alert tied to a flow: the join was not tested")
	}
	t.Logf("%d flows, %d distinct ids, %d alerts joined to their flow", flows, len(owner), joined)
}
