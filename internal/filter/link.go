package filter

import (
	"fmt"

	"golang.org/x/net/bpf"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// Link types accepted by Compile: internal/packet's (pcap LINKTYPE_
// values), under the short names this file uses.
const (
	linkNull     = packet.LinkNull
	linkEthernet = packet.LinkEthernet
	linkRaw12    = packet.LinkRaw12
	linkRaw14    = packet.LinkRaw14
	linkRaw      = packet.LinkRaw
	linkLoop     = packet.LinkLoop
	linkSLL      = packet.LinkLinuxSLL
	linkIPv4     = packet.LinkIPv4
	linkIPv6     = packet.LinkIPv6
	linkSLL2     = packet.LinkLinuxSLL2
)

// EtherTypes the compiler tests for.
const (
	etherIP   = 0x0800
	etherIPv6 = 0x86dd
	etherARP  = 0x0806
	etherRARP = 0x8035
)

// layout holds the offsets the code generator uses. They change while
// parsing: each "vlan" moves the type field and network layer 4 bytes on,
// for everything after it in the expression (libpcap's behaviour).
type layout struct {
	linkType  uint16
	offType   uint32 // offset of the EtherType field (Ethernet, SLL, SLL2)
	offNL     uint32 // offset of the network-layer header
	hasEther  bool   // Ethernet addresses are present
	canVLAN   bool
	typeField bool // the link header has an EtherType-like field
}

func newLayout(linkType uint16) (layout, error) {
	l := layout{linkType: linkType}
	switch linkType {
	case linkEthernet:
		l.offType, l.offNL, l.hasEther, l.canVLAN, l.typeField = 12, 14, true, true, true
	case linkSLL:
		l.offType, l.offNL, l.typeField = 14, 16, true
	case linkSLL2:
		l.offType, l.offNL, l.typeField = 0, 20, true
	case linkRaw, linkRaw12, linkRaw14, linkIPv4, linkIPv6:
		l.offNL = 0
	case linkNull, linkLoop:
		l.offNL = 4
	default:
		return l, fmt.Errorf("compile capture filter: unsupported link type %d", linkType)
	}
	return l, nil
}

// linkName names a link type in error messages the way tcpdump does.
func linkName(lt uint16) string {
	switch lt {
	case linkEthernet:
		return "Ethernet"
	case linkSLL:
		return "Linux cooked v1"
	case linkSLL2:
		return "Linux cooked v2"
	case linkRaw, linkRaw12, linkRaw14:
		return "Raw IP"
	case linkIPv4:
		return "Raw IPv4"
	case linkIPv6:
		return "Raw IPv6"
	case linkNull:
		return "BSD loopback"
	case linkLoop:
		return "OpenBSD loopback"
	}
	return fmt.Sprintf("link type %d", lt)
}

// afInet6 are the AF_INET6 values of the BSDs (24), FreeBSD (28) and Darwin (30),
// which libpcap all accepts as IPv6 on loopback captures.
var afInet6 = []uint32{24, 28, 30}

// linkProto returns a test that the link layer carries EtherType proto.
func (l *layout) linkProto(proto uint16) *node {
	switch l.linkType {
	case linkEthernet, linkSLL, linkSLL2:
		return cmp(l.offType, 2, uint32(proto))
	case linkRaw, linkRaw12, linkRaw14:
		switch proto {
		case etherIP:
			return mcmp(0, 1, 0x40, 0xf0)
		case etherIPv6:
			return mcmp(0, 1, 0x60, 0xf0)
		}
		return falseNode
	case linkIPv4:
		if proto == etherIP {
			return trueNode
		}
		return falseNode
	case linkIPv6:
		if proto == etherIPv6 {
			return trueNode
		}
		return falseNode
	case linkNull, linkLoop:
		var afs []uint32
		switch proto {
		case etherIP:
			afs = []uint32{2}
		case etherIPv6:
			afs = afInet6
		default:
			return falseNode
		}
		var n *node
		for _, af := range afs {
			for _, v := range loopbackValues(l.linkType, af) {
				t := cmp(0, 4, v)
				if n == nil {
					n = t
				} else {
					n = or(n, t)
				}
			}
		}
		return n
	}
	return falseNode
}

// loopbackValues returns the header words that mean address family af. The
// DLT_NULL header is in the byte order of the machine that wrote the
// capture, which we do not know here, so both orders are accepted
// (tcpdump knows the file's byte order and tests only one).
func loopbackValues(lt uint16, af uint32) []uint32 {
	swapped := af<<24 | (af>>8&0xff)<<16 | (af>>16&0xff)<<8 | af>>24
	if lt == linkLoop {
		return []uint32{af}
	}
	return []uint32{swapped, af}
}

// ipFragZero tests that an IPv4 packet is unfragmented or the first fragment.
func (l *layout) ipFragZero() *node {
	return &node{kind: nNot, l: leaf([]bpf.Instruction{bpf.LoadAbsolute{Off: l.offNL + 6, Size: 2}},
		cond{test: bpf.JumpBitsSet, k: 0x1fff})}
}
