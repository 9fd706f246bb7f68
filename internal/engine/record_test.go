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

// TestEventLineRecordBody: the console line of a registered parser's event
// is the one its record makes, kept raw here (the protocol log cleans
// every line with textsafe when it draws it), with the flow's ends.
func TestEventLineRecordBody(t *testing.T) {
	f := &flow.Flow{ID: 4, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), CPort: 40000, SPort: 7777}
	l := eventLine(&proto.Event{Type: "fake", Body: fakeRecord{}}, f)
	if l.Kind != "fake" || l.Summary != "user \x1b[31mroot" || l.Detail != "accepted" || l.FlowID != 4 ||
		l.Server != netip.MustParseAddrPort("10.0.0.2:7777") {
		t.Errorf("line %+v", l)
	}
}
