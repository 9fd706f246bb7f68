package proto

import "github.com/opsdeck/opsdeck/internal/packet"

// UDPProbes is what a UDP flow holds while none of its datagrams has shown
// an application protocol: how many were probed. It is a one-byte value,
// so keeping it in an interface (the flow's App) allocates nothing: a
// flood of short UDP flows of no known protocol, each waiting for its
// timeout, holds no parser state.
type UDPProbes uint8

// Probe looks at one datagram with a payload of a UDP flow that has no
// State yet, as State.Packet would. found: the datagram shows a protocol,
// and the flow needs a State now (its Packet parses this datagram);
// givenUp: maxUDPProbes datagrams showed none, and the flow is not
// extracted any further. Otherwise the flow keeps next.
func (n UDPProbes) Probe(toServer bool, s *packet.Summary) (next UDPProbes, found, givenUp bool) {
	sport, cport := s.DstPort, s.SrcPort
	if !toServer {
		sport, cport = s.SrcPort, s.DstPort
	}
	n++
	if detectUDP(s.Payload, toServer, sport, cport) != appNone {
		return n, true, false
	}
	return n, false, n >= maxUDPProbes
}
