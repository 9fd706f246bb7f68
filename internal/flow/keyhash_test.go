package flow

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestKeyHashNoChosenCollisions: IPv6 sources whose two words xor (with
// the low one shifted, as the previous hash folded them) to one value
// must not share a hash: with the fold they all did, whatever the seed,
// and a sender could make one long probe run of them.
func TestKeyHashNoChosenCollisions(t *testing.T) {
	tb := NewTable(Config{}, nil)
	dst := netip.MustParseAddr("2001:db8::1")
	seen := map[uint64]bool{}
	for i := range uint64(1000) {
		hi := 0x20010db800000000 | i
		lo := i >> 1 // hi ^ lo<<1 is the same for every i
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], hi)
		binary.BigEndian.PutUint64(b[8:], lo)
		k := Key{A: netip.AddrFrom16(b), B: dst, APort: 1000, BPort: 80, Proto: 6}
		seen[tb.keyHash(&k)] = true
	}
	if len(seen) < 999 {
		t.Errorf("1000 chosen keys hash to %d values", len(seen))
	}
}

// BenchmarkKeyHash: a packet's key hash, IPv4 and IPv6.
func BenchmarkKeyHash(b *testing.B) {
	tb := NewTable(Config{}, nil)
	for _, v6 := range []bool{false, true} {
		name := "v4"
		if v6 {
			name = "v6"
		}
		keys := make([]Key, 1024)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range keys {
			var b16 [16]byte
			for j := range b16 {
				b16[j] = byte(rng.Uint32())
			}
			a := netip.AddrFrom4([4]byte(b16[:4]))
			if v6 {
				a = netip.AddrFrom16(b16)
			}
			keys[i] = Key{A: a, B: netip.MustParseAddr("192.0.2.1"), APort: uint16(i), BPort: 80, Proto: 6}
		}
		b.Run(name, func(b *testing.B) {
			var sink uint64
			i := 0
			for b.Loop() {
				sink += tb.keyHash(&keys[i&1023])
				i++
			}
			_ = sink
		})
	}
}

// TestFlowHashIsKeyHash: a flow's end finds its slot by flowHash, which
// must be keyHash of its key for every kind of flow (client on either
// side, ICMP, VLAN tags, tunnel depth, IPv6).
func TestFlowHashIsKeyHash(t *testing.T) {
	tb := NewTable(Config{}, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	addr := func() netip.Addr {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if rng.IntN(2) == 0 {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16(b)
	}
	for range 10000 {
		f := &Flow{Client: addr(), Server: addr(), CPort: uint16(rng.Uint32()), SPort: uint16(rng.Uint32()),
			Proto: [...]uint8{1, 6, 17, 58, 47}[rng.IntN(5)], ICMPType: uint8(rng.IntN(20)),
			VLAN: [2]uint16{uint16(rng.IntN(3)), uint16(rng.IntN(3))}, vlan3: uint16(rng.IntN(3)), depth: uint8(rng.IntN(3))}
		if rng.IntN(2) == 0 {
			f.class = clientIsABit
		}
		k := f.Key()
		if got, want := tb.flowHash(f), tb.keyHash(&k); got != want {
			t.Fatalf("%+v: flowHash %x, keyHash of its key %x", k, got, want)
		}
	}
}
