package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// TestSurgeActiveListSameAsWalk: evaluating only the hosts that moved bytes
// in a tick, and catching idle ticks up later, gives the same alerts and the
// same baselines as evaluating every tracked host every tick. Hosts talk in
// bursts with idle stretches and some surge after the warm-up. (The table
// is big enough for all: which host an eviction picks is random, so two
// detectors would not evict alike.)
func TestSurgeActiveListSameAsWalk(t *testing.T) {
	cfg := DefaultConfig()
	lazy, walk := New(cfg), New(cfg)
	walk.walkAll = true
	var gotLazy, gotWalk []string
	rng := rand.New(rand.NewPCG(4, 5))
	t0 := time.Unix(1_700_000_000, 0)
	const hosts = 200
	idleUntil := make([]int, hosts)
	for sec := 0; sec < 1200; sec++ {
		for h := 0; h < hosts; h++ {
			if sec < idleUntil[h] {
				continue
			}
			if rng.IntN(40) == 0 {
				idleUntil[h] = sec + rng.IntN(90)
				continue
			}
			bytes := 2000 + rng.IntN(20000)
			if sec > 400 && h%17 == 0 && sec%150 < 6 {
				bytes = 3_000_000 // a surge of a few seconds
			}
			for k := 0; k < 4; k++ {
				s := &packet.Summary{TS: t0.Add(time.Duration(sec)*time.Second + time.Duration(k*200+h)*time.Millisecond/4),
					WireLen: bytes / 4, Src: netip.AddrFrom4([4]byte{10, 1, byte(h >> 8), byte(h)}), Dst: netip.MustParseAddr("192.0.2.1")}
				surgePacket(lazy, s)
				surgePacket(walk, s)
			}
		}
		now := t0.Add(time.Duration(sec+1) * time.Second)
		// Within a tick the order of hosts is no matter (the walk's is a
		// map's), so alerts are compared by tick and text.
		lazy.surgeTick(now, func(a *Alert) { gotLazy = append(gotLazy, fmt.Sprintf("%04d %s", sec, a.Signature)) })
		walk.surgeTick(now, func(a *Alert) { gotWalk = append(gotWalk, fmt.Sprintf("%04d %s", sec, a.Signature)) })
	}
	if len(gotWalk) == 0 {
		t.Fatal("no surge alert: the test exercises nothing")
	}
	slices.Sort(gotLazy)
	slices.Sort(gotWalk)
	if len(gotLazy) != len(gotWalk) {
		t.Fatalf("%d alerts with the active list, %d walking every host:\n%q\n%q", len(gotLazy), len(gotWalk), gotLazy, gotWalk)
	}
	for i := range gotWalk {
		if gotLazy[i] != gotWalk[i] {
			t.Errorf("alert %d: %q, walking every host %q", i, gotLazy[i], gotWalk[i])
		}
	}
	for a, w := range walk.hosts.all() {
		l := lazy.hosts.get(a)
		if l == nil {
			t.Fatalf("%v tracked when walking, not with the active list", a)
		}
		lazy.surgeCatchUp(l, stampOf(lazy.lastTick))
		if math.Abs(l.mean-w.mean) > 1e-6*math.Max(1, w.mean) || l.since != w.since {
			t.Errorf("%v: baseline %.3f since %v, walking %.3f since %v", a, l.mean, l.since, w.mean, w.since)
		}
	}
}

// BenchmarkSurgeTickSpoofed: the per-second surge evaluation while a
// spoofed-source flood keeps the hosts table full, per packet: it must not
// grow with the table (compare -benchtime runs at MaxEntries 1k and 64k).
func BenchmarkSurgeTickSpoofed(b *testing.B) {
	for _, walkAll := range []bool{false, true} {
		for _, n := range []int{1024, 65536} {
			name := "active/entries=" + itoa(n)
			if walkAll {
				name = "walk-every-host/entries=" + itoa(n)
			}
			b.Run(name, func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.MaxEntries = n
				d := New(cfg)
				d.walkAll = walkAll
				rng := rand.New(rand.NewPCG(1, 1))
				t0 := time.Unix(1_700_000_000, 0)
				s := &packet.Summary{WireLen: 60, Dst: netip.MustParseAddr("192.0.2.1")}
				// fill the table: every host seen twice
				for i := 0; i < n; i++ {
					s.TS = t0
					s.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
					surgePacket(d, s)
					surgePacket(d, s)
				}
				d.surgeTick(t0, func(*Alert) {})
				const pps = 100000 // packets per second of packet time
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					s.TS = t0.Add(time.Duration(i) * time.Second / pps)
					s.Src = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(200)), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
					surgePacket(d, s)
					if i%pps == 0 {
						d.surgeTick(s.TS, func(*Alert) {})
					}
				}
			})
		}
	}
}

func itoa(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return string(rune('0'+n/1024/10%10)) + string(rune('0'+n/1024%10)) + "k"
	}
	return "n"
}

// surgePacket charges s to its hosts as Packet does (which first hashes
// its addresses).
func surgePacket(d *Detector, s *packet.Summary) {
	d.hs, d.hd = hashAddr(s.Src), hashAddr(s.Dst)
	d.surgeAccount(s, nil, false)
}
