package detect

import (
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/addrword"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// Detector runs the network rules of the catalog over packets, protocol
// events and ended flows. It is not safe for concurrent use: the packet
// pipeline owns it. All its clocks are packet time. Its direct-mapped
// arrays of hundreds of KB (gates, handshakes) are allocated apart, so
// the fields every packet reads share a few cache lines and pages
// instead of lying megabytes apart.
type Detector struct {
	cfg Config
	sup *Suppressor[supKey]

	now, start time.Time // latest packet time; first packet time
	lastHouse  time.Time // last housekeeping sweep

	alerts, folded uint64

	// hs and hd are hashAddr of the current packet's source and
	// destination, made once in Packet for every table it probes.
	hs, hd uint32
	// local is cfg.LocalNets made for isLocal.
	local []localNet

	scan
	flood
	reflState
	dhcpState
	arpSweep
	arpState
	brute
	dnsState
	icmpTun
	surge
	newHost
	suspicious [1024]uint64 // port bitmap of port.suspicious
}

// New builds a Detector; zero Config fields take their defaults.
func New(cfg Config) *Detector {
	cfg.fill()
	d := &Detector{cfg: cfg, sup: newSupKeySuppressor("suppress", cfg.Suppress, cfg.MaxEntries)}
	d.local = localNets(cfg.LocalNets)
	for _, p := range cfg.SuspiciousPorts {
		d.suspicious[p>>6] |= 1 << (p & 63)
	}
	for _, f := range families {
		if f.init != nil {
			f.init(d)
		}
	}
	return d
}

// Config returns the effective configuration (defaults filled in).
func (d *Detector) Config() Config { return d.cfg }

// Packet sees every decoded packet. f is the packet's flow (nil for ARP and
// non-IP); toServer its direction; created is true for the packet that
// created the flow. It allocates nothing for established traffic.
func (d *Detector) Packet(s *packet.Summary, f *flow.Flow, toServer, created bool, emit func(*Alert)) {
	d.clock(s.TS)
	if s.IsARP {
		d.arpPacket(s, emit)
		d.arpSweepPacket(s, emit)
		return
	}
	if s.IPVersion == 0 {
		return
	}
	d.hs, d.hd = hashAddr(s.Src), hashAddr(s.Dst)
	d.surgeAccount(s, f, created)
	if created {
		d.newHostPacket(s, emit)
		d.learnGateway(s)
	}
	if !s.HasL4 {
		return
	}
	if f != nil && !created && (f.PktsToServer == 2 || f.PktsToClient == 1) {
		d.learnFromTraffic(s, f, toServer)
	}
	switch s.Proto {
	case packet.ProtoTCP:
		d.tcpPacket(s, f, toServer, created, emit)
	case packet.ProtoUDP:
		switch {
		case s.DstPort == 67 && s.SrcPort == 68:
			d.dhcpPacket(s, emit)
		case s.SrcPort == 67 && s.DstPort == 68, s.SrcPort == 547 && s.DstPort == 546:
			// A DHCP server's offer or acknowledgement: an answer, never
			// a probe of the address it goes to.
			d.noteDHCPServer(s)
			return
		}
		if f == nil {
			return
		}
		if unsolicitedUDP(s, created) {
			// A response whose request was never seen: reflected traffic
			// toward s.Dst, not a probe by s.Src.
			d.reflection(s, reflUDP, f, emit)
			return
		}
		if created && toServer {
			d.scanAttempt(s, f, false, emit)
		} else if !toServer && f.PktsToClient == 1 {
			d.scanAnswered(f)
			d.portCheck(f, emit)
		}
	case packet.ProtoICMP, packet.ProtoICMPv6:
		d.icmpPacket(s, f, toServer, created, emit)
	}
}

func (d *Detector) tcpPacket(s *packet.Summary, f *flow.Flow, toServer, created bool, emit func(*Alert)) {
	fl := s.TCPFlags
	if invalidFlags[fl] {
		d.stealthProbe(s, fl, emit)
	}
	switch fl & (packet.TCPSyn | packet.TCPAck | packet.TCPRst | packet.TCPFin) {
	case packet.TCPSyn:
		d.synPacket(s, f, emit)
	case packet.TCPSyn | packet.TCPAck:
		d.synAckSeen(s)
	}
	if f == nil {
		return
	}
	d.breakInSession(f, false, emit)
	const probeMask = packet.TCPSyn | packet.TCPAck | packet.TCPRst | packet.TCPFin | packet.TCPPsh | packet.TCPUrg
	switch {
	case created && fl&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn|packet.TCPAck:
		// A SYN-ACK opening its flow answers a SYN nobody here sent: a
		// reflection toward s.Dst (or a capture that began mid-handshake).
		d.reflection(s, reflSynAck, f, emit)
	case created && toServer && fl&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn:
		d.scanAttempt(s, f, false, emit)
	case toServer && fl&(packet.TCPAck|packet.TCPSyn|packet.TCPRst) == packet.TCPAck && len(s.Payload) == 0 &&
		f.SynSeen != 3 && d.handshakeACK(s):
		// The client's ACK of a SYN-ACK in a flow that lost its handshake
		// to eviction (a full table under a flood): not a probe, a
		// completed handshake.
		d.synCompleted(s.Dst, s.DstPort)
	case created && toServer && fl&probeMask == packet.TCPAck && len(s.Payload) == 0:
		// A bare ACK opening its flow: nmap's ACK and window scans (-sA,
		// -sW) and ACK ping (-PA), answered by RST. A connection picked up
		// mid-stream looks the same until the server answers with data,
		// which counts it as answered below.
		d.scanAttempt(s, f, true, emit)
	case !toServer && f.PktsToClient == 1:
		// The server's first word: a SYN-ACK answers a probe, a RST
		// rejects it. A flow picked up mid-stream (no SYN seen) counts as
		// an answered session once the server speaks.
		if fl&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn|packet.TCPAck {
			d.scanAnswered(f)
		} else if fl&packet.TCPRst == 0 && f.FlagsTS&packet.TCPSyn == 0 {
			d.scanAnswered(f)
			d.portCheck(f, emit)
		}
	case toServer && fl&(packet.TCPAck|packet.TCPSyn|packet.TCPRst) == packet.TCPAck && len(s.Payload) == 0 &&
		f.SynSeen == 3 && f.FlagsTC&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn|packet.TCPAck &&
		s.Seq == f.NextSeq[0] && s.Ack == f.NextSeq[1]:
		// The client's ACK of the server's SYN-ACK (its sequence numbers
		// say so, however many SYNs it retransmitted before): the
		// handshake completed.
		d.handshakeACK(s)
		d.synCompleted(f.Server, f.SPort)
		d.portCheck(f, emit)
	}
}

// Event sees every protocol event.
func (d *Detector) Event(ev *proto.Event, f *flow.Flow, emit func(*Alert)) {
	if ev == nil || f == nil {
		return
	}
	d.clock(ev.TS)
	switch {
	case ev.Cred != nil:
		d.credEvent(ev, f, emit)
		d.breakInCred(ev, f, emit)
	case ev.DNS != nil:
		d.dnsEvent(ev, f, emit)
	case ev.FTP != nil:
		d.ftpEvent(ev, f, emit)
	case ev.HTTP != nil:
		d.httpEvent(ev, f, emit)
	}
}

// FlowEnd sees every flow when it ends.
func (d *Detector) FlowEnd(f *flow.Flow, emit func(*Alert)) {
	if f == nil {
		return
	}
	d.clock(f.Last())
	d.bruteFlowEnd(f, emit)
	d.breakInSession(f, true, emit)
	d.synFlowEnd(f, emit)
}

// Finish judges what is still pending when the input ends (after the
// flow table was flushed): no packet will come to roll the windows.
func (d *Detector) Finish(emit func(*Alert)) {
	d.synFinish(emit)
}

// Tick advances windows and housekeeping; the engine calls it at least once
// per second of packet time.
func (d *Detector) Tick(now time.Time, emit func(*Alert)) {
	d.clock(now)
	d.surgeTick(d.now, emit)
	d.synTick(d.now, emit)
	if d.now.Sub(d.lastHouse) >= 10*time.Second {
		d.lastHouse = d.now
		d.housekeep(d.now)
	}
}

func (d *Detector) housekeep(now time.Time) {
	d.sup.Expire(now)
	for _, f := range families {
		if f.expire != nil {
			f.expire(d, now)
		}
	}
}

// Stats reports table sizes and evictions per detector.
func (d *Detector) Stats() map[string]uint64 {
	out := map[string]uint64{"alerts": d.alerts, "alerts.suppressed": d.folded}
	d.sup.Stats(out)
	for _, f := range families {
		if f.stats != nil {
			f.stats(d, out)
		}
	}
	return out
}

// clock moves packet time forward; it never goes back, so a reordered
// packet does not reopen windows.
func (d *Detector) clock(ts time.Time) {
	if ts.IsZero() {
		return
	}
	if d.start.IsZero() {
		d.start, d.lastHouse = ts, ts
	}
	if ts.After(d.now) {
		if !d.now.IsZero() {
			d.learnClock(ts.Sub(d.now))
		}
		d.now = ts
	}
}

// fire reports an occurrence of an alert stream through the suppressor and,
// when it is to be shown, builds the alert with build and emits it. It
// allocates only when it emits.
func (d *Detector) fire(emit func(*Alert), r *Rule, k supKey, measure float64, ts time.Time, build func(*Alert)) bool {
	return d.fireRef(emit, r, k, nil, measure, ts, build)
}

// fireRef is fire for a tracker that keeps its stream's suppressor entry
// in ref.
func (d *Detector) fireRef(emit func(*Alert), r *Rule, k supKey, ref *supRef[supKey], measure float64, ts time.Time, build func(*Alert)) bool {
	k.sid = r.SID
	v, n, _ := d.sup.checkRef(ref, k, ts, measure, r.Severity, nil)
	if v == VerdictFold {
		d.folded++
		return false
	}
	a := &Alert{Rule: r, Severity: r.Severity, TS: ts, Suppressed: n, Update: v == VerdictUpdate, Evidence: map[string]any{},
		Incident: k.String()}
	build(a)
	d.alerts++
	emit(a)
	return true
}

// withFlow ties an alert to a flow.
func withFlow(a *Alert, f *flow.Flow) {
	if f == nil {
		return
	}
	a.FlowID = f.ID
	a.Community = f.CommunityID()
	a.Proto = packet.ProtoName(f.Proto)
	a.PID, a.Process = f.PID(), f.Process()
}

// rfc3339 formats evidence times like EVE timestamps (microseconds, UTC offset).
func rfc3339(t time.Time) string { return t.Format("2006-01-02T15:04:05.000000Z07:00") }

// isLocal reports whether a (unmapped) is in one of cfg.LocalNets, as
// netip.Prefix.Contains decides, on the address's words: Contains walked
// every prefix with its checks of family, zone and mask, on each new flow
// up to four times.
func (d *Detector) isLocal(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() {
		return false
	}
	is4 := a.Is4()
	if !is4 && a.Zone() != "" {
		return false // Contains never matches a zoned address
	}
	hi, lo := addrword.Of(a)
	for _, n := range d.local {
		if n.is4 == is4 && (hi^n.hi)&n.mhi == 0 && (lo^n.lo)&n.mlo == 0 {
			return true
		}
	}
	return false
}

// localNet is a prefix of cfg.LocalNets as words and masks over the
// address's 128 bits (an IPv4 prefix's bits follow the 96 of ::ffff:0:0).
type localNet struct {
	hi, lo, mhi, mlo uint64
	is4              bool
}

func localNets(ps []netip.Prefix) []localNet {
	var out []localNet
	for _, p := range ps {
		if !p.IsValid() {
			continue // Contains matches nothing
		}
		bits := p.Bits()
		if p.Addr().Is4() {
			bits += 96
		}
		n := localNet{is4: p.Addr().Is4()}
		n.hi, n.lo = addrword.Of(p.Addr())
		switch {
		case bits >= 128:
			n.mhi, n.mlo = ^uint64(0), ^uint64(0)
		case bits > 64:
			n.mhi, n.mlo = ^uint64(0), ^(^uint64(0) >> (bits - 64))
		case bits > 0:
			n.mhi = ^(^uint64(0) >> bits)
		}
		out = append(out, n)
	}
	return out
}

// isBroadcastish reports destinations that are not one host.
func isBroadcastish(a netip.Addr) bool {
	if a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	if a.Is4() {
		_, lo := addrword.Of(a)
		return lo&0xff == 0xff
	}
	return false
}
