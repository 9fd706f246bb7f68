package eve

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// fakeRecord is the body of an event from a parser on proto's registry,
// which the writer knows nothing about.
type fakeRecord struct{ err error }

func (fakeRecord) EventType() string { return "fake" }
func (r fakeRecord) AppendEVE(b []byte, o proto.EVEOptions) ([]byte, error) {
	b = append(b, `{"secret":`...)
	b = strconv.AppendBool(b, o.ShowSecrets)
	return append(b, '}'), r.err
}
func (fakeRecord) Line() (string, string) { return "", "" }

// TestProtoRecordBody: a registered parser's event is written with the
// common fields, its own object under its event type, and the writer's
// settings handed to it; an encoding error is returned, not written.
func TestProtoRecordBody(t *testing.T) {
	f := &flow.Flow{ID: 9, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), CPort: 40000, SPort: 7777,
		Proto: 6, AppProto: "fake"}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, show := range []bool{false, true} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.ShowSecrets = show
		if err := w.Proto(&proto.Event{Type: "fake", TS: ts, ToServer: true, Body: fakeRecord{}}, f); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		m := decode(t, buf.Bytes())
		body, _ := m["fake"].(map[string]any)
		if m["event_type"] != "fake" || m["app_proto"] != "fake" || m["src_port"] != 40000.0 || m["flow_id"] != 9.0 || body["secret"] != show {
			t.Errorf("show secrets %v: %s", show, buf.Bytes())
		}
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	bad := errors.New("cannot encode")
	err := w.Proto(&proto.Event{Type: "fake", TS: ts, Body: fakeRecord{err: bad}}, f)
	w.Flush()
	if !errors.Is(err, bad) || !strings.Contains(err.Error(), "fake") || buf.Len() != 0 {
		t.Errorf("error %v, wrote %q", err, buf.Bytes())
	}
}
