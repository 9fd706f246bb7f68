package detect

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// dos.reflection: a reflection attack spoofs the target's address in
// requests to many servers (reflectors), whose answers converge on the
// target. At the target this is a stream of responses nobody there asked
// for: SYN-ACKs opening flows no SYN opened, echo replies to no echo
// request, datagrams from an amplifying service port (DNS, NTP, SNMP,
// SSDP, ...) to a port that sent no request. Counted per target, so the
// spoofer's choice of reflectors cannot dilute it; the reflectors are
// never named as the attacker (they are victims too).

type reflEntry struct {
	w         window
	n         uint32
	bytes     uint64
	total     uint64
	peers     smallSketch
	top       netip.Addr
	votes     int32
	kinds     uint8
	firstSeen stamp
	sup       supRef[supKey]
}

const (
	reflSynAck uint8 = 1 << iota
	reflEcho
	reflUDP
)

var reflKindNames = [...]string{"SYN-ACK", "ICMP echo reply", "UDP response"}

type reflState struct {
	refl *table[netip.Addr, reflEntry]
}

func (d *Detector) initReflection() {
	d.refl = newTable[netip.Addr, reflEntry]("dos.reflection", d.cfg.MaxEntries, func(e *reflEntry) time.Time { return e.w.lastAt() }).withHash(addrKey)
}

// amplifierPort marks UDP services abused as reflectors: their answers are
// larger than the question and they answer spoofed sources.
func amplifierPort(p uint16) bool {
	switch p {
	case 7, 17, 19, 53, 69, 111, 123, 137, 161, 389, 500, 520, 1434, 1900, 3283, 3702, 5683, 10001, 11211, 27015:
		return true
	}
	return false
}

// unsolicitedUDP reports a datagram that opened its flow from an amplifying
// service port toward a port that is not one: a response whose request was
// never seen.
func unsolicitedUDP(s *packet.Summary, created bool) bool {
	return created && amplifierPort(s.SrcPort) && !amplifierPort(s.DstPort) && s.DstPort >= 1024
}

// reflection counts one unsolicited response from s.Src to s.Dst.
func (d *Detector) reflection(s *packet.Summary, kind uint8, f *flow.Flow, emit func(*Alert)) {
	if isBroadcastish(s.Dst) {
		return
	}
	e, fresh := d.refl.upsert(s.Dst)
	if fresh {
		e.firstSeen = stampOf(s.TS)
	}
	if e.w.roll(s.TS, d.cfg.ReflectionWindow) {
		e.n, e.bytes, e.peers, e.votes, e.kinds = 0, 0, smallSketch{}, 0, 0
	}
	e.n++
	e.total++
	e.bytes += uint64(s.CapLen)
	e.kinds |= kind
	switch {
	case e.votes == 0:
		e.top, e.votes = s.Src, 1
	case e.top == s.Src:
		e.votes++
	default:
		e.votes--
	}
	e.peers.add(hashAddr(s.Src))
	if int(e.n) < d.cfg.ReflectionPackets {
		return
	}
	peers := e.peers.count()
	avg := int(e.bytes / uint64(e.n))
	if peers < d.cfg.ReflectionSources && avg < d.cfg.ReflectionAvgBytes {
		return
	}
	d.fireRef(emit, RuleReflection, supKey{target: s.Dst}, &e.sup, float64(e.total), s.TS, func(a *Alert) {
		// The actor is whoever spoofed the target's address, which the
		// packets do not show; Src is the busiest reflector, as the
		// packets' source, and the text says it is a reflector.
		a.Src, a.Dst, a.Proto = e.top, s.Dst, packet.ProtoName(s.Proto)
		var kinds []string
		for i, n := range reflKindNames {
			if e.kinds&(1<<i) != 0 {
				kinds = append(kinds, n)
			}
		}
		a.Signature = fmt.Sprintf("dos.reflection: %s received %d unsolicited responses (%s) in %s from %d reflectors, %d bytes on average",
			s.Dst, e.n, joinComma(kinds), d.cfg.ReflectionWindow, peers, avg)
		a.Evidence["responses"] = e.n
		a.Evidence["total_responses"] = e.total
		a.Evidence["reflectors"] = peers
		a.Evidence["top_reflector"] = e.top.String()
		a.Evidence["avg_bytes"] = avg
		a.Evidence["kinds"] = kinds
		a.Evidence["actor"] = "unknown: the requests carried the target's address as their source"
		a.Evidence["window_ms"] = d.cfg.ReflectionWindow.Milliseconds()
		a.Evidence["first_seen"] = rfc3339(e.firstSeen.time())
		a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
		if f != nil && peers < 2 {
			withFlow(a, f)
		}
	})
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

func (d *Detector) expireReflection(now time.Time) { d.refl.expire(now.Add(-time.Minute)) }

func (d *Detector) reflectionStats(out map[string]uint64) { d.refl.stats(out) }

func init() {
	registerFamily(family{name: "reflection", init: (*Detector).initReflection, expire: (*Detector).expireReflection, stats: (*Detector).reflectionStats})
}
