package engine

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/gen"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/packet"
)

func feed(e *Engine, n int, attacks bool) {
	g := gen.New(gen.Options{Seed: 3, Attacks: attacks, AttackEvery: 20000})
	for i := 0; i < n; i++ {
		f := g.Next()
		e.HandleFrame(packet.LinkEthernet, f.Data, f.TS, len(f.Data), uint64(i+1))
	}
}

func TestPipelineOnGeneratedTraffic(t *testing.T) {
	var out bytes.Buffer
	e := New(DefaultConfig(), eve.NewWriter(&out))
	feed(e, 60000, true)
	s := e.Snapshot(SnapshotOptions{Flows: 10, Talkers: 5, Alerts: 50, Events: 20})
	if s.Counters.Pkts != 60000 || s.Counters.Invalid != 0 {
		t.Errorf("counters %+v", s.Counters)
	}
	if len(s.TopFlows) != 10 || len(s.Talkers) != 5 || len(s.Events) != 20 {
		t.Errorf("snapshot bounds: %d flows, %d talkers, %d events", len(s.TopFlows), len(s.Talkers), len(s.Events))
	}
	for i := 1; i < len(s.TopFlows); i++ {
		a, b := s.TopFlows[i-1], s.TopFlows[i]
		if a.BytesToServer+a.BytesToClient < b.BytesToServer+b.BytesToClient {
			t.Errorf("top flows not sorted by bytes at %d", i)
		}
	}
	if len(s.PPS) == 0 || len(s.PPS) != len(s.BPS) {
		t.Errorf("rate history: %d pps, %d bps points", len(s.PPS), len(s.BPS))
	}
	// Short-session brute force is judged when the sessions end.
	e.Finish()
	s = e.Snapshot(SnapshotOptions{Alerts: 50})
	rules := map[string]bool{}
	for _, a := range s.Alerts {
		rules[a.Rule.Name] = true
	}
	for _, want := range []string{"scan.port", "bruteforce.ssh", "dns.tunnel", "cred.cleartext"} {
		if !rules[want] {
			t.Errorf("no %s alert from the generated attacks (got %v)", want, rules)
		}
	}
	if s.AlertsBySeverity[1]+s.AlertsBySeverity[2]+s.AlertsBySeverity[3] != s.Counters.Alerts {
		t.Errorf("severity counts %v do not add up to %d", s.AlertsBySeverity, s.Counters.Alerts)
	}
	if e.FlowStats().Active != 0 {
		t.Errorf("flows left after Finish: %d", e.FlowStats().Active)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"event_type":"flow"`)) || !bytes.Contains(out.Bytes(), []byte(`"event_type":"alert"`)) {
		t.Errorf("EVE output lacks flow or alert records")
	}
}

func TestMuteDropsAlerts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mute = func(rule string, src, dst netip.Addr) bool { return rule == "scan.port" }
	e := New(cfg, nil)
	feed(e, 30000, true)
	s := e.Snapshot(SnapshotOptions{Alerts: 1000})
	for _, a := range s.Alerts {
		if a.Rule.Name == "scan.port" {
			t.Fatalf("muted rule still alerted: %s", a.Signature)
		}
	}
	if s.Counters.Muted == 0 {
		t.Errorf("no muted alerts counted")
	}
}

func TestRecentAlertsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RecentAlerts, cfg.RecentEvents = 3, 5
	e := New(cfg, nil)
	feed(e, 60000, true)
	s := e.Snapshot(SnapshotOptions{Alerts: 100, Events: 100})
	if len(s.Alerts) > 3 || len(s.Events) != 5 {
		t.Errorf("rings not bounded: %d alerts, %d events", len(s.Alerts), len(s.Events))
	}
}

func TestHostHistoryBounded(t *testing.T) {
	e := New(DefaultConfig(), nil)
	t0 := time.Unix(1000, 0)
	for i := 0; i < hostHistory+50; i++ {
		hs := &hoststat.Snapshot{Time: t0.Add(time.Duration(i) * time.Second)}
		hs.CPU.Total.Busy = float64(i % 100)
		hs.Memory.Total, hs.Memory.Used = 100, 25
		e.HandleHost(hs)
	}
	s := e.Snapshot(SnapshotOptions{})
	if len(s.Host.CPU) != hostHistory || len(s.Host.Mem) != hostHistory || s.Host.Mem[0] != 25 {
		t.Errorf("host history: %d cpu, %d mem points", len(s.Host.CPU), len(s.Host.Mem))
	}
	if s.Host.CPU[hostHistory-1] != float64((hostHistory+49)%100) {
		t.Errorf("newest CPU point %v", s.Host.CPU[hostHistory-1])
	}
}

func TestRingOrder(t *testing.T) {
	r := newRing[int](4)
	for i := 1; i <= 6; i++ {
		r.push(i)
	}
	got := r.last(10)
	if len(got) != 4 || got[0] != 3 || got[3] != 6 {
		t.Errorf("last = %v", got)
	}
	if got := r.last(2); got[0] != 5 || got[1] != 6 {
		t.Errorf("last(2) = %v", got)
	}
}

func BenchmarkHandleFrame(b *testing.B) {
	g := gen.New(gen.Options{Seed: 1, Attacks: true})
	frames := make([]gen.Frame, 200000)
	for i := range frames {
		frames[i] = g.Next()
	}
	e := New(DefaultConfig(), eve.NewWriter(&bytes.Buffer{}))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := frames[i%len(frames)]
		// Keep packet time moving forward across laps.
		ts := f.TS.Add(time.Duration(i/len(frames)) * time.Minute)
		e.HandleFrame(packet.LinkEthernet, f.Data, ts, len(f.Data), uint64(i))
		i++
	}
}
