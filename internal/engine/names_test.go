package engine

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
	"github.com/opsdeck/opsdeck/internal/testpkt"
)

func dnsFrame(t *testing.T, from, to netip.Addr, sp, dp uint16, m *layers.DNS) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: from.AsSlice(), DstIP: to.AsSlice()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	udp.SetNetworkLayerForChecksum(ip)
	return testpkt.Frame(t, eth, ip, udp, m)
}

// TestNamesFromDNSAnswers: the console names an address after the question
// a DNS answer on the wire answered with it (through a CNAME too), for the
// flows, talkers and alerts a snapshot shows; analyze and watch keep no
// names; a failed answer names nothing.
func TestNamesFromDNSAnswers(t *testing.T) {
	cli, res := netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("10.0.0.53")
	web, cdn, other := netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("151.101.1.1"), netip.MustParseAddr("198.51.100.9")
	q := func(name string) []layers.DNSQuestion {
		return []layers.DNSQuestion{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}
	}
	a := func(name string, ip netip.Addr) layers.DNSResourceRecord {
		return layers.DNSResourceRecord{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: ip.AsSlice()}
	}
	run := func(headless bool) *Snapshot {
		cfg := DefaultConfig()
		cfg.Headless = headless
		e := New(cfg, nil)
		t0 := time.Unix(1000, 0)
		n := uint64(0)
		send := func(frame []byte) {
			n++
			e.HandleFrame(packet.LinkEthernet, frame, t0.Add(time.Duration(n)*time.Millisecond), len(frame), n)
		}
		for i, m := range []*layers.DNS{
			{ID: 1, QR: true, RD: true, RA: true, Questions: q("www.example.com"), Answers: []layers.DNSResourceRecord{a("www.example.com", web)}},
			{ID: 2, QR: true, RD: true, RA: true, Questions: q("static.example.net"), Answers: []layers.DNSResourceRecord{
				{Name: []byte("static.example.net"), Type: layers.DNSTypeCNAME, Class: layers.DNSClassIN, TTL: 60, CNAME: []byte("edge.cdn.example")},
				a("edge.cdn.example", cdn)}},
			{ID: 3, QR: true, RD: true, RA: true, ResponseCode: layers.DNSResponseCodeNXDomain, Questions: q("nothing.example"),
				Answers: []layers.DNSResourceRecord{a("nothing.example", other)}},
		} {
			port := uint16(40000 + i)
			send(dnsFrame(t, cli, res, port, 53, &layers.DNS{ID: m.ID, RD: true, Questions: m.Questions}))
			send(dnsFrame(t, res, cli, 53, port, m))
		}
		for i, srv := range []netip.Addr{web, cdn, other} {
			send(tcpFrame(t, cli, srv, uint16(50000+i), 443, 100, 0, packet.TCPSyn, nil))
		}
		return e.Snapshot(SnapshotOptions{Flows: 50, Talkers: 50})
	}
	s := run(false)
	for addr, want := range map[netip.Addr]string{web: "www.example.com", cdn: "static.example.net", other: "", cli: ""} {
		if got := s.Names[addr]; got != want {
			t.Errorf("name of %s = %q, want %q", addr, got, want)
		}
	}
	if s := run(true); len(s.Names) != 0 {
		t.Errorf("headless engine named addresses: %v", s.Names)
	}
}

// The names are bounded: past maxNames the oldest address loses its name.
func TestNamesBounded(t *testing.T) {
	var n names
	for i := 0; i < maxNames+10; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		n.learn(&proto.DNS{QR: true, RCode: "NOERROR", Queries: []proto.DNSQuery{{RRName: fmt.Sprintf("h%d.example", i), RRType: "A"}},
			Answers: []proto.DNSAnswer{{RRName: fmt.Sprintf("h%d.example", i), RRType: "A", RData: a.String()}}})
	}
	if len(n.m) != maxNames || len(n.ring) != maxNames {
		t.Fatalf("%d names, %d in the ring; bound %d", len(n.m), len(n.ring), maxNames)
	}
	if got := n.of(netip.AddrFrom4([4]byte{10, 0, 0, 9})); got != "" {
		t.Errorf("the 10th oldest address kept its name %q", got)
	}
	last := maxNames + 9
	if got, want := n.of(netip.AddrFrom4([4]byte{10, byte(last >> 16), byte(last >> 8), byte(last)})), fmt.Sprintf("h%d.example", last); got != want {
		t.Errorf("newest name %q, want %q", got, want)
	}
}

// Issue 12, finding 12: one unsolicited answer from port 53, never preceded
// by a query, renamed an address on screen. Only the answer to a question
// seen on the wire (same flow, ID and name) names anything, once.
func TestNamesOnlyFromAnsweredQuestions(t *testing.T) {
	cli, res := netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("10.0.0.53")
	attacker, payroll := netip.MustParseAddr("203.0.113.66"), netip.MustParseAddr("10.0.0.80")
	q := []layers.DNSQuestion{{Name: []byte("payroll.corp.example"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}
	answer := func(id uint16, ip netip.Addr) *layers.DNS {
		return &layers.DNS{ID: id, QR: true, RD: true, RA: true, Questions: q, Answers: []layers.DNSResourceRecord{
			{Name: []byte("payroll.corp.example"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: ip.AsSlice()}}}
	}
	e := New(DefaultConfig(), nil)
	t0 := time.Unix(1000, 0)
	n := uint64(0)
	send := func(frame []byte) {
		n++
		e.HandleFrame(packet.LinkEthernet, frame, t0.Add(time.Duration(n)*time.Millisecond), len(frame), n)
	}
	// Unsolicited: no query on this flow.
	send(dnsFrame(t, res, cli, 53, 41000, answer(7, attacker)))
	// A query, then an answer with another ID, then the true answer, then
	// a second (forged) answer to the same question.
	send(dnsFrame(t, cli, res, 41001, 53, &layers.DNS{ID: 9, RD: true, Questions: q}))
	send(dnsFrame(t, res, cli, 53, 41001, answer(10, attacker)))
	send(dnsFrame(t, res, cli, 53, 41001, answer(9, payroll)))
	send(dnsFrame(t, res, cli, 53, 41001, answer(9, attacker)))
	for _, srv := range []netip.Addr{attacker, payroll} {
		send(tcpFrame(t, cli, srv, 50000, 443, 100, 0, packet.TCPSyn, nil))
	}
	s := e.Snapshot(SnapshotOptions{Flows: 50, Talkers: 50})
	if got := s.Names[attacker]; got != "" {
		t.Errorf("the attacker's address is named %q by an answer nobody asked for", got)
	}
	if got := s.Names[payroll]; got != "payroll.corp.example" {
		t.Errorf("the answered question named %s %q, want payroll.corp.example", payroll, got)
	}
}

// Issue 14: one address answering for several names keeps them (a CDN):
// the newest is shown, the earlier ones are listed in the host's detail.
func TestNamesSeveralPerAddress(t *testing.T) {
	var n names
	cdn := netip.MustParseAddr("151.101.1.1")
	for i, name := range []string{"a.example", "b.example", "c.example", "b.example", "d.example", "e.example"} {
		q := &proto.DNS{ID: uint16(i), RD: true, Queries: []proto.DNSQuery{{RRName: name, RRType: "A"}}}
		n.observe(uint64(i), q)
		r := &proto.DNS{ID: uint16(i), QR: true, RCode: "NOERROR", Queries: q.Queries,
			Answers: []proto.DNSAnswer{{RRName: name, RRType: "A", RData: cdn.String()}}}
		n.observe(uint64(i), r)
	}
	if got := n.of(cdn); got != "e.example" {
		t.Errorf("name %q, want the newest, e.example", got)
	}
	if got := n.others(cdn); len(got) != maxOtherNames || got[0] != "d.example" {
		t.Errorf("earlier names %v, want %d of them, newest first", got, maxOtherNames)
	}
}
