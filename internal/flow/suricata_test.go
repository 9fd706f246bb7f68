package flow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// TestTCPCloseAsSuricata: both ways of closing end in Suricata's "closed".
func TestTCPCloseAsSuricata(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c, s := "10.0.0.1", "10.0.0.2"
	const fa = packet.TCPFin | packet.TCPAck
	hs := []*packet.Summary{
		seg(t0, c, s, 5000, 80, packet.TCPSyn, 0),
		seg(t0, s, c, 80, 5000, packet.TCPSyn|packet.TCPAck, 0),
		seg(t0, c, s, 5000, 80, packet.TCPAck, 0),
	}
	for _, tc := range []struct {
		name  string
		close []*packet.Summary
		want  []TCPState
	}{
		{"server closes, FIN FIN/ACK ACK", []*packet.Summary{
			seg(t0, s, c, 80, 5000, fa, 0), seg(t0, c, s, 5000, 80, fa, 0), seg(t0, s, c, 80, 5000, packet.TCPAck, 0),
		}, []TCPState{TCPFinWait1, TCPTimeWait, TCPClosed}},
		{"server closes, ACK then FIN", []*packet.Summary{
			seg(t0, s, c, 80, 5000, fa, 0), seg(t0, c, s, 5000, 80, packet.TCPAck, 0),
			seg(t0, c, s, 5000, 80, fa, 0), seg(t0, s, c, 80, 5000, packet.TCPAck, 0),
		}, []TCPState{TCPFinWait1, TCPFinWait2, TCPTimeWait, TCPClosed}},
		{"client closes", []*packet.Summary{
			seg(t0, c, s, 5000, 80, fa, 0), seg(t0, s, c, 80, 5000, fa, 0), seg(t0, c, s, 5000, 80, packet.TCPAck, 0),
		}, []TCPState{TCPCloseWait, TCPLastAck, TCPClosed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(Config{}, nil)
			var f *Flow
			for _, p := range hs {
				f, _, _ = tb.Update(p)
			}
			for i, p := range tc.close {
				tb.Update(p)
				if f.TCPState != tc.want[i] {
					t.Fatalf("step %d: tcp.state %s, want %s", i, f.TCPState, tc.want[i])
				}
			}
			if f.State != StateClosed || f.TCPState.String() != "closed" {
				t.Errorf("flow.state %s tcp.state %s, want closed/closed", f.State, f.TCPState)
			}
		})
	}
}

// TestAgeAsSuricata: flow.age is last.tv_sec - first.tv_sec.
func TestAgeAsSuricata(t *testing.T) {
	f := &Flow{First: time.Unix(10, 900e6), Last: time.Unix(36, 100e6)}
	if f.Age() != 26 {
		t.Errorf("age %d, want 26", f.Age())
	}
	f = &Flow{First: time.Unix(10, 100e6), Last: time.Unix(10, 900e6)}
	if f.Age() != 0 {
		t.Errorf("age %d, want 0", f.Age())
	}
}

// TestDNSResponseFirstReversed: a UDP flow that starts with a DNS response
// from port 53 has the responder as its server.
func TestDNSResponseFirstReversed(t *testing.T) {
	tb := NewTable(Config{}, nil)
	resp := &packet.Summary{TS: time.Unix(1, 0), IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true,
		Src: netip.MustParseAddr("10.0.0.53"), Dst: netip.MustParseAddr("10.0.0.1"), SrcPort: 53, DstPort: 40000,
		Payload: []byte{0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}}
	f, toServer, _ := tb.Update(resp)
	if toServer || f.Client != resp.Dst || f.SPort != 53 || f.CPort != 40000 || f.PktsToClient != 1 {
		t.Errorf("client %s:%d server %s:%d toServer %v", f.Client, f.CPort, f.Server, f.SPort, toServer)
	}
	// A query first keeps its sender as the client.
	q := *resp
	q.Src, q.Dst, q.SrcPort, q.DstPort = resp.Dst, resp.Src, 40001, 53
	q.Payload = []byte{0, 2, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	f, toServer, _ = tb.Update(&q)
	if !toServer || f.Client != q.Src || f.SPort != 53 {
		t.Errorf("query: client %s server %s toServer %v", f.Client, f.Server, toServer)
	}
}

// TestKeyAllVLANTags: triple-tagged traffic is its own flow, apart from
// the double-tagged one with the same outer tags.
func TestKeyAllVLANTags(t *testing.T) {
	a := seg(time.Unix(1, 0), "10.0.0.1", "10.0.0.2", 5000, 80, packet.TCPSyn, 0)
	a.VLAN = [2]uint16{10, 20}
	b := *a
	b.VLAN3 = 30
	c := *a
	c.VLAN[1] = 21
	ka, _ := KeyOf(a)
	kb, _ := KeyOf(&b)
	kc, _ := KeyOf(&c)
	if ka == kb || ka == kc {
		t.Errorf("keys merge: %+v %+v %+v", ka, kb, kc)
	}
}
