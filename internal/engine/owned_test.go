package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// Each system sample charges the bytes a process's flows moved since the
// last one to that process, visiting only the flows that have an owner: a
// flood of flows no process owns (spoofed SYNs to a closed port) is not
// walked, and the bytes charged are exactly the flow's.
func TestProcessBytesAccountedFromOwnedFlows(t *testing.T) {
	local, remote := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("198.51.100.9")
	t0 := time.Unix(1000, 0)
	snap := func(sec int) *hoststat.Snapshot {
		return &hoststat.Snapshot{Time: t0.Add(time.Duration(sec) * time.Second), LocalAddrs: []netip.Addr{local}, SocketOwnersComplete: true,
			Processes: []hoststat.Process{{PID: 4242, Name: "curl"}},
			Sockets:   []hoststat.Socket{ownerSock("10.0.0.5:40000", "198.51.100.9:443", "ESTABLISHED", 4242, "curl")}}
	}
	e := New(DefaultConfig(), nil)
	e.EnableAttribution(func() {})
	e.HandleHost(snap(0))
	c := newConv(t, e)
	c.send(local, remote, 40000, 443, packet.TCPSyn, "")
	c.send(remote, local, 443, 40000, packet.TCPSyn|packet.TCPAck, "")
	c.send(local, remote, 40000, 443, packet.TCPAck|packet.TCPPsh, "hello")
	c.send(remote, local, 443, 40000, packet.TCPAck|packet.TCPPsh, "a longer answer")
	for i := 0; i < 3000; i++ { // spoofed SYNs to a closed port: flows nobody owns
		src := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		c.send(src, local, uint16(1024+i), 8080, packet.TCPSyn, "")
	}
	e.HandleHost(snap(1))
	if n := len(e.owned.q); n != 1 {
		t.Errorf("%d flows listed as owned, want the one", n)
	}
	curl := func() attrib.ProcNet {
		for _, p := range e.attr.TopProcesses(10) {
			if p.PID == 4242 {
				return p
			}
		}
		t.Fatal("curl has no traffic charged")
		return attrib.ProcNet{}
	}
	flowBytes := func() (fs, fc uint64) {
		e.flows.Each(func(f *flow.Flow) bool {
			if f.PID() == 4242 {
				fs, fc = f.BytesToServer, f.BytesToClient
			}
			return true
		})
		return
	}
	fs, fc := flowBytes()
	if p := curl(); p.BytesOut != fs || p.BytesIn != fc || fs == 0 {
		t.Errorf("curl charged out %d in %d, its flow moved %d and %d", p.BytesOut, p.BytesIn, fs, fc)
	}
	c.send(local, remote, 40000, 443, packet.TCPAck|packet.TCPPsh, "more")
	e.HandleHost(snap(2))
	fs2, _ := flowBytes()
	if p := curl(); p.BytesOut != fs2 || fs2 <= fs {
		t.Errorf("after one more segment curl is charged %d out, its flow moved %d", p.BytesOut, fs2)
	}
}
