package eve

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
	"github.com/opsdeck/opsdeck/internal/record"
)

// TestWriterRecordFilters: as a subscriber the Writer writes every alert
// and update, and the protocol and flow records NoProto and NoFlows
// (--alerts-only sets both) leave in; host samples make no line here.
func TestWriterRecordFilters(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &flow.Flow{ID: 9, Proto: packet.ProtoTCP, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"),
		CPort: 40000, SPort: 21, FirstNS: ts.UnixNano(), LastNS: ts.UnixNano()}
	rule := &detect.Rule{Name: "cred.cleartext", SID: 1, Severity: detect.SevMedium}
	stream := []record.Record{
		{Kind: record.ProtoEvent, Flow: f, FlowID: 9, Event: &proto.Event{Type: "ftp", TS: ts, FTP: &proto.FTP{Command: "USER", CommandData: "bob"}}},
		{Kind: record.Alert, Flow: f, FlowID: 9, Alert: &detect.Alert{Rule: rule, TS: ts, FlowID: 9}},
		{Kind: record.AlertUpdate, Flow: f, FlowID: 9, Alert: &detect.Alert{Rule: rule, TS: ts, FlowID: 9, Update: true}},
		{Kind: record.HostSample, Host: &hoststat.Snapshot{Time: ts}},
		{Kind: record.FlowEnd, Flow: f, FlowID: 9, End: flow.EndTimeout},
	}
	for _, tc := range []struct {
		name             string
		noFlows, noProto bool
		want             string
	}{
		{"everything", false, false, "ftp alert alert flow"},
		{"--no-flows", true, false, "ftp alert alert"},
		{"--alerts-only", true, true, "alert alert"},
	} {
		var out bytes.Buffer
		w := NewWriter(&out)
		w.NoFlows, w.NoProto = tc.noFlows, tc.noProto
		var sub record.Subscriber = w
		for _, r := range stream {
			sub.Record(r)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			got = append(got, decode(t, []byte(line))["event_type"].(string))
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s: wrote %q, want %q", tc.name, g, tc.want)
		}
	}
	var nilW *Writer
	nilW.Record(stream[1]) // writes nothing, does not panic
}
