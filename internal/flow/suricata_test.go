package flow

import (
	"math"
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

// TestAgeAsSuricata: flow.age is last.tv_sec - first.tv_sec, whole
// seconds rounded down, before 1970 too.
func TestAgeAsSuricata(t *testing.T) {
	for _, c := range []struct {
		first, last time.Time
		want        int64
	}{
		{time.Unix(10, 900e6), time.Unix(36, 100e6), 26},
		{time.Unix(10, 100e6), time.Unix(10, 900e6), 0},
		{time.Unix(-1, 100e6), time.Unix(0, 100e6), 1},
		{time.Unix(-3, 900e6), time.Unix(-1, 0), 2},
	} {
		f := &Flow{FirstNS: c.first.UnixNano(), LastNS: c.last.UnixNano()}
		if got, want := f.Age(), c.last.Unix()-c.first.Unix(); got != c.want || got != want {
			t.Errorf("%v to %v: age %d, want %d", c.first, c.last, got, c.want)
		}
	}
}

// TestFlowTimes: a flow keeps its packets' times to the nanosecond and
// gives them back as the same instants; a clock past what Unix
// nanoseconds hold stops at the edge, and durations between such times
// saturate as time.Time.Sub's do.
func TestFlowTimes(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	tb := NewTable(Config{}, nil)
	f, _, _ := tb.Update(seg(ts, "10.0.0.1", "10.0.0.2", 1, 2, packet.TCPSyn, 0))
	tb.Update(seg(ts.Add(1500*time.Millisecond), "10.0.0.2", "10.0.0.1", 2, 1, packet.TCPSyn|packet.TCPAck, 0))
	tb.Update(seg(ts.Add(time.Second), "10.0.0.1", "10.0.0.2", 1, 2, packet.TCPAck, 0)) // late: Last stays
	if !f.First().Equal(ts) || !f.Last().Equal(ts.Add(1500*time.Millisecond)) {
		t.Errorf("first %v last %v", f.First(), f.Last())
	}
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	past := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	if unixNano(far) != math.MaxInt64 || unixNano(past) != math.MinInt64 || unixNano(ts) != ts.UnixNano() {
		t.Errorf("unixNano: %d %d", unixNano(far), unixNano(past))
	}
	for _, c := range [][2]int64{{0, 0}, {5, -5}, {math.MaxInt64, math.MinInt64}, {math.MinInt64, math.MaxInt64}, {math.MaxInt64, -1}, {-2, math.MaxInt64}} {
		if got, want := since(c[0], c[1]), time.Unix(0, c[0]).Sub(time.Unix(0, c[1])); got != want {
			t.Errorf("since(%d, %d) = %v, want %v", c[0], c[1], got, want)
		}
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
