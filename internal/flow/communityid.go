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
	id := communityID(seed, proto, src, dst, sport, dport)
	return string(id[:])
}

// communityID is CommunityID as an array: "1:" and 28 base64 characters.
func communityID(seed uint16, proto uint8, src, dst netip.Addr, sport, dport uint16) [30]byte {
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
	// Built in fixed arrays: no allocation.
	var buf [2 + 16 + 16 + 2 + 4]byte
	binary.BigEndian.PutUint16(buf[0:], seed)
	n := 2
	n += putAddr(buf[n:], src)
	n += putAddr(buf[n:], dst)
	buf[n], buf[n+1] = proto, 0
	n += 2
	switch proto {
	case 1, 6, 17, 58, 132:
		binary.BigEndian.PutUint16(buf[n:], sport)
		binary.BigEndian.PutUint16(buf[n+2:], dport)
		n += 4
	}
	sum := sha1.Sum(buf[:n])
	var out [2 + 28]byte
	out[0], out[1] = '1', ':'
	base64.StdEncoding.Encode(out[2:], sum[:])
	return out
}

func putAddr(b []byte, a netip.Addr) int {
	if a.Is4() {
		v := a.As4()
		return copy(b, v[:])
	}
	v := a.As16()
	return copy(b, v[:])
}
