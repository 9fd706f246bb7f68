package eve

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// benchFlow is a finished DNS lookup flow as the benchmark capture has them.
func benchFlow() *flow.Flow {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 19000, time.UTC)
	return &flow.Flow{ID: 613443887586497, Client: netip.MustParseAddr("10.0.1.24"), Server: netip.MustParseAddr("10.0.0.53"),
		CPort: 32770, SPort: 53, Proto: packet.ProtoUDP, FirstNS: t0.UnixNano(), LastNS: t0.Add(19 * time.Microsecond).UnixNano(),
		PktsToServer: 1, PktsToClient: 1, BytesToServer: 75, BytesToClient: 91, State: flow.StateEstablished, AppProto: "dns"}
}

// BenchmarkDNSResponseRecord is the EVE record of a DNS answer with one A
// record, the commonest event of the benchmark capture.
func BenchmarkDNSResponseRecord(b *testing.B) {
	f := benchFlow()
	q := []proto.DNSQuery{{RRName: "docs.python.org", RRType: "A"}}
	ev := &proto.Event{Type: "dns", TS: f.Last(), PcapCnt: 2, DNS: &proto.DNS{Version: 3, Type: "response", ID: 3280, Flags: "8180",
		QR: true, RD: true, RA: true, RCode: "NOERROR", Queries: q,
		Answers: []proto.DNSAnswer{{RRName: "docs.python.org", RRType: "A", TTL: 300, RData: "93.184.0.5"}}}}
	w := NewWriter(io.Discard)
	w.FileInput = true
	b.ReportAllocs()
	for b.Loop() {
		w.Proto(ev, f)
	}
}

// BenchmarkFlowRecord is the EVE record of that flow when it ends, each
// from another client port: no two records are of one flow (the writer
// keeps recent Community IDs, which one flow's records would always hit).
func BenchmarkFlowRecord(b *testing.B) {
	f := benchFlow()
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.CPort = uint16(i)
		w.Flow(f, flow.EndTimeout)
	}
}

// BenchmarkFlowRecordAfterEvents is the flow record of a flow whose
// events were just written: its Community ID is the writer's recent one.
func BenchmarkFlowRecordAfterEvents(b *testing.B) {
	f := benchFlow()
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		w.Flow(f, flow.EndTimeout)
	}
}

// BenchmarkTCPFlowRecord is the record of a spoofed SYN that got no answer,
// the commonest flow of the attack-heavy benchmark capture (a tcp object
// besides the flow's).
func BenchmarkTCPFlowRecord(b *testing.B) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 19000, time.UTC)
	f := &flow.Flow{ID: 613443887586497, Client: netip.MustParseAddr("198.51.100.7"), Server: netip.MustParseAddr("10.0.0.80"),
		CPort: 41234, SPort: 80, Proto: packet.ProtoTCP, FirstNS: t0.UnixNano(), LastNS: t0.UnixNano(), PktsToServer: 1, BytesToServer: 60,
		FlagsTS: packet.TCPSyn, State: flow.StateNew}
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.CPort = uint16(i) // another spoofed SYN each time
		w.Flow(f, flow.EndTimeout)
	}
}
