package flow

import (
	"github.com/opsdeck/opsdeck/internal/packet"
)

// icmp4Error says whether an ICMPv4 type is an error message (destination
// unreachable, source quench, redirect, time exceeded, parameter problem).
// Suricata never starts a flow with one (flow-hash.c FlowCreateCheck).
func icmp4Error(t uint8) bool {
	switch t {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}

// updateICMPError accounts an ICMPv4 error as Suricata does: a destination
// unreachable that quotes a TCP or UDP packet (packet.Summary.Quoted) counts
// in the quoted packet's flow when there is one, to the server when the
// error comes from the flow's client and to the client otherwise (the
// server or a router on the way); any other error, or one whose flow is
// not in the table, makes no flow.
func (t *Table) updateICMPError(s *packet.Summary) (f *Flow, toServer, created bool) {
	q := s.Quoted
	if s.ICMPType != 3 || q.Proto == 0 {
		return nil, false, false
	}
	k := Key{Proto: q.Proto, VLAN: s.VLAN[0], VLANInner: [2]uint16{s.VLAN[1], s.VLAN3}, Depth: s.TunnelDepth}
	if c := q.Src.Compare(q.Dst); c < 0 || (c == 0 && q.SrcPort <= q.DstPort) {
		k.A, k.B, k.APort, k.BPort = q.Src, q.Dst, q.SrcPort, q.DstPort
	} else {
		k.A, k.B, k.APort, k.BPort = q.Dst, q.Src, q.DstPort, q.SrcPort
	}
	f = t.lookup(&k, t.keyHash(&k))
	if f == nil || (t.cfg.ActiveTimeout > 0 && since(unixNano(s.TS), f.FirstNS) > t.cfg.ActiveTimeout) {
		return nil, false, false
	}
	toServer = s.Src == f.Client
	f.count(s, toServer)
	if f.Proto != packet.ProtoTCP && f.State == StateNew && f.PktsToServer > 0 && f.PktsToClient > 0 {
		f.State = StateEstablished
	}
	t.place(f)
	return f, toServer, false
}
