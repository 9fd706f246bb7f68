package flow

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// icmpPeers maps an ICMPv4 type to its counterpart (RFC: Community ID spec),
// so a request and its reply hash alike.
var icmp4Peers = map[uint8]uint8{8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 9: 10, 10: 9}

var icmp6Peers = map[uint8]uint8{128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 144: 145, 145: 144}

// CommunityID computes the Community ID v1 of a flow with the given seed
// (https://github.com/corelight/community-id-spec). For ICMP, sport and dport
// are the type and code as they appear in the first packet.
func CommunityID(seed uint16, proto uint8, src, dst netip.Addr, sport, dport uint16) string {
	oneway := false
	switch proto {
	case 1: // ICMP
		t, c := uint8(sport), uint8(dport)
		peer, ok := icmp4Peers[t]
		sport, dport = uint16(t), uint16(peer)
		if !ok {
			oneway = true
			dport = uint16(c)
		}
	case 58: // ICMPv6
		t, c := uint8(sport), uint8(dport)
		peer, ok := icmp6Peers[t]
		sport, dport = uint16(t), uint16(peer)
		if !ok {
			oneway = true
			dport = uint16(c)
		}
	}
	src, dst = src.Unmap(), dst.Unmap()
	// Order endpoints so that both directions hash alike.
	if !oneway {
		if c := src.Compare(dst); c > 0 || (c == 0 && sport > dport) {
			src, dst = dst, src
			sport, dport = dport, sport
		}
	}
	var buf [2 + 16 + 16 + 4 + 4]byte
	b := buf[:0]
	b = binary.BigEndian.AppendUint16(b, seed)
	b = appendAddr(b, src)
	b = appendAddr(b, dst)
	b = append(b, proto, 0)
	switch proto {
	case 1, 6, 17, 58, 132:
		b = binary.BigEndian.AppendUint16(b, sport)
		b = binary.BigEndian.AppendUint16(b, dport)
	}
	sum := sha1.Sum(b)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}
