package packet

import (
	"encoding/binary"

	"github.com/google/gopacket"
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

// tunnelInner says whether the last decoded layer carries a tunnel Suricata
// decapsulates (GRE with IP, Ethernet, ERSPAN I/II/III or PPP inside,
// VXLAN, GENEVE, a PPPoE session), and returns the inner bytes and where
// they start. IP-in-IP and IPv6-in-IP are followed by the layer parser
// itself.
func (d *Decoder) tunnelInner() ([]byte, tunInner) {
	if len(d.decoded) == 0 {
		return nil, tunNone
	}
	switch d.decoded[len(d.decoded)-1] {
	case layers.LayerTypeIPv4:
		if d.ip4.Protocol == layers.IPProtocolGRE && d.ip4.Flags&layers.IPv4MoreFragments == 0 && d.ip4.FragOffset == 0 {
			return greInner(d.ip4.Payload)
		}
	case layers.LayerTypeIPv6:
		if d.ip6.NextHeader == layers.IPProtocolGRE {
			return greInner(d.ip6.Payload)
		}
	case layers.LayerTypeUDP:
		switch d.udp.DstPort {
		case portVXLAN:
			return vxlanInner(d.udp.Payload)
		case portGeneve:
			return geneveInner(d.udp.Payload)
		}
	case layers.LayerTypeEthernet:
		if d.eth.EthernetType == layers.EthernetTypePPPoESession {
			return pppoeInner(d.eth.Payload)
		}
	case layers.LayerTypeDot1Q:
		if d.dot1q.Type == layers.EthernetTypePPPoESession {
			return pppoeInner(d.dot1q.Payload)
		}
	}
	return nil, tunNone
}

func byEtherType(t uint16, b []byte) ([]byte, tunInner) {
	switch t {
	case 0x0800:
		return b, tunIP4
	case 0x86dd:
		return b, tunIP6
	case 0x6558: // transparent Ethernet bridging
		return b, tunEth
	}
	return nil, tunNone
}

// greInner reads a GRE header (RFC 2784/2890, and version 1 as PPTP uses).
func greInner(b []byte) ([]byte, tunInner) {
	if len(b) < 4 {
		return nil, tunNone
	}
	flags, ver, proto := b[0], b[1]&7, binary.BigEndian.Uint16(b[2:4])
	n := 4
	switch ver {
	case 0:
		if flags&0x40 != 0 {
			return nil, tunNone // source routing: obsolete, not followed
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
			return nil, tunNone
		}
		n += 4 // payload length and call id
		if flags&0x10 != 0 {
			n += 4
		}
		if b[1]&0x80 != 0 {
			n += 4 // acknowledgment number
		}
	default:
		return nil, tunNone
	}
	if len(b) < n {
		return nil, tunNone
	}
	p := b[n:]
	switch proto {
	case 0x88be: // ERSPAN: type II has a sequence number and a header, type I neither
		if flags&0x10 == 0 {
			return p, tunEth
		}
		if len(p) < 8 {
			return nil, tunNone
		}
		return p[8:], tunEth
	case 0x22eb: // ERSPAN type III: 12 bytes, 8 more with the platform subheader
		if len(p) < 12 {
			return nil, tunNone
		}
		hl := 12
		if p[11]&0x01 != 0 {
			hl += 8
		}
		if len(p) < hl {
			return nil, tunNone
		}
		return p[hl:], tunEth
	case 0x880b:
		return pppInner(p)
	}
	return byEtherType(proto, p)
}

// pppInner reads a PPP header (address and control optional, protocol
// field possibly compressed to one byte).
func pppInner(p []byte) ([]byte, tunInner) {
	if len(p) >= 2 && p[0] == 0xff && p[1] == 0x03 {
		p = p[2:]
	}
	if len(p) < 1 {
		return nil, tunNone
	}
	var proto uint16
	if p[0]&1 != 0 {
		proto, p = uint16(p[0]), p[1:]
	} else {
		if len(p) < 2 {
			return nil, tunNone
		}
		proto, p = binary.BigEndian.Uint16(p[0:2]), p[2:]
	}
	switch proto {
	case 0x0021:
		return p, tunIP4
	case 0x0057:
		return p, tunIP6
	}
	return nil, tunNone
}

// pppoeInner reads a PPPoE session header (RFC 2516) and its PPP protocol.
func pppoeInner(b []byte) ([]byte, tunInner) {
	if len(b) < 8 || b[0] != 0x11 || b[1] != 0 {
		return nil, tunNone
	}
	l := int(binary.BigEndian.Uint16(b[4:6]))
	p := b[6:]
	if l < len(p) {
		p = p[:l]
	}
	return pppInner(p)
}

// vxlanInner reads a VXLAN header (RFC 7348): the I flag must be set.
func vxlanInner(b []byte) ([]byte, tunInner) {
	if len(b) < 8 || b[0]&0x08 == 0 {
		return nil, tunNone
	}
	return b[8:], tunEth
}

// geneveInner reads a GENEVE header (RFC 8926).
func geneveInner(b []byte) ([]byte, tunInner) {
	if len(b) < 8 || b[0]>>6 != 0 {
		return nil, tunNone
	}
	hl := 8 + int(b[0]&0x3f)*4
	if len(b) < hl {
		return nil, tunNone
	}
	return byEtherType(binary.BigEndian.Uint16(b[2:4]), b[hl:])
}

// decap follows tunnels from the outer decode: each level re-decodes the
// inner packet into the same layers, so the Summary describes the innermost
// packet, as the one Suricata makes flows of. Lengths become the inner
// packet's (Suricata counts a tunnelled packet's own bytes) and outer
// VLAN tags are kept.
func (d *Decoder) decap(s *Summary, err error) error {
	for i := 0; i < maxTunnelDepth; i++ {
		inner, kind := d.tunnelInner()
		if kind == tunNone {
			break
		}
		if s.TunnelDepth == 0 && s.VLANCount == 0 {
			d.outerVLAN(s)
		}
		s.TunnelDepth++
		s.WireLen -= s.CapLen - len(inner)
		s.CapLen = len(inner)
		var typ gopacket.LayerType
		switch kind {
		case tunEth:
			err = d.parser.DecodeLayers(inner, &d.decoded)
		case tunIP4:
			typ, err = d.fromIP4(inner, &d.decoded)
		case tunIP6:
			typ, err = d.fromIP6(inner, &d.decoded)
		}
		_ = typ
	}
	// IP in IP: the parser went through both headers in one pass.
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
