package flow

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// flowIDBytewise is FlowID as first written, one FNV-1a step per byte of
// the key: the ids persisted in EVE output, which FlowID must keep.
func flowIDBytewise(k Key, start time.Time) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(b byte) { h = (h ^ uint64(b)) * prime }
	for _, a := range [2]netip.Addr{k.A, k.B} {
		for _, b := range a.As16() {
			mix(b)
		}
	}
	for _, v := range [...]uint64{uint64(k.APort), uint64(k.BPort), uint64(k.Proto), uint64(k.VLAN), uint64(start.UnixMicro())} {
		for i := 0; i < 64; i += 8 {
			mix(byte(v >> i))
		}
	}
	if k.Depth != 0 || k.VLANInner != [2]uint16{} {
		for _, v := range [...]uint16{k.VLANInner[0], k.VLANInner[1], uint16(k.Depth)} {
			mix(byte(v))
			mix(byte(v >> 8))
		}
	}
	h += 0x9e3779b97f4a7c15
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
	h = (h ^ (h >> 27)) * 0x94d049bb133111eb
	h ^= h >> 31
	return h&(1<<51-1) | 1
}

// TestFlowIDAsBytewise: the fast FlowID equals the byte-by-byte FNV-1a on
// IPv4, IPv6, IPv4-mapped IPv6 and zero addresses, any ports, tags and
// depths, and times before and after 1970.
func TestFlowIDAsBytewise(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	addr := func() netip.Addr {
		var b [16]byte
		for i := range b {
			if rng.IntN(3) > 0 {
				b[i] = byte(rng.Uint32())
			}
		}
		switch rng.IntN(4) {
		case 0:
			return netip.AddrFrom4([4]byte(b[:4]))
		case 1:
			return netip.AddrFrom16(b)
		case 2:
			return netip.AddrFrom16(netip.AddrFrom4([4]byte(b[:4])).As16()) // ::ffff:a.b.c.d, not Is4
		}
		return netip.Addr{}
	}
	for i := range 100000 {
		k := Key{A: addr(), B: addr(), APort: uint16(rng.Uint32()), BPort: uint16(rng.Uint32()), Proto: uint8(rng.Uint32()),
			VLAN: uint16(rng.IntN(2) * rng.IntN(4096))}
		if i%4 == 0 {
			k.VLANInner = [2]uint16{uint16(rng.IntN(4096)), uint16(rng.IntN(2) * rng.IntN(4096))}
			k.Depth = uint8(rng.IntN(3))
		}
		ts := time.Unix(rng.Int64N(1<<34)-1<<32, rng.Int64N(1e9))
		if got, want := FlowID(k, ts), flowIDBytewise(k, ts); got != want {
			t.Fatalf("FlowID(%+v, %v) = %d, want %d", k, ts, got, want)
		}
	}
}

func FuzzFlowID(f *testing.F) {
	f.Add([]byte("\x0a\x00\x00\x01"), []byte("\xc0\x00\x02\x01"), uint16(1234), uint16(80), uint8(6), uint16(0), int64(1e15), uint8(0))
	f.Add(make([]byte, 16), []byte("\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), uint16(0), uint16(0), uint8(58), uint16(7), int64(-5), uint8(1))
	f.Fuzz(func(t *testing.T, a, b []byte, ap, bp uint16, proto uint8, vlan uint16, us int64, depth uint8) {
		ad, _ := netip.AddrFromSlice(a)
		bd, _ := netip.AddrFromSlice(b)
		k := Key{A: ad, B: bd, APort: ap, BPort: bp, Proto: proto, VLAN: vlan, VLANInner: [2]uint16{vlan >> 3, uint16(depth)}, Depth: depth}
		ts := time.UnixMicro(us)
		if got, want := FlowID(k, ts), flowIDBytewise(k, ts); got != want {
			t.Fatalf("FlowID(%+v, %v) = %d, want %d", k, ts, got, want)
		}
	})
}

func BenchmarkFlowID(b *testing.B) {
	k := Key{A: netip.MustParseAddr("198.51.100.7"), B: netip.MustParseAddr("192.0.2.1"), APort: 40000, BPort: 80, Proto: 6}
	ts := time.Unix(1700000000, 0)
	for _, impl := range []struct {
		name string
		fn   func(Key, time.Time) uint64
	}{{"fast", FlowID}, {"bytewise", flowIDBytewise}} {
		b.Run(impl.name, func(b *testing.B) {
			var sink uint64
			for b.Loop() {
				sink += impl.fn(k, ts)
			}
			_ = sink
		})
	}
}
