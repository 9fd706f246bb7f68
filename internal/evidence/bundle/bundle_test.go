package bundle

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/evidence"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/testpkt"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// pcapPackets counts the packets of a pcap file.
func pcapPackets(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("%s: %v", path, err)
			}
			return n
		}
		n++
	}
}

// TestWrite runs a synthesized port scan through the real engine with
// the ring hooked in, then checks every file of the bundle.
func TestWrite(t *testing.T) {
	ring := evidence.NewRing(evidence.Options{})
	cfg := engine.DefaultConfig()
	cfg.CommunityIDSeed = 7 // as --community-id-seed 7 sets it, and Input's
	eng := engine.New(cfg, eve.NewWriter(&strings.Builder{}))
	eng.SetHooks(engine.Hooks{Frame: ring.Hook})
	for i := 0; i < 60; i++ {
		d := testpkt.TCPSyn(t, "10.0.0.66", "10.0.0.5", 40000, uint16(1000+i), 0)
		eng.HandleFrame(1, d, t0.Add(time.Duration(i)*10*time.Millisecond), len(d), uint64(i+1))
	}
	// Unrelated traffic in the same window: not this incident's evidence.
	for i := 0; i < 100; i++ {
		d := testpkt.TCPSyn(t, "10.0.0.99", "10.0.0.7", 50000, 443, 100)
		eng.HandleFrame(1, d, t0.Add(time.Duration(i)*5*time.Millisecond), len(d), uint64(100+i))
	}
	eng.Expire(t0.Add(2 * time.Second))
	snap := eng.Snapshot(SnapshotOptions)
	if len(snap.Alerts) == 0 {
		t.Fatal("the synthesized scan raised no alert")
	}
	host := &hoststat.Snapshot{Host: hoststat.Host{Hostname: "web-1\x1b[31m"},
		Processes: []hoststat.Process{{PID: 7, PPID: 1, Name: "nc", Cmdline: "nc -l 4444", CPUPct: 50, RSS: 1 << 20}, {PID: 1, Name: "init", CPUPct: 1}},
		Sockets:   []hoststat.Socket{{Proto: "TCP", State: "LISTEN", PID: 7, Process: "nc"}}}
	dir := t.TempDir()
	// The trigger names a process (as after attribution).
	trigger := *snap.Alerts[0]
	trigger.PID, trigger.Process = 7, "nc"
	path, err := Write(dir, Input{Time: t0, Reason: "test", Trigger: &trigger, Snapshot: snap, Host: host, Ring: ring, CommunityIDSeed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "opsdeck-incident-20240501T120000Z" {
		t.Errorf("bundle name %q", path)
	}
	// A second bundle at the same time gets its own directory.
	if p2, err := Write(dir, Input{Time: t0, Snapshot: snap}); err != nil || p2 == path {
		t.Errorf("second bundle: %q %v", p2, err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(path, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lines := func(name, eventType string) []map[string]any {
		var out []map[string]any
		sc := bufio.NewScanner(strings.NewReader(string(read(name))))
		for sc.Scan() {
			var r map[string]any
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r["event_type"] != eventType {
				t.Errorf("%s line %q: %v", name, sc.Text(), err)
			}
			out = append(out, r)
		}
		return out
	}
	alerts := lines(AlertsFile, "alert")
	if len(alerts) != len(snap.Alerts)+1 {
		t.Errorf("alerts.json: %d lines, want %d", len(alerts), len(snap.Alerts))
	}
	// flows.json is the flow table as EVE flow records, written by the EVE
	// writer with the alerts' seed: an alert's flow_id finds its flow, and
	// their community_id agree.
	flows := lines(FlowsFile, "flow")
	if len(flows) != 61 {
		t.Errorf("flows.json: %d flows; want 61", len(flows))
	}
	byID := map[float64]map[string]any{}
	for _, f := range flows {
		byID[f["flow_id"].(float64)] = f
		if fl, _ := f["flow"].(map[string]any); fl == nil || fl["reason"] != "forced" || f["src_ip"] == nil || f["community_id"] == nil {
			t.Errorf("flows.json record %v", f)
		}
	}
	joined := 0
	for _, a := range alerts {
		id, ok := a["flow_id"].(float64)
		if !ok {
			continue
		}
		f := byID[id]
		if f == nil || f["community_id"] != a["community_id"] {
			t.Errorf("alert flow_id %v community_id %v: flow %v", id, a["community_id"], f)
		}
		joined++
	}
	if joined == 0 {
		t.Error("no alert names a flow: the join is not tested")
	}
	var talkers struct {
		Stats   map[string]any   `json:"stats"`
		Talkers []map[string]any `json:"top_talkers"`
	}
	if err := json.Unmarshal(read(TalkersFile), &talkers); err != nil || len(talkers.Talkers) == 0 || talkers.Stats == nil {
		t.Errorf("talkers.json: %+v %v", talkers, err)
	}
	var sys struct {
		TopCPU  []hoststat.Process `json:"top_cpu"`
		Chain   []hoststat.Process `json:"incident_process_chain"`
		Sockets []hoststat.Socket  `json:"incident_process_sockets"`
	}
	if err := json.Unmarshal(read(SystemFile), &sys); err != nil || len(sys.TopCPU) != 2 || sys.TopCPU[0].PID != 7 {
		t.Errorf("system.json top_cpu: %+v %v", sys.TopCPU, err)
	}
	if len(sys.Chain) != 2 || sys.Chain[1].PID != 1 || len(sys.Sockets) != 1 {
		t.Errorf("system.json: the process chain %+v and sockets %+v of the trigger's process", sys.Chain, sys.Sockets)
	}
	// Only the incident's packets: the scan's 60, not the 100 unrelated.
	if n := pcapPackets(t, filepath.Join(path, PcapFile)); n != 60 {
		t.Errorf("evidence.pcap: %d packets, want the incident's 60", n)
	}
	sum := string(read(SummaryFile))
	for _, want := range []string{"scan.port", "10.0.0.66", "## Top talkers", "nc -l 4444", "evidence.pcap`: 60 packets",
		"## Incident", "first seen", "**pid 7** nc", "parents: init (1)", "### The incident's flows", "between 10.0.0.66 and 10.0.0.5"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary.md lacks %q:\n%s", want, sum)
		}
	}
	if strings.Contains(sum, "\x1b") {
		t.Error("summary.md carries a raw escape from a host name")
	}
	for _, name := range []string{AlertsFile, FlowsFile, TalkersFile, SystemFile, PcapFile, SummaryFile} {
		if st, _ := os.Stat(filepath.Join(path, name)); st.Mode().Perm() != evidence.FileMode {
			t.Errorf("%s mode %v", name, st.Mode().Perm())
		}
	}
}
