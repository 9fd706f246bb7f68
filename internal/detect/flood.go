package detect

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// Flood rules aggregate by target (host:port for SYNs, host for ICMP), never
// by source, so a flood from a million spoofed sources is one table entry
// and one alert stream. The actor is the majority source when there is one
// (Boyer-Moore vote, O(1) memory), and the distinct sources are estimated.

type floodKey struct {
	addr  netip.Addr
	port  uint16
	proto uint8
	dir   uint8 // ICMP: 0 toward addr, 1 from addr
}

type floodEntry struct {
	w         window
	n, done   uint32 // packets (SYNs) and completed handshakes in the window
	total     uint64 // packets since the entry was created, across windows
	cand      netip.Addr
	votes     int32
	peers     smallSketch // distinct other ends
	firstSeen time.Time
}

func (e *floodEntry) vote(a netip.Addr) {
	switch {
	case e.votes == 0:
		e.cand, e.votes = a, 1
	case e.cand == a:
		e.votes++
	default:
		e.votes--
	}
	e.peers.add(hashAddr(a))
}

type flood struct {
	syn  *table[floodKey, floodEntry]
	icmp *table[floodKey, floodEntry]
}

func (d *Detector) initFlood() {
	seen := func(e *floodEntry) time.Time { return e.w.last }
	d.syn = newTable[floodKey, floodEntry]("dos.synflood", d.cfg.MaxEntries, seen)
	d.icmp = newTable[floodKey, floodEntry]("dos.icmpflood", d.cfg.MaxEntries, seen)
}

// synPacket counts a pure SYN toward s.Dst:s.DstPort.
func (d *Detector) synPacket(s *packet.Summary, emit func(*Alert)) {
	e, fresh := d.syn.upsert(floodKey{addr: s.Dst, port: s.DstPort, proto: packet.ProtoTCP})
	if fresh {
		e.firstSeen = s.TS
	}
	if e.w.roll(s.TS, d.cfg.SynFloodWindow) {
		e.n, e.done, e.peers, e.votes = 0, 0, smallSketch{}, 0
	}
	e.n++
	e.total++
	e.vote(s.Src)
	if e.n < e.done || int(e.n-e.done) < d.cfg.SynFloodSYNs || e.done*2 >= e.n {
		return
	}
	d.fire(emit, RuleSynFlood, supKey{target: s.Dst, port: s.DstPort}, float64(e.total), s.TS, func(a *Alert) {
		a.Src, a.Dst, a.DstPort, a.Proto = e.cand, s.Dst, s.DstPort, "TCP"
		srcs := e.peers.count()
		who := e.cand.String()
		if srcs > 1 {
			who = fmt.Sprintf("%d sources (most from %s)", srcs, e.cand)
		}
		a.Signature = fmt.Sprintf("dos.synflood: %s sent %d SYNs in %s to %s with %d completed handshakes",
			who, e.n, d.cfg.SynFloodWindow, netip.AddrPortFrom(s.Dst, s.DstPort), e.done)
		a.Evidence["syns"] = e.n
		a.Evidence["completed"] = e.done
		a.Evidence["window_ms"] = d.cfg.SynFloodWindow.Milliseconds()
		a.Evidence["total_syns"] = e.total
		a.Evidence["sources"] = srcs
		a.Evidence["top_source"] = e.cand.String()
		a.Evidence["first_seen"] = rfc3339(e.firstSeen)
		a.Evidence["last_seen"] = rfc3339(e.w.last)
	})
}

// synCompleted credits a completed handshake to the server's entry.
func (d *Detector) synCompleted(f *flow.Flow) {
	if e := d.syn.get(floodKey{addr: f.Server, port: f.SPort, proto: packet.ProtoTCP}); e != nil {
		e.done++
	}
}

func (d *Detector) icmpFlood(s *packet.Summary, emit func(*Alert)) {
	// Toward the target: catches spoofed and distributed floods.
	d.icmpCount(floodKey{addr: s.Dst, proto: s.Proto}, s.Src, s, emit)
	// From the source: catches one host flooding many targets.
	d.icmpCount(floodKey{addr: s.Src, proto: s.Proto, dir: 1}, s.Dst, s, emit)
}

func (d *Detector) icmpCount(k floodKey, peer netip.Addr, s *packet.Summary, emit func(*Alert)) {
	e, fresh := d.icmp.upsert(k)
	if fresh {
		e.firstSeen = s.TS
	}
	if e.w.roll(s.TS, d.cfg.ICMPFloodWindow) {
		e.n, e.peers, e.votes = 0, smallSketch{}, 0
	}
	e.n++
	e.total++
	e.vote(peer)
	if int(e.n) < d.cfg.ICMPFloodPackets {
		return
	}
	peers := e.peers.count()
	if k.dir == 1 && peers < 2 {
		return // one target: its "toward" entry reports it
	}
	actor, target := e.cand, k.addr
	if k.dir == 1 {
		actor, target = k.addr, e.cand
	}
	d.fire(emit, RuleICMPFlood, supKey{actor: netip.Addr{}, target: k.addr, extra: uint64(k.dir)}, float64(e.total), s.TS, func(a *Alert) {
		a.Src, a.Dst, a.Proto = actor, target, packet.ProtoName(s.Proto)
		if k.dir == 0 {
			who := actor.String()
			if peers > 1 {
				who = fmt.Sprintf("%d sources (most from %s)", peers, actor)
			}
			a.Signature = fmt.Sprintf("dos.icmpflood: %s sent %d ICMP packets in %s to %s", who, e.n, d.cfg.ICMPFloodWindow, target)
		} else {
			a.Signature = fmt.Sprintf("dos.icmpflood: %s sent %d ICMP packets in %s to %d hosts", actor, e.n, d.cfg.ICMPFloodWindow, peers)
		}
		a.Evidence["packets"] = e.n
		a.Evidence["window_ms"] = d.cfg.ICMPFloodWindow.Milliseconds()
		a.Evidence["total_packets"] = e.total
		a.Evidence["peers"] = peers
		a.Evidence["first_seen"] = rfc3339(e.firstSeen)
		a.Evidence["last_seen"] = rfc3339(e.w.last)
	})
}

func (d *Detector) expireFlood(now time.Time) {
	// A minute idle ends a flood episode; its totals start again.
	d.syn.expire(now.Add(-time.Minute))
	d.icmp.expire(now.Add(-time.Minute))
}

func (d *Detector) floodStats(out map[string]uint64) {
	d.syn.stats(out)
	d.icmp.stats(out)
}
