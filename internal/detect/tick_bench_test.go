package detect

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// trackSources returns a Detector tracking n sources in every per-source
// table (traffic.surge, scan.port, scan.sweep): each sent three SYNs, two
// to one server and one to another, spread over ten seconds. It returns the
// time of the last packet.
func trackSources(tb testing.TB, n int) (*Detector, time.Time) {
	cfg := DefaultConfig()
	cfg.MaxEntries = n + 1024
	cfg.ScanWindow = time.Hour // the entries stay live for the benchmark's horizon
	d := New(cfg)
	emit := func(*Alert) {}
	s1, s2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	var f flow.Flow
	now, tick := t0, t0
	for i := range n {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		now = t0.Add(time.Duration(i) * 10 * time.Second / time.Duration(n))
		if !now.Before(tick) { // the engine's tick, once per second of packet time
			d.Tick(now, emit)
			tick = tick.Add(time.Second)
		}
		for j, dst := range [3]netip.Addr{s1, s1, s2} {
			s := packet.Summary{TS: now, IPVersion: 4, Src: src, Dst: dst, Proto: packet.ProtoTCP, HasL4: true,
				SrcPort: uint16(40000 + j), DstPort: 80, TCPFlags: packet.TCPSyn, Seq: uint32(i*3 + j), WireLen: 60}
			f = flow.Flow{ID: uint64(i*3+j)<<1 | 1, Client: src, Server: dst, CPort: s.SrcPort, SPort: 80, Proto: packet.ProtoTCP,
				FirstNS: now.UnixNano(), LastNS: now.UnixNano(), PktsToServer: 1, FlagsTS: packet.TCPSyn}
			d.Packet(&s, &f, true, true, emit)
		}
	}
	st := d.Stats()
	for _, name := range []string{"traffic.surge", "scan.port", "scan.sweep"} {
		if got := st[name+".entries"]; got < uint64(n) {
			tb.Fatalf("%s tracks %d sources, want %d", name, got, n)
		}
	}
	return d, now
}

// BenchmarkDetectorTickTracked measures the steady cost of one second of
// traffic (1,000 packets of ten established flows, then the engine's tick)
// while the Detector tracks 1,000 to 256,000 idle sources in every
// per-source table: the cost per packet, ticks and housekeeping included,
// should not grow with the sources tracked. Every 300 seconds of packet time
// (before any tracked source is due to expire) a new Detector is set up,
// outside the timer.
func BenchmarkDetectorTickTracked(b *testing.B) {
	const perSec, horizon = 1000, 300
	for _, n := range []int{1_000, 16_000, 256_000} {
		b.Run(fmt.Sprintf("sources=%d", n), func(b *testing.B) {
			emit := func(*Alert) {}
			var (
				d    *Detector
				now  time.Time
				secs int
			)
			flows := make([]flow.Flow, 10)
			sums := make([]packet.Summary, 10)
			for i := range flows {
				c, s := netip.AddrFrom4([4]byte{172, 16, 0, byte(i + 1)}), netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
				flows[i] = flow.Flow{ID: uint64(1<<40 + i*2 + 1), Client: c, Server: s, CPort: 50000, SPort: 443, Proto: packet.ProtoTCP,
					PktsToServer: 10, PktsToClient: 10, FlagsTS: packet.TCPSyn | packet.TCPAck, FlagsTC: packet.TCPSyn | packet.TCPAck,
					SynSeen: 3, TCPState: flow.TCPEstablished}
				sums[i] = packet.Summary{IPVersion: 4, Src: c, Dst: s, Proto: packet.ProtoTCP, HasL4: true, SrcPort: 50000, DstPort: 443,
					TCPFlags: packet.TCPAck | packet.TCPPsh, WireLen: 1500}
			}
			setup := func() {
				d, now = trackSources(b, n)
				// The next ticks evaluate the sources' last second and
				// the first housekeeping places every new entry in the
				// expiry wheel (their insertion's share of the work); the
				// steady state is measured after them.
				for range 11 {
					now = now.Add(time.Second)
					d.Tick(now, emit)
				}
				secs = 0
				runtime.GC() // the set-up's garbage is not the ticks' cost
			}
			setup()
			for b.Loop() {
				if secs == horizon {
					b.StopTimer()
					setup()
					b.StartTimer()
				}
				secs++
				for i := range perSec {
					s, f := &sums[i%len(sums)], &flows[i%len(flows)]
					s.TS = now.Add(time.Duration(i) * time.Second / perSec)
					f.PktsToServer++
					f.LastNS = s.TS.UnixNano()
					d.Packet(s, f, true, false, emit)
				}
				now = now.Add(time.Second)
				d.Tick(now, emit)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perSec), "ns/pkt")
		})
	}
}
