package engine

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/gen"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/testpkt"
)

func feed(e *Engine, n int, attacks bool) {
	g := gen.New(gen.Options{Seed: 3, Attacks: attacks, AttackEvery: 20000})
	for i := 0; i < n; i++ {
		f := g.Next()
		e.HandleFrame(packet.LinkEthernet, f.Data, f.TS, len(f.Data), uint64(i+1))
	}
}

func TestPipelineOnGeneratedTraffic(t *testing.T) {
	var out bytes.Buffer
	e := New(DefaultConfig(), eve.NewWriter(&out))
	feed(e, 60000, true)
	s := e.Snapshot(SnapshotOptions{Flows: 10, Talkers: 5, Alerts: 50, Events: 20})
	if s.Counters.Pkts != 60000 || s.Counters.Invalid != 0 {
		t.Errorf("counters %+v", s.Counters)
	}
	if len(s.TopFlows) != 10 || len(s.Talkers) != 5 || len(s.Events) != 20 {
		t.Errorf("snapshot bounds: %d flows, %d talkers, %d events", len(s.TopFlows), len(s.Talkers), len(s.Events))
	}
	for i := 1; i < len(s.TopFlows); i++ {
		a, b := s.TopFlows[i-1], s.TopFlows[i]
		if a.BytesToServer+a.BytesToClient < b.BytesToServer+b.BytesToClient {
			t.Errorf("top flows not sorted by bytes at %d", i)
		}
	}
	if len(s.PPS) == 0 || len(s.PPS) != len(s.BPS) {
		t.Errorf("rate history: %d pps, %d bps points", len(s.PPS), len(s.BPS))
	}
	// Short-session brute force is judged when the sessions end.
	e.Finish()
	s = e.Snapshot(SnapshotOptions{Alerts: 50})
	rules := map[string]bool{}
	for _, a := range s.Alerts {
		rules[a.Rule.Name] = true
	}
	for _, want := range []string{"scan.port", "bruteforce.ssh", "dns.tunnel", "cred.cleartext"} {
		if !rules[want] {
			t.Errorf("no %s alert from the generated attacks (got %v)", want, rules)
		}
	}
	// The severity counts are incidents: every record but the updates.
	incidents := uint64(0)
	for _, a := range s.Alerts {
		if !a.Update {
			incidents++
		}
	}
	if s.AlertsBySeverity[1]+s.AlertsBySeverity[2]+s.AlertsBySeverity[3] != incidents {
		t.Errorf("severity counts %v do not add up to the %d incidents", s.AlertsBySeverity, incidents)
	}
	if e.FlowStats().Active != 0 {
		t.Errorf("flows left after Finish: %d", e.FlowStats().Active)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"event_type":"flow"`)) || !bytes.Contains(out.Bytes(), []byte(`"event_type":"alert"`)) {
		t.Errorf("EVE output lacks flow or alert records")
	}
}

func TestMuteDropsAlerts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mute = func(rule string, src, dst netip.Addr) bool { return rule == "scan.port" }
	e := New(cfg, nil)
	feed(e, 30000, true)
	s := e.Snapshot(SnapshotOptions{Alerts: 1000})
	for _, a := range s.Alerts {
		if a.Rule.Name == "scan.port" {
			t.Fatalf("muted rule still alerted: %s", a.Signature)
		}
	}
	if s.Counters.Muted == 0 {
		t.Errorf("no muted alerts counted")
	}
}

func TestRecentAlertsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RecentAlerts, cfg.RecentEvents = 3, 5
	e := New(cfg, nil)
	feed(e, 60000, true)
	s := e.Snapshot(SnapshotOptions{Alerts: 100, Events: 100})
	if len(s.Alerts) > 3 || len(s.Events) != 5 {
		t.Errorf("rings not bounded: %d alerts, %d events", len(s.Alerts), len(s.Events))
	}
}

func TestHostHistoryBounded(t *testing.T) {
	e := New(DefaultConfig(), nil)
	t0 := time.Unix(1000, 0)
	for i := 0; i < hostHistory+50; i++ {
		hs := &hoststat.Snapshot{Time: t0.Add(time.Duration(i) * time.Second), IntervalS: 1}
		hs.CPU.Total.Busy = float64(i % 100)
		hs.Memory.Total, hs.Memory.Used = 100, 25
		e.HandleHost(hs)
	}
	s := e.Snapshot(SnapshotOptions{})
	if len(s.Host.CPU) != hostHistory || len(s.Host.Mem) != hostHistory || s.Host.Mem[0] != 25 {
		t.Errorf("host history: %d cpu, %d mem points", len(s.Host.CPU), len(s.Host.Mem))
	}
	if s.Host.CPU[hostHistory-1] != float64((hostHistory+49)%100) {
		t.Errorf("newest CPU point %v", s.Host.CPU[hostHistory-1])
	}
}

func TestRingOrder(t *testing.T) {
	r := newRing[int](4)
	for i := 1; i <= 6; i++ {
		r.push(i)
	}
	got := r.last(10)
	if len(got) != 4 || got[0] != 3 || got[3] != 6 {
		t.Errorf("last = %v", got)
	}
	if got := r.last(2); got[0] != 5 || got[1] != 6 {
		t.Errorf("last(2) = %v", got)
	}
}

func BenchmarkHandleFrame(b *testing.B) {
	g := gen.New(gen.Options{Seed: 1, Attacks: true})
	frames := make([]gen.Frame, 200000)
	for i := range frames {
		frames[i] = g.Next()
	}
	// As analyze runs it: headless, its EVE written (to nowhere: a
	// growing buffer's copies would be counted as the engine's).
	cfg := DefaultConfig()
	cfg.Headless = true
	w := eve.NewWriter(io.Discard)
	w.FileInput = true
	e := New(cfg, w)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := frames[i%len(frames)]
		// Keep packet time moving forward across laps.
		ts := f.TS.Add(time.Duration(i/len(frames)) * time.Minute)
		e.HandleFrame(packet.LinkEthernet, f.Data, ts, len(f.Data), uint64(i))
		i++
	}
}

// TestReorderedFirstSegments: the parser state is created at the first
// payload, yet a ClientHello whose segments arrive in reverse order still
// yields its SNI, because the flow table kept where the stream starts.
func TestReorderedFirstSegments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hello := gen.ClientHello("reordered.example", rng)
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	t0 := time.Unix(1000, 0)
	e := New(DefaultConfig(), nil)
	n := uint64(0)
	send := func(from, to netip.Addr, sp, dp uint16, seq, ack uint32, flags uint8, payload []byte) {
		n++
		frame := tcpFrame(t, from, to, sp, dp, seq, ack, flags, payload)
		e.HandleFrame(packet.LinkEthernet, frame, t0.Add(time.Duration(n)*time.Millisecond), len(frame), n)
	}
	send(cli, srv, 40000, 443, 100, 0, packet.TCPSyn, nil)
	send(srv, cli, 443, 40000, 900, 101, packet.TCPSyn|packet.TCPAck, nil)
	send(cli, srv, 40000, 443, 101, 901, packet.TCPAck, nil)
	half := len(hello) / 2
	send(cli, srv, 40000, 443, 101+uint32(half), 901, packet.TCPAck|packet.TCPPsh, hello[half:])
	send(cli, srv, 40000, 443, 101, 901, packet.TCPAck|packet.TCPPsh, hello[:half])
	sh := gen.ServerHello(rng)
	send(srv, cli, 443, 40000, 901, 101+uint32(len(hello)), packet.TCPAck|packet.TCPPsh, sh)
	// The client ACKs the server's hello: data reaches the parsers when it
	// is acknowledged, as in Suricata.
	send(cli, srv, 40000, 443, 101+uint32(len(hello)), 901+uint32(len(sh)), packet.TCPAck, nil)
	e.Finish()
	s := e.Snapshot(SnapshotOptions{Events: 10})
	found := false
	for _, ev := range s.Events {
		if ev.Kind == "tls" && ev.TLS != nil && ev.TLS.SNI == "reordered.example" {
			found = true
		}
	}
	if !found {
		t.Errorf("no TLS SNI from the reordered ClientHello; events %+v", s.Events)
	}
}

func tcpFrame(t *testing.T, from, to netip.Addr, sp, dp uint16, seq, ack uint32, flags uint8, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: from.AsSlice(), DstIP: to.AsSlice()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ack, Window: 1000,
		SYN: flags&packet.TCPSyn != 0, ACK: flags&packet.TCPAck != 0, PSH: flags&packet.TCPPsh != 0, FIN: flags&packet.TCPFin != 0}
	tcp.SetNetworkLayerForChecksum(ip)
	return testpkt.Frame(t, eth, ip, tcp, gopacket.Payload(payload))
}
