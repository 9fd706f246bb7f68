package detect

import (
	"fmt"
	"testing"
	"time"
)

func TestSuppressor(t *testing.T) {
	s := NewSuppressor[supKey]("suppress", 10*time.Minute, 16)
	k := supKey{sid: 1, actor: addr("10.0.0.1")}
	steps := []struct {
		at      time.Duration
		measure float64
		want    Verdict
		folded  uint64
	}{
		{0, 10, VerdictNew, 0},
		{time.Second, 12, VerdictFold, 1},
		{2 * time.Second, 19, VerdictFold, 2},
		{3 * time.Second, 20, VerdictUpdate, 3},
		{4 * time.Second, 39, VerdictFold, 4},
		{5 * time.Second, 40, VerdictUpdate, 5},
		{10 * time.Minute, 41, VerdictNew, 0},
	}
	for i, st := range steps {
		v, n, _ := s.Check(k, t0.Add(st.at), st.measure, SevMedium, nil)
		if v != st.want || n != st.folded {
			t.Fatalf("step %d: verdict %d folded %d, want %d and %d", i, v, n, st.want, st.folded)
		}
	}
	// Occurrence counting (measure 0): updates at 2, 4, 8 occurrences.
	k2 := supKey{sid: 2}
	var updates []int
	for i := 1; i <= 10; i++ {
		if v, _, _ := s.Check(k2, t0, 0, SevMedium, nil); v == VerdictUpdate {
			updates = append(updates, i)
		}
	}
	if fmt.Sprint(updates) != "[2 4 8]" {
		t.Fatalf("updates at %v, want [2 4 8]", updates)
	}
}

// TestSuppressorPolicies: what the ops rules ask of the shared suppressor:
// a rule's own "worse" test, an update when the severity rises (never a
// lowered one), a new window when the clock steps back, Open, and a
// bounded table whose evictions are counted.
func TestSuppressorPolicies(t *testing.T) {
	by5 := func(prev, cur float64) bool { return cur >= prev+5 }
	never := func(prev, cur float64) bool { return false }
	s := NewSuppressor[string]("ops", 10*time.Minute, 2)
	steps := []struct {
		key     string
		at      time.Duration
		measure float64
		sev     Severity
		worse   func(prev, cur float64) bool
		want    Verdict
		wantSev Severity
	}{
		{"disk", 0, 90, SevMedium, by5, VerdictNew, SevMedium},
		{"disk", time.Second, 94, SevMedium, by5, VerdictFold, SevMedium},
		{"disk", 2 * time.Second, 95, SevMedium, by5, VerdictUpdate, SevMedium},
		{"disk", 3 * time.Second, 97, SevHigh, by5, VerdictUpdate, SevHigh},    // graver
		{"disk", 4 * time.Second, 102, SevMedium, by5, VerdictUpdate, SevHigh}, // never lowered
		{"disk", 5 * time.Second, 102.5, SevHigh, by5, VerdictFold, SevHigh},
		{"disk", -time.Minute, 90, SevMedium, by5, VerdictNew, SevMedium}, // clock stepped back
		{"listener", 0, 0, SevLow, never, VerdictNew, SevLow},
		{"listener", time.Second, 0, SevLow, never, VerdictFold, SevLow},
		{"listener", 2 * time.Second, 0, SevLow, never, VerdictFold, SevLow},
	}
	for i, st := range steps {
		v, _, sev := s.Check(st.key, t0.Add(st.at), st.measure, st.sev, st.worse)
		if v != st.want || sev != st.wantSev {
			t.Fatalf("step %d (%s): verdict %d sev %v, want %d %v", i, st.key, v, sev, st.want, st.wantSev)
		}
	}
	if !s.Open("listener", t0.Add(time.Minute)) || s.Open("listener", t0.Add(10*time.Minute)) || s.Open("nothing", t0) {
		t.Error("Open does not follow the window")
	}
	s.Check("third", t0, 1, SevLow, nil)
	out := map[string]uint64{}
	s.Stats(out)
	if out["ops.entries"] != 2 || out["ops.evicted"] != 1 {
		t.Errorf("stats %v, want 2 entries and 1 eviction", out)
	}
	s.Expire(t0.Add(11 * time.Minute))
	s.Stats(out)
	if out["ops.entries"] != 0 {
		t.Errorf("%d entries after every window ended", out["ops.entries"])
	}
}
