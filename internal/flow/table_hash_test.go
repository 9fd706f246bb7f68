package flow

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// TestTableAgainstMap drives the table's own hash chains with random
// conversations (reused, ended by timeout, evicted when full) and checks
// every step against a plain map of the live keys: same flows found, same
// count, and an ended flow is never found again.
func TestTableAgainstMap(t *testing.T) {
	live := map[Key]bool{}
	tb := NewTable(Config{MaxFlows: 3000, NewTimeout: 2 * time.Second}, func(f *Flow, _ EndReason) {
		if !live[f.Key] {
			t.Fatalf("ended a flow that is not live: %+v", f.Key)
		}
		delete(live, f.Key)
	})
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Unix(1000, 0)
	for i := 0; i < 200000; i++ {
		now := t0.Add(time.Duration(i) * 50 * time.Microsecond)
		src := netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(40)), byte(rng.IntN(200))})
		s := &packet.Summary{TS: now, CapLen: 60, IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true,
			Src: src, Dst: netip.MustParseAddr("192.0.2.1"), SrcPort: uint16(1000 + rng.IntN(3)), DstPort: 53}
		k, _ := KeyOf(s)
		had := live[k]
		f, _, created := tb.Update(s)
		if created == had {
			t.Fatalf("packet %d: created %v but the key was live %v", i, created, had)
		}
		if f.Key != k {
			t.Fatalf("packet %d: found the flow of %+v for %+v", i, f.Key, k)
		}
		live[k] = true
		if tb.Len() != len(live) {
			t.Fatalf("packet %d: table holds %d, want %d", i, tb.Len(), len(live))
		}
		if i%1000 == 0 {
			tb.Expire(now)
			if tb.Len() != len(live) {
				t.Fatalf("after expiry the table holds %d, want %d", tb.Len(), len(live))
			}
		}
	}
	if tb.Stats().Evicted == 0 {
		t.Errorf("the bound was never reached: the test does not cover eviction")
	}
	tb.Flush(EndShutdown)
	if tb.Len() != 0 || len(live) != 0 {
		t.Errorf("after flush: table %d, live %d", tb.Len(), len(live))
	}
}

// TestEndedFlowIsCleared: once onEnd returns, the Flow is cleared for reuse,
// so a stale pointer sees ID 0 and no parser state.
func TestEndedFlowIsCleared(t *testing.T) {
	tb := NewTable(Config{}, nil)
	f, _, _ := tb.Update(seg(time.Unix(1, 0), "10.0.0.1", "10.0.0.2", 1, 80, packet.TCPSyn, 0))
	f.App = "state"
	tb.Flush(EndShutdown)
	if f.ID != 0 || f.App != nil {
		t.Errorf("ended flow keeps ID %d, App %v", f.ID, f.App)
	}
	g, _, _ := tb.Update(seg(time.Unix(2, 0), "10.0.0.3", "10.0.0.2", 1, 80, packet.TCPSyn, 0))
	if g != f || g.Client.String() != "10.0.0.3" {
		t.Errorf("the ended Flow was not reused")
	}
}

// BenchmarkTableFlood: a spoofed-source SYN flood, every packet a new flow,
// with the table full (each new flow evicts the oldest).
func BenchmarkTableFlood(b *testing.B) {
	tb := NewTable(Config{MaxFlows: 65536}, func(*Flow, EndReason) {})
	s := &packet.Summary{CapLen: 60, IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true,
		Dst: netip.MustParseAddr("192.0.2.1"), DstPort: 80, TCPFlags: packet.TCPSyn}
	t0 := time.Unix(1000, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.TS = t0.Add(time.Duration(i) * time.Microsecond)
		s.Src = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
		s.SrcPort = uint16(rng.Uint32())
		tb.Update(s)
	}
}
