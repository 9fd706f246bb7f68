package proto

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// dnsMsg builds one DNS message with x/net's encoder, an implementation
// independent of the parser under test.
func dnsMsg(t *testing.T, id uint16, resp bool, opcode dnsmessage.OpCode, name string, txt ...[]string) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: resp, OpCode: opcode, RecursionDesired: true})
	b.EnableCompression()
	n := dnsmessage.MustNewName(name)
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	if err := b.StartAnswers(); err != nil {
		t.Fatal(err)
	}
	for _, s := range txt {
		if err := b.TXTResource(dnsmessage.ResourceHeader{Name: n, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.TXTResource{TXT: s}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// udpFlow runs datagrams of one UDP flow (client 10.0.0.1:40000, server
// 10.0.0.2:53) through a State; toServer[i] gives each one's direction.
func udpFlow(msgs [][]byte, toServer []bool) []Event {
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	st := &State{}
	var out []Event
	emit := func(e *Event) { out = append(out, *e) }
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, m := range msgs {
		s := packet.Summary{TS: ts, Index: uint64(i + 1), IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true, Payload: m}
		if toServer[i] {
			s.Src, s.Dst, s.SrcPort, s.DstPort = cli, srv, 40000, 53
		} else {
			s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, 53, 40000
		}
		st.Packet(nil, toServer[i], &s, emit)
	}
	st.Close(nil, emit)
	return out
}

// TestDNSSuricataTransactions: Suricata numbers every message of a flow as
// its own transaction in arrival order, keeps probing a flow whose first
// datagram is not DNS, and logs any opcode.
func TestDNSSuricataTransactions(t *testing.T) {
	q1 := dnsMsg(t, 1, false, 0, "a.example.")
	r1 := dnsMsg(t, 1, true, 0, "a.example.", []string{"x"})
	q2 := dnsMsg(t, 2, false, 9, "b.example.")
	r2 := dnsMsg(t, 2, true, 9, "b.example.", []string{"y"})
	junk := []byte{0xde, 0xad}
	evs := udpFlow([][]byte{junk, q1, r1, q2, r2}, []bool{true, true, false, true, false})
	want := []struct {
		id   uint16
		typ  string
		txid int
		op   int
	}{{1, "request", 0, 0}, {1, "response", 1, 0}, {2, "request", 2, 9}, {2, "response", 3, 9}}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		d := evs[i].DNS
		if d.ID != w.id || d.Type != w.typ || d.TxID != w.txid || d.Opcode != w.op {
			t.Errorf("event %d: id %d %s tx_id %d opcode %d, want %+v", i, d.ID, d.Type, d.TxID, d.Opcode, w)
		}
	}
}

// TestDNSTXTStrings: a TXT record of several character-strings is one
// answer per string (Suricata's parser does the same), in record order,
// each with the record's name and TTL, and they are all grouped.
func TestDNSTXTStrings(t *testing.T) {
	m := dnsMsg(t, 7, true, 0, "t.example.", []string{"v=one", "two", ""}, []string{"three"})
	d, err := ParseDNS(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v=one", "two", "", "three"}
	if len(d.Answers) != len(want) {
		t.Fatalf("answers %+v, want %q", d.Answers, want)
	}
	for i, w := range want {
		a := d.Answers[i]
		if a.RData != w || a.RRName != "t.example" || a.RRType != "TXT" || a.TTL != 60 {
			t.Errorf("answer %d: %+v, want rdata %q", i, a, w)
		}
	}
	if g := d.Grouped()["TXT"]; len(g) != 4 || g[2] != "" {
		t.Errorf("grouped TXT %q, want all 4 strings (Suricata groups the empty one too)", g)
	}
	// Many strings: bounded by maxDNSRecords, never reallocating under the
	// parser's text references.
	many := make([]string, 200)
	for i := range many {
		many[i] = "s"
	}
	d, err = ParseDNS(dnsMsg(t, 8, true, 0, "t.example.", many[:100], many[100:]))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Answers) != maxDNSRecords {
		t.Fatalf("got %d answers, want the bound %d", len(d.Answers), maxDNSRecords)
	}
	for i, a := range d.Answers {
		if a.RData != "s" || a.RRName != "t.example" {
			t.Fatalf("answer %d: %+v", i, a)
		}
	}
}
