package detect

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// dhcp.starvation: a starvation tool (dhcpstarv, yersinia, DHCPig) asks a
// DHCP server for addresses under many invented client hardware addresses
// until the pool is empty, so real clients get none and a rogue server can
// answer them. Seen from the segment: DHCPDISCOVERs and REQUESTs for many
// distinct client addresses (chaddr) in seconds, often all sent from one
// Ethernet source. A boot storm also brings many clients, but each sends
// from its own hardware address and only a few per second.

type dhcpState struct {
	// dhcpServers are the hosts seen answering DHCP (67 -> 68). A server
	// checks each address before it offers it (ARP, ICMP echo: RFC 2131
	// 4.4.1) and sends the offer to it: under starvation that is hundreds
	// of addresses a second, caused by the starving client, not a sweep.
	dhcpServers [8]netip.Addr
	dhcpSrvMACs [8]packet.MAC
	dhcpSrvNext int
	dhcpW       window
	dhcpClients sketch
	dhcpMsgs    uint32
	dhcpSpoofed uint32 // messages whose Ethernet source is not the chaddr
	dhcpSrc     packet.MAC
	dhcpVotes   int32
	dhcpSample  addrSamples
}

// dhcpClientRequest parses a BOOTP request (op 1) sent to a server and
// returns its client hardware address, whether it was relayed, and whether
// it is a DISCOVER or REQUEST.
func dhcpClientRequest(p []byte) (chaddr packet.MAC, relayed, ok bool) {
	if len(p) < 240 || p[0] != 1 || p[1] != 1 || p[2] != 6 {
		return chaddr, false, false
	}
	if binary.BigEndian.Uint32(p[236:240]) != 0x63825363 {
		return chaddr, false, false
	}
	copy(chaddr[:], p[28:34])
	relayed = binary.BigEndian.Uint32(p[24:28]) != 0
	opts := p[240:]
	for i := 0; i < len(opts); {
		code := opts[i]
		if code == 0 {
			i++
			continue
		}
		if code == 255 || i+1 >= len(opts) {
			break
		}
		n := int(opts[i+1])
		if i+2+n > len(opts) {
			break
		}
		if code == 53 && n == 1 {
			t := opts[i+2]
			return chaddr, relayed, t == 1 || t == 3
		}
		i += 2 + n
	}
	return chaddr, relayed, false
}

// noteDHCPServer records a host answering DHCP.
func (d *Detector) noteDHCPServer(s *packet.Summary) {
	if d.isDHCPServer(s.Src) {
		return
	}
	i := d.dhcpSrvNext % len(d.dhcpServers)
	d.dhcpServers[i], d.dhcpSrvMACs[i] = s.Src, s.SrcMAC
	d.dhcpSrvNext++
}

func (d *Detector) isDHCPServer(a netip.Addr) bool {
	for _, s := range d.dhcpServers {
		if s == a && a.IsValid() {
			return true
		}
	}
	return false
}

func (d *Detector) isDHCPServerMAC(m packet.MAC) bool {
	for i, s := range d.dhcpServers {
		if s.IsValid() && d.dhcpSrvMACs[i] == m {
			return true
		}
	}
	return false
}

func (d *Detector) dhcpPacket(s *packet.Summary, emit func(*Alert)) {
	chaddr, relayed, ok := dhcpClientRequest(s.Payload)
	if !ok || !usableMAC(chaddr) {
		return
	}
	if d.dhcpW.roll(s.TS, d.cfg.DHCPStarveWindow) {
		d.dhcpClients, d.dhcpMsgs, d.dhcpSpoofed, d.dhcpVotes, d.dhcpSample = sketch{}, 0, 0, 0, addrSamples{}
	}
	d.dhcpMsgs++
	if !relayed && chaddr != s.SrcMAC {
		d.dhcpSpoofed++
	}
	switch {
	case d.dhcpVotes == 0:
		d.dhcpSrc, d.dhcpVotes = s.SrcMAC, 1
	case d.dhcpSrc == s.SrcMAC:
		d.dhcpVotes++
	default:
		d.dhcpVotes--
	}
	if !d.dhcpClients.add(uint32(macKey(chaddr)) ^ uint32(macKey(chaddr)>>32)) {
		return
	}
	n := d.dhcpClients.count()
	// Many clients at machine pace, or fewer all asked for by one sender
	// that is none of them.
	oneSender := n >= d.cfg.DHCPStarveClients/5 && d.dhcpSpoofed*10 >= d.dhcpMsgs*9
	if n < d.cfg.DHCPStarveClients && !oneSender {
		return
	}
	d.fire(emit, RuleDHCPStarve, supKey{}, float64(n), s.TS, func(a *Alert) {
		a.Src, a.Dst, a.DstPort, a.Proto = s.Src, s.Dst, 67, "UDP"
		if !a.Src.IsValid() {
			a.Src = netip.IPv4Unspecified()
		}
		a.Signature = fmt.Sprintf("dhcp.starvation: %d DHCP client addresses asked for leases in %s", n, d.cfg.DHCPStarveWindow)
		if oneSender {
			a.Signature = fmt.Sprintf("dhcp.starvation: %s asked for DHCP leases for %d client addresses in %s", d.dhcpSrc, n, d.cfg.DHCPStarveWindow)
		}
		a.Evidence["clients"] = n
		a.Evidence["messages"] = d.dhcpMsgs
		a.Evidence["not_from_client"] = d.dhcpSpoofed
		a.Evidence["top_eth_src"] = d.dhcpSrc.String()
		a.Evidence["window_s"] = int(d.cfg.DHCPStarveWindow / time.Second)
		a.Evidence["first_seen"] = rfc3339(d.dhcpW.firstAt())
		a.Evidence["last_seen"] = rfc3339(d.dhcpW.lastAt())
	})
}
