package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// TestEvidenceKeys: b writes a bundle for the alert in view, e exports the
// alert's packets; both only through commands, and the footer says where
// (with the path cleaned).
func TestEvidenceKeys(t *testing.T) {
	var bundles, exports []*detect.Alert
	path := "/var/tmp/ev\x1b[2Jil"
	m, err := New(Options{Renderer: asciiRenderer(),
		Bundle: func(a *detect.Alert) (Saved, error) {
			bundles = append(bundles, a)
			return Saved{Path: path + "/opsdeck-incident-1", Packets: -1}, nil
		},
		ExportAlert: func(a *detect.Alert) (Saved, error) {
			exports = append(exports, a)
			return Saved{Path: path + ".pcap", Packets: 42}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	snap := fixtureSnapshot("")
	m.Update(SnapshotMsg{Snap: snap})
	m.Update(windowSize(120, 40))
	newest := snap.Alerts[len(snap.Alerts)-1]

	tests := []struct {
		name     string
		keys     []string
		key      string
		calls    *[]*detect.Alert
		want     *detect.Alert
		status   string
		footHint string
	}{
		{"bundle from the alerts pane takes the selected alert", nil, "b", &bundles, newest,
			`incident bundle written: /var/tmp/ev\x1b[2Jil/opsdeck-incident-1`, ""},
		{"export from the alerts pane", nil, "e", &exports, newest,
			`alert pcap written: /var/tmp/ev\x1b[2Jil.pcap (42 packets)`, ""},
		{"export from the alert detail", []string{"down", "enter"}, "e", &exports, snap.Alerts[len(snap.Alerts)-2],
			"alert pcap written", "save alert pcap"},
		{"bundle from the processes pane is manual", []string{"esc", "2"}, "b", &bundles, nil,
			"incident bundle written", ""},
	}
	for _, tc := range tests {
		for _, k := range tc.keys {
			_, cmd := m.Update(keyMsg(k))
			drain(m, cmd)
		}
		if tc.footHint != "" {
			offered := false
			for _, b := range m.detail.ShortHelp() {
				offered = offered || b.Help().Desc == tc.footHint
			}
			if !offered {
				t.Errorf("%s: the footer does not offer %q", tc.name, tc.footHint)
			}
		}
		before := len(*tc.calls)
		_, cmd := m.Update(keyMsg(tc.key))
		if len(*tc.calls) != before {
			t.Fatalf("%s: Update wrote evidence itself", tc.name)
		}
		drain(m, cmd)
		if len(*tc.calls) != before+1 {
			t.Fatalf("%s: %d calls, want %d", tc.name, len(*tc.calls), before+1)
		}
		if got := (*tc.calls)[before]; got != tc.want {
			t.Errorf("%s: saved alert %v, want %v", tc.name, got, tc.want)
		}
		v := m.View()
		if !strings.Contains(v, tc.status) {
			t.Errorf("%s: status lacks %q:\n%s", tc.name, tc.status, v)
		}
		if strings.Contains(v, "\x1b") {
			t.Errorf("%s: raw escape from the path reached the screen", tc.name)
		}
	}
}

func TestEvidenceUnavailableAndFailing(t *testing.T) {
	m := newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	drain(m, press(m, "b"))
	if v := m.View(); !strings.Contains(v, "incident bundles are not available here") {
		t.Errorf("no message without a bundle writer:\n%s", v)
	}
	m2, _ := New(Options{Renderer: asciiRenderer(), ExportAlert: func(*detect.Alert) (Saved, error) {
		return Saved{}, errors.New("create \"/ro/x.pcap\": read-only file system")
	}})
	m2.Update(SnapshotMsg{Snap: fixtureSnapshot("")})
	m2.Update(windowSize(120, 40))
	drain(m2, press(m2, "e"))
	if v := m2.View(); !strings.Contains(v, "alert pcap failed: create \"/ro/x.pcap\": read-only") {
		t.Errorf("failure not shown:\n%s", v)
	}
}

// TestAlertDetailSaysHowToSave: the detail of an alert names the keys.
func TestAlertDetailSaysHowToSave(t *testing.T) {
	m, _ := New(Options{Renderer: asciiRenderer(), Keys: map[string][]string{"export_alert": {"E"}}})
	m.Update(SnapshotMsg{Snap: fixtureSnapshot("")})
	m.Update(windowSize(120, 40))
	drain(m, press(m, "enter"))
	v := m.View()
	if !strings.Contains(v, "E saves this alert's packets as pcap") || !strings.Contains(v, "b saves an incident bundle") {
		t.Errorf("detail lacks the save hint with the rebound key:\n%s", v)
	}
	press(m, "esc", "?")
	if v := m.View(); !strings.Contains(v, "save incident bundle") || !strings.Contains(v, "save alert pcap") {
		t.Errorf("help lacks the evidence keys:\n%s", v)
	}
}

// TestProcsRefreshCadence: a new host sample a second later leaves the
// process table alone; three seconds later it is taken.
func TestProcsRefreshCadence(t *testing.T) {
	snap := fixtureSnapshot("")
	m := newTestModel(snap, 120, 40, asciiRenderer())
	p := m.panes[paneProcs].(*procsPane)
	next := func(d time.Duration, cpu float64) {
		h := *snap.Host.Latest
		h.Time = h.Time.Add(d)
		h.Processes = append([]hoststat.Process(nil), h.Processes...)
		h.Processes[0].CPUPct = cpu // systemd to the top
		s := *snap
		s.Host = engine.HostState{Latest: &h}
		m.Update(SnapshotMsg{Snap: &s})
	}
	top := func() int32 { return p.rows[0].p.PID }
	if top() != 1401 {
		t.Fatalf("top process %d, want 1401", top())
	}
	next(time.Second, 99)
	if top() != 1401 {
		t.Errorf("a sample 1 s later reordered the table (top %d)", top())
	}
	press(m, "2", "s", "s", "s", "s") // a full turn of sort keys rebuilds at once
	if top() != 1 {
		t.Errorf("sorting did not take the newest sample (top %d)", top())
	}
	next(2*time.Second, 0)
	if top() != 1 {
		t.Errorf("a sample 1 s after the rebuild reordered the table (top %d)", top())
	}
	next(4*time.Second, 0)
	if top() != 1401 {
		t.Errorf("a sample 3 s later was not taken (top %d)", top())
	}
}

func TestHeaderPrivilege(t *testing.T) {
	for _, tc := range []struct{ priv, want string }{
		{"root", "[root]"}, {"cap_net_raw", "[CAP_NET_RAW]"}, {"dropped to alice", "[dropped to alice]"}, {"none", "[no capture privilege]"},
	} {
		snap := fixtureSnapshot("")
		snap.Source = engine.SourceStatus{Name: "eth0", Kind: "live", State: "running", Privilege: tc.priv}
		m := newTestModel(snap, 200, 60, asciiRenderer())
		if head := strings.SplitN(m.View(), "\n", 2)[0]; !strings.Contains(head, tc.want) {
			t.Errorf("privilege %q: header %q lacks %q", tc.priv, head, tc.want)
		}
	}
}
