package flow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// A tunnelled packet is never the flow of the same 5-tuple at another
// depth, and IGMP makes no flow, as in Suricata.
func TestTunnelDepthAndIGMP(t *testing.T) {
	tb := NewTable(Config{}, nil)
	s := packet.Summary{IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 1000, DstPort: 53}
	outer, _, _ := tb.Update(&s)
	s.TunnelDepth = 1
	inner, _, created := tb.Update(&s)
	if outer == nil || inner == nil || inner == outer || !created {
		t.Fatal("the same 5-tuple one tunnel deeper joined the outer flow")
	}
	igmp := packet.Summary{IPVersion: 4, Proto: 2, Src: s.Src, Dst: netip.MustParseAddr("224.0.0.22")}
	if f, _, _ := tb.Update(&igmp); f != nil {
		t.Fatal("an IGMP packet made a flow")
	}
}

// A carrier and the flow it carries with the same ends, ports and start
// (a tunnel's inner packet can repeat its outer header: IP in IP between
// the same hosts) get different flow_ids, as their keys differ.
func TestFlowIDKeepsTunnelDepth(t *testing.T) {
	start := time.Unix(1700000000, 0)
	k := Key{A: netip.MustParseAddr("10.0.0.1"), B: netip.MustParseAddr("10.0.0.2"), Proto: 4}
	inner := k
	inner.Depth = 1
	if FlowID(k, start) == FlowID(inner, start) {
		t.Error("depth 0 and depth 1 share a flow_id")
	}
	tagged := k
	tagged.VLANInner[0] = 20
	if FlowID(k, start) == FlowID(tagged, start) {
		t.Error("an inner VLAN tag does not change the flow_id")
	}
}
