package proto

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
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
	if j, _ := json.Marshal(d.Answers[2]); !strings.Contains(string(j), `"rdata":""`) {
		t.Errorf("empty string written as %s, want rdata \"\" as Suricata writes it", j)
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

// rawDNS assembles a message from a header (id, flags, section counts) and
// wire-format sections, for cases no encoder writes.
func rawDNS(id, flags uint16, qd, an, ns, ar int, body ...[]byte) []byte {
	b := []byte{byte(id >> 8), byte(id), byte(flags >> 8), byte(flags), 0, byte(qd), 0, byte(an), 0, byte(ns), 0, byte(ar)}
	for _, p := range body {
		b = append(b, p...)
	}
	return b
}

// rr is a record of the root-relative name at offset 12 (the question's).
func rawRR(typ uint16, rdata []byte) []byte {
	return append([]byte{0xc0, 12, byte(typ >> 8), byte(typ), 0, 1, 0, 0, 0, 60, byte(len(rdata) >> 8), byte(len(rdata))}, rdata...)
}

var rawQuestion = []byte{1, 'x', 3, 'l', 'a', 'b', 0, 0, 1, 0, 1} // x.lab A IN

// TestDNSSuricataSections: Suricata 8 keeps a response whose authorities
// or additionals do not parse, leaving them out (and the additionals after
// bad authorities); questions and answers must parse.
func TestDNSSuricataSections(t *testing.T) {
	a := rawRR(1, []byte{192, 0, 2, 1})
	bad := []byte{0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 9, 1} // rdlength past the end
	glue := rawRR(1, []byte{192, 0, 2, 2})
	for _, c := range []struct {
		name      string
		msg       []byte
		ok        bool
		ans, auth int
		add       int
	}{
		{"bad additionals", rawDNS(1, 0x8180, 1, 1, 1, 1, rawQuestion, a, rawRR(2, []byte{0xc0, 12}), bad), true, 1, 1, 0},
		{"bad authorities", rawDNS(1, 0x8180, 1, 1, 1, 1, rawQuestion, a, bad), true, 1, 0, 0},
		{"bad answers", rawDNS(1, 0x8180, 1, 2, 0, 0, rawQuestion, a, bad), false, 0, 0, 0},
		{"bad SOA in authorities", rawDNS(1, 0x8183, 1, 0, 1, 1, rawQuestion, rawRR(6, []byte{0, 0, 1, 2}), glue), true, 0, 0, 0},
		{"glue", rawDNS(1, 0x8180, 1, 1, 0, 1, rawQuestion, a, glue), true, 1, 0, 1},
		{"request without question", rawDNS(1, 0x0100, 0, 0, 0, 1, glue), false, 0, 0, 0},
		{"counts beyond the message", rawDNS(1, 0x8180, 1, 40, 0, 0, rawQuestion, a), false, 0, 0, 0},
		{"no records but data", rawDNS(1, 0x8180, 0, 0, 0, 0, []byte{0, 0}), false, 0, 0, 0},
		{"response without question", rawDNS(1, 0x8180, 0, 1, 0, 0, []byte{0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1}), true, 1, 0, 0},
	} {
		d, err := ParseDNS(c.msg)
		if (err == nil) != c.ok {
			t.Errorf("%s: error %v, want ok %v", c.name, err, c.ok)
			continue
		}
		if err != nil {
			continue
		}
		if len(d.Answers) != c.ans || len(d.Authorities) != c.auth || len(d.Additionals) != c.add {
			t.Errorf("%s: %d answers, %d authorities, %d additionals; want %d, %d, %d", c.name,
				len(d.Answers), len(d.Authorities), len(d.Additionals), c.ans, c.auth, c.add)
		}
	}
}

// TestDNSSuricataNames: names as Suricata's parser reads them: the root
// is "", a name longer than 1025 bytes is cut there and flagged, a pointer
// to itself is an error before any pointer was followed, invalid UTF-8 is
// escaped byte by byte.
func TestDNSSuricataNames(t *testing.T) {
	var long []byte
	for i := 0; i < 20; i++ {
		long = append(long, 63)
		long = append(long, strings.Repeat(string(rune('a'+i)), 63)...)
	}
	long = append(long, 0, 0, 1, 0, 1)
	d, err := ParseDNS(rawDNS(1, 0x0100, 1, 0, 0, 0, long))
	if err != nil {
		t.Fatal(err)
	}
	if q := d.Queries[0]; len(q.RRName) != 1025 || !q.RRNameTruncated || q.RRType != "A" {
		t.Errorf("long name: %d bytes, truncated %v, type %s", len(q.RRName), q.RRNameTruncated, q.RRType)
	}
	d, err = ParseDNS(rawDNS(1, 0x0100, 1, 0, 0, 0, []byte{0, 0, 2, 0, 1}))
	if err != nil || d.Queries[0].RRName != "" || d.Queries[0].RRType != "NS" {
		t.Errorf("root: %+v %v", d, err)
	}
	if _, err := ParseDNS(rawDNS(1, 0x0100, 1, 0, 0, 0, []byte{0xc0, 12, 0, 1, 0, 1})); err == nil {
		t.Error("a name pointing at itself parsed")
	}
	d, err = ParseDNS(rawDNS(1, 0x0100, 1, 0, 0, 0, []byte{3, 'a', 0xff, 'b', 2, 0xc3, 0xa9, 0, 0, 1, 0, 1}))
	if err != nil || d.Queries[0].RRName != `a\xffb.é` {
		t.Errorf("escaped name %q %v", d.Queries[0].RRName, err)
	}
}

// TestDNSSuricataRecords: header and record details as Suricata 8 logs
// them: flags in hex without leading zeros, the z bit, rcode on requests,
// every EDNS option, SSHFP and its type names.
func TestDNSSuricataRecords(t *testing.T) {
	opt := []byte{0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0} // root, OPT, 4096, TTL 0, rdlength
	opts := []byte{0, 8, 0, 4, 0, 1, 24, 0, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 12, 0, 0}
	opt[len(opt)-1] = byte(len(opts))
	d, err := ParseDNS(rawDNS(0xbeef, 0x0040, 1, 0, 0, 1, rawQuestion, opt, opts))
	if err != nil {
		t.Fatal(err)
	}
	if d.Flags != "40" || !d.Z || d.RCode != "NOERROR" || d.Type != "request" {
		t.Errorf("header: flags %q z %v rcode %q type %s", d.Flags, d.Z, d.RCode, d.Type)
	}
	want := []DNSOpt{{8, "00011800"}, {10, "0102030405060708"}, {12, ""}}
	if len(d.Additionals) != 1 || !slices.Equal(d.Additionals[0].Opt, want) || d.Additionals[0].RRName != "" {
		t.Errorf("additionals %+v, want opt %v", d.Additionals, want)
	}
	sshfp := rawRR(44, []byte{4, 2, 0xab, 0x01})
	d, err = ParseDNS(rawDNS(1, 0x8180, 1, 1, 0, 0, rawQuestion, sshfp))
	if err != nil || d.Answers[0].SSHFP == nil || *d.Answers[0].SSHFP != (DNSSSHFP{"ab:01", 4, 2}) {
		t.Errorf("sshfp %+v %v", d, err)
	}
	for typ, name := range map[uint16]string{23: "NSAPPTR", 64: "64", 65: "HTTPS", 252: "252", 254: "MAILA", 256: "URI", 257: "257"} {
		if got := DNSTypeName(typ); got != name {
			t.Errorf("type %d: %q, want Suricata's %q", typ, got, name)
		}
	}
	if d, _ := ParseDNS(rawDNS(1, 0x0000, 1, 0, 0, 0, rawQuestion)); d == nil || d.Flags != "0" {
		t.Errorf("flags of 0: %+v", d)
	}
}
