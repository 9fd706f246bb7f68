package detect

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// arp.spoof watches the IP-to-MAC bindings ARP announces, as arpwatch does:
// a binding that changes while the old one is still in use ("flip flop"),
// one MAC claiming many IPs (ettercap/bettercap poisoning a subnet), and
// replies claiming the gateway that nobody asked for (arpspoof's steady
// stream of poison). The alert's Src is the IP whose hardware address was
// claimed, as DESIGN.md says.

type binding struct {
	mac         packet.MAC
	first, last time.Time
	changes     uint32
}

type macEntry struct {
	w      window
	ips    smallSketch
	sample addrSamples
}

type unsolEntry struct {
	w   window
	n   uint32
	mac packet.MAC
}

type arpState struct {
	binds   *table[netip.Addr, binding]
	macs    *table[packet.MAC, macEntry]
	asked   *table[netip.Addr, time.Time] // IP -> last request for it
	unsol   *table[netip.Addr, unsolEntry]
	gwMAC   packet.MAC // learned: the MAC carrying off-net traffic
	gwVotes int
	rebinds uint64 // stale bindings replaced without an alert
}

// Reasons, kept apart in suppression.
const (
	arpChanged uint64 = 1 + iota
	arpManyIPs
	arpUnsolicited
)

func (d *Detector) initARP() {
	n := d.cfg.MaxEntries
	d.binds = newTable[netip.Addr, binding]("arp.bindings", n, func(b *binding) time.Time { return b.last })
	d.macs = newTable[packet.MAC, macEntry]("arp.macs", n, func(e *macEntry) time.Time { return e.w.last })
	d.asked = newTable[netip.Addr, time.Time]("arp.requests", n, func(t *time.Time) time.Time { return *t })
	d.unsol = newTable[netip.Addr, unsolEntry]("arp.unsolicited", n, func(e *unsolEntry) time.Time { return e.w.last })
}

func macKey(m packet.MAC) uint64 {
	var b [8]byte
	copy(b[2:], m[:])
	return binary.BigEndian.Uint64(b[:])
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

func (d *Detector) arpPacket(s *packet.Summary, emit func(*Alert)) {
	ip, mac := s.ARPSenderIP, s.ARPSenderMAC
	d.newHostARP(s, emit)
	if s.ARPOp == packet.ARPRequest && s.ARPTargetIP.IsValid() {
		t, _ := d.asked.upsert(s.ARPTargetIP)
		*t = s.TS
	}
	if !ip.IsValid() || ip.IsUnspecified() {
		return // ARP probes (RFC 5227) claim nothing
	}
	ts := s.TS
	b, fresh := d.binds.upsert(ip)
	old, oldLast := b.mac, b.last
	gw := d.isGateway(ip, old, !fresh)
	if fresh {
		b.mac, b.first = mac, ts
	} else if old != mac {
		if ts.Sub(oldLast) <= d.cfg.ARPWindow {
			b.changes++
			changes := b.changes
			d.fire(emit, RuleARPSpoof, supKey{actor: ip, extra: arpChanged}, 0, ts, func(a *Alert) {
				d.arpAlert(a, s)
				what := ""
				if gw {
					what = " (the gateway)"
				}
				a.Signature = fmt.Sprintf("arp.spoof: %s claimed %s%s, bound to %s until now", mac, ip, what, old)
				a.Evidence["reason"] = "binding changed"
				a.Evidence["old_mac"] = old.String()
				a.Evidence["old_last_seen"] = rfc3339(oldLast)
				a.Evidence["changes"] = changes
				a.Evidence["gateway"] = gw
			})
		} else {
			d.rebinds++
		}
		b.mac, b.first = mac, ts
	}
	b.last = ts

	// One MAC, many IPs.
	m, _ := d.macs.upsert(mac)
	if m.w.roll(ts, d.cfg.ARPWindow) {
		m.ips, m.sample = smallSketch{}, addrSamples{}
	}
	m.sample.add(ip)
	if m.ips.add(hashAddr(ip)) {
		if n := m.ips.count(); n >= d.cfg.ARPMACIPs {
			d.fire(emit, RuleARPSpoof, supKey{extra: arpManyIPs<<48 | macKey(mac)}, float64(n), ts, func(a *Alert) {
				d.arpAlert(a, s)
				a.Signature = fmt.Sprintf("arp.spoof: %s claimed %d IP addresses in %s (latest %s)", mac, n, d.cfg.ARPWindow, ip)
				a.Evidence["reason"] = "one MAC claims many IPs"
				a.Evidence["ips"] = n
				a.Evidence["sample_ips"] = m.sample.list()
				a.Evidence["first_seen"] = rfc3339(m.w.first)
				a.Evidence["last_seen"] = rfc3339(m.w.last)
			})
		}
	}

	// Unsolicited, non-gratuitous replies claiming the gateway. Gratuitous
	// announcements (sender IP == target IP) are how failover (VRRP,
	// keepalived) moves an address; a changed MAC there is caught above.
	if s.ARPOp != packet.ARPReply || !gw || s.ARPTargetIP == ip {
		return
	}
	if t := d.asked.get(ip); t != nil && ts.Sub(*t) <= d.cfg.ARPSolicit && !ts.Before(*t) {
		return
	}
	u, _ := d.unsol.upsert(ip)
	if u.w.roll(ts, d.cfg.ARPWindow) {
		u.n = 0
	}
	u.n++
	u.mac = mac
	// Three in a window: poisoners repeat every 1-10 s, a stray late reply
	// does not.
	if u.n < 3 {
		return
	}
	n := u.n
	d.fire(emit, RuleARPSpoof, supKey{actor: ip, target: s.ARPTargetIP, extra: arpUnsolicited}, float64(n), ts, func(a *Alert) {
		d.arpAlert(a, s)
		a.Signature = fmt.Sprintf("arp.spoof: %s sent %d unsolicited replies claiming the gateway %s to %s", mac, n, ip, s.ARPTargetIP)
		a.Evidence["reason"] = "unsolicited replies for the gateway"
		a.Evidence["replies"] = n
		a.Evidence["first_seen"] = rfc3339(u.w.first)
		a.Evidence["last_seen"] = rfc3339(u.w.last)
	})
}

func (d *Detector) arpAlert(a *Alert, s *packet.Summary) {
	a.Src, a.Dst, a.Proto = s.ARPSenderIP, s.ARPTargetIP, "ARP"
	a.Evidence["mac"] = s.ARPSenderMAC.String()
	a.Evidence["target_mac"] = s.ARPTargetMAC.String()
	a.Evidence["eth_src"] = s.SrcMAC.String()
	if s.ARPOp == packet.ARPReply {
		a.Evidence["arp_op"] = "reply"
	} else {
		a.Evidence["arp_op"] = "request"
	}
}

func (d *Detector) expireARP(now time.Time) {
	// Bindings live as long as a typical ARP cache entry lives in a switch
	// (4 h); the windows expire with their span.
	d.binds.expire(now.Add(-4 * time.Hour))
	d.macs.expire(now.Add(-d.cfg.ARPWindow))
	d.asked.expire(now.Add(-d.cfg.ARPSolicit))
	d.unsol.expire(now.Add(-d.cfg.ARPWindow))
}

func (d *Detector) arpStats(out map[string]uint64) {
	d.binds.stats(out)
	d.macs.stats(out)
	d.asked.stats(out)
	d.unsol.stats(out)
	out["arp.rebinds"] = d.rebinds
}
