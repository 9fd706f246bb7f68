package proto

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/gen"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// dnsPair serializes a lookup of name as the benchmark capture makes them
// (internal/gen): a query, and a response with one A record.
func dnsPair(tb testing.TB, name string) (q, r []byte) {
	tb.Helper()
	ser := func(m *layers.DNS) []byte {
		buf := gopacket.NewSerializeBuffer()
		if err := m.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
			tb.Fatalf("serialize dns: %v", err)
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	qs := []layers.DNSQuestion{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}
	q = ser(&layers.DNS{ID: 0x1234, RD: true, Questions: qs})
	r = ser(&layers.DNS{ID: 0x1234, QR: true, RD: true, RA: true, Questions: qs,
		Answers: []layers.DNSResourceRecord{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 300,
			IP: net.IP{93, 184, 0, 7}}}})
	return q, r
}

func udpSummary(toServer bool, payload []byte, idx uint64) packet.Summary {
	cli, srv := netip.MustParseAddr("10.0.1.7"), netip.MustParseAddr("10.0.0.53")
	s := packet.Summary{TS: time.Date(2026, 1, 1, 9, 0, 0, int(idx), time.UTC), Index: idx, IPVersion: 4,
		Proto: packet.ProtoUDP, HasL4: true, Payload: payload}
	if toServer {
		s.Src, s.Dst, s.SrcPort, s.DstPort = cli, srv, 40001, 53
	} else {
		s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, 53, 40001
	}
	return s
}

// BenchmarkDNSMessage is one DNS lookup flow as the engine sees it: a
// State from the engine's Pool, the query, then the response. Allocations
// are per flow (two messages).
func BenchmarkDNSMessage(b *testing.B) {
	q, r := dnsPair(b, "www.example.com")
	benchFlows(b, []packet.Summary{udpSummary(true, q, 1), udpSummary(false, r, 2)}, 53, 2,
		func(e *Event) bool { return e.DNS != nil })
}

// BenchmarkTLSHandshake is the TLS part of a browsing flow of the benchmark
// capture: handshake, ClientHello, ServerHello (TLS 1.3), through a fresh
// State from a Pool, with JA3, JA3S and JA4.
func BenchmarkTLSHandshake(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	pkts := stream(40000, 443, []seg{{true, string(gen.ClientHello("www.example.com", rng))},
		{false, string(gen.ServerHello(rng))}})
	benchFlows(b, pkts, 443, 1, func(e *Event) bool { return e.TLS != nil })
}

// BenchmarkHTTPExchange is a browsing flow of the benchmark capture: a GET
// and its response headers, through a State from a Pool.
func BenchmarkHTTPExchange(b *testing.B) {
	pkts := stream(40000, 80, []seg{
		{true, "GET /page/17 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\nAccept: */*\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1200\r\n\r\n"},
		{false, string(make([]byte, 1200))}})
	benchFlows(b, pkts, 80, 1, func(e *Event) bool { return e.HTTP != nil })
}

// benchFlows runs pkts as one flow per iteration through a State from a
// Pool, as the engine does, and checks that each flow gave perFlow events
// that want accepts.
func benchFlows(b *testing.B, pkts []packet.Summary, port uint16, perFlow int, want func(*Event) bool) {
	cfg := &Config{}
	events := 0
	emit := func(e *Event) {
		if want(e) {
			events++
		}
	}
	var pool Pool
	b.ReportAllocs()
	for b.Loop() {
		st := pool.Get()
		for i := range pkts {
			st.Packet(cfg, pkts[i].DstPort == port, &pkts[i], emit)
		}
		st.Close(cfg, emit)
		pool.Put(st)
	}
	if events != perFlow*b.N {
		b.Fatalf("%d events for %d flows, want %d per flow", events, b.N, perFlow)
	}
}
