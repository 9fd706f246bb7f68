//go:build !linux

package system

import (
	"net"
	"net/netip"
)

// addrsByIndex lists every interface's addresses through the net package.
func addrsByIndex(ifs []net.Interface) (map[int][]netip.Prefix, error) {
	out := map[int][]netip.Prefix{}
	for _, ifi := range ifs {
		as, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			out[ifi.Index] = append(out[ifi.Index], netip.PrefixFrom(ip.Unmap(), ones))
		}
	}
	return out, nil
}
