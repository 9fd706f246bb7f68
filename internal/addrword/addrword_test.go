package addrword

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestOf holds the in-place read of an address's words to As16's bytes
// on addresses of every kind (random IPv4, IPv6, IPv4-mapped, with a
// zone, the zero Addr), and fails when netip's layout changed so that Of
// fell back to the slower copy.
func TestOf(t *testing.T) {
	if !InPlace {
		t.Fatal("netip.Addr no longer starts with its 128 bits as (hi, lo): Of copies through As16")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	addrs := []netip.Addr{{}, netip.MustParseAddr("fe80::1%eth0"), netip.IPv6Unspecified(), netip.IPv4Unspecified()}
	for range 1000 {
		var b16 [16]byte
		for i := range b16 {
			b16[i] = byte(rng.Uint32())
		}
		b4 := [4]byte(b16[:4])
		addrs = append(addrs, netip.AddrFrom4(b4), netip.AddrFrom16(b16), netip.AddrFrom16(netip.AddrFrom4(b4).As16()))
	}
	for _, a := range addrs {
		b := a.As16()
		hi, lo := Of(a)
		if hi != binary.BigEndian.Uint64(b[:8]) || lo != binary.BigEndian.Uint64(b[8:]) {
			t.Fatalf("%v: words %x %x, As16 %x", a, hi, lo, b)
		}
		if chi, clo := Copy(a); chi != hi || clo != lo {
			t.Fatalf("%v: copy gives %x %x, in place %x %x", a, chi, clo, hi, lo)
		}
	}
}

func BenchmarkOf(b *testing.B) {
	a := netip.MustParseAddr("2001:db8::1")
	var s uint64
	for range b.N {
		hi, lo := Of(a)
		s += hi ^ lo
	}
	_ = s
}
