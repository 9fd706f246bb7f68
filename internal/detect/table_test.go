package detect

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTableExpiryMatchesWalk holds the timing wheel to what a walk of the
// whole table would do: after every expiry the table holds exactly the
// entries whose age is not before the cutoff, whatever came between
// (touches, times that go back by up to a second, evictions of a full
// table, rebuilds of the wheel), and every entry dropped was heard by
// onDelete.
func TestTableExpiryMatchesWalk(t *testing.T) {
	tests := []struct {
		name       string
		max, keys  int
		ttl, every time.Duration
	}{
		{"roomy", 5000, 2000, 30 * time.Second, 10 * time.Second},
		{"full, evicting", 300, 2000, 30 * time.Second, 10 * time.Second},
		{"expiry every packet second", 1000, 3000, 5 * time.Second, time.Second},
		{"long ttl", 1000, 1500, 10 * time.Minute, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type ent struct{ last time.Time }
			rng := rand.New(rand.NewPCG(1, 2))
			tab := newTable[int, ent]("t", tt.max, func(e *ent) time.Time { return e.last })
			deleted := 0
			tab.onDelete = func(int, *ent) { deleted++ }
			now, next := t0, t0.Add(tt.every)
			expiries := 0
			for range 300_000 {
				now = now.Add(time.Duration(rng.IntN(4000)) * time.Microsecond)
				ts := now
				if rng.IntN(20) == 0 {
					ts = now.Add(-time.Duration(rng.IntN(1000)) * time.Millisecond)
				}
				// Some keys are busy, most come and go.
				k := rng.IntN(tt.keys)
				if rng.IntN(4) == 0 {
					k = rng.IntN(20)
				}
				e, _ := tab.upsert(k)
				e.last = ts
				if now.Before(next) {
					continue
				}
				next = next.Add(tt.every)
				cut := now.Add(-tt.ttl)
				var want []int
				for k, v := range tab.all() {
					if !v.last.Before(cut) {
						want = append(want, k)
					}
				}
				before := tab.len()
				deleted = 0
				tab.expire(cut)
				expiries++
				got := make([]int, 0, tab.len())
				for k := range tab.all() {
					got = append(got, k)
				}
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("expiry %d at %v: %d entries kept, a walk keeps %d", expiries, now, len(got), len(want))
				}
				if deleted != before-len(got) {
					t.Fatalf("expiry %d: onDelete heard %d, %d dropped", expiries, deleted, before-len(got))
				}
				if limit := 4*max(tab.max, 1024) + 1; tab.queued > limit {
					t.Fatalf("wheel holds %d keys, bound %d", tab.queued, limit)
				}
			}
			if expiries < 10 {
				t.Fatalf("only %d expiries", expiries)
			}
		})
	}
}

// TestTableExpiryTimeBack: an entry placed in the wheel whose age then
// goes back (a reordered packet's earlier time) is still dropped when the
// cutoff passes that earlier age.
func TestTableExpiryTimeBack(t *testing.T) {
	type ent struct{ last time.Time }
	tab := newTable[int, ent]("t", 10, func(e *ent) time.Time { return e.last })
	e, _ := tab.upsert(1)
	e.last = t0.Add(100900 * time.Millisecond)
	tab.expire(t0) // places the key by its age, 100.9 s
	e.last = t0.Add(99200 * time.Millisecond)
	tab.expire(t0.Add(99500 * time.Millisecond))
	if tab.len() != 0 {
		t.Errorf("entry last seen at 99.2 s kept by an expiry with cutoff 99.5 s")
	}
}
