package tui

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
)

// TestAlertUpdatesFold: the updates of one scan, raised by packets of
// different flows, show as one row with the newest count.
func TestAlertUpdatesFold(t *testing.T) {
	snap := fixtureSnapshot("")
	src, dst := netip.MustParseAddr("203.0.113.66"), netip.MustParseAddr("10.0.0.20")
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	snap.Alerts = nil
	for i, n := range []int{15, 30, 60, 120} {
		snap.Alerts = append(snap.Alerts, &detect.Alert{Rule: detect.RuleScanPort, Severity: detect.SevMedium, TS: t0.Add(time.Duration(i) * time.Second),
			Signature: "scan.port: 203.0.113.66 probed " + itoa(n) + " TCP ports on 10.0.0.20", Src: src, Dst: dst,
			FlowID: uint64(100 + i), Update: i > 0, Suppressed: uint64(n - 15)})
	}
	m := newTestModel(snap, 160, 45, asciiRenderer())
	v := m.View()
	if got := strings.Count(v, "probed"); got != 1 {
		t.Errorf("%d scan.port rows, want 1 folded row", got)
	}
	if !strings.Contains(v, "probed 120 TCP ports") {
		t.Errorf("the folded row is not the newest count")
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
