package engine

import (
	"net/netip"
	"testing"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/proto"
)

type fakeRecord struct{}

func (fakeRecord) EventType() string { return "fake" }
func (fakeRecord) AppendEVE(b []byte, _ proto.EVEOptions) ([]byte, error) {
	return append(b, "{}"...), nil
}
func (fakeRecord) Line() (string, string) { return "user \x1b[31mroot", "accepted" }

// TestEventRecordBody: the protocol log keeps a registered parser's event
// as the line its record makes, raw (the console cleans every line with
// textsafe when it draws it), with the flow's ends.
func TestEventRecordBody(t *testing.T) {
	f := &flow.Flow{ID: 4, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), CPort: 40000, SPort: 7777}
	e := newEvent(&proto.Event{Type: "fake", Body: fakeRecord{}}, f)
	if e.Kind != "fake" || e.Line == nil || e.Line.Summary != "user \x1b[31mroot" || e.Line.Detail != "accepted" || e.FlowID != 4 ||
		e.Server != netip.MustParseAddrPort("10.0.0.2:7777") {
		t.Errorf("event %+v", e)
	}
}

// TestEventCopies: the protocol log's entry shares nothing with the
// event it was made from, which a pooled parser reuses once published,
// and keeps a secret as sent (the console decides what to show).
func TestEventCopies(t *testing.T) {
	dns := &proto.DNS{Type: "response", RCode: "NOERROR", Queries: []proto.DNSQuery{{RRName: "a.example", RRType: "A"}},
		Answers: []proto.DNSAnswer{{RData: "192.0.2.1"}, {RData: "192.0.2.2"}, {RData: "192.0.2.3"}, {RData: "192.0.2.4"}, {RData: "192.0.2.5"}}}
	quic := &proto.QUIC{Version: "1", SNI: "q.example", ALPN: []string{"h3"}}
	ftp := &proto.FTP{Command: "PASS", CommandData: "hunter2", CompletionCode: []string{"530", "530"}}
	evs := []*proto.Event{{Type: "dns", DNS: dns}, {Type: "quic", QUIC: quic}, {Type: "ftp", FTP: ftp}}
	var got []Event
	for _, ev := range evs {
		got = append(got, newEvent(ev, nil))
	}
	dns.Queries[0].RRName, dns.Answers[0].RData, quic.ALPN[0], ftp.CompletionCode[0] = "reused", "reused", "reused", "reused"
	d, q, f := got[0].DNS, got[1].QUIC, got[2].FTP
	if d.Queries[0].RRName != "a.example" || len(d.Answers) != EventAnswers || d.Answers[0].RData != "192.0.2.1" || d.RCode != "NOERROR" {
		t.Errorf("dns %+v", d)
	}
	if q.ALPN[0] != "h3" || q.SNI != "q.example" {
		t.Errorf("quic %+v", q)
	}
	if f.CommandData != "hunter2" || len(f.CompletionCode) != 1 || f.CompletionCode[0] != "530" {
		t.Errorf("ftp %+v", f)
	}
}
