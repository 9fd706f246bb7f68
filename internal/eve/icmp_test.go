package eve

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/opsdeck/opsdeck/internal/flow"
)

// An ICMP flow's record carries the first packet's type and code and, once
// the other side answered, the answer's (response_icmp_type and _code), as
// Suricata's flow records do; an unanswered one has no response fields.
func TestFlowICMPResponse(t *testing.T) {
	rec := func(toClient uint64) map[string]any {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		f := &flow.Flow{ID: 1, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), Proto: 1,
			ICMPType: 8, PktsToServer: 1, PktsToClient: toClient, RespICMPType: 0, RespICMPCode: 0}
		if toClient == 0 {
			f.RespICMPType = 99 // never written
		}
		w.Flow(f, flow.EndShutdown)
		w.Flush()
		return decode(t, buf.Bytes())
	}
	m := rec(1)
	if m["icmp_type"] != float64(8) || m["response_icmp_type"] != float64(0) || m["response_icmp_code"] != float64(0) {
		t.Errorf("answered echo: icmp_type %v response_icmp_type %v response_icmp_code %v", m["icmp_type"], m["response_icmp_type"], m["response_icmp_code"])
	}
	if _, ok := rec(0)["response_icmp_type"]; ok {
		t.Error("an unanswered echo has response_icmp_type")
	}
}
