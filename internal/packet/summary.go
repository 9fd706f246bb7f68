// Package packet decodes raw frames into a compact Summary with one
// gopacket.DecodingLayerParser and preallocated layers. gopacket types never
// leave this package: the rest of the engine sees only Summary.
package packet

import (
	"net/netip"
	"strconv"
	"time"
)

// Link types understood by Decode (pcap LINKTYPE_ values).
const (
	LinkNull      uint16 = 0
	LinkEthernet  uint16 = 1
	LinkRaw12     uint16 = 12
	LinkRaw14     uint16 = 14
	LinkRaw       uint16 = 101
	LinkLoop      uint16 = 108
	LinkLinuxSLL  uint16 = 113
	LinkIPv4      uint16 = 228
	LinkIPv6      uint16 = 229
	LinkLinuxSLL2 uint16 = 276
)

// IP protocol numbers the engine cares about.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
)

// ProtoName is the name EVE and the console use for an IP protocol number:
// Suricata's (IANA's keyword) for the ones that make flows ("TCP", "UDP",
// "ICMP", "IPv6-ICMP", "SCTP", "IP-in-IP", "IPv6", "GRE", "ESP", "AH"),
// otherwise the number.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoICMP:
		return "ICMP"
	case ProtoICMPv6:
		return "IPv6-ICMP"
	case ProtoSCTP:
		return "SCTP"
	case 4:
		return "IP-in-IP" // the carrier of IPv4 in IP, a flow in Suricata
	case 41:
		return "IPv6" // the carrier of IPv6 in IP
	case 47:
		return "GRE"
	case 50:
		return "ESP"
	case 51:
		return "AH"
	}
	return strconv.Itoa(int(p))
}

// TCP flag bits as they appear in the TCP header's flags byte.
const (
	TCPFin uint8 = 0x01
	TCPSyn uint8 = 0x02
	TCPRst uint8 = 0x04
	TCPPsh uint8 = 0x08
	TCPAck uint8 = 0x10
	TCPUrg uint8 = 0x20
	TCPEce uint8 = 0x40
	TCPCwr uint8 = 0x80
)

// ARP operations.
const (
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// MAC is an Ethernet hardware address; comparable and allocation-free.
type MAC [6]byte

// String formats the address as aa:bb:cc:dd:ee:ff.
func (m MAC) String() string {
	const hexd = "0123456789abcdef"
	var b [17]byte
	for i, v := range m {
		if i > 0 {
			b[i*3-1] = ':'
		}
		b[i*3] = hexd[v>>4]
		b[i*3+1] = hexd[v&0xf]
	}
	return string(b[:])
}

// Summary is what the engine knows about one frame. Payload aliases the frame
// buffer and is only valid during the call that received the Summary.
type Summary struct {
	TS      time.Time
	CapLen  int // bytes captured, link header included
	WireLen int // bytes on the wire
	Index   uint64

	// Link layer (zero when the link type has no MACs).
	SrcMAC, DstMAC MAC
	VLAN           [2]uint16 // outer first; 0 means absent
	VLAN3          uint16    // a third tag, which Suricata also keys flows on
	VLANCount      uint8
	EtherType      uint16
	// TunnelDepth is how many tunnels (GRE, ERSPAN, VXLAN, GENEVE, IP in
	// IP, PPPoE) were taken off to reach the packet described; Suricata
	// keys flows on it.
	TunnelDepth uint8

	// ARP, when IsARP.
	IsARP                      bool
	ARPOp                      uint16
	ARPSenderMAC, ARPTargetMAC MAC
	ARPSenderIP, ARPTargetIP   netip.Addr

	// Network layer; IPVersion is 0 when there is no IP header.
	IPVersion uint8
	Src, Dst  netip.Addr
	Proto     uint8 // IP protocol (next header after IPv6 extension headers)
	TTL       uint8
	IPLen     int  // IP total length as the header claims
	Fragment  bool // part of a fragmented datagram
	FragFirst bool // first fragment (offset 0, more fragments set)

	// Transport layer. Ports are zero for protocols without ports.
	HasL4            bool // the transport header decoded (false for non-first fragments)
	SrcPort, DstPort uint16
	TCPFlags         uint8
	Seq, Ack         uint32
	Window           uint16
	ICMPType         uint8
	ICMPCode         uint8
	ICMPID, ICMPSeq  uint16
	// Quoted is the packet an ICMPv4 destination unreachable quotes, when
	// it quotes an IPv4 header and a whole TCP header or a UDP header:
	// Suricata counts such an error in the quoted packet's flow.
	Quoted Quoted

	// Payload is the transport payload (TCP/UDP data, ICMP body after the
	// 8-byte header), trimmed to what the IP length claims.
	Payload []byte

	// Truncated is set when the frame was cut short of what its headers claim.
	Truncated bool
}

// Quoted is the IPv4 packet an ICMP error quotes; Proto is 0 when there is
// none (or not enough of it to name a flow).
type Quoted struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
}

// quotedIn reads the packet an ICMPv4 destination unreachable quotes, with
// Suricata's conditions (ICMPV4_DEST_UNREACH_IS_VALID): a known code, an
// IPv4 header, then all 20 bytes of a TCP header or a UDP header (a router
// that quotes only 8 bytes of TCP names no flow).
func quotedIn(typ, code uint8, b []byte) Quoted {
	if typ != 3 || code > 15 || len(b) < 20 || b[0]>>4 != 4 {
		return Quoted{}
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || len(b) < hl {
		return Quoted{}
	}
	q := Quoted{Src: netip.AddrFrom4([4]byte(b[12:16])), Dst: netip.AddrFrom4([4]byte(b[16:20])), Proto: b[9]}
	l4 := b[hl:]
	switch {
	case q.Proto == ProtoTCP && len(l4) >= 20, q.Proto == ProtoUDP && len(l4) >= 8:
		q.SrcPort, q.DstPort = uint16(l4[0])<<8|uint16(l4[1]), uint16(l4[2])<<8|uint16(l4[3])
		return q
	}
	return Quoted{}
}

// AppendAddr appends a as Suricata writes addresses in EVE: IPv4 dotted,
// IPv6 as all eight groups of four lowercase hex digits, never compressed
// ("fe80:0000:0000:0000:020c:29ff:fef3:cf38"), IPv4-mapped ones included.
func AppendAddr(b []byte, a netip.Addr) []byte {
	if !a.Is6() {
		return a.AppendTo(b)
	}
	const hexd = "0123456789abcdef"
	r := a.As16()
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexd[r[i]>>4], hexd[r[i]&0xf], hexd[r[i+1]>>4], hexd[r[i+1]&0xf])
	}
	return b
}
