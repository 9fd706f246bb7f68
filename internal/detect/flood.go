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
	n         uint32 // packets in the window
	total     uint64 // packets since the entry was created, across windows
	cand      netip.Addr
	votes     int32
	peers     smallSketch // distinct other ends
	firstSeen stamp
	sup       supRef[supKey]
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
	syn      *table[floodKey, synEntry]
	icmp     *table[floodKey, floodEntry]
	synQueue []floodKey // entries with a window still to judge
	synLost  uint64     // queue overflows
	// shake remembers recent handshake steps by connection and sequence
	// numbers, apart from the flow table: a retransmitted SYN (same ISN)
	// and a client's ACK of a SYN-ACK are recognised even when a flood
	// made the table evict the half-open flow in between. Otherwise each
	// retransmission would count as a new attempt and no handshake would
	// complete, and a burst of real clients would look like a flood.
	shake *handshakes
	// synAdm is dos.synflood's gate, and holds server ports seen with
	// one SYN only (keyed by the table's hash).
	synAdm *gate[uint32]
}

// handshakes is a direct-mapped cache of handshake steps, keyed by a hash
// of the connection's ends and sequence numbers (512 KB: a slot is one
// word, so more of it stays in cache under a flood). A flood overwrites
// slots, so under a flood some steps are forgotten: the flow's own record,
// when it survives, still counts. A slot holds the key's tag with bit 1
// set (never 0, the empty slot), and bit 0 once a SYN's retransmission
// was credited.
type handshakes struct{ slots [1 << 17]uint32 }

// shakeKey hashes a connection (the hashAddr of client and server, then
// their ports) and two sequence numbers. The connection picks the cache
// line of its slot (16 slots), the step its slot in the line and its tag:
// a SYN-ACK's and an ACK's slots share the line the SYN's check read an
// RTT before, so a handshake's later steps cost no cache miss. A SYN
// (reply false) takes an even slot and its SYN-ACK and ACK (reply true)
// an odd one, so a connection's own steps never overwrite each other.
func shakeKey(c, s uint32, cport, sport uint16, a, b uint32, reply bool) uint64 {
	conn := hashPairH(c, s, uint64(cport)<<16|uint64(sport))
	step := mix64(conn ^ uint64(a)<<32 ^ uint64(b))
	odd := uint64(0)
	if reply {
		odd = 1
	}
	return step&^(1<<17-1) | ((conn>>40)&(1<<13-1))<<4 | step&14 | odd
}

// check records key h and reports whether it was recorded before; the
// slot is returned for its owner's bookkeeping.
func (hs *handshakes) check(h uint64) (*uint32, bool) {
	sl, tag := &hs.slots[h&(1<<17-1)], uint32(h>>32)&^1|2
	if *sl&^1 == tag {
		return sl, true
	}
	*sl = tag
	return sl, false
}

// synRetransmission reports whether the SYN s repeats one seen before
// (same ends and ISN), and whether this is its first repetition.
func (d *Detector) synRetransmission(s *packet.Summary) (again, first bool) {
	sl, hit := d.shake.check(shakeKey(d.hs, d.hd, s.SrcPort, s.DstPort, s.Seq, 0, false))
	if !hit {
		return false, false
	}
	first = *sl&1 == 0
	*sl |= 1
	return true, first
}

// synAckSeen records the server's SYN-ACK s so the client's ACK of it
// (seq = its ISN+1, ack = the server's ISN+1) is recognised.
func (d *Detector) synAckSeen(s *packet.Summary) {
	d.shake.check(shakeKey(d.hd, d.hs, s.DstPort, s.SrcPort, s.Ack, s.Seq+1, true))
}

// handshakeACK reports whether s, a bare ACK toward the server, acknowledges
// a SYN-ACK synAckSeen recorded; it is forgotten then (counted once).
func (d *Detector) handshakeACK(s *packet.Summary) bool {
	sl, hit := d.shake.check(shakeKey(d.hs, d.hd, s.SrcPort, s.DstPort, s.Seq, s.Ack, true))
	*sl = 0
	return hit
}

// dos.synflood counts each connection attempt once (its first SYN) per 1 s
// window, and credits the window with the attempts that proved a live
// client: a completed handshake (the client's ACK of the server's SYN-ACK,
// whatever packet it is) or a retransmitted SYN (a real TCP stack whose
// SYN was dropped by a full accept queue tries again; a flood tool never
// does). A window is judged once the next one has passed too, so the
// retransmissions (1 s later) and late handshakes count: 500 legitimate
// connections that overflow a queue and all complete never fire.
type synWin struct {
	start          stamp
	n, done, alive uint32
}

type synEntry struct {
	cur, prev synWin
	last      stamp
	total     uint64
	cand      netip.Addr
	votes     int32
	// queued sits in votes' padding: the entry (one per server and port
	// under a flood) is 288 bytes, an allocation class, not 296 (320).
	queued    bool
	peers     smallSketch
	firstSeen stamp
}

func (e *synEntry) vote(a netip.Addr) {
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

const maxSynQueue = 256

func (d *Detector) initFlood() {
	d.synAdm = new(gate[uint32])
	d.syn = newTable[floodKey, synEntry]("dos.synflood", d.cfg.MaxEntries, func(e *synEntry) time.Time { return e.last.time() }).
		withHash(floodHash).gated(d.synAdm)
	d.icmp = newTable[floodKey, floodEntry]("dos.icmpflood", d.cfg.MaxEntries, func(e *floodEntry) time.Time { return e.w.lastAt() }).withHash(floodHash)
	d.shake = new(handshakes)
}

// floodHash is a flood table's key hash (synKeyHash for dos.synflood's
// keys): its gate's too.
func floodHash(k floodKey) uint64 {
	return synHash(hashAddr(k.addr), k.port) ^ uint64(k.proto)<<8 ^ uint64(k.dir)
}

// synKeyHash is floodHash of dos.synflood's key for server (its hashAddr)
// and port.
func synKeyHash(server uint32, port uint16) uint64 { return synKeyOf(synHash(server, port)) }

// synKeyOf is synKeyHash from the key's synHash.
func synKeyOf(h uint64) uint64 { return h ^ uint64(packet.ProtoTCP)<<8 }

// synHash is a dos.synflood key's hash (server, port), from the server's
// hashAddr.
func synHash(server uint32, port uint16) uint64 { return mix64(uint64(server)<<16 ^ uint64(port)) }

// synPacket sees a pure SYN toward s.Dst:s.DstPort; f is its flow (nil
// when the flow table had no room).
func (d *Detector) synPacket(s *packet.Summary, f *flow.Flow, emit func(*Alert)) {
	k := floodKey{addr: s.Dst, port: s.DstPort, proto: packet.ProtoTCP}
	// A retransmission: the client is alive. Credited once per connection.
	again, first := d.synRetransmission(s)
	if !again && f != nil && f.PktsToServer > 1 {
		again, first = true, f.PktsToServer == 2 && f.FlagsTS&packet.TCPAck == 0
	}
	th := synKeyOf(synHash(d.hd, k.port))
	e := d.syn.getH(k, th)
	pre := time.Duration(-1) // how long before s the uncounted first attempt came
	if e == nil {
		// A server port gets a tracker at its second attempt: a port
		// scan's thousand ports, each probed once, stay out of the
		// table (a tracker is ~350 bytes). The first attempt's time (in
		// µs) waits in the admitter and is counted then.
		if again {
			return
		}
		us := uint32(s.TS.UnixMicro())
		seen, firstUS := d.synAdm.slot(th).check(th, us)
		if !seen {
			return
		}
		e = d.syn.createH(k, th)
		e.firstSeen = stampOf(s.TS)
		pre = time.Duration(us-firstUS) * time.Microsecond
	}
	d.synRoll(k, e, s.TS, false, emit)
	e.last = stampOf(s.TS)
	if again {
		if first {
			e.credit()
		}
		return
	}
	if e.cur.start == 0 {
		e.cur.start = e.last
		if pre >= 0 && pre < d.cfg.SynFloodWindow {
			t := stampOf(s.TS.Add(-pre))
			e.cur.start, e.firstSeen = t, t
			e.cur.n++
			e.total++
		}
	}
	e.cur.n++
	e.total++
	e.vote(s.Src)
	if int(e.cur.n) >= d.cfg.SynFloodSYNs && !e.queued {
		if len(d.synQueue) >= maxSynQueue {
			d.synLost++
			return
		}
		e.queued = true
		d.synQueue = append(d.synQueue, k)
	}
}

// credit counts a live attempt in the oldest window that has unresolved
// attempts.
func (e *synEntry) creditWith(done bool) {
	w := &e.cur
	if e.prev.n > e.prev.done+e.prev.alive {
		w = &e.prev
	}
	if done {
		w.done++
	} else {
		w.alive++
	}
}

func (e *synEntry) credit() { e.creditWith(false) }

// synRoll moves the windows to now, judging each window that had its grace
// (the window after it); final judges everything (no more SYNs came for a
// whole window, so no more evidence will).
func (d *Detector) synRoll(k floodKey, e *synEntry, now time.Time, final bool, emit func(*Alert)) {
	span, n := d.cfg.SynFloodWindow, stampOf(now)
	if e.cur.start != 0 && n.sub(e.cur.start) >= span {
		d.synJudge(k, e, &e.prev, now, emit)
		e.prev, e.cur = e.cur, synWin{}
		if n.sub(e.prev.start) >= 2*span {
			d.synJudge(k, e, &e.prev, now, emit)
			e.prev = synWin{}
		}
	}
	if final {
		// Nothing proves a live client in a window: no more evidence will
		// come. Otherwise wait for the retransmissions (1 s, then 3 s).
		quiet := n.sub(e.last)
		for _, w := range []*synWin{&e.prev, &e.cur} {
			if w.n > 0 && (w.done+w.alive == 0 || quiet >= 3*span) {
				d.synJudge(k, e, w, now, emit)
				*w = synWin{}
			}
		}
	}
	if e.prev.n == 0 && e.cur.n == 0 {
		e.peers, e.votes = smallSketch{}, 0
	}
}

func (d *Detector) synJudge(k floodKey, e *synEntry, w *synWin, now time.Time, emit func(*Alert)) {
	live := w.done + w.alive
	if w.n == 0 || w.n < live || int(w.n-live) < d.cfg.SynFloodSYNs || live*2 >= w.n {
		return
	}
	n, done, alive := w.n, w.done, w.alive
	dst := netip.AddrPortFrom(k.addr, k.port)
	d.fire(emit, RuleSynFlood, supKey{target: k.addr, port: k.port}, float64(e.total), now, func(a *Alert) {
		a.Src, a.Dst, a.DstPort, a.Proto = e.cand, k.addr, k.port, "TCP"
		srcs := e.peers.count()
		if srcs > 1 {
			a.Signature = fmt.Sprintf("dos.synflood: %s received %d SYNs in %s from %d sources with %d completed handshakes",
				dst, n, d.cfg.SynFloodWindow, srcs, done)
		} else {
			a.Signature = fmt.Sprintf("dos.synflood: %s sent %d SYNs in %s to %s with %d completed handshakes",
				e.cand, n, d.cfg.SynFloodWindow, dst, done)
		}
		a.Evidence["syns"] = n
		a.Evidence["completed"] = done
		a.Evidence["retransmitted"] = alive
		a.Evidence["window_ms"] = d.cfg.SynFloodWindow.Milliseconds()
		a.Evidence["total_syns"] = e.total
		a.Evidence["sources"] = srcs
		a.Evidence["top_source"] = e.cand.String()
		a.Evidence["first_seen"] = rfc3339(e.firstSeen.time())
		a.Evidence["last_seen"] = rfc3339(e.last.time())
	})
}

// synTick judges the queued windows whose time has come.
func (d *Detector) synTick(now time.Time, emit func(*Alert)) {
	keep := d.synQueue[:0]
	for _, k := range d.synQueue {
		e := d.syn.get(k)
		if e == nil {
			continue
		}
		d.synRoll(k, e, now, stampOf(now).sub(e.last) >= d.cfg.SynFloodWindow, emit)
		if int(e.cur.n) >= d.cfg.SynFloodSYNs || int(e.prev.n) >= d.cfg.SynFloodSYNs {
			keep = append(keep, k)
		} else {
			e.queued = false
		}
	}
	clear(d.synQueue[len(keep):])
	d.synQueue = keep
}

// synFlowEnd judges the SYN windows of a server when one of its half-open
// flows ends idle: a window after the server's last SYN, no more evidence
// will come. A flow that ends sooner was evicted (a full table under a
// flood): its retransmission or handshake may still come, so it proves
// nothing; Finish judges what is left at the end of the input.
func (d *Detector) synFlowEnd(f *flow.Flow, emit func(*Alert)) {
	if f.Proto != packet.ProtoTCP || f.FlagsTS&packet.TCPSyn == 0 || f.FlagsTS&packet.TCPAck != 0 {
		return
	}
	k := floodKey{addr: f.Server, port: f.SPort, proto: packet.ProtoTCP}
	if e := d.syn.getH(k, synKeyHash(hashAddr(f.Server), f.SPort)); e != nil && e.queued {
		d.synRoll(k, e, d.now, stampOf(d.now).sub(e.last) >= d.cfg.SynFloodWindow, emit)
	}
}

// synFinish judges every window still waiting: the input ended.
func (d *Detector) synFinish(emit func(*Alert)) {
	for _, k := range d.synQueue {
		if e := d.syn.get(k); e != nil {
			d.synRoll(k, e, d.now, true, emit)
			e.queued = false
		}
	}
	clear(d.synQueue)
	d.synQueue = d.synQueue[:0]
}

// synCompleted credits a completed handshake to the entry of server:port.
func (d *Detector) synCompleted(server netip.Addr, port uint16) {
	if e := d.syn.getH(floodKey{addr: server, port: port, proto: packet.ProtoTCP}, synKeyHash(hashAddr(server), port)); e != nil {
		e.creditWith(true)
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
		e.firstSeen = stampOf(s.TS)
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
	d.fireRef(emit, RuleICMPFlood, supKey{actor: netip.Addr{}, target: k.addr, extra: uint64(k.dir)}, &e.sup, float64(e.total), s.TS, func(a *Alert) {
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
		a.Evidence["first_seen"] = rfc3339(e.firstSeen.time())
		a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
	})
}

func (d *Detector) expireFlood(now time.Time) {
	// A minute idle ends a flood episode; its totals start again.
	d.syn.expire(now.Add(-time.Minute))
	d.icmp.expire(now.Add(-time.Minute))
}

func (d *Detector) floodStats(out map[string]uint64) {
	d.syn.stats(out)
	out["dos.synflood.queue_lost"] = d.synLost
	d.icmp.stats(out)
}

func init() {
	registerFamily(family{name: "flood", init: (*Detector).initFlood, expire: (*Detector).expireFlood, stats: (*Detector).floodStats})
}
