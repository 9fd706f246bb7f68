package eve

import (
	"bytes"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// TestAppendQUICMatchesJSON holds the hand encoder to encoding/json's
// output of the same value.
func TestAppendQUICMatchesJSON(t *testing.T) {
	for i, v := range []*proto.QUIC{
		{Version: "1"},
		{Version: "1", SNI: "www.example.com", JA3: &proto.JA{Hash: "abc", String: "771,4865"}, JA4: "q13d0310h3_x_y",
			ALPN: []string{"h3"},
			Extensions: []proto.QUICExtension{{Name: "server_name", Type: 0, Values: []string{"www.example.com"}},
				{Type: 2570}, {Name: "alpn", Type: 16, Values: []string{"h3", "h3-29"}}}},
		{Version: "6b3343cf", JA3S: &proto.JA{Hash: "d", String: "771,4865,51-43"},
			Extensions: []proto.QUICExtension{{Name: "key_share", Type: 51}, {Name: "supported_versions", Type: 43}}},
		{Version: "ff00001d", SNI: "evil\x1b]8;;x\x07\"\\"},
		{Version: "Q046", SNI: "www.google.com", UA: "Chrome/79", CYU: []proto.JA{{Hash: "a46560d4548108cf99308319b3b85346", String: "46,PAD-SNI"}, {Hash: "b", String: "46,CHLO"}}},
	} {
		sameJSON(t, "quic case "+strconv.Itoa(i), appendQUIC(nil, v), v)
	}
}

// TestWriterQUIC: a quic event is written under "quic" with the flow's
// common fields and app_proto.
func TestWriterQUIC(t *testing.T) {
	f := &flow.Flow{ID: 9, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), CPort: 50000, SPort: 443, Proto: 17, AppProto: "quic"}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	ev := &proto.Event{Type: "quic", TS: time.Unix(1700000000, 0), ToServer: true, QUIC: &proto.QUIC{Version: "1", SNI: "example.com"}}
	if err := w.Proto(ev, f); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	m := decode(t, bytes.TrimSpace(buf.Bytes()))
	q, _ := m["quic"].(map[string]any)
	if m["event_type"] != "quic" || m["app_proto"] != "quic" || q["sni"] != "example.com" || q["version"] != "1" || m["dest_port"] != float64(443) {
		t.Errorf("record %s", buf.Bytes())
	}
}

// TestWriterQUICServerDirection: a server's quic record goes from the
// server to the client, as Suricata's quic logger writes the packet's
// direction.
func TestWriterQUICServerDirection(t *testing.T) {
	f := &flow.Flow{ID: 9, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), CPort: 50000, SPort: 443, Proto: 17, AppProto: "quic"}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Proto(&proto.Event{Type: "quic", QUIC: &proto.QUIC{Version: "1", JA3S: &proto.JA{Hash: "h", String: "771,4865,51-43"}}}, f)
	w.Flush()
	m := decode(t, bytes.TrimSpace(buf.Bytes()))
	if m["src_ip"] != "10.0.0.2" || m["src_port"] != float64(443) || m["dest_ip"] != "10.0.0.1" {
		t.Errorf("server hello record %s", buf.Bytes())
	}
}
