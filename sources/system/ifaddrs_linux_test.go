//go:build linux

package system

import (
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
)

// TestIfaceAddrsAgreesWithNet: the one-dump listing gives every interface
// the addresses, in the order, that the net package's dump per interface
// gives it.
func TestIfaceAddrsAgreesWithNet(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skipf("no interface list here: %v", err)
	}
	byName, all, err := ifaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var wantAll []netip.Addr
	for _, ifi := range ifs {
		as, err := ifi.Addrs()
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, a := range as {
			if ipn, ok := a.(*net.IPNet); ok {
				want = append(want, ipn.String())
				ip, _ := netip.AddrFromSlice(ipn.IP)
				wantAll = append(wantAll, ip.Unmap())
			}
		}
		if !slices.Equal(byName[ifi.Name], want) {
			t.Errorf("%s: got %v, net says %v", ifi.Name, byName[ifi.Name], want)
		}
	}
	if !slices.Equal(all, wantAll) {
		t.Errorf("local addresses: got %v, net says %v", all, wantAll)
	}
	if len(byName["lo"]) == 0 {
		t.Errorf("lo has no address: %v", byName)
	}
}

// FuzzParseAddrDump: any bytes give addresses or an error, never a panic,
// and every address has a valid length.
func FuzzParseAddrDump(f *testing.F) {
	if b, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC); err == nil {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _ := parseAddrDump(b)
		for _, ps := range got {
			for _, p := range ps {
				if !p.IsValid() {
					t.Fatalf("invalid prefix %v", p)
				}
			}
		}
	})
}
