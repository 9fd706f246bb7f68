package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/packet"
)

func ownerSock(local, remote, state string, pid int32, name string) hoststat.Socket {
	return hoststat.Socket{Proto: "TCP", Local: netip.MustParseAddrPort(local), Remote: netip.MustParseAddrPort(remote),
		State: state, Inode: uint64(pid) + 1000, PID: pid, Process: name}
}

// Issue 14: attribution is there when it matters. An outbound connection
// whose socket the last socket list did not have (a reverse shell to 4444
// that then sits idle) takes its process from the next list, without
// sending another packet, and the alert raised meanwhile is re-issued
// naming it. An inbound session first charged to its listener (sshd's
// master) is charged to the process that holds the session once its
// socket is listed.
func TestOwnersFoundAfterTheFirstPacket(t *testing.T) {
	victim, attacker := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("198.51.100.9")
	t0 := time.Unix(1000, 0)
	base := hoststat.Snapshot{Time: t0, LocalAddrs: []netip.Addr{victim}, SocketOwnersComplete: true,
		Processes: []hoststat.Process{{PID: 100, Name: "sshd"}, {PID: 4242, Name: "bash"}, {PID: 5151, Name: "sshd: alice"}},
		Sockets:   []hoststat.Socket{ownerSock("0.0.0.0:22", "0.0.0.0:0", hoststat.StateListen, 100, "sshd")}}
	e := New(DefaultConfig(), nil)
	e.EnableAttribution(func() {})
	s0 := base
	e.HandleHost(&s0)
	c := newConv(t, e)
	send := c.send
	// The reverse shell: the victim's bash connects out to 4444 and the
	// attacker's side speaks first; then silence.
	send(victim, attacker, 40000, 4444, packet.TCPSyn, "")
	send(attacker, victim, 4444, 40000, packet.TCPSyn|packet.TCPAck, "")
	send(victim, attacker, 40000, 4444, packet.TCPAck, "")
	send(attacker, victim, 4444, 40000, packet.TCPAck|packet.TCPPsh, "id\n")
	// An SSH session accepted by the listener.
	send(attacker, victim, 50000, 22, packet.TCPSyn, "")

	flowOf := func(port uint16) FlowView {
		for _, f := range e.Snapshot(SnapshotOptions{Flows: 50}).TopFlows {
			if f.Server.Port() == port {
				return f
			}
		}
		t.Fatalf("no flow to port %d", port)
		return FlowView{}
	}
	if f := flowOf(4444); f.PID != 0 {
		t.Fatalf("the shell's flow has owner %d before its socket was listed", f.PID)
	}
	if f := flowOf(22); f.PID != 100 {
		t.Fatalf("the SSH session's flow: owner %d, want the listener (100) until its socket is listed", f.PID)
	}
	// The next socket list has both connections' own sockets.
	s1 := base
	s1.Time, s1.Partial = t0.Add(time.Second), true
	s1.Sockets = append(append([]hoststat.Socket(nil), base.Sockets...),
		ownerSock("10.0.0.5:40000", "198.51.100.9:4444", "ESTABLISHED", 4242, "bash"),
		ownerSock("10.0.0.5:22", "198.51.100.9:50000", "ESTABLISHED", 5151, "sshd: alice"))
	e.HandleHost(&s1)
	if f := flowOf(4444); f.PID != 4242 || f.Process != "bash" {
		t.Errorf("the shell's flow: owner %d %q, want 4242 bash", f.PID, f.Process)
	}
	if f := flowOf(22); f.PID != 5151 || f.Process != "sshd: alice" {
		t.Errorf("the SSH session's flow: owner %d %q, want 5151 'sshd: alice'", f.PID, f.Process)
	}
	var first, update bool
	for _, a := range e.Snapshot(SnapshotOptions{Alerts: 50}).Alerts {
		if a.Rule.Name != "port.suspicious" {
			continue
		}
		if !a.Update && a.PID == 0 {
			first = true
		}
		if a.Update && a.PID == 4242 && a.Process == "bash" && a.FlowID == flowOf(4444).ID {
			update = true
		}
	}
	if !first || !update {
		t.Errorf("port.suspicious: raised without a process %v, re-issued naming bash %v", first, update)
	}
}
