package packet

import (
	"encoding/binary"

	"github.com/google/gopacket/layers"
)

// LinkCHDLC is Cisco HDLC (pcap LINKTYPE_C_HDLC).
const LinkCHDLC uint16 = 104

// maxTunnelDepth bounds nested decapsulation: a frame of tunnels within
// tunnels costs a few passes, never an unbounded number.
const maxTunnelDepth = 4

// Ports Suricata decodes UDP tunnels on (its default vxlan and geneve
// ports): the destination port decides, as in Suricata.
const (
	portVXLAN  = 4789
	portGeneve = 6081
)

type tunInner uint8

const (
	tunNone tunInner = iota
	tunEth
	tunIP4
	tunIP6
)

// tunnel is one level of encapsulation as Suricata handles it.
type tunnel struct {
	inner []byte // where decoding resumes
	kind  tunInner
	// counted is the length of the inner packet as Suricata counts it: its
	// pseudo-packet starts after VXLAN's inner Ethernet header but at
	// GENEVE's, at GRE's ERSPAN or PPP header, at IP in IP's inner header.
	counted int
	// carrier says the outer packet is a flow of its own: the UDP datagram
	// of VXLAN and GENEVE and the outer header of IP in IP are (Suricata's
	// DecodeUDP and IP-in-IP decoders set the outer packet up for a flow),
	// GRE and ERSPAN are not.
	carrier bool
	// inline says the inner packet is decoded as part of the same packet,
	// not as a tunnel: a PPPoE session (Suricata's DecodePPPOESession
	// decodes its IP in place), so no depth and the frame's length.
	inline bool
}

func tunnelOf(inner []byte, kind tunInner) tunnel {
	if kind == tunNone {
		return tunnel{}
	}
	return tunnel{inner: inner, kind: kind, counted: len(inner)}
}

// tunnelInner says whether the last decoded layer carries a tunnel Suricata
// decapsulates (GRE with IP, Ethernet, ERSPAN I/II/III or PPP inside,
// VXLAN, GENEVE, IP in IP, a PPPoE session, NSH) and how.
func (d *Decoder) tunnelInner() tunnel {
	if len(d.decoded) == 0 {
		return tunnel{}
	}
	switch d.decoded[len(d.decoded)-1] {
	case layers.LayerTypeIPv4:
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			return tunnel{}
		}
		switch d.ip4.Protocol {
		case layers.IPProtocolGRE:
			return greInner(d.ip4.Payload)
		case layers.IPProtocolIPv4, layers.IPProtocolIPv6:
			return ipInIP(d.ip4.Protocol, d.ip4.Payload)
		}
	case layers.LayerTypeIPv6:
		switch nh := d.ip6.nextHeader(); nh {
		case layers.IPProtocolGRE:
			return greInner(d.ip6.Payload)
		case layers.IPProtocolIPv4, layers.IPProtocolIPv6:
			return ipInIP(nh, d.ip6.Payload)
		}
	case layers.LayerTypeUDP:
		// The destination port decides for VXLAN (RFC 7348, as Suricata 8),
		// either port for GENEVE (Suricata's DecodeGeneveEnabledForPort).
		// The datagram is a flow whether or not the header is valid.
		var t tunnel
		switch {
		case d.udp.DstPort == portVXLAN:
			t = vxlanInner(d.udp.Payload)
		case d.udp.DstPort == portGeneve || d.udp.SrcPort == portGeneve:
			t = geneveInner(d.udp.Payload)
		default:
			return tunnel{}
		}
		t.carrier = t.kind != tunNone
		return t
	case layers.LayerTypeEthernet:
		return inlineInner(d.eth.EthernetType, d.eth.Payload)
	case layers.LayerTypeDot1Q:
		return inlineInner(d.dot1q.Type, d.dot1q.Payload)
	}
	return tunnel{}
}

// ipInIP is IPv4 or IPv6 carried directly in IP (protocol 4 or 41): the
// inner header's version must agree, as Suricata checks.
func ipInIP(proto layers.IPProtocol, b []byte) tunnel {
	if len(b) == 0 {
		return tunnel{}
	}
	switch {
	case proto == layers.IPProtocolIPv4 && b[0]>>4 == 4:
		t := tunnelOf(b, tunIP4)
		t.carrier = true
		return t
	case proto == layers.IPProtocolIPv6 && b[0]>>4 == 6:
		t := tunnelOf(b, tunIP6)
		t.carrier = true
		return t
	}
	return tunnel{}
}

func byEtherType(t uint16, b []byte) tunnel {
	switch t {
	case 0x0800:
		return tunnelOf(b, tunIP4)
	case 0x86dd:
		return tunnelOf(b, tunIP6)
	case 0x6558: // transparent Ethernet bridging
		return tunnelOf(b, tunEth)
	}
	return tunnel{}
}

// greInner reads a GRE header (RFC 2784/2890, and version 1 as PPTP uses).
func greInner(b []byte) tunnel {
	if len(b) < 4 {
		return tunnel{}
	}
	flags, ver, proto := b[0], b[1]&7, binary.BigEndian.Uint16(b[2:4])
	n := 4
	switch ver {
	case 0:
		if flags&0x40 != 0 {
			return tunnel{} // source routing: obsolete, not followed
		}
		if flags&0x80 != 0 {
			n += 4 // checksum and reserved
		}
		if flags&0x20 != 0 {
			n += 4 // key
		}
		if flags&0x10 != 0 {
			n += 4 // sequence number
		}
	case 1:
		if proto != 0x880b || flags&0x20 == 0 {
			return tunnel{}
		}
		n += 4 // payload length and call id
		if flags&0x10 != 0 {
			n += 4
		}
		if b[1]&0x80 != 0 {
			n += 4 // acknowledgment number
		}
	default:
		return tunnel{}
	}
	if len(b) < n {
		return tunnel{}
	}
	p := b[n:]
	switch proto {
	case 0x88be: // ERSPAN: type II has a sequence number and a header, type I neither
		if flags&0x10 == 0 {
			return tunnelOf(p, tunEth)
		}
		if len(p) < 8 {
			return tunnel{}
		}
		// Suricata's pseudo-packet starts at the ERSPAN header.
		return tunnel{inner: p[8:], kind: tunEth, counted: len(p)}
	case 0x22eb: // ERSPAN type III: 12 bytes, 8 more with the platform subheader
		if len(p) < 12 {
			return tunnel{}
		}
		hl := 12
		if p[11]&0x01 != 0 {
			hl += 8
		}
		if len(p) < hl {
			return tunnel{}
		}
		return tunnel{inner: p[hl:], kind: tunEth, counted: len(p)}
	case 0x880b:
		// Suricata's pseudo-packet starts at the PPP header.
		t := pppInner(p)
		t.counted = len(p)
		return t
	}
	return byEtherType(proto, p)
}

// pppInner reads a PPP header (address and control optional, protocol
// field possibly compressed to one byte).
func pppInner(p []byte) tunnel {
	if len(p) >= 2 && p[0] == 0xff && p[1] == 0x03 {
		p = p[2:]
	}
	if len(p) < 1 {
		return tunnel{}
	}
	var proto uint16
	if p[0]&1 != 0 {
		proto, p = uint16(p[0]), p[1:]
	} else {
		if len(p) < 2 {
			return tunnel{}
		}
		proto, p = binary.BigEndian.Uint16(p[0:2]), p[2:]
	}
	switch proto {
	case 0x0021:
		return tunnelOf(p, tunIP4)
	case 0x0057:
		return tunnelOf(p, tunIP6)
	}
	return tunnel{}
}

// etherNSH is the Network Service Header's EtherType (RFC 8300).
const etherNSH layers.EthernetType = 0x894f

// inlineInner is what an Ethernet or VLAN payload of type t carries that
// Suricata decodes in place rather than as a tunnel: a PPPoE session, or a
// packet behind a Network Service Header.
func inlineInner(t layers.EthernetType, b []byte) tunnel {
	var in tunnel
	switch t {
	case layers.EthernetTypePPPoESession:
		in = pppoeInner(b)
	case etherNSH:
		in = nshInner(b)
	default:
		return tunnel{}
	}
	in.inline = true
	return in
}

// nshInner reads a Network Service Header (RFC 8300) as Suricata's
// DecodeNSH does: version 0; the length (in 4-byte words) within the
// packet, 6 words for MD type 1 and at least 2 for type 2, no other MD
// type (the whole byte, as Suricata compares it); then IPv4, IPv6 or
// Ethernet, decoded in place.
func nshInner(b []byte) tunnel {
	if len(b) < 8 || b[0]>>6 != 0 {
		return tunnel{}
	}
	n := int(binary.BigEndian.Uint16(b[0:2])&0x3f) * 4
	if n > len(b) {
		return tunnel{}
	}
	switch md := b[2]; {
	case md == 1 && n != 24, md == 2 && n < 8, md != 1 && md != 2:
		return tunnel{}
	}
	switch b[3] {
	case 1:
		return tunnelOf(b[n:], tunIP4)
	case 2:
		return tunnelOf(b[n:], tunIP6)
	case 3:
		return tunnelOf(b[n:], tunEth)
	}
	return tunnel{}
}

// pppoeInner reads a PPPoE session header (RFC 2516) and its PPP protocol.
func pppoeInner(b []byte) tunnel {
	if len(b) < 8 || b[0] != 0x11 || b[1] != 0 {
		return tunnel{}
	}
	l := int(binary.BigEndian.Uint16(b[4:6]))
	p := b[6:]
	if l < len(p) {
		p = p[:l]
	}
	return pppInner(p)
}

// vxlanInner reads a VXLAN header (RFC 7348) as Suricata does: the I flag
// set, the last reserved byte zero, an inner Ethernet frame carrying IP or
// a VLAN tag (anything else, ARP included, is not decoded further).
// Suricata's pseudo-packet starts after the inner Ethernet header.
func vxlanInner(b []byte) tunnel {
	if len(b) < 8+14 || b[0]&0x08 == 0 || b[7] != 0 {
		return tunnel{}
	}
	switch binary.BigEndian.Uint16(b[8+12 : 8+14]) {
	case 0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100:
		return tunnel{inner: b[8:], kind: tunEth, counted: len(b) - 8 - 14}
	}
	return tunnel{}
}

// geneveInner reads a GENEVE header (RFC 8926) as Suricata does: version
// 0, reserved bits zero, option lengths adding up to the header's.
func geneveInner(b []byte) tunnel {
	if len(b) < 8 || b[0]>>6 != 0 || b[1]&0x3f != 0 || b[7] != 0 {
		return tunnel{}
	}
	hl := 8 + int(b[0]&0x3f)*4
	if len(b) < hl {
		return tunnel{}
	}
	for o := 8; o < hl; {
		o += 4 + int(b[o+3]&0x1f)*4
		if o > hl {
			return tunnel{}
		}
	}
	return byEtherType(binary.BigEndian.Uint16(b[2:4]), b[hl:])
}

// decap follows tunnels from the outer decode: each level re-decodes the
// inner packet into the same layers, so the Summary describes the innermost
// packet, as the one Suricata makes flows of. Lengths become the inner
// packet's as Suricata counts them, and outer VLAN tags are kept. A level
// whose outer packet is a flow in Suricata (VXLAN's and GENEVE's UDP, IP in
// IP's outer header) is kept as a carrier: Carriers returns them.
func (d *Decoder) decap(s *Summary, err error) error {
	d.ncarriers = 0
	for i := 0; i < maxTunnelDepth; i++ {
		t := d.tunnelInner()
		if t.kind == tunNone {
			break
		}
		if s.TunnelDepth == 0 && s.VLANCount == 0 {
			d.outerVLAN(s)
		}
		if t.carrier {
			d.keepCarrier(s)
		}
		if !t.inline {
			s.TunnelDepth++
			s.WireLen -= s.CapLen - t.counted
			s.CapLen = t.counted
		}
		switch t.kind {
		case tunEth:
			err = d.parser.DecodeLayers(t.inner, &d.decoded)
		case tunIP4:
			_, err = d.fromIP4(t.inner, &d.decoded)
		case tunIP6:
			_, err = d.fromIP6(t.inner, &d.decoded)
		}
	}
	// IP in IP behind IPv6 extension headers: the parser went through
	// both IP headers in one pass; only the depth and length are known.
	ips := 0
	for _, t := range d.decoded {
		if t == layers.LayerTypeIPv4 || t == layers.LayerTypeIPv6 {
			ips++
		}
	}
	if ips > 1 {
		s.TunnelDepth = uint8(min(int(s.TunnelDepth)+ips-1, 255))
		last := d.ip4.Contents
		pl := d.ip4.Payload
		for _, t := range d.decoded {
			switch t {
			case layers.LayerTypeIPv4:
				last, pl = d.ip4.Contents, d.ip4.Payload
			case layers.LayerTypeIPv6:
				last, pl = d.ip6.Contents, d.ip6.Payload
			}
		}
		if n := len(last) + len(pl); n < s.CapLen {
			s.WireLen -= s.CapLen - n
			s.CapLen = n
		}
	}
	return err
}

// keepCarrier records the packet the layers describe now, before decap
// replaces them with the inner packet's: the tunnel's carrier, a flow at
// the current depth that is counted, never parsed.
func (d *Decoder) keepCarrier(s *Summary) {
	if d.ncarriers == len(d.carriers) {
		return
	}
	c := &d.carriers[d.ncarriers]
	d.ncarriers++
	*c = Summary{TS: s.TS, CapLen: s.CapLen, WireLen: s.WireLen, Index: s.Index}
	d.fill(c)
	c.VLAN, c.VLAN3, c.VLANCount = s.VLAN, s.VLAN3, s.VLANCount
	c.TunnelDepth = s.TunnelDepth
	c.Payload = nil
}

// Carriers returns the carriers of the frame last decoded, outermost first:
// the UDP datagram of a VXLAN or GENEVE tunnel and the outer header of IP
// in IP, each a flow of its own in Suricata beside the inner packet's. The
// slice and its Summaries are valid until the next Decode.
func (d *Decoder) Carriers() []Summary { return d.carriers[:d.ncarriers] }

// outerVLAN records the outer frame's VLAN tags before the inner frame's
// layers replace it: a tunnelled packet keeps them, as in Suricata.
func (d *Decoder) outerVLAN(s *Summary) {
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			if et := d.eth.EthernetType; et == layers.EthernetTypeDot1Q || et == layers.EthernetTypeQinQ {
				vlanTags(s, d.eth.Payload)
			}
		case layers.LayerTypeDot1Q:
			s.VLANCount++
		}
	}
}

// decodeCHDLC handles Cisco HDLC: address, control, then an EtherType.
func (d *Decoder) decodeCHDLC(data []byte) error {
	d.decoded = d.decoded[:0]
	if len(data) < 4 {
		return errShortCHDLC
	}
	var err error
	switch binary.BigEndian.Uint16(data[2:4]) {
	case 0x0800:
		_, err = d.fromIP4(data[4:], &d.decoded)
	case 0x86dd:
		_, err = d.fromIP6(data[4:], &d.decoded)
	}
	return err
}
