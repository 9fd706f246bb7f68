//go:build linux

package system

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// TestIfaceAddrsFollowChanges: the sampler lists addresses once and reuses
// them until the kernel reports a change: bringing loopback up in a new
// network namespace (which gives it 127.0.0.1/8 and ::1) shows at the next
// call, before the backstop interval. Needs root (a namespace).
func TestIfaceAddrsFollowChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a network namespace")
	}
	type result struct {
		before, after []string
		reread        bool
		err           error
	}
	done := make(chan result)
	go func() {
		// The thread stays in the new namespace and ends with the goroutine.
		runtime.LockOSThread()
		var r result
		defer func() { done <- r }()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			r.err = err
			return
		}
		s := &Sampler{}
		now := time.Now()
		byName, _, err := s.ifaceAddrs(now)
		if err != nil {
			r.err = err
			return
		}
		r.before = byName["lo"]
		read := s.addrRead
		if _, _, err := s.ifaceAddrs(now.Add(time.Second)); err != nil || s.addrRead != read {
			r.err = fmt.Errorf("listed again with no change (err %v)", err)
			return
		}
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			r.err = err
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			r.err = err
			return
		}
		defer unix.Close(fd)
		ifr.SetUint16(unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			r.err = fmt.Errorf("bring lo up: %w", err)
			return
		}
		byName, _, err = s.ifaceAddrs(now.Add(2 * time.Second))
		r.after, r.reread, r.err = byName["lo"], s.addrRead != read, err
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.before) != 0 || !r.reread || !slices.Contains(r.after, "127.0.0.1/8") {
		t.Errorf("lo before up %v, after %v (listed again: %v); want none, then 127.0.0.1/8", r.before, r.after, r.reread)
	}
}
