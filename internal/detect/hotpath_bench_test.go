package detect

import (
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/gen"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// replayPkt is one packet of generated mixed traffic with what the flow
// table said about it, so a benchmark can replay the Detector alone.
type replayPkt struct {
	s                packet.Summary
	flow             int32 // index into replay.flows; -1 for none
	toServer         bool
	created          bool
	flagsTS, flagsTC uint8
	tcpState         flow.TCPState
	pktsTS, pktsTC   uint32
}

type replay struct {
	pkts  []replayPkt
	flows []flow.Flow // each flow's identity as the table created it
	// side holds, in order, what the engine hands the Detector besides
	// packets: protocol events and ended flows, each before packet at.
	side []sideItem
}

// sideItem is a protocol event of flow (ev set) or the end of a flow
// (ended: the flow as it ended), delivered before packet at.
type sideItem struct {
	at    int
	flow  int32
	ev    *proto.Event
	ended *flow.Flow
}

// loadReplay generates n packets of the benchmark capture's traffic
// (cmd/opsdeck-gen: seed 1, attacks on), decodes them and runs the flow
// table over them once. Payloads are kept only where the Detector reads
// them (ICMP).
func loadReplay(tb testing.TB, n int) *replay {
	tb.Helper()
	return loadReplayFrom(tb, gen.New(gen.Options{Seed: 1, Attacks: true}), n)
}

// loadReplayFrom is loadReplay over any frame source.
func loadReplayFrom(tb testing.TB, g gen.Source, n int) *replay {
	tb.Helper()
	dec := packet.NewDecoder()
	ids := map[*flow.Flow]int32{}
	r := &replay{pkts: make([]replayPkt, 0, n)}
	// The parsers run as in the engine (state made at a flow's first
	// payload), so the Detector gets the events it would get.
	var pool proto.Pool
	pcfg := proto.Config{MaxBytes: 4096}
	states := map[*flow.Flow]*proto.State{}
	var cur int32 // the flow whose events are being emitted
	emitEv := func(ev *proto.Event) { r.side = append(r.side, sideItem{at: len(r.pkts), flow: cur, ev: ev}) }
	tab := flow.NewTable(flow.DefaultConfig(), func(f *flow.Flow, _ flow.EndReason) {
		id, ok := ids[f]
		if !ok {
			return
		}
		if st := states[f]; st != nil {
			cur = id
			st.Close(&pcfg, emitEv)
			delete(states, f)
		}
		end := &flow.Flow{ID: f.ID, Client: f.Client, Server: f.Server, CPort: f.CPort, SPort: f.SPort,
			Proto: f.Proto, FirstNS: f.FirstNS, LastNS: f.LastNS, PktsToServer: f.PktsToServer, PktsToClient: f.PktsToClient,
			BytesToServer: f.BytesToServer, BytesToClient: f.BytesToClient, FlagsTS: f.FlagsTS, FlagsTC: f.FlagsTC,
			SynSeen: f.SynSeen, TCPState: f.TCPState, AppProto: f.AppProto}
		r.side = append(r.side, sideItem{at: len(r.pkts), flow: id, ended: end})
		delete(ids, f)
	})
	var tick time.Time
	for range n {
		fr := g.Next()
		var p replayPkt
		if err := dec.Decode(packet.LinkEthernet, fr.Data, fr.TS, len(fr.Data), &p.s); err != nil {
			tb.Fatalf("decode generated frame: %v", err)
		}
		if tick.IsZero() || !fr.TS.Before(tick) {
			tab.Expire(fr.TS)
			tick = fr.TS.Truncate(time.Second).Add(time.Second)
		}
		f, toServer, created := tab.Update(&p.s)
		p.flow = -1
		if f != nil {
			id, ok := ids[f]
			if !ok {
				id = int32(len(r.flows))
				ids[f] = id
				r.flows = append(r.flows, flow.Flow{ID: f.ID, Client: f.Client, Server: f.Server,
					CPort: f.CPort, SPort: f.SPort, Proto: f.Proto, FirstNS: f.FirstNS})
			}
			p.flow, p.toServer, p.created = id, toServer, created
			p.flagsTS, p.flagsTC, p.tcpState = f.FlagsTS, f.FlagsTC, f.TCPState
			p.pktsTS, p.pktsTC = uint32(f.PktsToServer), uint32(f.PktsToClient)
			if p.s.HasL4 && (p.s.Proto == packet.ProtoTCP || p.s.Proto == packet.ProtoUDP) {
				st := states[f]
				if st == nil && len(p.s.Payload) > 0 {
					st = pool.Get()
					states[f] = st
					for d := 0; d < 2; d++ {
						if f.SynSeen&(1<<d) != 0 {
							st.Sync(d == 0, f.NextSeq[d])
						}
					}
				}
				if st != nil {
					cur = id
					st.Packet(&pcfg, toServer, &p.s, emitEv)
					if p := st.AppProto(); p != "" && p != f.AppProto {
						f.AppProto = p
						r.flows[id].AppProto = p
					}
				}
			}
		}
		if p.s.Proto != packet.ProtoICMP && p.s.Proto != packet.ProtoICMPv6 {
			p.s.Payload = nil
		} else {
			p.s.Payload = append([]byte(nil), p.s.Payload...)
		}
		r.pkts = append(r.pkts, p)
	}
	return r
}

// run replays every packet, event and flow end through d, ticking once
// per second of packet time as the engine does.
func (r *replay) run(d *Detector, emit func(*Alert)) {
	var tick time.Time
	side := r.side
	for i := range r.pkts {
		for len(side) > 0 && side[0].at == i {
			if it := &side[0]; it.ev != nil {
				d.Event(it.ev, &r.flows[it.flow], emit)
			} else {
				d.FlowEnd(it.ended, emit)
			}
			side = side[1:]
		}
		p := &r.pkts[i]
		var f *flow.Flow
		if p.flow >= 0 {
			f = &r.flows[p.flow]
			f.PktsToServer, f.PktsToClient = uint64(p.pktsTS), uint64(p.pktsTC)
			f.FlagsTS, f.FlagsTC, f.TCPState = p.flagsTS, p.flagsTC, p.tcpState
			f.LastNS = p.s.TS.UnixNano()
		}
		if tick.IsZero() || !p.s.TS.Before(tick) {
			d.Tick(p.s.TS, emit)
			tick = p.s.TS.Truncate(time.Second).Add(time.Second)
		}
		d.Packet(&p.s, f, p.toServer, p.created, emit)
	}
}

// shift moves every packet later by dt, so a replay can follow the last
// one on the same Detector.
func (r *replay) shift(dt time.Duration) {
	for i := range r.pkts {
		r.pkts[i].s.TS = r.pkts[i].s.TS.Add(dt)
	}
	for i := range r.side {
		if it := &r.side[i]; it.ev != nil {
			it.ev.TS = it.ev.TS.Add(dt)
		} else {
			it.ended.FirstNS, it.ended.LastNS = it.ended.FirstNS+int64(dt), it.ended.LastNS+int64(dt)
		}
	}
}

// benchReplay runs r through one Detector once to warm its tables, then
// over and over later in time (as in a long capture), timing those runs,
// and reports the cost per packet.
func benchReplay(b *testing.B, r *replay, emit func(*Alert)) {
	span := r.pkts[len(r.pkts)-1].s.TS.Sub(r.pkts[0].s.TS) + time.Second
	d := New(DefaultConfig())
	r.run(d, emit)
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		r.shift(span)
		b.StartTimer()
		c0 := processCPU()
		r.run(d, emit)
		cpu += processCPU() - c0
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(r.pkts)), "ns/pkt")
	// On a shared machine the wall clock counts other processes' turns;
	// the process's CPU time (its collector's too) does not.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(r.pkts)), "cpu-ns/pkt")
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDetectorMixed replays 200,000 packets of the benchmark capture's
// traffic (browsing, bulk, DNS, pings, NTP, a port scan) through one
// Detector, over and over later in time (its tables warm, as in a long
// capture), and reports the cost per packet.
func BenchmarkDetectorMixed(b *testing.B) {
	alerts := 0
	benchReplay(b, loadReplay(b, 200_000), func(*Alert) { alerts++ })
	if alerts == 0 {
		b.Fatal("no alert on traffic with a port scan")
	}
}

// dnsEvent is a DNS request event as proto emits it for the capture's
// lookups.
func dnsEvent(ts time.Time) *proto.Event {
	return &proto.Event{Type: "dns", TS: ts, ToServer: true, DNS: &proto.DNS{Version: 3, Type: "request", ID: 7, Flags: "0100", RD: true,
		Queries: []proto.DNSQuery{{RRName: "www.example.com", RRType: "A"}}}}
}

// BenchmarkDetectorDNSEvent is one ordinary DNS query through Event.
func BenchmarkDetectorDNSEvent(b *testing.B) {
	r := loadReplay(b, 2000)
	d := New(DefaultConfig())
	emit := func(*Alert) {}
	var f *flow.Flow
	for i := range r.pkts {
		if p := &r.pkts[i]; p.flow >= 0 && r.flows[p.flow].SPort == 53 {
			f = &r.flows[p.flow]
			break
		}
	}
	if f == nil {
		b.Fatal("no DNS flow in the generated traffic")
	}
	ev := dnsEvent(t0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev.TS = t0.Add(time.Duration(i) * time.Millisecond)
		d.Event(ev, f, emit)
	}
}

// TestEstablishedNoAllocs holds the per-packet path to zero allocations:
// the data packets of established flows of the benchmark traffic, on a
// Detector that has seen the traffic once.
func TestEstablishedNoAllocs(t *testing.T) {
	r := loadReplay(t, 20_000)
	d := New(DefaultConfig())
	emit := func(*Alert) {}
	r.run(d, emit)
	var est []int
	for i := range r.pkts {
		p := &r.pkts[i]
		if p.flow >= 0 && !p.created && p.tcpState == flow.TCPEstablished && p.pktsTS > 3 && p.pktsTC > 3 {
			est = append(est, i)
		}
	}
	if len(est) < 1000 {
		t.Fatalf("only %d established data packets in the traffic", len(est))
	}
	allocs := testing.AllocsPerRun(10, func() {
		for _, i := range est {
			p := &r.pkts[i]
			d.Packet(&p.s, &r.flows[p.flow], p.toServer, false, emit)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per %d established packets, want 0", allocs, len(est))
	}
}
