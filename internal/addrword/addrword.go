// Package addrword reads an IP address's 128 bits as two machine words,
// for the hashes of the flow table and the detectors.
package addrword

import (
	"encoding/binary"
	"net/netip"
	"unsafe"
)

// Of returns a's 128 bits (As16's bytes) as two big-endian words.
// netip.Addr holds them so (its first field is a uint128 of hi and lo
// words), and reading them in place costs two loads, where As16's 16-byte
// result read back as words stalls on store forwarding: about 25 ns an
// address, and the flow table and the detectors hash two addresses per
// packet. InPlace is checked at start; if netip's layout ever changes, Of
// goes through As16.
func Of(a netip.Addr) (hi, lo uint64) {
	if InPlace {
		w := (*[2]uint64)(unsafe.Pointer(&a))
		return w[0], w[1]
	}
	return Copy(a)
}

// Copy is Of through As16, the reference Of is held to.
func Copy(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// InPlace reports whether netip.Addr starts with As16's words (hi, lo),
// checked at start on addresses of every kind.
var InPlace = func() bool {
	if unsafe.Sizeof(netip.Addr{}) < 16 {
		return false
	}
	for _, s := range []string{"", "0.0.0.0", "1.2.3.4", "255.255.255.255", "::", "::1", "::ffff:10.1.2.3",
		"2001:db8:1:2:3:4:5:6", "fe80::1%eth0", "ff02::fb"} {
		var a netip.Addr
		if s != "" {
			a = netip.MustParseAddr(s)
		}
		hi, lo := Copy(a)
		if w := (*[2]uint64)(unsafe.Pointer(&a)); w[0] != hi || w[1] != lo {
			return false
		}
	}
	return true
}()
