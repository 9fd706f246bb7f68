package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// Issue 16: attribution costs nothing per spoofed flow. A SYN flood from
// thousands of spoofed sources to a local port nothing listens on, and a
// scan of many such ports, ask the system source for one socket list in
// all while lists keep coming (each new spoofed tuple asked for another
// before), queue no flow for another look, and leave the outbound
// connection opened meanwhile to be named from the next list.
func TestSpoofedFloodAsksForOneSocketList(t *testing.T) {
	victim := netip.MustParseAddr("10.0.0.5")
	t0 := time.Unix(1000, 0)
	base := hoststat.Snapshot{Time: t0, LocalAddrs: []netip.Addr{victim}, SocketOwnersComplete: true,
		Processes: []hoststat.Process{{PID: 100, Name: "sshd"}, {PID: 4242, Name: "curl"}},
		Sockets:   []hoststat.Socket{ownerSock("0.0.0.0:22", "0.0.0.0:0", hoststat.StateListen, 100, "sshd")}}
	e := New(DefaultConfig(), nil)
	refreshes := 0
	e.EnableAttribution(func() { refreshes++ })
	s0 := base
	e.HandleHost(&s0)
	c := newConv(t, e)
	for i := range 3000 {
		if i > 0 && i%400 == 0 {
			// A socket list every 400 packets, as the system source
			// delivers them (a refresh at most every 200 ms).
			s := base
			s.Time, s.Partial = t0.Add(time.Duration(i)*time.Millisecond), true
			e.HandleHost(&s)
		}
		src := netip.AddrFrom4([4]byte{10, 99, byte(i >> 8), byte(i)})
		dport := uint16(80)
		if i%2 == 1 {
			dport = uint16(1000 + i) // the scan
		}
		c.send(src, victim, uint16(1024+i), dport, packet.TCPSyn, "")
	}
	if refreshes != 1 {
		t.Errorf("3000 spoofed SYNs to closed ports asked for %d socket lists, want 1", refreshes)
	}
	if n := len(e.owners.q); n != 0 {
		t.Errorf("%d spoofed flows queued for another look, want none (no process can own them)", n)
	}
	// An outbound connection opened during the flood: its socket is in the
	// next list, whose refresh it asks for.
	server := netip.MustParseAddr("203.0.113.9")
	c.send(victim, server, 41000, 443, packet.TCPSyn, "")
	s1 := base
	s1.Time, s1.Partial = t0.Add(4*time.Second), true
	s1.Sockets = append(append([]hoststat.Socket(nil), base.Sockets...),
		ownerSock("10.0.0.5:41000", "203.0.113.9:443", "SYN_SENT", 4242, "curl"))
	e.HandleHost(&s1)
	for _, f := range e.Snapshot(SnapshotOptions{Flows: 5000}).TopFlows {
		if f.Server.Port() == 443 {
			if f.PID != 4242 {
				t.Errorf("the outbound flow's owner = %d %q, want 4242 curl", f.PID, f.Process)
			}
			return
		}
	}
	t.Fatal("no outbound flow to 443")
}
