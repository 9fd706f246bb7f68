package flow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

func icmp(proto uint8, src, dst string, typ, code uint8, id uint16) *packet.Summary {
	v := uint8(4)
	if proto == packet.ProtoICMPv6 {
		v = 6
	}
	return &packet.Summary{TS: time.Unix(1000, 0), CapLen: 98, IPVersion: v, Proto: proto, HasL4: true,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), ICMPType: typ, ICMPCode: code, ICMPID: id}
}

// TestICMPFlowsAsSuricata: ICMP packets find their flow the way Suricata's
// flow-hash.c matches them. ICMPv4 by the type and its counterpart, never
// the echo id: one flow for A's pings to B, whatever their ids, its client
// A; B's pings to A are another. ICMPv6 has no ports in Suricata: one flow
// between two hosts, whatever the types.
func TestICMPFlowsAsSuricata(t *testing.T) {
	const a, b = "10.0.0.1", "10.0.0.2"
	const a6, b6 = "fd00::1", "fd00::2"
	type want struct {
		flows          int
		client         string
		toSrv, toCli   uint64
		firstType      uint8
		replyDirection []bool // toServer of each packet
	}
	for _, tc := range []struct {
		name string
		pkts []*packet.Summary
		want want
	}{
		{"ping, two ids, one flow", []*packet.Summary{
			icmp(1, a, b, 8, 0, 7), icmp(1, b, a, 0, 0, 7), icmp(1, a, b, 8, 0, 9), icmp(1, b, a, 0, 0, 9),
		}, want{1, a, 2, 2, 8, []bool{true, false, true, false}}},
		{"capture starts at a reply: the replier is the client", []*packet.Summary{
			icmp(1, b, a, 0, 0, 7), icmp(1, a, b, 8, 0, 7),
		}, want{1, b, 1, 1, 0, []bool{true, false}}},
		{"both ping each other: two flows", []*packet.Summary{
			icmp(1, a, b, 8, 0, 7), icmp(1, b, a, 8, 0, 3), icmp(1, b, a, 0, 0, 7), icmp(1, a, b, 0, 0, 3),
		}, want{2, a, 1, 1, 8, []bool{true, true, false, false}}},
		{"timestamp request and reply", []*packet.Summary{
			icmp(1, a, b, 13, 0, 1), icmp(1, b, a, 14, 0, 1),
		}, want{1, a, 1, 1, 13, []bool{true, false}}},
		{"icmpv6 echo, neighbour discovery, the other way: one flow", []*packet.Summary{
			icmp(58, a6, b6, 128, 0, 7), icmp(58, b6, a6, 129, 0, 7), icmp(58, b6, a6, 135, 0, 0), icmp(58, b6, a6, 128, 0, 8),
		}, want{1, a6, 1, 3, 128, []bool{true, false, false, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(Config{}, nil)
			var first *Flow
			for i, p := range tc.pkts {
				f, toServer, _ := tb.Update(p)
				if f == nil {
					t.Fatalf("packet %d made no flow", i)
				}
				if first == nil {
					first = f
				}
				if toServer != tc.want.replyDirection[i] {
					t.Errorf("packet %d: toServer %v", i, toServer)
				}
			}
			if tb.Len() != tc.want.flows {
				t.Errorf("%d flows, want %d", tb.Len(), tc.want.flows)
			}
			if first.Client.String() != tc.want.client || first.PktsToServer != tc.want.toSrv || first.PktsToClient != tc.want.toCli {
				t.Errorf("client %s, %d/%d packets, want %s, %d/%d", first.Client, first.PktsToServer, first.PktsToClient,
					tc.want.client, tc.want.toSrv, tc.want.toCli)
			}
			if first.ICMPType != tc.want.firstType || first.CPort != 0 || first.SPort != 0 {
				t.Errorf("icmp_type %d ports %d/%d, want %d and no ports", first.ICMPType, first.CPort, first.SPort, tc.want.firstType)
			}
		})
	}
}

// TestICMPErrorsAsSuricata: an ICMPv4 error never starts a flow; a
// destination unreachable that quotes a UDP or TCP packet counts in that
// packet's flow, to the server when the flow's client sent it, to the
// client when the server or a router did.
func TestICMPErrorsAsSuricata(t *testing.T) {
	const c, s, r = "10.0.0.1", "10.0.0.2", "10.9.9.9"
	tb := NewTable(Config{}, nil)
	udp := &packet.Summary{TS: time.Unix(1000, 0), CapLen: 60, IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true,
		Src: netip.MustParseAddr(c), Dst: netip.MustParseAddr(s), SrcPort: 40000, DstPort: 33434}
	f, _, _ := tb.Update(udp)
	quote := packet.Quoted{Src: udp.Src, Dst: udp.Dst, SrcPort: 40000, DstPort: 33434, Proto: packet.ProtoUDP}

	unreach := icmp(1, s, c, 3, 3, 0)
	unreach.Quoted = quote
	g, toServer, created := tb.Update(unreach)
	if g != f || toServer || created {
		t.Fatalf("port unreachable from the server: flow %p (want %p), toServer %v, created %v", g, f, toServer, created)
	}
	fromRouter := icmp(1, r, c, 3, 1, 0)
	fromRouter.Quoted = quote
	if g, toServer, _ := tb.Update(fromRouter); g != f || toServer {
		t.Fatalf("host unreachable from a router: flow %p, toServer %v", g, toServer)
	}
	if f.PktsToServer != 1 || f.PktsToClient != 2 || f.BytesToClient != 2*98 || tb.Len() != 1 {
		t.Errorf("udp flow %d/%d packets, %d bytes to client, %d flows; want 1/2, 196, 1", f.PktsToServer, f.PktsToClient, f.BytesToClient, tb.Len())
	}
	if f.Proto != packet.ProtoUDP || f.State != StateEstablished {
		t.Errorf("flow proto %d state %s", f.Proto, f.State)
	}

	// The client answers the server with an unreachable: to the server.
	back := icmp(1, c, s, 3, 3, 0)
	back.Quoted = packet.Quoted{Src: udp.Dst, Dst: udp.Src, SrcPort: 33434, DstPort: 40000, Proto: packet.ProtoUDP}
	if g, toServer, _ := tb.Update(back); g != f || !toServer {
		t.Errorf("unreachable from the client: flow %p, toServer %v", g, toServer)
	}

	for _, e := range []*packet.Summary{
		func() *packet.Summary { u := icmp(1, s, c, 3, 3, 0); u.Quoted = quote; u.Quoted.DstPort = 9; return u }(), // no such flow
		icmp(1, s, c, 3, 3, 0), // quotes nothing usable
		func() *packet.Summary { u := icmp(1, r, c, 11, 0, 0); u.Quoted = quote; return u }(), // time exceeded
		icmp(1, r, c, 5, 1, 0),  // redirect
		icmp(1, r, c, 4, 0, 0),  // source quench
		icmp(1, r, c, 12, 0, 0), // parameter problem
	} {
		if g, _, _ := tb.Update(e); g != nil {
			t.Errorf("ICMP type %d code %d joined or made flow %s -> %s", e.ICMPType, e.ICMPCode, g.Client, g.Server)
		}
	}
	if tb.Len() != 1 {
		t.Errorf("%d flows after the errors, want 1", tb.Len())
	}
}
