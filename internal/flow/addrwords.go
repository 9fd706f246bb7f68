package flow

import (
	"encoding/binary"
	"net/netip"
	"unsafe"
)

// addrWords returns an address's 128 bits (As16's bytes) as two
// big-endian words. netip.Addr holds them so (its first field is a
// uint128 of hi and lo words), and reading them in place costs two loads,
// where As16's 16-byte result read back as words stalls on store
// forwarding: the table hashes two addresses per packet and again per
// flow end. addrInPlace checks at start that the layout is still that
// one, else As16 is used. internal/detect has the same helper; both
// belong in one small shared package.
func addrWords(a netip.Addr) (hi, lo uint64) {
	if addrInPlace {
		w := (*[2]uint64)(unsafe.Pointer(&a))
		return w[0], w[1]
	}
	return addrWordsCopy(a)
}

func addrWordsCopy(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// addrInPlace reports whether netip.Addr starts with As16's words (hi,
// lo), checked on addresses of every kind.
var addrInPlace = func() bool {
	if unsafe.Sizeof(netip.Addr{}) < 16 {
		return false
	}
	for _, s := range []string{"", "0.0.0.0", "1.2.3.4", "255.255.255.255", "::", "::1", "::ffff:10.1.2.3",
		"2001:db8:1:2:3:4:5:6", "fe80::1%eth0", "ff02::fb"} {
		var a netip.Addr
		if s != "" {
			a = netip.MustParseAddr(s)
		}
		hi, lo := addrWordsCopy(a)
		if w := (*[2]uint64)(unsafe.Pointer(&a)); w[0] != hi || w[1] != lo {
			return false
		}
	}
	return true
}()
