package detect

import (
	"fmt"
	"math"
	"net/netip"

	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/gen"
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
			tab.onDelete = func(int, *ent, uint64) { deleted++ }
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

// TestTableHashesConsistent replays the attack mix (every lab capture,
// mixed) and then checks every detector table: each entry was indexed
// by the table's own hash of its key, and is found by it. The hot paths
// pass hashes they made themselves (getH, createH); one that differed from
// the table's would lose or duplicate entries. A gated table's gate must
// count exactly its entries per slot, or a lookup would miss an entry.
func TestTableHashesConsistent(t *testing.T) {
	caps, err := gen.LoadCaptures("../../testdata/lab")
	if err != nil {
		t.Fatal(err)
	}
	r := loadReplayFrom(t, gen.NewMixer(gen.MixOptions{Options: gen.Options{Seed: 1}}, caps), 100_000)
	d := New(DefaultConfig())
	r.run(d, func(*Alert) {})
	checked := 0
	check := func(name string, n int, bad string) {
		if bad != "" {
			t.Errorf("%s: %s", name, bad)
		}
		checked += n
	}
	check(tableCheck(d.ports))
	check(tableCheck(d.sweeps))
	check(tableCheck(d.stealth))
	check(tableCheck(d.syn))
	check(tableCheck(d.icmp))
	check(tableCheck(d.hosts))
	check(tableCheck(d.known))
	check(tableCheck(d.bf))
	check(tableCheck(d.dns))
	check(tableCheck(d.dga))
	check(tableCheck(d.refl))
	check(tableCheck(d.tun))
	check(tableCheck(d.binds))
	check(tableCheck(d.arpSweeps))
	check(tableCheck(d.sup.t))
	if checked == 0 {
		t.Fatal("no entry in any table")
	}
}

func tableCheck[K comparable, V any](t *table[K, V]) (string, int, string) {
	n := 0
	for i, c := range t.idx {
		if c.s == nil {
			continue
		}
		n++
		if h := t.hash(c.s.k); h != c.s.h || uint32(h>>32) != c.tag {
			return t.name, n, fmt.Sprintf("entry %v indexed by hash %x, the table's is %x", c.s.k, c.s.h, h)
		}
		if t.find(c.s.k, c.s.h) != c.s {
			return t.name, n, fmt.Sprintf("entry %v at cell %d not found", c.s.k, i)
		}
	}
	if n != t.n {
		return t.name, n, fmt.Sprintf("%d entries indexed, %d counted", n, t.n)
	}
	if t.gate != nil {
		per := map[uint64]int{}
		for _, c := range t.idx {
			if c.s != nil {
				per[c.s.h&0xffff]++
			}
		}
		for i := range uint64(1 << 16) {
			var got uint16
			switch g := t.gate.(type) {
			case *gate[uint16]:
				got = g.slots[i].n
			case *gate[uint32]:
				got = g.slots[i].n
			}
			if got != math.MaxUint16 && int(got) != per[i] {
				return t.name, n, fmt.Sprintf("gate slot %d counts %d entries, the table holds %d", i, got, per[i])
			}
		}
	}
	return t.name, n, ""
}

// TestTableProbing holds the open-addressed index to a Go map under
// inserts, gets and deletes of keys whose hashes collide in long runs
// (eight distinct hashes), through growth and wrap-around.
func TestTableProbing(t *testing.T) {
	type ent struct{ last time.Time }
	rng := rand.New(rand.NewPCG(3, 4))
	tab := newTable[int, ent]("t", 3000, func(e *ent) time.Time { return e.last }).
		withHash(func(k int) uint64 { return uint64(k%8) * 0x9e3779b97f4a7c15 })
	want := map[int]bool{}
	for i := range 200_000 {
		k := rng.IntN(4000)
		switch rng.IntN(3) {
		case 0, 1:
			e, fresh := tab.upsert(k)
			e.last = t0.Add(time.Duration(i))
			if fresh == want[k] {
				t.Fatalf("step %d: upsert %d fresh %v, map holds it: %v", i, k, fresh, want[k])
			}
			want[k] = true
		case 2:
			if s := tab.find(k, tab.hash(k)); s != nil {
				tab.remove(s)
				delete(want, k)
			} else if want[k] {
				t.Fatalf("step %d: %d not found", i, k)
			}
		}
		if tab.evicted > 0 {
			// an eviction dropped a key: resynchronise the model
			want = map[int]bool{}
			for k := range tab.all() {
				want[k] = true
			}
			tab.evicted = 0
		}
	}
	if tab.len() != len(want) {
		t.Fatalf("table holds %d, map %d", tab.len(), len(want))
	}
	for k := range want {
		if tab.get(k) == nil {
			t.Fatalf("%d lost", k)
		}
	}
}

// TestIsBroadcastish holds isBroadcastish, which reads an address's words
// in place (addrword), to netip's own answers on random IPv4 addresses
// (and 0.0.0.0, multicast and .255 ones among them).
func TestIsBroadcastish(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 5000 {
		b := [4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
		switch i % 4 {
		case 1:
			b[3] = 255
		case 2:
			b[0] = 224 | b[0]&15
		case 3:
			b = [4]byte{}
		}
		a := netip.AddrFrom4(b)
		if isBroadcastish(a) != (b[3] == 255 || a.IsMulticast() || a.IsUnspecified()) {
			t.Fatalf("%v: isBroadcastish %v", a, isBroadcastish(a))
		}
	}
}

// TestStamp holds stamps to the times they stand for: a packet time
// survives the round trip as rfc3339 prints it, differences are
// time.Time.Sub's (saturated too), and a window over stamps rolls exactly
// where one over time.Time did.
func TestStamp(t *testing.T) {
	if stampOf(time.Time{}) != 0 || !stampOf(time.Time{}).time().IsZero() {
		t.Fatal("the zero time is not the zero stamp")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	times := []time.Time{time.Unix(0, 0), time.Unix(-1, 5), time.Unix(1<<32-1, 999_999_999), t0}
	for range 1000 {
		times = append(times, time.Unix(int64(rng.Uint32()), rng.Int64N(1e9)), t0.Add(time.Duration(rng.Int64N(int64(time.Hour)))))
	}
	for i, a := range times {
		if sa := stampOf(a); sa == 0 || rfc3339(sa.time()) != rfc3339(a) {
			t.Fatalf("%v: stamp %d prints %s", a, sa, rfc3339(stampOf(a).time()))
		}
		b := times[(i*7+3)%len(times)]
		if a.UnixNano() != 0 && b.UnixNano() != 0 && stampOf(a).sub(stampOf(b)) != a.Sub(b) {
			t.Fatalf("%v - %v: %v, time.Sub %v", a, b, stampOf(a).sub(stampOf(b)), a.Sub(b))
		}
	}
	if d := stamp(math.MaxInt64).sub(stamp(math.MinInt64 + 1)); d != math.MaxInt64 {
		t.Fatalf("far apart: %v, want the saturated maximum", d)
	}
	if d := stamp(math.MinInt64 + 1).sub(stamp(math.MaxInt64)); d != math.MinInt64 {
		t.Fatalf("far apart backwards: %v, want the saturated minimum", d)
	}
	// A window rolled over packet times with jitter and reordering.
	type refWindow struct{ start, first, last time.Time }
	var w window
	var ref refWindow
	now := t0
	for i := range 100_000 {
		now = now.Add(time.Duration(rng.Int64N(int64(2*time.Second))) - 500*time.Millisecond)
		span := time.Duration(1+rng.IntN(5)) * time.Second
		ref.last = now
		want := ref.start.IsZero() || now.Sub(ref.start) >= span || now.Before(ref.start)
		if want {
			ref.start, ref.first = now, now
		}
		if got := w.roll(now, span); got != want || !w.firstAt().Equal(ref.first) || !w.lastAt().Equal(ref.last) {
			t.Fatalf("step %d: roll %v, want %v", i, got, want)
		}
	}
}

// TestIsLocal holds isLocal's word masks to netip.Prefix.Contains over
// random prefixes of both families at every length (unmasked ones too,
// /0, the default LocalNets) and addresses inside and outside them:
// IPv4, IPv6, IPv4-mapped, zoned, the zero Addr.
func TestIsLocal(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	randAddr := func() netip.Addr {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		switch rng.IntN(4) {
		case 0:
			return netip.AddrFrom4([4]byte(b[:4]))
		case 1:
			return netip.AddrFrom16(netip.AddrFrom4([4]byte(b[:4])).As16())
		case 2:
			return netip.AddrFrom16(b).WithZone("eth0")
		}
		return netip.AddrFrom16(b)
	}
	for round := range 300 {
		cfg := DefaultConfig()
		if round > 0 {
			cfg.LocalNets = nil
			for range 1 + rng.IntN(4) {
				a := randAddr().WithZone("")
				cfg.LocalNets = append(cfg.LocalNets, netip.PrefixFrom(a, rng.IntN(a.BitLen()+1)))
			}
		}
		d := New(cfg)
		for range 300 {
			a := randAddr()
			if rng.IntN(2) == 0 {
				// near a prefix: its address with some low bits changed
				p := cfg.LocalNets[rng.IntN(len(cfg.LocalNets))]
				b := p.Addr().As16()
				b[15] ^= byte(rng.Uint32())
				if a = netip.AddrFrom16(b); p.Addr().Is4() && rng.IntN(2) == 0 {
					a = a.Unmap()
				}
			}
			if rng.IntN(50) == 0 {
				a = netip.Addr{}
			}
			want := false
			for _, p := range cfg.LocalNets {
				want = want || p.Contains(a.Unmap())
			}
			if got := d.isLocal(a); got != want {
				t.Fatalf("%v in %v: isLocal %v, Contains %v", a, cfg.LocalNets, got, want)
			}
		}
	}
}
