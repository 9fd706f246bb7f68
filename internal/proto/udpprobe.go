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

// DNSFlow is what a UDP DNS flow keeps between datagrams in place of its
// State: the count of messages parsed, which numbers the next one's
// transaction. Like UDPProbes it is one byte, stored without allocation,
// so the DNS flows a flood of lookups leaves waiting for their timeout
// hold no parser state; a flow past 255 messages keeps its State.
type DNSFlow uint8

// ParkDNS returns what st, a UDP DNS flow's state between datagrams, comes
// down to, when that is all it holds; the caller then puts st back to its
// Pool and keeps the DNSFlow (Resume makes the state again).
func (st *State) ParkDNS() (DNSFlow, bool) {
	if st.tcp || st.app != appDNS || st.h != nil || st.quic != nil || st.done || st.handoffSet || st.dns.txs > 255 || st.dns.capped {
		return 0, false
	}
	return DNSFlow(st.dns.txs), true
}

// Resume makes the State of a parked UDP DNS flow from a Pool.
func (n DNSFlow) Resume(p *Pool) *State {
	st := p.Get()
	st.app = appDNS
	st.dns.txs = int(n)
	st.p = protocols[appDNS].newUDP(st)
	return st
}
