package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/record"
)

// TestHostRulesWired: with the ops rules on, a host sample's alert goes
// through the engine like a network alert (subscribers, recent ring, EVE), with
// its incident, and the ops rules' tables are in DetectorStats.
func TestHostRulesWired(t *testing.T) {
	var out bytes.Buffer
	w := eve.NewWriter(&out)
	e := New(DefaultConfig(), w)
	var hooked []*detect.Alert
	e.Subscribe(record.Func(func(r record.Record) {
		if r.Kind == record.Alert || r.Kind == record.AlertUpdate {
			hooked = append(hooked, r.Alert)
		}
	}))
	if _, ok := e.DetectorStats()["host.suppress.entries"]; ok {
		t.Fatal("ops rules' stats before they are enabled")
	}
	e.EnableHostRules(ops.Config{})
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range 2 {
		s := &hoststat.Snapshot{Time: t0.Add(time.Duration(i) * time.Second), IntervalS: 1}
		s.Memory.Total, s.Memory.Available = 1000, 500
		s.Filesystems = []hoststat.Filesystem{{Mount: "/var", Total: 100, Used: 98, Free: 2, UsedPct: 98}}
		e.HandleHost(s)
	}
	if len(hooked) != 1 || hooked[0].Rule != ops.RuleDisk || hooked[0].Severity != detect.SevHigh || hooked[0].Incident != "host.disk//var" {
		t.Fatalf("hooked alerts %+v, want one host.disk of severity 1 (the second sample folded)", hooked)
	}
	if snap := e.Snapshot(SnapshotOptions{Alerts: 10}); len(snap.Alerts) != 1 {
		t.Errorf("%d alerts in the snapshot, want 1", len(snap.Alerts))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"signature_id":9000102`) {
		t.Errorf("EVE has no host.disk alert:\n%s", out.String())
	}
	st := e.DetectorStats()
	if st["host.suppress.entries"] != 1 || st["alerts"] != 0 {
		t.Errorf("stats %v: want the ops suppressor's one incident beside the network detector's", st)
	}
}
