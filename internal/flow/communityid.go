package flow

import (
	"crypto/sha1"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"net/netip"

	"github.com/opsdeck/opsdeck/internal/addrword"
)

// icmpPeer is an ICMP type's counterpart (RFC: Community ID spec), so a
// request and its reply hash alike; ok is false for a one-way type.
type icmpPeer struct {
	peer uint8
	ok   bool
}

// icmp4Peers and icmp6Peers are indexed by type: a table, not a map, as
// every ICMP flow record looks one up.
var icmp4Peers, icmp6Peers = icmpPeerTable(8, 0, 13, 14, 15, 16, 17, 18, 9, 10),
	icmpPeerTable(128, 129, 133, 134, 135, 136, 130, 131, 144, 145)

func icmpPeerTable(pairs ...uint8) (t [256]icmpPeer) {
	for i := 0; i < len(pairs); i += 2 {
		a, b := pairs[i], pairs[i+1]
		t[a], t[b] = icmpPeer{b, true}, icmpPeer{a, true}
	}
	return t
}

// CommunityID computes the Community ID v1 of a flow with the given seed
// (https://github.com/corelight/community-id-spec). For ICMP, sport and dport
// are the type and code as they appear in the first packet.
func CommunityID(seed uint16, proto uint8, src, dst netip.Addr, sport, dport uint16) string {
	var buf [communityIDLen]byte
	return string(appendCommunityID(buf[:0], nil, seed, proto, src, dst, sport, dport))
}

// communityIDLen is the length of a Community ID v1: "1:" and the 28
// base64 characters of a SHA-1.
const communityIDLen = 2 + 28

// Hasher computes Community IDs as CommunityID does, with less work per
// hash; a writer that puts one in every record keeps one. The zero value
// is ready; it is not safe for concurrent use.
//
// The message hashed is at most 40 bytes, one SHA-1 block once padded,
// and sha1.Sum spent as long padding and copying it as hashing it. The
// Hasher pads the block itself, hands it whole to a kept digest (hashed in
// place) and reads the digest's state through its documented
// BinaryAppender, whose fixed layout (the magic "sha\x01", then the five
// state words big-endian) is what a later Go must still read back; should
// that ever change, sum falls back to sha1.Sum.
//
// It also keeps the last Community IDs it computed, by message, so that a
// flow's records close together (a DNS query and its answer, an alert and
// the flow's end) hash it once.
type Hasher struct {
	d      hash.Hash
	st     encoding.BinaryAppender
	block  [64]byte
	state  [4 + 20 + 64 + 8]byte
	recent [256]recentID
}

// recentID is a message hashed and its Community ID's base64 part; n is
// the message's length (0: empty entry).
type recentID struct {
	n   uint8
	msg [40]byte
	b64 [28]byte
}

// recentSlot is msg's entry in recent: a multiply-shift of its words.
func recentSlot(msg []byte) uint8 {
	x := binary.LittleEndian.Uint64(msg[2:]) ^ binary.LittleEndian.Uint64(msg[len(msg)-8:])<<1
	return uint8((x * 0x9e3779b97f4a7c15) >> 56)
}

// AppendFlow appends f's Community ID with the given seed to b, as
// f.AppendCommunityID does.
func (h *Hasher) AppendFlow(b []byte, f *Flow, seed uint16) []byte {
	sp, dp := f.icmpPorts()
	return appendCommunityID(b, h, seed, f.Proto, f.Client, f.Server, sp, dp)
}

// sum is sha1.Sum(msg) for a msg shorter than 56 bytes.
func (h *Hasher) sum(msg []byte) [sha1.Size]byte {
	if h.d == nil {
		h.d = sha1.New()
		h.st, _ = h.d.(encoding.BinaryAppender)
		// The shortcut reads the digest's state after one padded block;
		// held to sha1.Sum once here, so a digest that kept the block
		// unhashed (its marshalled state would still start "sha\x01")
		// could never give every flow the same Community ID.
		probe := []byte("opsdeck community id self-test: 40 bytes")
		if out, ok := h.oneBlock(probe); !ok || out != sha1.Sum(probe) {
			h.st = nil
		}
	}
	if len(msg) < 56 && h.st != nil {
		if out, ok := h.oneBlock(msg); ok {
			return out
		}
		h.st = nil // not the layout oneBlock reads: never again
	}
	return sha1.Sum(msg)
}

// oneBlock hashes msg (shorter than 56 bytes) as SHA-1's one padded block
// and reads the digest out of the hash's marshalled state: sha1.Sum spends
// as long padding and copying as hashing.
func (h *Hasher) oneBlock(msg []byte) (out [sha1.Size]byte, ok bool) {
	n := copy(h.block[:], msg)
	h.block[n] = 0x80
	clear(h.block[n+1 : 56])
	binary.BigEndian.PutUint64(h.block[56:], uint64(n)*8)
	h.d.Reset()
	h.d.Write(h.block[:])
	st, err := h.st.AppendBinary(h.state[:0])
	if err != nil || len(st) < 4+sha1.Size || string(st[:4]) != "sha\x01" {
		return out, false
	}
	copy(out[:], st[4:])
	return out, true
}

// appendCommunityID appends CommunityID's result to b, hashing with h
// when it is not nil. It runs for every record of every flow, so it
// allocates nothing when b has room, looks ICMP counterparts up in tables,
// and orders IPv4 endpoints as integers.
func appendCommunityID(b []byte, h *Hasher, seed uint16, proto uint8, src, dst netip.Addr, sport, dport uint16) []byte {
	oneway := false
	if proto == 1 || proto == 58 { // ICMP, ICMPv6
		peers := &icmp4Peers
		if proto == 58 {
			peers = &icmp6Peers
		}
		t, c := uint8(sport), uint8(dport)
		p := peers[t]
		sport, dport = uint16(t), uint16(p.peer)
		if !p.ok {
			oneway = true
			dport = uint16(c)
		}
	}
	src, dst = src.Unmap(), dst.Unmap()
	// The hashed message: seed, both addresses, protocol, a zero byte and
	// (for the protocols with ports) the ports, endpoints in order so that
	// both directions hash alike.
	var msg [2 + 16 + 16 + 2 + 4]byte
	binary.BigEndian.PutUint16(msg[0:], seed)
	n := 2
	if src.Is4() && dst.Is4() {
		_, slo := addrword.Of(src)
		_, dlo := addrword.Of(dst)
		s, d := uint32(slo), uint32(dlo)
		if !oneway && (s > d || (s == d && sport > dport)) {
			s, d, sport, dport = d, s, dport, sport
		}
		binary.BigEndian.PutUint32(msg[2:], s)
		binary.BigEndian.PutUint32(msg[6:], d)
		n = 10
	} else {
		if c := src.Compare(dst); !oneway && (c > 0 || (c == 0 && sport > dport)) {
			src, dst, sport, dport = dst, src, dport, sport
		}
		n += putAddr(msg[n:], src)
		n += putAddr(msg[n:], dst)
	}
	msg[n], msg[n+1] = proto, 0
	n += 2
	switch proto {
	case 1, 6, 17, 58, 132:
		binary.BigEndian.PutUint16(msg[n:], sport)
		binary.BigEndian.PutUint16(msg[n+2:], dport)
		n += 4
	}
	at := len(b)
	b = append(b, "1:0000000000000000000000000000"...)
	if h == nil {
		sum := sha1.Sum(msg[:n])
		base64.StdEncoding.Encode(b[at+2:], sum[:])
		return b
	}
	e := &h.recent[recentSlot(msg[:n])]
	if int(e.n) == n && e.msg == msg {
		copy(b[at+2:], e.b64[:])
		return b
	}
	sum := h.sum(msg[:n])
	base64.StdEncoding.Encode(b[at+2:], sum[:])
	e.n, e.msg = uint8(n), msg
	copy(e.b64[:], b[at+2:])
	return b
}

// putAddr writes a's 4 (IPv4) or 16 bytes to b, read as words in place
// (addrword.Of): As16's copy stalled on store forwarding.
func putAddr(b []byte, a netip.Addr) int {
	hi, lo := addrword.Of(a)
	if a.Is4() {
		binary.BigEndian.PutUint32(b, uint32(lo))
		return 4
	}
	binary.BigEndian.PutUint64(b, hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return 16
}
