package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/evidence"
	"github.com/opsdeck/opsdeck/internal/evidence/bundle"
	"github.com/opsdeck/opsdeck/internal/pump"
	"github.com/opsdeck/opsdeck/sources/capture"
	"github.com/opsdeck/opsdeck/tui"
)

// TestConfigKeysMatchConsole: the configuration file's [keys] actions are
// exactly the console's, with the same defaults, so every file the config
// package accepts rebinds cleanly.
func TestConfigKeysMatchConsole(t *testing.T) {
	got := tui.DefaultKeyMap().Actions()
	if !maps.EqualFunc(got, config.DefaultKeys, slices.Equal) {
		names := slices.Sorted(maps.Keys(got))
		t.Errorf("console actions and config.DefaultKeys differ:\nconsole %v\nconsole keys %v\nconfig  %v", names, got, config.DefaultKeys)
	}
	km := tui.DefaultKeyMap()
	if err := km.Rebind(config.Default().Keys); err != nil {
		t.Fatal(err)
	}
	if err := km.Rebind(map[string][]string{"select": {"x"}}); err == nil {
		t.Error("an unknown action was accepted")
	}
}

// TestConsoleEvidence replays the nmap scan with the evidence ring hooked,
// then saves the scan alert's packets and an incident bundle as the b and e
// keys do: files 0600, the pcap holds the alert's packets.
func TestConsoleEvidence(t *testing.T) {
	pcap := "../../testdata/corpus/ndpi/synscan-nmap-1000-ports.pcap"
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("corpus capture missing: %v", err)
	}
	eng := engine.New(engine.DefaultConfig(), nil)
	ring := evidence.NewRing(evidence.Options{})
	eng.SetHooks(engine.Hooks{Frame: ring.Hook})
	replayFile(t, eng, pcap)
	snap := eng.Snapshot(engine.SnapshotOptions{Alerts: 100})
	if len(snap.Alerts) == 0 {
		t.Fatal("no alert on the scan capture")
	}
	a := snap.Alerts[0]
	dir := filepath.Join(t.TempDir(), "evidence")
	ev := &consoleEvidence{dir: dir, eng: eng, ring: ring}
	for i := range 2 { // the second export must not overwrite the first
		sv, err := ev.exportAlert(a)
		if err != nil {
			t.Fatal(err)
		}
		if sv.Packets == 0 || !filepath.IsAbs(sv.Path) {
			t.Errorf("export %d: %+v", i, sv)
		}
		assertMode(t, sv.Path, 0o600)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.pcap")); len(files) != 2 {
		t.Errorf("pcaps %v, want 2", files)
	}
	sv, err := ev.bundle(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{bundle.AlertsFile, bundle.PcapFile, bundle.SummaryFile} {
		assertMode(t, filepath.Join(sv.Path, f), 0o600)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
	}
}

func TestKernelFilter(t *testing.T) {
	if pump.KernelFilter(" ", 65535) != nil {
		t.Error("an empty filter compiled to a program")
	}
	f := pump.KernelFilter("tcp port 22", 65535)
	for _, l := range []capture.LinkType{capture.LinkEthernet, capture.LinkLinuxSLL} {
		prog, err := f(l)
		if err != nil || len(prog) == 0 {
			t.Errorf("link %d: %d instructions, %v", l, len(prog), err)
		}
	}
	if _, err := pump.KernelFilter("tcp port", 65535)(capture.LinkEthernet); err == nil {
		t.Error("a bad filter compiled")
	}
}

func TestConsoleTheme(t *testing.T) {
	for _, tc := range []struct{ name, fgbg, want string }{
		{"light", "", "light"}, {"mono", "15;0", "mono"}, {"auto", "0;15", "light"}, {"auto", "15;0", "dark"}, {"auto", "", "dark"},
	} {
		t.Setenv("COLORFGBG", tc.fgbg)
		if got := consoleTheme(tc.name); got != tc.want {
			t.Errorf("theme %q with COLORFGBG %q = %q, want %q", tc.name, tc.fgbg, got, tc.want)
		}
	}
}
