package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/config"
)

// TestConfigCommand: opsdeck config prints a file that reads back, and a bad
// file is an exit-2 error naming the file, line and key.
func TestConfigCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte("[detect]\nscan_ports = 42\n"), 0o600)
	os.WriteFile(bad, []byte("[detect]\nscan_ports = 42\nscan_prots = 1\n"), 0o600)

	var out bytes.Buffer
	if err := cmdConfig([]string{"--config", good}, &out); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(out.Bytes())
	if err != nil || c.Detect.ScanPorts != 42 {
		t.Fatalf("printed config does not read back with scan_ports 42: %v\n%s", err, out.String())
	}
	err = cmdConfig([]string{"--config", bad}, &out)
	ee, ok := err.(*exitError)
	if !ok || ee.code != 2 || !strings.Contains(err.Error(), bad+":3:1: detect.scan_prots: unknown key") {
		t.Errorf("bad config: %v", err)
	}
	if _, err := loadConfig(bad); err == nil {
		t.Error("loadConfig accepted a bad file")
	}
	ecfg, err := loadConfig(good)
	if err != nil || ecfg.Detect.ScanPorts != 42 {
		t.Errorf("loadConfig: scan ports %d, %v", ecfg.Detect.ScanPorts, err)
	}
}
