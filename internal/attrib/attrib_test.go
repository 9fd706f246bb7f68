package attrib

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func sock(proto, local, remote, state string, inode uint64, pid int32, name string) hoststat.Socket {
	l, r := ap(local), ap(remote)
	return hoststat.Socket{Proto: proto, V6: l.Addr().Is6(), Local: l, Remote: r, State: state, Inode: inode, PID: pid, Process: name}
}

func baseSnap() *hoststat.Snapshot {
	return &hoststat.Snapshot{
		Time:                 t0,
		LocalAddrs:           []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("fd00::2")},
		SocketOwnersComplete: true,
		Processes:            []hoststat.Process{{PID: 100, Name: "nginx"}, {PID: 200, Name: "curl"}, {PID: 300, Name: "named"}, {PID: 400, Name: "sshd"}, {PID: 500, Name: "app6"}},
		Sockets: []hoststat.Socket{
			sock("TCP", "0.0.0.0:80", "0.0.0.0:0", "LISTEN", 11, 100, "nginx"),
			sock("TCP", "192.0.2.2:80", "198.51.100.7:50000", "ESTABLISHED", 12, 100, "nginx"),
			sock("TCP", "192.0.2.2:41000", "203.0.113.9:443", "ESTABLISHED", 13, 200, "curl"),
			sock("UDP", "0.0.0.0:53", "0.0.0.0:0", "CLOSE", 14, 300, "named"),
			sock("TCP", "[::]:22", "[::]:0", "LISTEN", 15, 400, "sshd"),
			sock("TCP", "[::ffff:192.0.2.2]:8080", "[::ffff:198.51.100.8]:60000", "ESTABLISHED", 16, 500, "app6"),
			sock("TCP", "192.0.2.2:80", "198.51.100.9:50001", "TIME_WAIT", 0, 0, ""),
			sock("TCP", "127.0.0.1:9000", "0.0.0.0:0", "LISTEN", 17, 0, ""),
			sock("UDP", "[fd00::2]:5353", "[::]:0", "CLOSE", 18, 300, "named"),
		},
	}
}

func TestLookup(t *testing.T) {
	refreshes := 0
	tb := NewTable(func() { refreshes++ })
	tb.Update(baseSnap())
	tests := []struct {
		name          string
		proto         uint8
		local, remote string
		want          Owner
		wantRefresh   int
	}{
		{"established exact", ProtoTCP, "192.0.2.2:80", "198.51.100.7:50000", Owner{PID: 100, Name: "nginx", State: Known, Listener: false}, 0},
		{"outbound", ProtoTCP, "192.0.2.2:41000", "203.0.113.9:443", Owner{PID: 200, Name: "curl", State: Known, Listener: false}, 0},
		{"wildcard listener owns new inbound", ProtoTCP, "192.0.2.2:80", "198.51.100.50:1234", Owner{PID: 100, Name: "nginx", State: Known, Listener: true}, 0},
		{"wildcard listener on loopback", ProtoTCP, "127.0.0.1:80", "127.0.0.1:1234", Owner{PID: 100, Name: "nginx", State: Known, Listener: true}, 0},
		{"v6 wildcard accepts v4", ProtoTCP, "192.0.2.2:22", "198.51.100.1:5555", Owner{PID: 400, Name: "sshd", State: Known, Listener: true}, 0},
		{"v6 wildcard accepts v6", ProtoTCP, "[fd00::2]:22", "[2001:db8::1]:5555", Owner{PID: 400, Name: "sshd", State: Known, Listener: true}, 0},
		{"v4-mapped socket matches v4 flow", ProtoTCP, "192.0.2.2:8080", "198.51.100.8:60000", Owner{PID: 500, Name: "app6", State: Known, Listener: false}, 0},
		{"v4-mapped flow matches too", ProtoTCP, "[::ffff:192.0.2.2]:8080", "[::ffff:198.51.100.8]:60000", Owner{PID: 500, Name: "app6", State: Known, Listener: false}, 0},
		{"udp unconnected", ProtoUDP, "192.0.2.2:53", "198.51.100.3:40000", Owner{PID: 300, Name: "named", State: Known, Listener: true}, 0},
		{"udp v6 bound", ProtoUDP, "[fd00::2]:5353", "[fe80::1]:5353", Owner{PID: 300, Name: "named", State: Known, Listener: true}, 0},
		{"multicast to a wildcard-bound socket", ProtoUDP, "224.0.0.251:53", "192.0.2.9:53", Owner{PID: 300, Name: "named", State: Known, Listener: true}, 0},
		{"broadcast to a wildcard-bound socket", ProtoUDP, "255.255.255.255:53", "192.0.2.9:53", Owner{PID: 300, Name: "named", State: Known, Listener: true}, 0},
		{"udp is not tcp", ProtoTCP, "192.0.2.2:53", "198.51.100.3:40000", Owner{State: Unknown}, 1},
		{"time wait is gone", ProtoTCP, "192.0.2.2:80", "198.51.100.9:50001", Owner{State: Gone}, 1},
		{"not our address", ProtoTCP, "172.17.0.2:80", "198.51.100.7:1", Owner{State: OtherNamespace}, 1},
		{"socket held by no visible process", ProtoTCP, "127.0.0.1:9000", "127.0.0.1:3333", Owner{State: OtherNamespace}, 1},
		{"no socket at all asks for refresh", ProtoTCP, "192.0.2.2:7777", "198.51.100.1:1", Owner{State: Unknown}, 1},
		{"second miss before update does not ask again", ProtoTCP, "192.0.2.2:7778", "198.51.100.1:1", Owner{State: Unknown}, 1},
	}
	for _, tc := range tests {
		got, ok := tb.Lookup(tc.proto, ap(tc.local), ap(tc.remote))
		if got != tc.want || ok != (tc.want.State == Known) {
			t.Errorf("%s: Lookup = %+v, %v; want %+v", tc.name, got, ok, tc.want)
		}
		if refreshes != tc.wantRefresh {
			t.Errorf("%s: %d refresh requests, want %d", tc.name, refreshes, tc.wantRefresh)
		}
	}

	// After an update the same unknown tuple does not ask again (it has no
	// socket: a port scan must not cause a refresh storm) but a new one does.
	s := baseSnap()
	s.Time = t0.Add(time.Second)
	tb.Update(s)
	tb.Lookup(ProtoTCP, ap("192.0.2.2:7777"), ap("198.51.100.1:1"))
	if refreshes != 1 {
		t.Errorf("repeat miss after refresh asked again: %d", refreshes)
	}
	tb.Lookup(ProtoTCP, ap("192.0.2.2:7779"), ap("198.51.100.1:1"))
	if refreshes != 2 {
		t.Errorf("new miss after update did not ask: %d", refreshes)
	}
}

func TestLookupIncompleteOwners(t *testing.T) {
	s := baseSnap()
	s.SocketOwnersComplete = false // non-root: other users' fds unreadable
	tb := NewTable(nil)
	tb.Update(s)
	if got, _ := tb.Lookup(ProtoTCP, ap("127.0.0.1:9000"), ap("127.0.0.1:3333")); got.State != Unknown {
		t.Errorf("unowned socket with incomplete scan = %v, want unknown (not guessed)", got.State)
	}
}

func TestGone(t *testing.T) {
	tb := NewTable(nil)
	tb.Update(baseSnap())
	// curl's connection closes and curl exits.
	s := baseSnap()
	s.Time = t0.Add(time.Second)
	s.Sockets = s.Sockets[:2]
	s.Processes = s.Processes[:1]
	tb.Update(s)
	got, ok := tb.Lookup(ProtoTCP, ap("192.0.2.2:41000"), ap("203.0.113.9:443"))
	if ok || got != (Owner{PID: 200, Name: "curl", State: Gone}) {
		t.Errorf("closed flow = %+v, %v; want curl gone", got, ok)
	}
	// Forgotten after goneKeep.
	s.Time = t0.Add(goneKeep + 2*time.Second)
	tb.Update(s)
	if got, _ := tb.Lookup(ProtoTCP, ap("192.0.2.2:41000"), ap("203.0.113.9:443")); got.State != Unknown {
		t.Errorf("after %v: %+v, want unknown", goneKeep, got)
	}
	// A socket whose pid is no longer running is not Known.
	s = baseSnap()
	s.Time = t0.Add(10 * time.Minute)
	s.Processes = s.Processes[1:] // nginx exited; the socket list is the last one, repeated
	s.SocketsRepeated = true
	tb.Update(s)
	if got, ok := tb.Lookup(ProtoTCP, ap("192.0.2.2:80"), ap("198.51.100.7:50000")); ok {
		t.Errorf("socket of exited pid = %+v, want not known", got)
	}
	// A fresh socket list names a process the repeated process list does
	// not know yet (started since it was read): its owner is kept.
	s = baseSnap()
	s.Time = t0.Add(11 * time.Minute)
	s.Processes = s.Processes[1:]
	s.ProcessesRepeated = true
	tb.Update(s)
	if got, ok := tb.Lookup(ProtoTCP, ap("192.0.2.2:80"), ap("198.51.100.7:50000")); !ok || got.PID != 100 {
		t.Errorf("socket of a process newer than the process list = %+v, want nginx (100)", got)
	}
}

func TestLookupFlow(t *testing.T) {
	tb := NewTable(nil)
	tb.Update(baseSnap())
	o, aLocal, ok := tb.LookupFlow(ProtoTCP, ap("203.0.113.9:443"), ap("192.0.2.2:41000"))
	if !ok || aLocal || o.PID != 200 {
		t.Errorf("LookupFlow(remote first) = %+v, %v, %v", o, aLocal, ok)
	}
	o, _, ok = tb.LookupFlow(ProtoTCP, ap("203.0.113.9:443"), ap("198.51.100.1:1"))
	if ok || o.State != OtherNamespace {
		t.Errorf("LookupFlow(neither local) = %+v, %v", o, ok)
	}
}

func TestAccount(t *testing.T) {
	tb := NewTable(nil)
	s := baseSnap()
	tb.Update(s)
	nginx := Owner{PID: 100, Name: "nginx", State: Known}
	curl := Owner{PID: 200, Name: "curl", State: Known}
	tb.Account(nginx, 1000, 5000)
	tb.Account(curl, 300, 100)
	tb.Account(Owner{State: Unknown}, 7, 7)
	tb.Account(Owner{PID: 9, Name: "x", State: OtherNamespace}, 1, 1) // folded into one bucket
	s.Time = t0.Add(2 * time.Second)
	tb.Update(s)
	tb.Account(curl, 20000, 0) // after the rate update: counts for the next one
	top := tb.TopProcesses(2)
	if len(top) != 2 || top[0].PID != 100 || top[0].RateOut != 2500 || top[0].RateIn != 500 || top[1].PID != 200 {
		t.Fatalf("TopProcesses = %+v", top)
	}
	if top[1].BytesIn != 20300 || top[1].RateIn != 150 {
		t.Errorf("curl = %+v", top[1])
	}
	s.Time = t0.Add(3 * time.Second)
	tb.Update(s)
	top = tb.TopProcesses(-1)
	if top[0].PID != 200 || top[0].RateIn != 20000 || top[1].RateIn != 0 {
		t.Errorf("after second interval: %+v", top)
	}
	if len(top) != 4 {
		t.Errorf("%d entries, want 4 (nginx, curl, unknown, other namespace)", len(top))
	}
}

func TestAccountBounded(t *testing.T) {
	tb := NewTable(nil)
	for i := 0; i < maxAcct*3; i++ {
		tb.Account(Owner{PID: int32(i + 1), Name: "p", State: Known}, uint64(i), 0)
	}
	if n := len(tb.TopProcesses(-1)); n > maxAcct {
		t.Errorf("%d accounting entries, bound is %d", n, maxAcct)
	}
}

// TestLookupFlowFlood: flows opened from outside to local ports nothing
// listens on (a spoofed-source flood to one port, a scan of many) ask for
// one socket list, however many sources and ports, store nothing per flow,
// and may ask again only inboundMissGens socket lists later (a listener
// may have started). An outbound miss still asks per flow.
func TestLookupFlowFlood(t *testing.T) {
	refreshes := 0
	tb := NewTable(func() { refreshes++ })
	tb.Update(baseSnap())
	flood := func(n int, scan bool) {
		for i := range n {
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 99, byte(i >> 8), byte(i)}), uint16(1024+i))
			dst := ap("192.0.2.2:7777") // nothing listens
			if scan {
				dst = netip.AddrPortFrom(dst.Addr(), uint16(10000+i))
			}
			o, aLocal, ok := tb.LookupFlow(ProtoTCP, src, dst)
			if ok || aLocal || o.State != Unknown {
				t.Fatalf("SYN from %v to %v = %+v, aLocal %v, ok %v; want unknown, inbound", src, dst, o, aLocal, ok)
			}
		}
	}
	for _, scan := range []bool{false, true} {
		flood(5000, scan)
	}
	if refreshes != 1 || len(tb.miss) != 0 {
		t.Fatalf("after 5000 spoofed sources to one port and a scan of 5000 ports: %d refreshes, %d miss entries; want 1 and 0", refreshes, len(tb.miss))
	}
	s := baseSnap()
	for g := 1; g < inboundMissGens; g++ {
		s.Time = t0.Add(time.Duration(g) * time.Second)
		tb.Update(s)
		flood(100, g%2 == 0)
	}
	if refreshes != 1 {
		t.Errorf("inbound misses asked %d times within %d socket lists, want once", refreshes, inboundMissGens)
	}
	s.Time = t0.Add(time.Minute)
	tb.Update(s)
	flood(100, false)
	if refreshes != 2 {
		t.Errorf("after %d socket lists inbound misses asked %d times in all, want 2 (a listener may have started)", inboundMissGens, refreshes)
	}
	// A listener started since: the next flow finds it.
	s.Sockets = append(s.Sockets, sock("TCP", "0.0.0.0:7777", "0.0.0.0:0", "LISTEN", 99, 100, "nginx"))
	tb.Update(s)
	if o, _, ok := tb.LookupFlow(ProtoTCP, ap("198.51.100.1:1"), ap("192.0.2.2:7777")); !ok || o.PID != 100 || !o.Listener {
		t.Errorf("after the listener opened: %+v, %v; want nginx's listener", o, ok)
	}
	// Outbound misses stay per flow: a new connection's socket is in the
	// next list.
	before := refreshes
	tb.LookupFlow(ProtoTCP, ap("192.0.2.2:41001"), ap("203.0.113.9:443"))
	tb.Update(s)
	tb.LookupFlow(ProtoTCP, ap("192.0.2.2:41002"), ap("203.0.113.9:443"))
	if refreshes != before+2 {
		t.Errorf("two new outbound flows asked %d times, want 2", refreshes-before)
	}
}

// BenchmarkLookupFlowFlood is the per-packet cost of attribution under a
// spoofed-source SYN flood to a closed port.
func BenchmarkLookupFlowFlood(b *testing.B) {
	tb := NewTable(func() {})
	tb.Update(baseSnap())
	server := ap("192.0.2.2:7777")
	b.ReportAllocs()
	for i := range b.N {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(i))
		tb.LookupFlow(ProtoTCP, src, server)
	}
}

// TestPortSetSkipsOnlyMisses: the port sets only skip lookups that would
// miss: over flows to every port a socket, listener or closed socket has
// and to random ones, in both directions, both protocols and families,
// LookupFlow answers as a table whose sets hold every port (always the
// maps), and asks for socket lists as often.
func TestPortSetSkipsOnlyMisses(t *testing.T) {
	var asked [2]int
	fast, slow := NewTable(func() { asked[0]++ }), NewTable(func() { asked[1]++ })
	later := baseSnap()
	later.Time = t0.Add(time.Second)
	later.Sockets = later.Sockets[:1] // the rest closed: gone
	all := func(tb *Table) {
		for i := range tb.ports {
			for j := range tb.ports[i] {
				tb.ports[i][j] = ^uint64(0)
			}
		}
	}
	for _, s := range []*hoststat.Snapshot{baseSnap(), later} {
		fast.Update(s)
		slow.Update(s)
		all(slow)
		var ports []uint16
		for _, sk := range baseSnap().Sockets {
			ports = append(ports, sk.Local.Port(), sk.Remote.Port())
		}
		for i := range 200 {
			ports = append(ports, uint16(i*7919+13))
		}
		addrs := []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("fd00::2"),
			netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("2001:db8::1")}
		// Each socket's own flow, closed ones included (gone).
		var flows [][2]netip.AddrPort
		for _, sk := range baseSnap().Sockets {
			flows = append(flows, [2]netip.AddrPort{sk.Local, sk.Remote}, [2]netip.AddrPort{sk.Remote, sk.Local})
		}
		for _, proto := range []uint8{ProtoTCP, ProtoUDP, 132} {
			for _, f := range flows {
				o1, l1, ok1 := fast.LookupFlow(proto, f[0], f[1])
				o2, l2, ok2 := slow.LookupFlow(proto, f[0], f[1])
				if o1 != o2 || l1 != l2 || ok1 != ok2 {
					t.Fatalf("proto %d %v -> %v: %+v %v %v with port sets, %+v %v %v without", proto, f[0], f[1], o1, l1, ok1, o2, l2, ok2)
				}
			}
			for _, lp := range ports {
				for _, la := range addrs {
					for _, ra := range addrs {
						a, b := netip.AddrPortFrom(la, lp), netip.AddrPortFrom(ra, 50000)
						for _, dir := range [][2]netip.AddrPort{{a, b}, {b, a}} {
							o1, l1, ok1 := fast.LookupFlow(proto, dir[0], dir[1])
							o2, l2, ok2 := slow.LookupFlow(proto, dir[0], dir[1])
							if o1 != o2 || l1 != l2 || ok1 != ok2 {
								t.Fatalf("proto %d %v -> %v: %+v %v %v with port sets, %+v %v %v without", proto, dir[0], dir[1], o1, l1, ok1, o2, l2, ok2)
							}
						}
					}
				}
			}
		}
		if asked[0] != asked[1] {
			t.Fatalf("socket lists asked: %d with port sets, %d without", asked[0], asked[1])
		}
	}
}
