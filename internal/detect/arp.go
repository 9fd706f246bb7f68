package detect

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// arp.spoof is a binding contradiction: an ARP packet claims an IP address
// (its sender fields) for a MAC other than the one that address is known to
// have, while the known binding is still in use. Bindings are learned from
// every source that shows who really holds an address:
//
//   - ARP sender fields (what a host says about itself),
//   - ARP reply target fields (a reply is addressed to the asker's real
//     MAC, whoever sends it: arpspoof addresses its victims correctly),
//   - the Ethernet source of local IP traffic that was answered (a spoofed
//     source never gets its flow answered, so floods teach nothing).
//
// One forged reply is enough; a host owning many addresses (aliases on one
// interface, a VM host) claims each with its own MAC and contradicts
// nothing. The alert's Src is the IP whose hardware address was claimed,
// Dst the host the claim was sent to, as docs/design.md says.

// How a binding was learned, strongest last.
const (
	bindTraffic uint8 = 1 + iota
	bindTarget
	bindSender
)

var bindHow = [...]string{"", "IP traffic", "ARP target fields", "ARP sender fields"}

type binding struct {
	mac         packet.MAC
	first, last stamp // last: when the holder last confirmed it
	how         uint8
	claims      uint32 // contradicting claims while it held
}

type arpState struct {
	binds   *table[netip.Addr, binding]
	gwMAC   packet.MAC // learned: the MAC carrying off-net traffic
	gwVotes int
	rebinds uint64 // stale bindings replaced without an alert
}

func (d *Detector) initARP() {
	d.binds = newTable[netip.Addr, binding]("arp.bindings", d.cfg.MaxEntries, func(b *binding) time.Time { return b.last.time() }).withHash(addrKey)
}

func (d *Detector) isGateway(ip netip.Addr, boundMAC packet.MAC, known bool) bool {
	for _, g := range d.cfg.Gateways {
		if g == ip {
			return true
		}
	}
	return known && d.gwVotes > 0 && boundMAC == d.gwMAC
}

// learnGateway votes for the MAC that off-net traffic from local hosts goes
// to (called on flow creation only, to keep the per-packet cost nil).
func (d *Detector) learnGateway(s *packet.Summary) {
	var zero packet.MAC
	if s.DstMAC == zero || s.DstMAC[0]&1 != 0 || isBroadcastish(s.Dst) || !d.isLocal(s.Src) || d.isLocal(s.Dst) {
		return
	}
	switch {
	case d.gwVotes == 0:
		d.gwMAC, d.gwVotes = s.DstMAC, 1
	case d.gwMAC == s.DstMAC:
		d.gwVotes = min(d.gwVotes+1, 1000)
	default:
		d.gwVotes--
	}
}

func usableMAC(m packet.MAC) bool {
	var zero packet.MAC
	return m != zero && m[0]&1 == 0
}

// learnFromTraffic binds a local address to the Ethernet source of its
// packets once its flow was answered: called for the client's second packet
// after an answer and for the server's first answer.
func (d *Detector) learnFromTraffic(s *packet.Summary, f *flow.Flow, toServer bool) {
	if f == nil || !usableMAC(s.SrcMAC) || !s.Src.Is4() {
		return
	}
	if toServer {
		if f.PktsToServer != 2 || f.PktsToClient == 0 {
			return
		}
	} else if f.PktsToClient != 1 || f.PktsToServer == 0 {
		return
	}
	if !d.isLocal(s.Src) || isBroadcastish(s.Src) {
		return
	}
	b, fresh := d.binds.upsert(s.Src)
	ts := stampOf(s.TS)
	switch {
	case fresh:
		*b = binding{mac: s.SrcMAC, first: ts, last: ts, how: bindTraffic}
	case b.mac == s.SrcMAC:
		b.last = ts
	case ts.sub(b.last) > d.cfg.ARPWindow:
		// Traffic never contradicts a binding (routed or forwarded
		// packets carry a router's MAC); it only replaces a stale one.
		*b = binding{mac: s.SrcMAC, first: ts, last: ts, how: bindTraffic}
	}
}

func (d *Detector) arpPacket(s *packet.Summary, emit func(*Alert)) {
	d.newHostARP(s, emit)
	ts := s.TS
	// The target fields of a reply name the asker as the replier addressed
	// it: strong evidence of the asker's binding.
	if s.ARPOp == packet.ARPReply && s.ARPTargetIP.IsValid() && !s.ARPTargetIP.IsUnspecified() &&
		usableMAC(s.ARPTargetMAC) && s.ARPTargetIP != s.ARPSenderIP {
		d.arpLearn(s, s.ARPTargetIP, s.ARPTargetMAC, bindTarget, ts, emit)
	}
	ip, mac := s.ARPSenderIP, s.ARPSenderMAC
	if !ip.IsValid() || ip.IsUnspecified() || !usableMAC(mac) {
		return // ARP probes (RFC 5227) claim nothing
	}
	d.arpLearn(s, ip, mac, bindSender, ts, emit)
}

// arpLearn records that ip is at mac (how says which evidence) and raises
// arp.spoof when that contradicts a binding still in use.
func (d *Detector) arpLearn(s *packet.Summary, ip netip.Addr, mac packet.MAC, how uint8, ts time.Time, emit func(*Alert)) {
	b, fresh := d.binds.upsert(ip)
	n := stampOf(ts)
	if fresh {
		*b = binding{mac: mac, first: n, last: n, how: how}
		return
	}
	if b.mac == mac {
		b.last = n
		b.how = max(b.how, how)
		return
	}
	if n.sub(b.last) > d.cfg.ARPWindow {
		// The old holder was silent for long: DHCP gave the address away.
		d.rebinds++
		*b = binding{mac: mac, first: n, last: n, how: how}
		return
	}
	// A contradiction. Who lies? A sender claim contradicting a binding
	// is the claimer's; target fields contradicting a binding learned from
	// an earlier claim expose that claim (the replier addressed the real
	// holder), and then the real holder's binding is restored.
	held, heldHow, heldFirst, heldLast := b.mac, b.how, b.first, b.last
	claimer, holder := mac, held
	if how == bindTarget {
		if heldHow != bindSender {
			return // two weak views disagree: nothing to say
		}
		claimer, holder = held, mac
		*b = binding{mac: mac, first: n, last: n, how: how}
	}
	b.claims++
	claims := b.claims
	gw := d.isGateway(ip, holder, true)
	target := s.ARPTargetIP
	d.fire(emit, RuleARPSpoof, supKey{actor: ip, extra: macKey(claimer)}, float64(claims), ts, func(a *Alert) {
		a.Src, a.Dst, a.Proto = ip, target, "ARP"
		what := ""
		if gw {
			what = " (the gateway)"
		}
		a.Signature = fmt.Sprintf("arp.spoof: %s claimed %s%s, which is at %s", claimer, ip, what, holder)
		a.Evidence["reason"] = "binding contradicted"
		a.Evidence["mac"] = claimer.String()
		a.Evidence["old_mac"] = holder.String()
		a.Evidence["known_from"] = bindHow[heldHow]
		a.Evidence["contradicted_by"] = bindHow[how]
		a.Evidence["old_first_seen"] = rfc3339(heldFirst.time())
		a.Evidence["old_last_seen"] = rfc3339(heldLast.time())
		a.Evidence["claims"] = claims
		a.Evidence["gateway"] = gw
		a.Evidence["target_mac"] = s.ARPTargetMAC.String()
		a.Evidence["eth_src"] = s.SrcMAC.String()
		if s.ARPOp == packet.ARPReply {
			a.Evidence["arp_op"] = "reply"
		} else {
			a.Evidence["arp_op"] = "request"
		}
	})
}

// macHash is the table hash of a MAC address.
func macHash(m packet.MAC) uint64 { return mix64(macKey(m)) }

func macKey(m packet.MAC) uint64 {
	var k uint64
	for _, b := range m {
		k = k<<8 | uint64(b)
	}
	return k
}

func (d *Detector) expireARP(now time.Time) {
	// Bindings live as long as a typical ARP cache entry lives in a switch
	// (4 h).
	d.binds.expire(now.Add(-4 * time.Hour))
}

func (d *Detector) arpStats(out map[string]uint64) {
	d.binds.stats(out)
	out["arp.rebinds"] = d.rebinds
}

// ARP sweeps: one host asking who-has for many addresses (nmap -PR,
// arp-scan, netdiscover). Hosts ask only for the few peers they talk to;
// the gateway asks for many (it routes to everyone) and is left out.

type arpSweepEntry struct {
	w               window
	asked, answered uint32
	targets         sketch
	sample          addrSamples
	ip              netip.Addr
	lastTarget      netip.Addr
}

type arpSweep struct {
	arpSweeps *table[packet.MAC, arpSweepEntry]
}

func (d *Detector) initARPSweep() {
	d.arpSweeps = newTable[packet.MAC, arpSweepEntry]("scan.sweep.arp", d.cfg.MaxEntries, func(e *arpSweepEntry) time.Time { return e.w.lastAt() }).withHash(macHash)
}

func (d *Detector) arpSweepPacket(s *packet.Summary, emit func(*Alert)) {
	switch s.ARPOp {
	case packet.ARPReply:
		if e := d.arpSweeps.get(s.ARPTargetMAC); e != nil {
			e.answered++
		}
		return
	case packet.ARPRequest:
	default:
		return
	}
	ip, mac, target := s.ARPSenderIP, s.ARPSenderMAC, s.ARPTargetIP
	if !ip.IsValid() || ip.IsUnspecified() || !target.IsValid() || target == ip || !usableMAC(mac) {
		return // probes and announcements
	}
	if d.gwVotes > 0 && mac == d.gwMAC || d.isDHCPServerMAC(mac) {
		return
	}
	e, _ := d.arpSweeps.upsert(mac)
	if e.w.roll(s.TS, d.cfg.ScanWindow) {
		*e = arpSweepEntry{w: e.w}
	}
	e.asked++
	e.ip, e.lastTarget = ip, target
	e.sample.add(target)
	if !e.targets.add(addrBits(target)) {
		return
	}
	n := e.targets.count()
	// Unlike echo and ACK probes, who-has is what every host sends before
	// talking to a neighbour, so even at machine pace most requests must
	// go unanswered (a client fetching from 30 local addresses in a
	// second gets 30 answers; nmap -PR over a /24 gets a few).
	if e.answered*2 >= e.asked {
		return
	}
	slow := n >= d.cfg.SweepHosts
	fast := n >= d.cfg.SweepFastHosts && s.TS.Sub(e.w.firstAt()) <= d.cfg.SweepFastSpan
	if !slow && !fast {
		return
	}
	d.fire(emit, RuleScanSweep, supKey{actor: ip, extra: 1<<63 | macKey(mac)}, float64(n), s.TS, func(a *Alert) {
		a.Src, a.Dst, a.Proto = ip, target, "ARP"
		a.Signature = fmt.Sprintf("scan.sweep: %s asked ARP who-has for %d addresses", ip, n)
		a.Evidence["hosts"] = n
		a.Evidence["mac"] = mac.String()
		a.Evidence["requests"] = e.asked
		a.Evidence["answered"] = e.answered
		a.Evidence["span_ms"] = s.TS.Sub(e.w.firstAt()).Milliseconds()
		a.Evidence["sample_hosts"] = e.sample.list()
		a.Evidence["first_seen"] = rfc3339(e.w.firstAt())
		a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
	})
}

func (d *Detector) expireARPSweep(now time.Time) { d.arpSweeps.expire(now.Add(-d.cfg.ScanWindow)) }

func (d *Detector) arpSweepStats(out map[string]uint64) { d.arpSweeps.stats(out) }

func init() {
	registerFamily(family{name: "arp.sweep", init: (*Detector).initARPSweep, expire: (*Detector).expireARPSweep, stats: (*Detector).arpSweepStats})
	registerFamily(family{name: "arp", init: (*Detector).initARP, expire: (*Detector).expireARP, stats: (*Detector).arpStats})
}
