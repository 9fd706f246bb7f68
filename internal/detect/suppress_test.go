package detect

import (
	"fmt"
	"math/rand/v2"
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

// TestSuppressorRefMatchesCheck holds the trackers' shortcut (checkRef
// with the entry remembered) to Check: the same verdicts, fold counts and
// severities for the same occurrences, while windows expire under it and
// expired entries are recycled for other streams.
func TestSuppressorRefMatchesCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	plain := NewSuppressor[supKey]("a", time.Minute, 1000)
	short := NewSuppressor[supKey]("b", time.Minute, 1000)
	refs := map[supKey]*supRef[supKey]{}
	now := t0
	for i := range 100_000 {
		now = now.Add(time.Duration(rng.IntN(20)) * time.Millisecond)
		k := supKey{sid: 1, port: uint16(rng.IntN(40)), extra: uint64(rng.IntN(2))}
		if rng.IntN(10) == 0 {
			k.port = uint16(100 + i) // a stream seen once
		}
		m := float64(rng.IntN(1000))
		sev := Severity(1 + rng.IntN(3))
		v1, n1, s1 := plain.Check(k, now, m, sev, nil)
		ref := refs[k]
		if ref == nil || rng.IntN(50) == 0 { // sometimes a tracker is new
			ref = new(supRef[supKey])
			refs[k] = ref
		}
		v2, n2, s2 := short.checkRef(ref, k, now, m, sev, nil)
		if v1 != v2 || n1 != n2 || s1 != s2 {
			t.Fatalf("occurrence %d of %v: Check %v %d %v, checkRef %v %d %v", i, k, v1, n1, s1, v2, n2, s2)
		}
		if i%3000 == 0 {
			plain.Expire(now)
			short.Expire(now)
		}
	}
}

// TestSuppressorRefEvicted: a tracker whose stream was evicted, its entry
// recycled for another stream, opens a new window, not the other's.
func TestSuppressorRefEvicted(t *testing.T) {
	s := NewSuppressor[supKey]("s", 10*time.Minute, 1)
	a, b := supKey{sid: 1, port: 1}, supKey{sid: 1, port: 2}
	var ra, rb supRef[supKey]
	if v, _, _ := s.checkRef(&ra, a, t0, 1, SevLow, nil); v != VerdictNew {
		t.Fatalf("a: %v", v)
	}
	if v, _, _ := s.checkRef(&rb, b, t0.Add(time.Second), 1, SevLow, nil); v != VerdictNew {
		t.Fatalf("b: %v", v)
	}
	if ra.s != rb.s {
		t.Fatal("b did not reuse a's evicted entry: the test does not exercise a stale reference")
	}
	if v, _, _ := s.checkRef(&ra, a, t0.Add(2*time.Second), 1, SevLow, nil); v != VerdictNew {
		t.Errorf("a after its eviction: %v, want a new window", v)
	}
}
