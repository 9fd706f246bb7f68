package flow

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// TestTableAgainstMap drives the table's own index with random
// conversations (reused, ended by timeout, evicted when full) and checks
// every step against a plain map of the live keys: same flows found, same
// count, and an ended flow is never found again. The small bounds make
// the index's runs wrap around its end and removals shift entries back.
func TestTableAgainstMap(t *testing.T) {
	for _, max := range []int{3, 37, 3000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) { testTableAgainstMap(t, max) })
	}
}

func testTableAgainstMap(t *testing.T, max int) {
	live := map[Key]bool{}
	tb := NewTable(Config{MaxFlows: max, NewTimeout: 2 * time.Second}, func(f *Flow, _ EndReason) {
		if !live[f.Key()] {
			t.Fatalf("ended a flow that is not live: %+v", f.Key())
		}
		delete(live, f.Key())
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
		if f.Key() != k {
			t.Fatalf("packet %d: found the flow of %+v for %+v", i, f.Key(), k)
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

// spoofedSYN is a SYN from a source that will never answer: the n-th of a
// spoofed-source flood toward 192.0.2.1:80.
func spoofedSYN(ts time.Time, n int) *packet.Summary {
	return &packet.Summary{TS: ts, CapLen: 54, WireLen: 54, IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true,
		Src: netip.AddrFrom4([4]byte{100, byte(n >> 16), byte(n >> 8), byte(n)}), Dst: netip.MustParseAddr("192.0.2.1"),
		SrcPort: uint16(1024 + n%60000), DstPort: 80, TCPFlags: packet.TCPSyn}
}

// TestFloodEvictsHalfOpenFirst: when a spoofed-source SYN flood fills the
// table, the flood's own unanswered flows make room, not the conversations
// that were there before it (older, but answered); every eviction is
// counted and the table enters emergency mode once.
func TestFloodEvictsHalfOpenFirst(t *testing.T) {
	var evicted []Key
	tb := NewTable(Config{MaxFlows: 100}, func(f *Flow, r EndReason) {
		if r == EndEvicted {
			evicted = append(evicted, f.Key())
		}
	})
	t0 := time.Unix(1000, 0)
	var convs []Key
	for i := range 10 {
		c := netip.AddrFrom4([4]byte{10, 0, 0, byte(1 + i)}).String()
		tb.Update(seg(t0, c, "10.0.1.1", 5000, 22, packet.TCPSyn, 0))
		tb.Update(seg(t0, "10.0.1.1", c, 22, 5000, packet.TCPSyn|packet.TCPAck, 0))
		f, _, _ := tb.Update(seg(t0, c, "10.0.1.1", 5000, 22, packet.TCPAck, 0))
		convs = append(convs, f.Key())
	}
	for i := range 1000 {
		tb.Update(spoofedSYN(t0.Add(time.Second+time.Duration(i)*time.Millisecond), i))
	}
	st := tb.Stats()
	if st.Evicted != 910 || len(evicted) != 910 || st.Active != 100 {
		t.Errorf("evicted %d (%d reported), active %d; want 910 evicted, 100 active", st.Evicted, len(evicted), st.Active)
	}
	if !st.Emergency || st.Emergencies != 1 {
		t.Errorf("emergency %v, entered %d times; want in it, entered once", st.Emergency, st.Emergencies)
	}
	gone := map[Key]bool{}
	for _, k := range evicted {
		gone[k] = true
	}
	for _, k := range convs {
		if gone[k] {
			t.Errorf("the answered conversation %v was evicted by the flood", k)
		}
	}
}

// TestEmergencyTimeouts: in emergency mode a half-open flow ends after
// EmergencyNewTimeout instead of NewTimeout, and the mode ends once the
// table has emptied to its recovery mark, when the normal timeouts apply
// again.
func TestEmergencyTimeouts(t *testing.T) {
	tb := NewTable(Config{MaxFlows: 100, NewTimeout: 30 * time.Second, EmergencyNewTimeout: 5 * time.Second}, nil)
	t0 := time.Unix(1000, 0)
	for i := range 150 {
		tb.Update(spoofedSYN(t0, i))
	}
	tb.Expire(t0.Add(4 * time.Second))
	if st := tb.Stats(); st.Active != 100 || !st.Emergency {
		t.Fatalf("after 4 s: %d active, emergency %v; want 100, in emergency", st.Active, st.Emergency)
	}
	tb.Expire(t0.Add(6 * time.Second))
	if st := tb.Stats(); st.Active != 0 || st.Emergency {
		t.Fatalf("after 6 s: %d active, emergency %v; want 0 (emergency-new 5 s), out of emergency", st.Active, st.Emergency)
	}
	t1 := t0.Add(10 * time.Second)
	tb.Update(spoofedSYN(t1, 1))
	tb.Expire(t1.Add(6 * time.Second))
	if st := tb.Stats(); st.Active != 1 || st.Emergencies != 1 {
		t.Errorf("out of emergency, a 6 s old half-open flow: %d active, %d emergencies; want 1 (new timeout 30 s), 1", st.Active, st.Emergencies)
	}
}

// TestEmergencyRecoveryMark: emergency mode holds while the table is
// fuller than 100-EmergencyRecovery percent, so it does not flap at the
// bound.
func TestEmergencyRecoveryMark(t *testing.T) {
	tb := NewTable(Config{MaxFlows: 100, EmergencyRecovery: 30, EmergencyNewTimeout: 5 * time.Second}, nil)
	t0 := time.Unix(1000, 0)
	n := 0
	for _, g := range []struct {
		at    time.Duration
		flows int
	}{{0, 25}, {4 * time.Second, 30}, {8 * time.Second, 46}} {
		for range g.flows {
			tb.Update(spoofedSYN(t0.Add(g.at), n))
			n++
		}
	}
	// 101 flows: one of the first 25 was evicted, and the table is in
	// emergency mode. At 5.5 s the other 24 are due: 76 remain, more than
	// the 70% mark.
	tb.Expire(t0.Add(5500 * time.Millisecond))
	if st := tb.Stats(); !st.Emergency || st.Active != 76 {
		t.Fatalf("%d active, emergency %v; want 76, still in emergency", st.Active, st.Emergency)
	}
	tb.Expire(t0.Add(9500 * time.Millisecond))
	if st := tb.Stats(); st.Emergency || st.Active != 46 {
		t.Errorf("%d active, emergency %v; want 46, out of emergency", st.Active, st.Emergency)
	}
}

// TestFullOfResetFlowsKeepsFreshSYN: a port scan fills the table with
// flows its RSTs tore down; a login that starts then must not lose its
// fresh SYN (the least recently seen half-open flow, but seen after every
// torn-down one) to the scan's next probe.
func TestFullOfResetFlowsKeepsFreshSYN(t *testing.T) {
	tb := NewTable(Config{MaxFlows: 100}, nil)
	t0 := time.Unix(1000, 0)
	probe := func(i int, at time.Time) {
		tb.Update(seg(at, "10.0.0.66", "10.0.0.10", 40000, uint16(1+i), packet.TCPSyn, 0))
		tb.Update(seg(at, "10.0.0.10", "10.0.0.66", uint16(1+i), 40000, packet.TCPRst|packet.TCPAck, 0))
	}
	for i := range 100 {
		probe(i, t0.Add(time.Duration(i)*time.Millisecond))
	}
	login, _, _ := tb.Update(seg(t0.Add(time.Second), "10.0.0.7", "10.0.0.10", 5000, 22, packet.TCPSyn, 0))
	id := login.ID
	for i := 100; i < 150; i++ {
		probe(i, t0.Add(time.Second+time.Duration(i)*time.Millisecond))
	}
	f, _, created := tb.Update(seg(t0.Add(2*time.Second), "10.0.0.10", "10.0.0.7", 22, 5000, packet.TCPSyn|packet.TCPAck, 0))
	if created || f.ID != id {
		t.Errorf("the login's SYN-ACK started a new flow: its SYN was evicted while torn-down flows remained")
	}
}

// BenchmarkTableSpoofedNewFlows: a spoofed-source flood as the engine
// drives the table, from empty: three packets in four open a flow from a
// random source, the fourth belongs to one of 1,000 live conversations;
// Expire runs once per second of packet time (1 Mpps) and every ended
// flow's record reads its id and Community ID. The cost per packet should
// be flat whatever the bound (flows tracked).
func BenchmarkTableSpoofedNewFlows(b *testing.B) {
	for _, max := range []int{4096, 65536, 1 << 20} {
		b.Run(fmt.Sprintf("max=%d", max), func(b *testing.B) {
			var sink uint64
			var cid []byte
			tb := NewTable(Config{MaxFlows: max}, func(f *Flow, _ EndReason) {
				sink += f.ID
				cid = f.AppendCommunityID(cid[:0], 0)
			})
			syn := &packet.Summary{CapLen: 60, IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true,
				Dst: netip.MustParseAddr("192.0.2.1"), DstPort: 80, TCPFlags: packet.TCPSyn}
			conv := make([]*packet.Summary, 1000)
			for i := range conv {
				conv[i] = seg(time.Time{}, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).String(), "10.2.0.1", 40000, 443, packet.TCPAck, 100)
			}
			t0 := time.Unix(1000, 0)
			next := t0
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				now := t0.Add(time.Duration(i) * time.Microsecond)
				s := syn
				if i%4 == 3 {
					s = conv[(i/4)%len(conv)]
				} else {
					s.Src = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
					s.SrcPort = uint16(rng.Uint32())
				}
				s.TS = now
				tb.Update(s)
				if !now.Before(next) {
					tb.Expire(now)
					next = now.Add(time.Second)
				}
			}
			_ = sink
		})
	}
}

// TestKeyFromEndpoints: a flow keeps its key only as its endpoints, so
// Flow.Key must give back what KeyOf gave its first packet, and a packet
// either way must find it again, for every way the client is chosen and
// every kind of port: a SYN, a capture starting at the SYN-ACK or at a DNS
// response, ICMPv4 echo (type and counterpart as ports) and ICMPv6 (none),
// a protocol without ports, three VLAN tags, a tunnel depth, IPv6 and a
// host talking to itself.
func TestKeyFromEndpoints(t *testing.T) {
	t0 := time.Unix(1000, 0)
	dnsResp := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}
	pkt := func(proto uint8, src, dst string, sp, dp uint16, edit func(*packet.Summary)) *packet.Summary {
		s := &packet.Summary{TS: t0, CapLen: 60, IPVersion: 4, Proto: proto, HasL4: true,
			Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp}
		if s.Src.Is6() {
			s.IPVersion = 6
		}
		if edit != nil {
			edit(s)
		}
		return s
	}
	for name, s := range map[string]*packet.Summary{
		"syn":           pkt(packet.ProtoTCP, "10.0.0.9", "10.0.0.1", 40000, 80, func(s *packet.Summary) { s.TCPFlags = packet.TCPSyn }),
		"syn-ack first": pkt(packet.ProtoTCP, "10.0.0.1", "10.0.0.9", 80, 40000, func(s *packet.Summary) { s.TCPFlags = packet.TCPSyn | packet.TCPAck }),
		"dns response":  pkt(packet.ProtoUDP, "10.0.0.53", "10.0.0.9", 53, 40000, func(s *packet.Summary) { s.Payload = dnsResp }),
		"echo request":  pkt(packet.ProtoICMP, "10.0.0.9", "10.0.0.1", 0, 0, func(s *packet.Summary) { s.ICMPType = 8 }),
		"echo reply":    pkt(packet.ProtoICMP, "10.0.0.1", "10.0.0.9", 0, 0, func(s *packet.Summary) { s.ICMPType = 0 }),
		"icmpv6":        pkt(packet.ProtoICMPv6, "2001:db8::9", "2001:db8::1", 0, 0, func(s *packet.Summary) { s.ICMPType = 128 }),
		"gre":           pkt(47, "10.0.0.9", "10.0.0.1", 0, 0, nil),
		"vlans":         pkt(packet.ProtoUDP, "10.0.0.9", "10.0.0.1", 5000, 6000, func(s *packet.Summary) { s.VLAN, s.VLAN3 = [2]uint16{10, 20}, 30 }),
		"tunnelled":     pkt(packet.ProtoUDP, "10.0.0.9", "10.0.0.1", 5000, 6000, func(s *packet.Summary) { s.TunnelDepth = 2 }),
		"ipv6":          pkt(packet.ProtoTCP, "2001:db8::1", "2001:db8::9", 443, 40000, func(s *packet.Summary) { s.TCPFlags = packet.TCPAck }),
		"self":          pkt(packet.ProtoUDP, "10.0.0.1", "10.0.0.1", 6000, 5000, nil),
	} {
		t.Run(name, func(t *testing.T) {
			tb := NewTable(Config{}, nil)
			want, _ := KeyOf(s)
			f, _, created := tb.Update(s)
			if !created || f.Key() != want {
				t.Fatalf("flow key %+v, want %+v", f.Key(), want)
			}
			r := *s
			r.Src, r.Dst, r.SrcPort, r.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
			r.Payload = nil
			if s.Proto == packet.ProtoICMP {
				r.ICMPType = icmp4Counterpart(s.ICMPType)
			}
			for _, p := range []*packet.Summary{s, &r} {
				if g, _, created := tb.Update(p); created || g != f {
					t.Errorf("a packet %v -> %v did not find the flow", p.Src, p.Dst)
				}
			}
			// The lookup's comparison (after a hash match) sees every part.
			k := f.Key()
			if !f.hasKey(&k) {
				t.Errorf("hasKey(Key()) is false")
			}
			for i, edit := range []func(k *Key){
				func(k *Key) { k.A = k.A.Next() }, func(k *Key) { k.B = k.B.Next() }, func(k *Key) { k.APort++ },
				func(k *Key) { k.BPort++ }, func(k *Key) { k.Proto++ }, func(k *Key) { k.VLAN++ },
				func(k *Key) { k.VLANInner[0]++ }, func(k *Key) { k.VLANInner[1]++ }, func(k *Key) { k.Depth++ },
			} {
				o := k
				edit(&o)
				if f.hasKey(&o) {
					t.Errorf("hasKey is true for a key with part %d changed", i)
				}
			}
			// A packet that differs in any part of the key is another flow.
			for what, edit := range map[string]func(p *packet.Summary){
				"third tag": func(p *packet.Summary) { p.VLAN3++ }, "second tag": func(p *packet.Summary) { p.VLAN[1]++ },
				"depth": func(p *packet.Summary) { p.TunnelDepth++ }, "protocol": func(p *packet.Summary) { p.Proto ^= 0x80 },
				"source port": func(p *packet.Summary) { p.SrcPort++ }, "destination": func(p *packet.Summary) { p.Dst = p.Dst.Next() },
			} {
				if what == "source port" && (s.Proto == packet.ProtoICMP || s.Proto == packet.ProtoICMPv6 || s.Proto == 47) {
					continue // no ports
				}
				o := r
				edit(&o)
				if g, _, created := tb.Update(&o); !created || g == f {
					t.Errorf("a packet with another %s found the flow", what)
				}
			}
		})
	}
}
