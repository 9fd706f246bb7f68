package flow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

func TestCommunityID(t *testing.T) {
	cases := []struct {
		name         string
		seed         uint16
		proto        uint8
		src, dst     string
		sport, dport uint16
		want         string
	}{
		// From the Community ID specification's baseline examples.
		{"tcp spec", 0, 6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{"tcp spec reversed", 0, 6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		// suricata-verify tests/community-id-ipv4 (seed 7).
		{"suricata tls13", 7, 6, "172.26.0.39", "172.217.14.206", 35958, 443, "1:IwiTNfuO7aCaamMijl+7/X9uLx0="},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := CommunityID(c.seed, c.proto, netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst), c.sport, c.dport)
			if got != c.want {
				t.Errorf("CommunityID = %s, want %s", got, c.want)
			}
		})
	}
}

func seg(ts time.Time, src, dst string, sp, dp uint16, flags uint8, n int) *packet.Summary {
	return &packet.Summary{TS: ts, CapLen: 54 + n, WireLen: 54 + n, IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp, TCPFlags: flags}
}

func TestTCPLifecycle(t *testing.T) {
	var ended []*Flow
	var reasons []EndReason
	tb := NewTable(Config{}, func(f *Flow, r EndReason) { ended = append(ended, f); reasons = append(reasons, r) })
	t0 := time.Unix(1000, 0)
	c, s := "10.0.0.1", "10.0.0.2"
	steps := []struct {
		p         *packet.Summary
		toServer  bool
		tcpState  TCPState
		flowState State
	}{
		{seg(t0, c, s, 5000, 80, packet.TCPSyn, 0), true, TCPSynSent, StateNew},
		{seg(t0, s, c, 80, 5000, packet.TCPSyn|packet.TCPAck, 0), false, TCPSynRecv, StateNew},
		{seg(t0, c, s, 5000, 80, packet.TCPAck, 0), true, TCPEstablished, StateEstablished},
		{seg(t0, c, s, 5000, 80, packet.TCPAck|packet.TCPPsh, 100), true, TCPEstablished, StateEstablished},
		{seg(t0, c, s, 5000, 80, packet.TCPFin|packet.TCPAck, 0), true, TCPCloseWait, StateEstablished},
		{seg(t0, s, c, 80, 5000, packet.TCPFin|packet.TCPAck, 0), false, TCPLastAck, StateClosed},
		{seg(t0, c, s, 5000, 80, packet.TCPAck, 0), true, TCPClosed, StateClosed},
	}
	var f *Flow
	for i, st := range steps {
		got, toServer, created := tb.Update(st.p)
		if i == 0 && !created || i > 0 && created {
			t.Fatalf("step %d: created = %v", i, created)
		}
		f = got
		if toServer != st.toServer || f.TCPState != st.tcpState || f.State != st.flowState {
			t.Errorf("step %d: toServer %v tcp %s flow %s; want %v %s %s", i, toServer, f.TCPState, f.State, st.toServer, st.tcpState, st.flowState)
		}
	}
	if f.PktsToServer != 5 || f.PktsToClient != 2 || f.BytesToServer != 5*54+100 || f.BytesToClient != 2*54 {
		t.Errorf("counters = %d/%d pkts %d/%d bytes", f.PktsToServer, f.PktsToClient, f.BytesToServer, f.BytesToClient)
	}
	if f.FlagsTS != packet.TCPSyn|packet.TCPAck|packet.TCPPsh|packet.TCPFin || f.FlagsTC != packet.TCPSyn|packet.TCPAck|packet.TCPFin {
		t.Errorf("flags ts %#x tc %#x", f.FlagsTS, f.FlagsTC)
	}
	if f.Client.String() != c || f.CPort != 5000 {
		t.Errorf("client = %s:%d", f.Client, f.CPort)
	}
	// Closed flows end after ClosedTimeout of packet time, not before.
	tb.Expire(t0.Add(4 * time.Second))
	if len(ended) != 0 {
		t.Fatalf("ended before the terminated timeout")
	}
	tb.Expire(t0.Add(6 * time.Second))
	if len(ended) != 1 || reasons[0] != EndTimeout || tb.Len() != 0 {
		t.Fatalf("ended = %d, reasons %v, len %d", len(ended), reasons, tb.Len())
	}
}

func TestHalfClosedLingers(t *testing.T) {
	var ended int
	tb := NewTable(Config{}, func(*Flow, EndReason) { ended++ })
	t0 := time.Unix(1000, 0)
	tb.Update(seg(t0, "10.0.0.1", "10.0.0.2", 5000, 443, packet.TCPSyn, 0))
	tb.Update(seg(t0, "10.0.0.2", "10.0.0.1", 443, 5000, packet.TCPSyn|packet.TCPAck, 0))
	tb.Update(seg(t0, "10.0.0.1", "10.0.0.2", 5000, 443, packet.TCPAck, 0))
	tb.Update(seg(t0, "10.0.0.1", "10.0.0.2", 5000, 443, packet.TCPFin|packet.TCPAck, 0))
	f, _, _ := tb.Update(seg(t0, "10.0.0.2", "10.0.0.1", 443, 5000, packet.TCPFin|packet.TCPAck|packet.TCPPsh, 31))
	if f.TCPState != TCPLastAck {
		t.Fatalf("state %s", f.TCPState)
	}
	// A retransmitted FIN 30 s later still belongs to the same flow.
	tb.Expire(t0.Add(30 * time.Second))
	_, _, created := tb.Update(seg(t0.Add(30*time.Second), "10.0.0.2", "10.0.0.1", 443, 5000, packet.TCPFin|packet.TCPAck|packet.TCPPsh, 31))
	if created || ended != 0 {
		t.Fatalf("retransmitted FIN started a new flow (created %v, ended %d)", created, ended)
	}
	tb.Expire(t0.Add(91 * time.Second))
	if ended != 1 {
		t.Fatalf("half-closed flow did not end after the closed timeout")
	}
}

func TestSynAckFirstOrientsToServer(t *testing.T) {
	tb := NewTable(Config{}, nil)
	f, toServer, _ := tb.Update(seg(time.Unix(1, 0), "10.0.0.2", "10.0.0.1", 80, 5000, packet.TCPSyn|packet.TCPAck, 0))
	if toServer || f.Server.String() != "10.0.0.2" || f.SPort != 80 {
		t.Errorf("server = %s:%d toServer=%v", f.Server, f.SPort, toServer)
	}
}

func TestTimeoutsByState(t *testing.T) {
	var ended int
	tb := NewTable(Config{NewTimeout: 30 * time.Second, EstablishedTimeout: 300 * time.Second}, func(*Flow, EndReason) { ended++ })
	t0 := time.Unix(1000, 0)
	// A UDP flow that saw both directions and one that saw only one.
	udp := func(src, dst string, sp, dp uint16, ts time.Time) *packet.Summary {
		return &packet.Summary{TS: ts, CapLen: 60, IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp}
	}
	tb.Update(udp("10.0.0.1", "10.0.0.53", 1000, 53, t0))
	tb.Update(udp("10.0.0.53", "10.0.0.1", 53, 1000, t0))
	tb.Update(udp("10.0.0.1", "10.0.0.9", 1001, 9999, t0))
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{29 * time.Second, 0}, {31 * time.Second, 1}, {299 * time.Second, 1}, {301 * time.Second, 2}} {
		tb.Expire(t0.Add(c.at))
		if ended != c.want {
			t.Errorf("at %v: ended %d, want %d", c.at, ended, c.want)
		}
	}
}

func TestBoundEvictsLeastRecent(t *testing.T) {
	var evicted []netip.Addr // onEnd must not keep the flow: it is reused
	tb := NewTable(Config{MaxFlows: 100}, func(f *Flow, r EndReason) {
		if r == EndEvicted {
			evicted = append(evicted, f.Client)
		}
	})
	t0 := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		s := &packet.Summary{TS: t0.Add(time.Duration(i) * time.Millisecond), CapLen: 60, IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true,
			Src: src, Dst: netip.MustParseAddr("192.0.2.1"), SrcPort: 1234, DstPort: 80, TCPFlags: packet.TCPSyn}
		tb.Update(s)
		if tb.Len() > 100 {
			t.Fatalf("table grew to %d", tb.Len())
		}
	}
	st := tb.Stats()
	if st.Evicted != 900 || len(evicted) != 900 || st.Created != 1000 || st.MaxActive != 100 {
		t.Errorf("stats %+v, evicted %d", st, len(evicted))
	}
	if evicted[0].String() != "10.0.0.0" {
		t.Errorf("first evicted %s, want the oldest 10.0.0.0", evicted[0])
	}
}

func TestTopTalkers(t *testing.T) {
	tb := NewTable(Config{}, nil)
	t0 := time.Unix(1, 0)
	tb.Update(seg(t0, "10.0.0.1", "10.0.0.2", 1, 80, packet.TCPAck, 1000))
	tb.Update(seg(t0, "10.0.0.3", "10.0.0.2", 1, 80, packet.TCPAck, 10))
	top := tb.TopTalkers(2, false)
	if len(top) != 2 || top[0].Addr.String() != "10.0.0.2" || top[1].Addr.String() != "10.0.0.1" {
		t.Fatalf("top = %+v", top)
	}
	if top[0].BytesIn != 1054+64 || top[0].Flows != 2 {
		t.Errorf("10.0.0.2 = %+v", top[0])
	}
}

func BenchmarkTableUpdate(b *testing.B) {
	tb := NewTable(Config{}, nil)
	t0 := time.Unix(1000, 0)
	pkts := make([]*packet.Summary, 1024)
	for i := range pkts {
		pkts[i] = seg(t0, "10.0.0.1", "10.1.0.1", uint16(1024+i), 443, packet.TCPAck, 1400)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Update(pkts[i&1023])
		i++
	}
}

// TestCommunityIDAllocatesOnce: computed for every flow record, so it may
// allocate only its result.
func TestCommunityIDAllocatesOnce(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { CommunityID(0, 6, a, b, 1, 2) }); n > 1 {
		t.Errorf("CommunityID allocates %v times, want 1", n)
	}
	// A flow keeps its own in place: writing it into a record allocates
	// nothing, the first time or later, and equals the function's.
	buf := make([]byte, 0, 64)
	flows := make([]Flow, 202)
	for i := range flows {
		flows[i] = Flow{Client: a, Server: b, CPort: 1, SPort: 2, Proto: 6}
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() {
		buf = flows[i/2].AppendCommunityID(buf[:0], 0) // computed
		i++
		buf = flows[i/2].AppendCommunityID(buf[:0], 0) // kept
		i++
	}); n != 0 {
		t.Errorf("Flow.AppendCommunityID allocates %v times, want 0", n)
	}
	f := &flows[0]
	if got, want := string(buf), CommunityID(0, 6, a, b, 1, 2); got != want || f.CommunityID() != want {
		t.Errorf("flow community id %q / %q, want %q", got, f.CommunityID(), want)
	}
}

// TestDNSFlowsEndSooner: an answered UDP DNS flow ends after DNSTimeout of
// silence; another established UDP flow waits the established timeout.
func TestDNSFlowsEndSooner(t *testing.T) {
	var ended []uint16
	tb := NewTable(Config{}, func(f *Flow, _ EndReason) { ended = append(ended, f.SPort) })
	t0 := time.Unix(1000, 0)
	udp := func(src, dst string, sp, dp uint16) *packet.Summary {
		return &packet.Summary{TS: t0, CapLen: 80, IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp}
	}
	f, _, _ := tb.Update(udp("10.0.0.1", "10.0.0.53", 40000, 53))
	f.AppProto = "dns" // what the engine sets after the first packet
	tb.Update(udp("10.0.0.53", "10.0.0.1", 53, 40000))
	tb.Update(udp("10.0.0.1", "10.0.0.9", 40001, 9999))
	tb.Update(udp("10.0.0.9", "10.0.0.1", 9999, 40001))
	tb.Expire(t0.Add(9 * time.Second))
	if len(ended) != 0 {
		t.Fatalf("ended before the DNS timeout: %v", ended)
	}
	tb.Expire(t0.Add(11 * time.Second))
	if len(ended) != 1 || ended[0] != 53 {
		t.Fatalf("after 11 s ended %v, want only the DNS flow", ended)
	}
	tb.Expire(t0.Add(301 * time.Second))
	if len(ended) != 2 {
		t.Fatalf("the other UDP flow did not end after the established timeout")
	}
}

// TestOwnerRecycled: a flow's Owner is made on first use, and an ended
// flow's is handed, cleared, to a later flow; flows never share one.
func TestOwnerRecycled(t *testing.T) {
	tb := NewTable(Config{}, nil)
	t0 := time.Unix(1000, 0)
	a, _, _ := tb.Update(seg(t0, "10.0.0.1", "10.0.0.2", 1000, 22, packet.TCPSyn, 0))
	if a.Owner != nil || a.PID() != 0 || a.Process() != "" {
		t.Fatalf("a new flow has an owner: %+v", a.Owner)
	}
	o := tb.Owner(a)
	o.PID, o.Process, o.Tries = 42, "sshd", 1
	if tb.Owner(a) != o || a.PID() != 42 || a.Process() != "sshd" {
		t.Fatalf("Owner made twice or not kept: %+v", a.Owner)
	}
	tb.Flush(EndShutdown)
	b, _, _ := tb.Update(seg(t0, "10.0.0.3", "10.0.0.2", 1000, 22, packet.TCPSyn, 0))
	c, _, _ := tb.Update(seg(t0, "10.0.0.4", "10.0.0.2", 1000, 22, packet.TCPSyn, 0))
	if ob := tb.Owner(b); ob != o || *ob != (Owner{}) {
		t.Errorf("the ended flow's owner was not reused cleared: %p %+v", ob, ob)
	}
	if tb.Owner(c) == o {
		t.Errorf("two flows share one owner")
	}
}
