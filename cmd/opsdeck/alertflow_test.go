package main

import (
	"sort"
	"testing"
)

// TestAlertsJoinTheirFlows: issue 13. Over the whole corpus, with a
// non-default Community ID seed, every alert that names a flow_id joins a
// flow record of that id with the same community_id (the seed applied to
// both), and the rules that judge one flow always name it.
func TestAlertsJoinTheirFlows(t *testing.T) {
	perFlow := map[string]bool{"cred.cleartext": true, "port.suspicious": true, "dns.tunnel": true}
	files := corpusFiles(t)
	seen := map[string]int{}
	for _, file := range files {
		recs, err := analyze(t, "--community-id-seed", "7", file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		flows := map[string]string{} // flow_id -> community_id
		for _, r := range ofType(recs, "flow") {
			flows[r.str("flow_id")] = r.str("community_id")
		}
		for _, a := range ofType(recs, "alert") {
			rule := a.str("alert.metadata.rule[0]")
			id := a.str("flow_id")
			seen[rule]++
			if id == "" {
				if perFlow[rule] {
					t.Errorf("%s: %s alert without a flow_id", file, rule)
				}
				continue
			}
			cid, ok := flows[id]
			if !ok {
				t.Errorf("%s: %s alert names flow %s, which no flow record has", file, rule, id)
				continue
			}
			if got := a.str("community_id"); got != cid {
				t.Errorf("%s: %s alert community_id %q, its flow's %q (seed 7 on both)", file, rule, got, cid)
			}
		}
	}
	var rules []string
	for r := range seen {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	t.Logf("alerts checked by rule: %v", seen)
	for r := range perFlow {
		if seen[r] == 0 {
			t.Errorf("the corpus raised no %s alert: the test checks nothing for it", r)
		}
	}
}
