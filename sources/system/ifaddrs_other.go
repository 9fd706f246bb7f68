//go:build !linux

package system

import (
	"errors"
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

// addrEvents: change notifications are Linux's; elsewhere the addresses are
// listed at every sample.
type addrEvents struct{}

func openAddrEvents() (*addrEvents, error) { return nil, errors.New("no address change notifications") }

func (e *addrEvents) changed() bool { return true }

func (e *addrEvents) close() {}
