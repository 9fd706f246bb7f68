package detect

import (
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// synFrom fills s and f as the pipeline would for a SYN from src:sport that
// opened a new flow toward dst:dport.
func synFrom(s *packet.Summary, f *flow.Flow, ts time.Time, src, dst netip.Addr, sport, dport uint16) {
	*s = packet.Summary{TS: ts, CapLen: 74, WireLen: 74, IPVersion: 4, Src: src, Dst: dst, Proto: packet.ProtoTCP,
		TTL: 64, IPLen: 60, HasL4: true, SrcPort: sport, DstPort: dport, TCPFlags: packet.TCPSyn}
	*f = flow.Flow{Client: src, Server: dst, CPort: sport, SPort: dport, Proto: packet.ProtoTCP, FirstNS: ts.UnixNano(), LastNS: ts.UnixNano(),
		PktsToServer: 1, BytesToServer: 74, FlagsTS: packet.TCPSyn, TCPState: flow.TCPSynSent}
}

// A million SYNs from random spoofed sources toward one host:port: the
// detector's memory stays bounded, its tables evict (and count it), and
// dos.synflood still fires, naming the target.
func TestSynFloodRandomSources(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a million packets")
	}
	// Each spoofed source sending one SYN stays out of the per-source
	// tables (admission on second sighting); sources sending two fill them
	// to their caps and force evictions, and sources sending three fill
	// traffic.surge's too (a host seen with one peer only is tracked from
	// its third packet).
	for _, per := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("syns-per-source=%d", per), func(t *testing.T) { synFlood(t, per) })
	}
}

func synFlood(t *testing.T, per int) {
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	d := New(DefaultConfig())
	var alerts []*Alert
	emit := func(a *Alert) { alerts = append(alerts, a) }
	var s packet.Summary
	var f flow.Flow
	target := netip.MustParseAddr("198.51.100.5")
	rnd := uint64(42)
	ts := t0
	for i := range n {
		if i%per == 0 {
			rnd = rnd*6364136223846793005 + 1442695040888963407
		}
		b := [4]byte{byte(rnd >> 56), byte(rnd >> 48), byte(rnd >> 40), byte(rnd >> 32)}
		src := netip.AddrFrom4(b)
		synFrom(&s, &f, ts, src, target, uint16(rnd>>16), 443)
		s.Seq = uint32(i) * 2654435761 // a new ISN each time, as hping3 sends
		d.Packet(&s, &f, true, true, emit)
		ts = ts.Add(5 * time.Microsecond) // 200k SYN/s
		if i%200_000 == 0 {
			d.Tick(ts, emit)
		}
	}
	d.Tick(ts, emit)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	const bound = 64 << 20
	t.Logf("heap grew %.1f MB for %d random-source SYNs; %d alerts", float64(grew)/(1<<20), n, len(alerts))
	if grew > bound {
		t.Errorf("detector heap grew %d bytes, bound %d", grew, bound)
	}

	var floods []*Alert
	for _, a := range alerts {
		if a.Rule == RuleSynFlood {
			floods = append(floods, a)
		} else if a.Severity <= SevMedium {
			t.Errorf("unexpected %s: %s", a.Rule.Name, a.Signature)
		}
	}
	if len(floods) == 0 {
		t.Fatal("dos.synflood did not fire")
	}
	first, last := floods[0], floods[len(floods)-1]
	if first.Update || first.Dst != target || first.DstPort != 443 {
		t.Errorf("first flood alert %+v", first)
	}
	if len(floods) > 30 {
		t.Errorf("%d flood alerts: suppression did not fold them", len(floods))
	}
	if tot := last.Evidence["total_syns"].(uint64); tot < n/2 {
		t.Errorf("last update counts %d SYNs, want at least %d", tot, n/2)
	}
	if srcs := last.Evidence["sources"].(int); srcs < 1000 {
		t.Errorf("sources estimate %d, want many", srcs)
	}
	st := d.Stats()
	t.Logf("stats: %v", st)
	for k, v := range st {
		if strings.HasSuffix(k, ".entries") && v > uint64(DefaultConfig().MaxEntries) {
			t.Errorf("%s = %d, over the cap", k, v)
		}
	}
	if per > 1 && (st["scan.port.evicted"] == 0 || st["scan.sweep.evicted"] == 0 || per > 2 && st["traffic.surge.evicted"] == 0) {
		t.Errorf("full tables did not count evictions: %v", st)
	}
	runtime.KeepAlive(d)
}

func BenchmarkDetectorPacket(b *testing.B) {
	d := New(DefaultConfig())
	emit := func(*Alert) {}
	client, server := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("93.184.216.34")
	b.Run("established", func(b *testing.B) {
		f := &flow.Flow{Client: client, Server: server, CPort: 50000, SPort: 443, Proto: packet.ProtoTCP, FirstNS: t0.UnixNano(), LastNS: t0.UnixNano(),
			PktsToServer: 100, PktsToClient: 100, FlagsTS: packet.TCPSyn | packet.TCPAck | packet.TCPPsh,
			FlagsTC: packet.TCPSyn | packet.TCPAck | packet.TCPPsh, TCPState: flow.TCPEstablished, State: flow.StateEstablished}
		s := packet.Summary{TS: t0, CapLen: 1514, WireLen: 1514, IPVersion: 4, Src: server, Dst: client, Proto: packet.ProtoTCP,
			HasL4: true, SrcPort: 443, DstPort: 50000, TCPFlags: packet.TCPAck | packet.TCPPsh, Payload: make([]byte, 1460)}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.TS = t0.Add(time.Duration(i) * time.Microsecond)
			f.PktsToClient++
			d.Packet(&s, f, false, false, emit)
		}
	})
	b.Run("new-flow-syn", func(b *testing.B) {
		var s packet.Summary
		var f flow.Flow
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			src := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
			synFrom(&s, &f, t0.Add(time.Duration(i)*time.Millisecond), src, server, uint16(i), 443)
			d.Packet(&s, &f, true, true, emit)
		}
	})
}

// A burst of 500 real clients whose SYNs overflow the server's accept queue
// (all but 64 retransmitted a second later, with the same ISN, then all
// completing), while a spoofed-source flood toward another host keeps the
// flow table so full that every half-open flow is evicted before its
// answer: the burst's retransmissions and handshakes are still recognised
// (by connection and sequence numbers, not the evicted flows), so only
// the flood fires.
func TestSynBurstUnderEvictionIsNotFlood(t *testing.T) {
	d := New(DefaultConfig())
	var alerts []*Alert
	emit := func(a *Alert) { alerts = append(alerts, a) }
	tb := flow.NewTable(flow.Config{MaxFlows: 64}, func(f *flow.Flow, _ flow.EndReason) { d.FlowEnd(f, emit) })
	server, victim := netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.0.20")
	ts := t0
	flood := 0
	send := func(s packet.Summary) {
		s.TS, s.CapLen, s.WireLen, s.IPVersion, s.Proto, s.HasL4 = ts, 60, 60, 4, packet.ProtoTCP, true
		f, toServer, created := tb.Update(&s)
		d.Packet(&s, f, toServer, created, emit)
		for range 20 { // the flood between every two packets of the burst
			flood++
			sp := packet.Summary{TS: ts, CapLen: 54, WireLen: 54, IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true,
				Src: netip.AddrFrom4([4]byte{100, byte(flood >> 16), byte(flood >> 8), byte(flood)}), Dst: victim,
				SrcPort: uint16(flood), DstPort: 80, TCPFlags: packet.TCPSyn, Seq: uint32(flood) * 2654435761}
			f, toServer, created := tb.Update(&sp)
			d.Packet(&sp, f, toServer, created, emit)
		}
		ts = ts.Add(50 * time.Microsecond)
	}
	client := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 1 + byte(i/250), byte(i % 250)}) }
	isn := func(i int) uint32 { return uint32(i) * 7919 }
	handshake := func(i int) {
		c, cp := client(i), uint16(40000+i)
		send(packet.Summary{Src: server, Dst: c, SrcPort: 80, DstPort: cp, TCPFlags: packet.TCPSyn | packet.TCPAck, Seq: 9000 + uint32(i), Ack: isn(i) + 1})
		send(packet.Summary{Src: c, Dst: server, SrcPort: cp, DstPort: 80, TCPFlags: packet.TCPAck, Seq: isn(i) + 1, Ack: 9001 + uint32(i)})
	}
	syn := func(i int) {
		send(packet.Summary{Src: client(i), Dst: server, SrcPort: uint16(40000 + i), DstPort: 80, TCPFlags: packet.TCPSyn, Seq: isn(i)})
	}
	for i := range 500 {
		syn(i)
	}
	for i := range 64 {
		handshake(i)
	}
	ts = ts.Add(time.Second)
	for i := 64; i < 500; i++ {
		syn(i) // retransmitted
		handshake(i)
	}
	for range 4 {
		ts = ts.Add(time.Second)
		d.Tick(ts, emit)
	}
	tb.Flush(flow.EndShutdown)
	d.Finish(emit)
	if tb.Stats().Evicted == 0 {
		t.Fatal("the flow table never evicted: the test does not cover eviction")
	}
	var flooded bool
	for _, a := range alerts {
		if a.Rule != RuleSynFlood {
			continue
		}
		if a.Dst == server {
			t.Errorf("the burst of real clients raised %q", a.Signature)
		}
		flooded = flooded || a.Dst == victim
	}
	if !flooded {
		t.Errorf("the spoofed flood toward %s did not fire", victim)
	}
}
