package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ErrUnknownLink is returned for a link type Decode does not understand.
var ErrUnknownLink = errors.New("unsupported link type")

var errShortCHDLC = errors.New("Cisco HDLC header truncated")

// Decoder turns raw frames into Summaries. It owns one DecodingLayerParser and
// its preallocated layers, so it is not safe for concurrent use: give each
// packet goroutine its own Decoder.
type Decoder struct {
	eth      layers.Ethernet
	dot1q    layers.Dot1Q
	arp      layers.ARP
	ip4      ip4Layer
	ip6      ip6Layer
	ip6ext   layers.IPv6ExtensionSkipper
	tcp      layers.TCP
	udp      layers.UDP
	icmp4    layers.ICMPv4
	icmp6    layers.ICMPv6
	sll      layers.LinuxSLL
	loopback layers.Loopback

	parser  *gopacket.DecodingLayerParser
	fromIP4 gopacket.DecodingLayerFunc
	fromIP6 gopacket.DecodingLayerFunc
	fromSLL gopacket.DecodingLayerFunc
	fromLo  gopacket.DecodingLayerFunc
	fromARP gopacket.DecodingLayerFunc
	fromVLN gopacket.DecodingLayerFunc
	decoded []gopacket.LayerType

	// carriers are the frame's tunnel carriers (see Carriers).
	carriers  [maxTunnelDepth]Summary
	ncarriers int

	// Errors counts frames that failed to decode past the link layer.
	Errors uint64
}

// ip4Layer is IPv4 that ends the layer parser's pass at IP in IP: decap
// follows it one level at a time, so the outer header (a flow of its own)
// is read before the inner one overwrites the layer.
type ip4Layer struct{ layers.IPv4 }

// NextLayerType stops at an encapsulated IP header.
func (l *ip4Layer) NextLayerType() gopacket.LayerType { return stopAtIP(l.IPv4.NextLayerType()) }

// ip6Layer is IPv6 that ends the parser's pass at IP in IP, as ip4Layer.
type ip6Layer struct{ layers.IPv6 }

// NextLayerType stops at an encapsulated IP header.
func (l *ip6Layer) NextLayerType() gopacket.LayerType { return stopAtIP(l.IPv6.NextLayerType()) }

// nextHeader is the protocol after the fixed header and any hop-by-hop
// options, which gopacket folds into the IPv6 layer.
func (l *ip6Layer) nextHeader() layers.IPProtocol {
	if l.HopByHop != nil {
		return l.HopByHop.NextHeader
	}
	return l.NextHeader
}

func stopAtIP(t gopacket.LayerType) gopacket.LayerType {
	if t == layers.LayerTypeIPv4 || t == layers.LayerTypeIPv6 {
		return gopacket.LayerTypeZero
	}
	return t
}

// NewDecoder builds a Decoder with every layer preallocated.
func NewDecoder() *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 16)}
	d.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet,
		&d.eth, &d.dot1q, &d.arp, &d.ip4, &d.ip6, &d.ip6ext, &d.tcp, &d.udp,
		&d.icmp4, &d.icmp6, &d.sll, &d.loopback)
	d.parser.IgnoreUnsupported = true
	// The other link types start the same layer set at a different layer.
	dlc := gopacket.DecodingLayerContainer(gopacket.DecodingLayerArray(nil))
	for _, l := range []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.arp, &d.ip4, &d.ip6, &d.ip6ext, &d.tcp, &d.udp, &d.icmp4, &d.icmp6, &d.sll, &d.loopback} {
		dlc = dlc.Put(l)
	}
	d.parser.SetDecodingLayerContainer(dlc)
	d.fromIP4 = dlc.LayersDecoder(layers.LayerTypeIPv4, d.parser)
	d.fromIP6 = dlc.LayersDecoder(layers.LayerTypeIPv6, d.parser)
	d.fromSLL = dlc.LayersDecoder(layers.LayerTypeLinuxSLL, d.parser)
	d.fromLo = dlc.LayersDecoder(layers.LayerTypeLoopback, d.parser)
	d.fromARP = dlc.LayersDecoder(layers.LayerTypeARP, d.parser)
	d.fromVLN = dlc.LayersDecoder(layers.LayerTypeDot1Q, d.parser)
	return d
}

// Decode fills s from one frame of the given link type. It never panics on
// garbage: what decodes is kept, and the error says what did not. A frame
// that decodes only partly still fills s with what it had (for example the
// IP header of a packet whose TCP header is cut).
func (d *Decoder) Decode(link uint16, data []byte, ts time.Time, wireLen int, s *Summary) (err error) {
	*s = Summary{TS: ts, CapLen: len(data), WireLen: wireLen}
	d.ncarriers = 0
	if wireLen < len(data) {
		s.WireLen = len(data)
	}
	if link == LinkEthernet {
		if d.fast(data, s) {
			return nil
		}
		*s = Summary{TS: ts, CapLen: len(data), WireLen: s.WireLen}
	}
	return d.decodeLayers(link, data, s)
}

// decodeLayers is Decode through the layer parser, for every frame fast
// does not take.
func (d *Decoder) decodeLayers(link uint16, data []byte, s *Summary) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decode: panic in layer decoder: %v", r)
		}
		if err != nil {
			d.Errors++
		}
	}()
	d.parser.Truncated = false
	var typ gopacket.LayerType
	switch link {
	case LinkEthernet:
		err = d.parser.DecodeLayers(data, &d.decoded)
	case LinkLinuxSLL:
		typ, err = d.fromSLL(data, &d.decoded)
	case LinkRaw, LinkRaw12, LinkRaw14:
		if len(data) == 0 {
			return errors.New("decode: empty raw IP packet")
		}
		switch data[0] >> 4 {
		case 4:
			typ, err = d.fromIP4(data, &d.decoded)
		case 6:
			typ, err = d.fromIP6(data, &d.decoded)
		default:
			return fmt.Errorf("decode: raw IP packet with version %d", data[0]>>4)
		}
	case LinkIPv4:
		typ, err = d.fromIP4(data, &d.decoded)
	case LinkIPv6:
		typ, err = d.fromIP6(data, &d.decoded)
	case LinkNull, LinkLoop:
		typ, err = d.fromLo(data, &d.decoded)
	case LinkLinuxSLL2:
		err = d.decodeSLL2(data)
	case LinkCHDLC:
		err = d.decodeCHDLC(data)
	default:
		return fmt.Errorf("decode: %w %d", ErrUnknownLink, link)
	}
	_ = typ // an unsupported next layer simply ends decoding
	err = d.decap(s, err)
	s.Truncated = d.parser.Truncated
	d.fill(s)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// fast decodes the commonest frame by hand, with no layer parser: Ethernet
// II with at most one 802.1Q tag, IPv4 without options or fragmentation or IPv6 without extension
// headers, whole in the frame, and TCP (with well-formed options), UDP
// that is no tunnel, ICMP or ICMPv6. It returns false for anything else,
// perhaps with some fields of s written (Decode clears them), and the
// frame then goes through the parser: a flood is mostly such frames, and the parser's generic pass
// (an interface call and a type lookup per layer, a deferred recover, the
// ports' next-layer tables) cost more than reading the headers. The
// Summary is the parser's to the field (TestFastDecodeAsParser,
// FuzzFastDecodeAsParser).
func (d *Decoder) fast(data []byte, s *Summary) bool {
	if len(data) < 14+20 {
		return false
	}
	et, ip := binary.BigEndian.Uint16(data[12:14]), data[14:]
	if et == uint16(layers.EthernetTypeDot1Q) {
		// One 802.1Q tag (two or 802.1ad go to the parser).
		if et = binary.BigEndian.Uint16(ip[2:4]); et != uint16(layers.EthernetTypeIPv4) && et != uint16(layers.EthernetTypeIPv6) {
			return false
		}
		s.VLANCount, s.VLAN[0] = 1, binary.BigEndian.Uint16(ip[0:2])&0x0fff
		ip = ip[4:]
	}
	var l4 []byte
	var proto uint8
	switch {
	case et == uint16(layers.EthernetTypeIPv4) && len(ip) >= 20 && ip[0] == 0x45:
		n := int(binary.BigEndian.Uint16(ip[2:4]))
		if n < 20 || n > len(ip) || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
			return false // truncated, TSO's zero length, or a fragment
		}
		if proto = ip[9]; proto != ProtoTCP && proto != ProtoUDP && proto != ProtoICMP {
			return false
		}
		s.IPVersion, s.IPLen, s.TTL = 4, n, ip[8]
		s.Src, s.Dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		l4 = ip[20:n]
	case et == uint16(layers.EthernetTypeIPv6) && len(ip) >= 40 && ip[0]>>4 == 6:
		n := int(binary.BigEndian.Uint16(ip[4:6]))
		if n == 0 || 40+n > len(ip) {
			return false // a jumbogram or truncated
		}
		if proto = ip[6]; proto != ProtoTCP && proto != ProtoUDP && proto != ProtoICMPv6 {
			return false // extension headers go to the parser
		}
		s.IPVersion, s.IPLen, s.TTL = 6, n+40, ip[7]
		s.Src, s.Dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		l4 = ip[40 : 40+n]
	default:
		return false
	}
	switch proto {
	case ProtoTCP:
		if len(l4) < 20 {
			return false
		}
		off := int(l4[12]>>4) * 4
		if off < 20 || off > len(l4) || !tcpOptionsOK(l4[20:off]) {
			return false
		}
		s.SrcPort, s.DstPort = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
		s.Seq, s.Ack = binary.BigEndian.Uint32(l4[4:8]), binary.BigEndian.Uint32(l4[8:12])
		s.Window = binary.BigEndian.Uint16(l4[14:16])
		s.TCPFlags = l4[13] // the package's flag bits are the header's
		s.Payload = l4[off:]
	case ProtoUDP:
		if len(l4) < 8 {
			return false
		}
		ul := int(binary.BigEndian.Uint16(l4[4:6]))
		sp, dp := binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
		if ul < 8 || ul > len(l4) || dp == portVXLAN || dp == portGeneve || sp == portGeneve {
			return false
		}
		s.SrcPort, s.DstPort = sp, dp
		s.Payload = l4[8:ul]
	case ProtoICMP:
		if len(l4) < 8 {
			return false
		}
		s.ICMPType, s.ICMPCode = l4[0], l4[1]
		s.ICMPID, s.ICMPSeq = binary.BigEndian.Uint16(l4[4:6]), binary.BigEndian.Uint16(l4[6:8])
		s.Payload = l4[8:]
		s.Quoted = quotedIn(s.ICMPType, s.ICMPCode, s.Payload)
	case ProtoICMPv6:
		if len(l4) < 4 {
			return false
		}
		s.ICMPType, s.ICMPCode = l4[0], l4[1]
		p := l4[4:]
		if (s.ICMPType == 128 || s.ICMPType == 129) && len(p) >= 4 {
			s.ICMPID, s.ICMPSeq = binary.BigEndian.Uint16(p[0:2]), binary.BigEndian.Uint16(p[2:4])
			p = p[4:]
		}
		s.Payload = p
	}
	s.Proto = proto
	s.HasL4 = true
	copy(s.DstMAC[:], data[0:6])
	copy(s.SrcMAC[:], data[6:12])
	s.EtherType = et
	return true
}

// tcpOptionsOK says whether gopacket's TCP layer would read options b
// without an error: every option but end-of-list and no-op has a length
// of at least 2 that fits.
func tcpOptionsOK(b []byte) bool {
	for len(b) > 0 {
		switch b[0] {
		case 0:
			return true
		case 1:
			b = b[1:]
		default:
			if len(b) < 2 || b[1] < 2 || int(b[1]) > len(b) {
				return false
			}
			b = b[b[1]:]
		}
	}
	return true
}

// decodeSLL2 handles Linux cooked v2, which gopacket lacks: a 20-byte header
// whose first field is the EtherType.
func (d *Decoder) decodeSLL2(data []byte) error {
	d.decoded = d.decoded[:0]
	if len(data) < 20 {
		return errors.New("Linux SLL2 header truncated")
	}
	proto := binary.BigEndian.Uint16(data[0:2])
	body := data[20:]
	var err error
	switch layers.EthernetType(proto) {
	case layers.EthernetTypeIPv4:
		_, err = d.fromIP4(body, &d.decoded)
	case layers.EthernetTypeIPv6:
		_, err = d.fromIP6(body, &d.decoded)
	case layers.EthernetTypeARP:
		_, err = d.fromARP(body, &d.decoded)
	case layers.EthernetTypeDot1Q:
		_, err = d.fromVLN(body, &d.decoded)
	}
	return err
}

func addrFrom(ip []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a
}

func (d *Decoder) fill(s *Summary) {
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			copy(s.SrcMAC[:], d.eth.SrcMAC)
			copy(s.DstMAC[:], d.eth.DstMAC)
			s.EtherType = uint16(d.eth.EthernetType)
			if s.EtherType == uint16(layers.EthernetTypeDot1Q) || s.EtherType == uint16(layers.EthernetTypeQinQ) {
				vlanTags(s, d.eth.Payload)
			}
		case layers.LayerTypeLinuxSLL:
			if d.sll.AddrLen == 6 {
				copy(s.SrcMAC[:], d.sll.Addr)
			}
			s.EtherType = uint16(d.sll.EthernetType)
		case layers.LayerTypeDot1Q:
			// The one preallocated Dot1Q layer holds only the innermost
			// tag; count tags here and read their ids in vlanTags.
			s.VLANCount++
			s.EtherType = uint16(d.dot1q.Type)
		case layers.LayerTypeARP:
			s.IsARP = true
			s.ARPOp = d.arp.Operation
			if d.arp.HwAddressSize == 6 && d.arp.ProtAddressSize == 4 {
				copy(s.ARPSenderMAC[:], d.arp.SourceHwAddress)
				copy(s.ARPTargetMAC[:], d.arp.DstHwAddress)
				s.ARPSenderIP = addrFrom(d.arp.SourceProtAddress)
				s.ARPTargetIP = addrFrom(d.arp.DstProtAddress)
			}
		case layers.LayerTypeIPv4:
			s.IPVersion = 4
			s.Src, s.Dst = addrFrom(d.ip4.SrcIP), addrFrom(d.ip4.DstIP)
			s.Proto = uint8(d.ip4.Protocol)
			s.TTL = d.ip4.TTL
			s.IPLen = int(d.ip4.Length)
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				s.Fragment = true
				s.FragFirst = d.ip4.FragOffset == 0
				if s.FragFirst {
					// The parser stops at fragments; the first one still
					// carries the transport header, as libpcap assumes.
					if t, ok := d.decodeL4(s.Proto, d.ip4.Payload); ok {
						d.fillL4(s, t)
					}
				}
			}
		case layers.LayerTypeIPv6:
			s.IPVersion = 6
			s.Src, s.Dst = addrFrom(d.ip6.SrcIP), addrFrom(d.ip6.DstIP)
			s.Proto = uint8(d.ip6.NextHeader)
			s.TTL = d.ip6.HopLimit
			s.IPLen = int(d.ip6.Length) + 40
			if raw := d.ip6.Contents[:cap(d.ip6.Contents)]; len(raw) >= 40 && isIPv6Ext(layers.IPProtocol(raw[6])) {
				// Walk the header chain from the fixed header: gopacket
				// folds hop-by-hop into the IPv6 layer, hiding it.
				end := min(len(raw), 40+int(binary.BigEndian.Uint16(raw[4:6])))
				walkIPv6Ext(s, raw[6], raw[40:end])
			}
		}
		if t == layers.LayerTypeTCP || t == layers.LayerTypeUDP || t == layers.LayerTypeICMPv4 || t == layers.LayerTypeICMPv6 {
			d.fillL4(s, t)
		}
	}
	if s.Proto == ProtoSCTP && !s.HasL4 {
		// No SCTP layer in the parser: its common header starts with the
		// two ports, which Suricata keys and logs the flow on.
		var l4 []byte
		switch s.IPVersion {
		case 4:
			l4 = d.ip4.Payload
		case 6:
			if d.ip6.NextHeader == layers.IPProtocolSCTP {
				l4 = d.ip6.Payload
			}
		}
		if len(l4) >= 12 {
			s.HasL4 = true
			s.SrcPort, s.DstPort = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
		}
	}
	if s.Fragment && !s.FragFirst {
		// Later fragments carry no transport header: whatever the parser
		// made of their bytes is not one.
		s.HasL4, s.SrcPort, s.DstPort, s.TCPFlags, s.Payload = false, 0, 0, 0, nil
		s.Quoted = Quoted{}
	}
}

// decodeL4 decodes the transport header of a first fragment by hand.
func (d *Decoder) decodeL4(proto uint8, payload []byte) (gopacket.LayerType, bool) {
	var err error
	var t gopacket.LayerType
	switch proto {
	case ProtoTCP:
		err, t = d.tcp.DecodeFromBytes(payload, d.parser), layers.LayerTypeTCP
	case ProtoUDP:
		err, t = d.udp.DecodeFromBytes(payload, d.parser), layers.LayerTypeUDP
	case ProtoICMP:
		err, t = d.icmp4.DecodeFromBytes(payload, d.parser), layers.LayerTypeICMPv4
	default:
		return 0, false
	}
	return t, err == nil
}

func (d *Decoder) fillL4(s *Summary, t gopacket.LayerType) {
	s.HasL4 = true
	switch t {
	case layers.LayerTypeTCP:
		s.SrcPort, s.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
		s.Seq, s.Ack, s.Window = d.tcp.Seq, d.tcp.Ack, d.tcp.Window
		s.TCPFlags = tcpFlags(&d.tcp)
		s.Payload = d.tcp.Payload
	case layers.LayerTypeUDP:
		s.SrcPort, s.DstPort = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
		s.Payload = d.udp.Payload
	case layers.LayerTypeICMPv4:
		s.ICMPType, s.ICMPCode = d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
		s.ICMPID, s.ICMPSeq = d.icmp4.Id, d.icmp4.Seq
		s.Payload = d.icmp4.Payload
		s.Quoted = quotedIn(s.ICMPType, s.ICMPCode, d.icmp4.Payload)
	case layers.LayerTypeICMPv6:
		s.ICMPType, s.ICMPCode = d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
		p := d.icmp6.Payload // after the 4-byte ICMPv6 header
		if (s.ICMPType == 128 || s.ICMPType == 129) && len(p) >= 4 {
			s.ICMPID, s.ICMPSeq = binary.BigEndian.Uint16(p[0:2]), binary.BigEndian.Uint16(p[2:4])
			p = p[4:]
		}
		s.Payload = p
	}
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= TCPFin
	}
	if t.SYN {
		f |= TCPSyn
	}
	if t.RST {
		f |= TCPRst
	}
	if t.PSH {
		f |= TCPPsh
	}
	if t.ACK {
		f |= TCPAck
	}
	if t.URG {
		f |= TCPUrg
	}
	if t.ECE {
		f |= TCPEce
	}
	if t.CWR {
		f |= TCPCwr
	}
	return f
}

func isIPv6Ext(p layers.IPProtocol) bool {
	switch p {
	case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Fragment, layers.IPProtocolIPv6Destination:
		return true
	}
	return false
}

// walkIPv6Ext follows the extension header chain to find the transport
// protocol and any fragment header.
func walkIPv6Ext(s *Summary, next uint8, b []byte) {
	for i := 0; i < 8 && isIPv6Ext(layers.IPProtocol(next)); i++ {
		if len(b) < 8 {
			return
		}
		n := 8
		if next == uint8(layers.IPProtocolIPv6Fragment) {
			off := binary.BigEndian.Uint16(b[2:4])
			s.Fragment = true
			s.FragFirst = off>>3 == 0
			if off>>3 == 0 && off&1 == 0 {
				// An atomic fragment (offset 0, no more): not really fragmented.
				s.Fragment = false
			}
		} else {
			n = (int(b[1]) + 1) * 8
		}
		next = b[0]
		if len(b) < n {
			return
		}
		b = b[n:]
	}
	s.Proto = next
}

// vlanTags reads the ids of the first three 802.1Q/802.1ad tags, as many
// as Suricata keeps.
func vlanTags(s *Summary, b []byte) {
	for i := 0; i < 3 && len(b) >= 4; i++ {
		id := binary.BigEndian.Uint16(b[0:2]) & 0x0fff
		if i < 2 {
			s.VLAN[i] = id
		} else {
			s.VLAN3 = id
		}
		t := binary.BigEndian.Uint16(b[2:4])
		if t != uint16(layers.EthernetTypeDot1Q) && t != uint16(layers.EthernetTypeQinQ) {
			return
		}
		b = b[4:]
	}
}
