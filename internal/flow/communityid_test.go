package flow

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refCommunityID is the specification's algorithm written out plainly
// (maps for the ICMP counterparts, netip ordering for every address), the
// reference the fast appendCommunityID is held to.
func refCommunityID(seed uint16, proto uint8, src, dst netip.Addr, sport, dport uint16) string {
	v4 := map[uint8]uint8{8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 9: 10, 10: 9}
	v6 := map[uint8]uint8{128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 144: 145, 145: 144}
	oneway := false
	if proto == 1 || proto == 58 {
		peers := v4
		if proto == 58 {
			peers = v6
		}
		peer, ok := peers[uint8(sport)]
		sport = uint16(uint8(sport))
		if ok {
			dport = uint16(peer)
		} else {
			oneway = true
			dport = uint16(uint8(dport))
		}
	}
	src, dst = src.Unmap(), dst.Unmap()
	if c := src.Compare(dst); !oneway && (c > 0 || (c == 0 && sport > dport)) {
		src, dst, sport, dport = dst, src, dport, sport
	}
	var m []byte
	m = binary.BigEndian.AppendUint16(m, seed)
	m = append(m, src.AsSlice()...)
	m = append(m, dst.AsSlice()...)
	m = append(m, proto, 0)
	switch proto {
	case 1, 6, 17, 58, 132:
		m = binary.BigEndian.AppendUint16(m, sport)
		m = binary.BigEndian.AppendUint16(m, dport)
	}
	sum := sha1.Sum(m)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}

// TestCommunityIDAsReference: the fast path (IPv4 endpoints ordered as
// integers, ICMP counterparts from tables, the result appended in place,
// with and without a Hasher)
// gives the reference's result for random flows of every kind, equal
// addresses and ports included, and appends after what b held.
func TestCommunityIDAsReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	addr := func() netip.Addr {
		switch rng.IntN(4) {
		case 0:
			return netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(3))})
		case 1:
			return netip.AddrFrom16([16]byte{0: 0x20, 1: 0x01, 15: byte(rng.IntN(3))})
		case 2: // IPv4-mapped IPv6: hashed as IPv4
			return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 10, 15: byte(rng.IntN(3))})
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], rng.Uint32())
		return netip.AddrFrom4(a)
	}
	protos := []uint8{1, 6, 17, 58, 132, 47, 0}
	prefix := []byte("x")
	var h Hasher
	for i := 0; i < 20000; i++ {
		proto := protos[rng.IntN(len(protos))]
		src, dst := addr(), addr()
		sp, dp := uint16(rng.IntN(4)), uint16(rng.IntN(4))
		if rng.IntN(2) == 0 {
			sp, dp = uint16(rng.Uint32()), uint16(rng.Uint32())
		}
		if proto == 1 || proto == 58 {
			sp, dp = uint16(rng.IntN(256)), uint16(rng.IntN(256))
		}
		seed := uint16(rng.IntN(2) * 7)
		want := refCommunityID(seed, proto, src, dst, sp, dp)
		for _, h := range []*Hasher{nil, &h} {
			got := appendCommunityID(prefix, h, seed, proto, src, dst, sp, dp)
			if !bytes.Equal(got[:1], prefix) || string(got[1:]) != want {
				t.Fatalf("hasher %v seed %d proto %d %v:%d -> %v:%d: %q, want %q", h != nil, seed, proto, src, sp, dst, dp, got[1:], want)
			}
		}
	}
}

// TestHasherSum: the Hasher's one-block SHA-1 is sha1.Sum at every
// message length it takes, and at the lengths it hands to sha1.Sum.
func TestHasherSum(t *testing.T) {
	var h Hasher
	for n := 0; n <= 70; n++ {
		m := bytes.Repeat([]byte{byte(n) | 1}, n)
		if got, want := h.sum(m), sha1.Sum(m); got != want {
			t.Fatalf("%d bytes: %x, want %x", n, got, want)
		}
	}
	if h.st == nil {
		t.Errorf("the digest's state layout was not the one Hasher reads: it fell back to sha1.Sum")
	}
	m := []byte("x")
	if n := testing.AllocsPerRun(100, func() { h.sum(m) }); n != 0 && !raceEnabled {
		t.Errorf("Hasher.sum allocates %v times", n)
	}
}
