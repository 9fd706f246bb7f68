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
	*f = flow.Flow{Client: src, Server: dst, CPort: sport, SPort: dport, Proto: packet.ProtoTCP, First: ts, Last: ts,
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
		f := &flow.Flow{Client: client, Server: server, CPort: 50000, SPort: 443, Proto: packet.ProtoTCP, First: t0, Last: t0,
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
