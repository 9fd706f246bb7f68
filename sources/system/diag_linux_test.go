//go:build linux

package system

import (
	"net"
	"slices"
	"syscall"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// The one-walk dump of both families returns the sockets the two
// per-family requests return, and the sockets it knows opened are there:
// here a listener and a connection of each family, opened by the test.
func TestDiagTCPAllMatchesPerFamily(t *testing.T) {
	var keep []net.Conn
	for _, network := range []string{"tcp4", "tcp6"} {
		addr := "127.0.0.1:0"
		if network == "tcp6" {
			addr = "[::1]:0"
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			if network == "tcp6" {
				t.Logf("no IPv6 loopback: %v", err)
				continue
			}
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		keep = append(keep, c)
		defer c.Close()
	}
	all, err := diagTCPAll()
	if err != nil {
		t.Fatal(err)
	}
	compat, err := diagTCP(0)
	if err != nil {
		t.Skipf("kernel refuses the compat TCPDIAG_GETSOCK dump: %v", err)
	}
	v4, err := diagTCP(syscall.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	v6, _ := diagTCP(syscall.AF_INET6)
	key := func(s hoststat.Socket) string { return s.Local.String() + ">" + s.Remote.String() + " " + s.State }
	keys := func(ss []hoststat.Socket) []string {
		var out []string
		for _, s := range ss {
			out = append(out, key(s))
		}
		slices.Sort(out)
		return out
	}
	if got, want := keys(compat), keys(append(v4, v6...)); !slices.Equal(got, want) {
		t.Errorf("one walk:\n%v\nper family:\n%v", got, want)
	}
	if len(all) != len(compat) {
		t.Errorf("diagTCPAll returned %d sockets, the compat dump %d", len(all), len(compat))
	}
	// Every socket the test opened is there, with its family.
	for _, c := range keep {
		local := c.LocalAddr().String()
		found := false
		for _, s := range compat {
			if s.Local.String() == local {
				found = true
				if wantV6 := c.LocalAddr().(*net.TCPAddr).IP.To4() == nil; s.V6 != wantV6 {
					t.Errorf("%s: V6 %v", local, s.V6)
				}
			}
		}
		if !found {
			t.Errorf("connection %s missing from the dump", local)
		}
	}
}

// The periodic socket sample's kernel cost: one walk of the connection
// hash (BenchmarkDiagTCPAll) against two (BenchmarkDiagTCPPerFamily).
func BenchmarkDiagTCPAll(b *testing.B) {
	for b.Loop() {
		if _, err := diagTCPAll(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiagTCPPerFamily(b *testing.B) {
	for b.Loop() {
		if _, err := diagTCP(syscall.AF_INET); err != nil {
			b.Fatal(err)
		}
		diagTCP(syscall.AF_INET6)
	}
}
