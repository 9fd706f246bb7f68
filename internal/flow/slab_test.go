package flow

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// checkIndex holds the index to its invariants: every entry names a flow
// of the slab once, its tag is the low 32 bits of that flow's hash, no
// empty slot lies between its home and it (so a lookup from home finds
// it), and the entries are the table's flows.
func checkIndex(t *testing.T, tb *Table) {
	t.Helper()
	m := uint32(len(tb.slots) - 1)
	seen := map[uint32]bool{}
	for i, e := range tb.slots {
		if e.ref == 0 {
			continue
		}
		if int(e.ref) > tb.used || seen[e.ref] {
			t.Fatalf("slot %d names flow %d (slab used %d, seen before %v)", i, e.ref-1, tb.used, seen[e.ref])
		}
		seen[e.ref] = true
		if h := uint32(tb.flowHash(tb.flowAt(e.ref - 1))); h != e.tag {
			t.Fatalf("slot %d: tag %#x, flow's hash %#x", i, e.tag, h)
		}
		for j := e.tag & m; j != uint32(i); j = (j + 1) & m {
			if tb.slots[j].ref == 0 {
				t.Fatalf("slot %d (home %d): empty slot %d between", i, e.tag&m, j)
			}
		}
	}
	if len(seen) != tb.n {
		t.Fatalf("index holds %d entries, table %d flows", len(seen), tb.n)
	}
}

// TestTableProbing drives small tables (their index runs wrap around its
// end and collide) through creation, expiry and eviction and checks the
// index's invariants after every step: backward-shift deletion leaves
// every entry reachable from its home.
func TestTableProbing(t *testing.T) {
	for _, max := range []int{2, 5, 37, 300} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			tb := NewTable(Config{MaxFlows: max, NewTimeout: time.Second}, nil)
			rng := rand.New(rand.NewPCG(3, uint64(max)))
			t0 := time.Unix(1000, 0)
			for i := 0; i < 20000; i++ {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				s := &packet.Summary{TS: now, CapLen: 60, IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true,
					Src: netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(3 * max))}), Dst: netip.MustParseAddr("192.0.2.1"), SrcPort: 1000, DstPort: 53}
				tb.Update(s)
				if rng.IntN(50) == 0 {
					tb.Expire(now)
				}
				if max < 100 || i%97 == 0 {
					checkIndex(t, tb)
				}
			}
			tb.Flush(EndShutdown)
			checkIndex(t, tb)
		})
	}
}

// TestSlabBounded: the slab that holds the flows never holds more than
// MaxFlows, whatever passes through the table (a flood far past the
// bound, with expiry and eviction), and an ended flow is reused: the
// flows in use and the free ones are all the slab has handed out.
func TestSlabBounded(t *testing.T) {
	for _, max := range []int{1, 300, 1000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			tb := NewTable(Config{MaxFlows: max}, nil)
			t0 := time.Unix(1000, 0)
			for i := 0; i < 20*max+5000; i++ {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				tb.Update(spoofedSYN(now, i))
				if i%1000 == 0 {
					tb.Expire(now)
				}
				if tb.used > max {
					t.Fatalf("packet %d: the slab handed out %d flows, bound %d", i, tb.used, max)
				}
				if tb.n+len(tb.free) != tb.used {
					t.Fatalf("packet %d: %d live and %d free flows, slab handed out %d", i, tb.n, len(tb.free), tb.used)
				}
			}
			held := 0
			for _, c := range tb.chunks {
				held += len(c)
			}
			if held > max {
				t.Errorf("the slab holds %d flows, bound %d", held, max)
			}
			if tb.Stats().Evicted == 0 {
				t.Errorf("the bound was never reached")
			}
			tb.Flush(EndShutdown)
			if tb.n != 0 || len(tb.free) != tb.used {
				t.Errorf("after flush: %d live, %d free of %d", tb.n, len(tb.free), tb.used)
			}
		})
	}
}

// TestSlabFlowsOnCacheLines: a chunk of the slab is a large allocation,
// so each of its flows starts on a cache line, as a new(Flow) does
// (TestFlowLayout): a flow's hot fields stay on the lines it names.
func TestSlabFlowsOnCacheLines(t *testing.T) {
	tb := NewTable(Config{}, nil)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 2*chunkFlows+3; i++ {
		f, _, _ := tb.Update(spoofedSYN(t0, i))
		if p := uintptr(unsafe.Pointer(f)); p%64 != 0 {
			t.Fatalf("flow %d is at %#x, not on a cache line", i, p)
		}
	}
}
