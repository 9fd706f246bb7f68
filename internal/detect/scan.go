package detect

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/addrword"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// Scan rules count probes (new flows opened toward a server) per source and
// target. A probe is "answered" when the server accepts it (SYN-ACK, a UDP or
// ICMP echo reply); Zeek counts only failed attempts, we require that at most
// half of the attempts were answered, which spares busy but normal clients
// (a browser opening 40 HTTPS connections, FTP passive data ports).

type pairKey struct {
	src, dst netip.Addr
	proto    uint8
}

type sweepKey struct {
	src   netip.Addr
	port  uint16
	proto uint8
}

// The counters come before the sketches so a probe touches few cache
// lines: one or two for them, one for the sketch bit.
type scanEntry struct {
	w                  window
	attempts, answered uint32
	sample             portSamples
	open               portSamples // ports that answered: what the scan found
	ports              sketch
	sup                supRef[supKey]
}

type sweepEntry struct {
	w                  window
	attempts, answered uint32
	probes             uint32 // attempts that open no session (echo, bare ACK)
	net24              uint32 // the first host's /24 (IPv4), for contiguity
	inNet              uint32 // attempts inside it
	hosts              sketch
	sample             addrSamples
}

type stealthEntry struct {
	w      window
	probes uint32
	kinds  uint8 // bit set of stealth kinds
	sample portSamples
	sup    supRef[supKey]
}

type scan struct {
	// portAdm and sweepAdm are the gates and admitters of ports and
	// sweeps.
	portAdm, sweepAdm *gate[uint16]
	ports             *table[pairKey, scanEntry]
	sweeps            *table[sweepKey, sweepEntry]
	stealth           *table[pairKey, stealthEntry]
}

func (d *Detector) initScan() {
	d.portAdm, d.sweepAdm = new(gate[uint16]), new(gate[uint16])
	n := d.cfg.MaxEntries
	// The tables' hashes are their admitters' (portHash, sweepHash).
	d.ports = newTable[pairKey, scanEntry]("scan.port", n, func(e *scanEntry) time.Time { return e.w.lastAt() }).
		withHash(pairHash).gated(d.portAdm)
	d.sweeps = newTable[sweepKey, sweepEntry]("scan.sweep", n, func(e *sweepEntry) time.Time { return e.w.lastAt() }).
		withHash(func(k sweepKey) uint64 { return sweepHash(hashAddr(k.src), k.port, k.proto) }).gated(d.sweepAdm)
	d.stealth = newTable[pairKey, stealthEntry]("scan.stealth", n, func(e *stealthEntry) time.Time { return e.w.lastAt() }).withHash(pairHash)
}

// portHash is a scan.port key's hash (client, server, protocol), from
// the addresses' hashAddr: its admitter's and its gate's.
func portHash(client, server uint32, proto uint8) uint64 {
	return hashPairH(client, server, uint64(proto))
}

// pairHash is a pairKey's table hash.
func pairHash(k pairKey) uint64 { return portHash(hashAddr(k.src), hashAddr(k.dst), k.proto) }

// sweepHash is a scan.sweep key's hash (client, port, protocol).
func sweepHash(client uint32, port uint16, proto uint8) uint64 {
	return hashPairH(client, zeroAddrHash, uint64(port)<<8|uint64(proto))
}

// scanAttempt counts a flow opened toward a server (a TCP SYN, the first UDP
// datagram, an ICMP echo request, a bare TCP ACK). probe is true for the
// kinds that open no session (echo, bare ACK): no application sends them to
// many hosts at once, so a fast sweep of them fires whatever the answers.
// s is the flow's first packet, from its client.
func (d *Detector) scanAttempt(s *packet.Summary, f *flow.Flow, probe bool, emit func(*Alert)) {
	if isBroadcastish(f.Server) {
		return
	}
	ts, span := s.TS, d.cfg.ScanWindow
	hc, hs := d.hs, d.hd
	if f.Proto != packet.ProtoICMP && f.Proto != packet.ProtoICMPv6 {
		k := pairKey{f.Client, f.Server, f.Proto}
		h := portHash(hc, hs, f.Proto)
		e := d.ports.getH(k, h)
		if e == nil {
			again, port := d.portAdm.slot(h).check(h, f.SPort)
			if again {
				e = d.ports.createH(k, h)
				e.w.roll(ts, span)
				e.attempts = 1
				e.sample.add(port)
				e.ports.add(uint32(port))
			}
		}
		if e != nil {
			d.portAttempt(e, f, ts, span, emit)
		}
	}

	if probe && d.isDHCPServer(f.Client) {
		return // checking addresses before offering them (RFC 2131 4.4.1)
	}
	k := sweepKey{f.Client, f.SPort, f.Proto}
	h := sweepHash(hc, f.SPort, f.Proto)
	e := d.sweeps.getH(k, h)
	if e == nil {
		// The sketch keeps 12 of addrBits' bits: 16 are kept.
		again, host := d.sweepAdm.slot(h).check(h, uint16(addrBits(f.Server)))
		if !again {
			return
		}
		e = d.sweeps.createH(k, h)
		e.w.roll(ts, span)
		e.attempts = 1
		if probe {
			e.probes = 1
		}
		e.hosts.add(uint32(host))
	}
	d.sweepAttempt(e, f, ts, span, probe, emit)
}

func (d *Detector) portAttempt(e *scanEntry, f *flow.Flow, ts time.Time, span time.Duration, emit func(*Alert)) {
	if e.w.roll(ts, span) {
		e.ports, e.attempts, e.answered, e.sample, e.open = sketch{}, 0, 0, portSamples{}, portSamples{}
	}
	e.attempts++
	e.sample.add(f.SPort)
	if e.ports.add(uint32(f.SPort)) {
		if n := e.ports.count(); n >= d.cfg.ScanPorts && e.answered*2 < e.attempts {
			d.fireRef(emit, RuleScanPort, supKey{actor: f.Client, target: f.Server, port: uint16(f.Proto)}, &e.sup, float64(n), ts, func(a *Alert) {
				a.Src, a.Dst, a.Proto = f.Client, f.Server, packet.ProtoName(f.Proto)
				a.Signature = fmt.Sprintf("scan.port: %s probed %d %s ports on %s (%d probes, %d answered)", f.Client, n,
					packet.ProtoName(f.Proto), f.Server, e.attempts, e.answered)
				a.Evidence["ports"] = n
				a.Evidence["attempts"] = e.attempts
				a.Evidence["answered"] = e.answered
				if e.open.n > 0 {
					// What the scanner learned: the ports it will try next.
					a.Evidence["open_ports"] = e.open.list()
				}
				a.Evidence["sample_ports"] = e.sample.list()
				a.Evidence["window_s"] = int(span / time.Second)
				a.Evidence["first_seen"] = rfc3339(e.w.firstAt())
				a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
			})
		}
	}
}

func (d *Detector) sweepAttempt(e *sweepEntry, f *flow.Flow, ts time.Time, span time.Duration, probe bool, emit func(*Alert)) {
	if e.w.roll(ts, span) {
		e.hosts, e.attempts, e.answered, e.probes, e.sample = sketch{}, 0, 0, 0, addrSamples{}
		e.net24, e.inNet = 0, 0
	}
	e.attempts++
	if probe {
		e.probes++
	}
	if f.Server.Is4() {
		_, lo := addrword.Of(f.Server)
		n24 := uint32(lo>>8) & 0xffffff
		if e.attempts == 1 || e.inNet == 0 {
			e.net24 = n24
		}
		if n24 == e.net24 {
			e.inNet++
		}
	}
	e.sample.add(f.Server)
	if e.hosts.add(addrBits(f.Server)) {
		n := e.hosts.count()
		slow := n >= d.cfg.SweepHosts && e.answered*2 < e.attempts
		// Machine pace: many hosts asked with session-less probes within
		// a second, answered or not (nmap -sn over live hosts).
		quick := n >= d.cfg.SweepFastHosts && ts.Sub(e.w.firstAt()) <= d.cfg.SweepFastSpan
		fast := quick && e.probes*2 > e.attempts
		// SYN and UDP sweeps at machine pace need more: connections a
		// browser opens in a burst go to scattered addresses, a sweep
		// walks one range. Most of the range unanswered, 90% of it in
		// one /24 (nmap -sn unprivileged: connect to 80 and 443).
		walk := quick && e.answered*2 < e.attempts && e.inNet*10 >= e.attempts*9
		if slow || fast || walk {
			d.fire(emit, RuleScanSweep, supKey{actor: f.Client, port: f.SPort, extra: uint64(f.Proto)}, float64(n), ts, func(a *Alert) {
				a.Src, a.Dst, a.DstPort, a.Proto = f.Client, f.Server, f.SPort, packet.ProtoName(f.Proto)
				what := fmt.Sprintf("port %d/%s", f.SPort, strings.ToLower(packet.ProtoName(f.Proto)))
				if f.Proto == packet.ProtoICMP || f.Proto == packet.ProtoICMPv6 {
					what = "ICMP echo"
					a.DstPort = 0
				}
				a.Signature = fmt.Sprintf("scan.sweep: %s probed %s on %d hosts", f.Client, what, n)
				a.Evidence["hosts"] = n
				a.Evidence["port"] = int(f.SPort)
				a.Evidence["attempts"] = e.attempts
				a.Evidence["answered"] = e.answered
				a.Evidence["span_ms"] = ts.Sub(e.w.firstAt()).Milliseconds()
				if e.probes > 0 {
					a.Evidence["sessionless_probes"] = e.probes
				}
				a.Evidence["sample_hosts"] = e.sample.list()
				a.Evidence["window_s"] = int(span / time.Second)
				a.Evidence["first_seen"] = rfc3339(e.w.firstAt())
				a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
			})
		}
	}
}

// scanAnswered credits the server's acceptance of a probe; it is called
// for the server's first packet (from s.Src, the server, to s.Dst, the
// client).
func (d *Detector) scanAnswered(f *flow.Flow) {
	if f.Proto != packet.ProtoICMP && f.Proto != packet.ProtoICMPv6 {
		if e := d.ports.getH(pairKey{f.Client, f.Server, f.Proto}, portHash(d.hd, d.hs, f.Proto)); e != nil {
			e.answered++
			e.open.add(f.SPort)
		}
	}
	if e := d.sweeps.getH(sweepKey{f.Client, f.SPort, f.Proto}, sweepHash(d.hd, f.SPort, f.Proto)); e != nil {
		e.answered++
	}
}

// Stealth probe kinds, named as nmap names its scans.
const (
	kindNull uint8 = 1 << iota
	kindFin
	kindXmas
	kindSynFin
	kindSynRst
	kindOther
)

var kindNames = [...]string{"NULL", "FIN", "Xmas", "SYN+FIN", "SYN+RST", "invalid"}

// invalidFlags marks TCP flag bytes no conforming stack sends: nothing set
// (NULL), FIN/PSH/URG without ACK (FIN, Xmas, ...), SYN with FIN or RST.
var invalidFlags [256]bool

func init() {
	for i := range 256 {
		invalidFlags[i] = stealthKind(uint8(i)) != 0
	}
}

func stealthKind(fl uint8) uint8 {
	const (
		fin, syn, rst, psh, ack, urg = packet.TCPFin, packet.TCPSyn, packet.TCPRst, packet.TCPPsh, packet.TCPAck, packet.TCPUrg
	)
	f := fl & (fin | syn | rst | psh | ack | urg)
	switch {
	case f == 0:
		return kindNull
	case f&(syn|fin) == syn|fin:
		return kindSynFin
	case f&(syn|rst) == syn|rst:
		return kindSynRst
	case f&ack != 0 || f&syn != 0 || f == rst:
		return 0
	case f == fin:
		return kindFin
	case f == fin|psh|urg:
		return kindXmas
	default:
		return kindOther
	}
}

func kindList(k uint8) []string {
	var out []string
	for i, n := range kindNames {
		if k&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

func (d *Detector) stealthProbe(s *packet.Summary, fl uint8, emit func(*Alert)) {
	e, _ := d.stealth.upsert(pairKey{s.Src, s.Dst, packet.ProtoTCP})
	if e.w.roll(s.TS, d.cfg.ScanWindow) {
		*e = stealthEntry{w: e.w, sup: e.sup}
	}
	e.probes++
	e.kinds |= stealthKind(fl)
	e.sample.add(s.DstPort)
	if int(e.probes) < d.cfg.StealthProbes {
		return
	}
	// A new kind of probe is news even when the count did not double: each
	// kind doubles the measure, so the suppressor re-reports it.
	measure := float64(e.probes) * float64(uint(1)<<bits.OnesCount8(e.kinds))
	d.fireRef(emit, RuleScanStealth, supKey{actor: s.Src, target: s.Dst}, &e.sup, measure, s.TS, func(a *Alert) {
		a.Src, a.Dst, a.SrcPort, a.DstPort, a.Proto = s.Src, s.Dst, s.SrcPort, s.DstPort, "TCP"
		kinds := kindList(e.kinds)
		a.Signature = fmt.Sprintf("scan.stealth: %s sent %d %s probe(s) to %s", s.Src, e.probes, strings.Join(kinds, "/"), s.Dst)
		a.Evidence["probes"] = e.probes
		a.Evidence["probe_types"] = kinds
		a.Evidence["tcp_flags"] = fmt.Sprintf("%02x", fl)
		a.Evidence["sample_ports"] = e.sample.list()
		a.Evidence["first_seen"] = rfc3339(e.w.firstAt())
		a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
	})
}

func (d *Detector) expireScan(now time.Time) {
	cut := now.Add(-d.cfg.ScanWindow)
	d.ports.expire(cut)
	d.sweeps.expire(cut)
	d.stealth.expire(cut)
}

func (d *Detector) scanStats(out map[string]uint64) {
	d.ports.stats(out)
	d.sweeps.stats(out)
	d.stealth.stats(out)
}

func init() {
	registerFamily(family{name: "scan", init: (*Detector).initScan, expire: (*Detector).expireScan, stats: (*Detector).scanStats})
}
