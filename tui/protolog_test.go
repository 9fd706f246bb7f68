package tui

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// TestQUICProtocolLog: the console's protocol log shows a QUIC client's
// SNI and ALPN as it shows a TLS SNI, here from quic-go's v1 and v2
// connections recorded on loopback, run through the engine.
func TestQUICProtocolLog(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "internal", "proto", "testdata", "quic-go-loopback.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.DefaultConfig(), nil)
	for n := uint64(1); ; n++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		e.HandleFrame(packet.LinkEthernet, data, ci.Timestamp, ci.Length, n)
	}
	e.Finish()
	var lines []string
	for _, ev := range e.Snapshot(engine.SnapshotOptions{Events: 20}).Events {
		if ev.Kind == "quic" {
			s, d := EventLine(&ev, false)
			lines = append(lines, s+" | "+d)
		}
	}
	for _, want := range []string{"quic.opsdeck.test | QUIC v1 opsdeck-test", "quic.opsdeck.test | QUIC v2 opsdeck-test", "server hello | QUIC v1"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no %q in the protocol log: %q", want, lines)
		}
	}
}

// TestEventLine: the line of each kind of event the engine keeps, and
// its secrets shown only when the console is told to (--show-secrets).
func TestEventLine(t *testing.T) {
	dns := &proto.DNS{Type: "response", RCode: "NOERROR", Queries: []proto.DNSQuery{{RRName: "a.example", RRType: "A"}},
		Answers: []proto.DNSAnswer{{RData: "192.0.2.1"}, {RData: "192.0.2.2"}, {RData: "192.0.2.3"}, {RData: "192.0.2.4"}}}
	for _, tt := range []struct {
		e               engine.Event
		show            bool
		summary, detail string
	}{
		{engine.Event{DNS: dns}, false, "a.example", "A NOERROR 192.0.2.1 192.0.2.2 192.0.2.3 …"},
		{engine.Event{DNS: &proto.DNS{Type: "request", Queries: dns.Queries}}, false, "a.example", "A"},
		{engine.Event{TLS: &proto.TLS{SNI: "t.example", Version: "TLS 1.3", Subject: "CN=t"}}, false, "t.example", "TLS 1.3 CN=t"},
		{engine.Event{QUIC: &proto.QUIC{Version: "ff00001d"}}, false, "handshake packet", "QUIC version ff00001d"},
		{engine.Event{HTTP: &proto.HTTP{Method: "GET", Hostname: "h.example", URL: "/x", Status: 200, UserAgent: "curl"}}, false, "GET h.example/x", "200 curl"},
		{engine.Event{FTP: &proto.FTP{Command: "USER", CommandData: "bob", CompletionCode: []string{"331"}}}, false, "USER bob", "331"},
		{engine.Event{FTP: &proto.FTP{Command: "PASS", CommandData: "hunter2", CompletionCode: []string{"530"}}}, false, "PASS ********", "530"},
		{engine.Event{FTP: &proto.FTP{Command: "PASS", CommandData: "hunter2"}}, true, "PASS hunter2", ""},
		{engine.Event{Cred: &proto.Credential{Protocol: "pop3", User: "bob", Password: "hunter2", Outcome: "failure"}}, false, "pop3 user bob password ********", "failure"},
		{engine.Event{Cred: &proto.Credential{Protocol: "pop3", User: "bob", Password: "hunter2", Outcome: "failure"}}, true, "pop3 user bob password hunter2", "failure"},
		{engine.Event{RDP: &proto.RDP{EventType: proto.RDPInitialRequest, Cookie: "mstshash=bob"}}, false, "cookie mstshash=bob", ""},
		{engine.Event{Line: &engine.RecordLine{Summary: "s", Detail: "d"}}, false, "s", "d"},
	} {
		s, d := EventLine(&tt.e, tt.show)
		if s != tt.summary || d != tt.detail {
			t.Errorf("%+v show %v: %q | %q, want %q | %q", tt.e, tt.show, s, d, tt.summary, tt.detail)
		}
		if strings.Contains(s+d, "hunter2") != tt.show && (tt.e.Cred != nil || tt.e.FTP != nil && tt.e.FTP.Command == "PASS") {
			t.Errorf("show %v: %q", tt.show, s)
		}
	}
}
