package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// unitSettings returns the values of key in a unit file, in order.
func unitSettings(unit, key string) []string {
	var out []string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// TestSystemdUnit: docs/opsdeck-watch.service runs opsdeck as its own user
// with exactly the four capabilities --user keeps (ambient, so they hold
// under NoNewPrivileges=yes, which stopped the setcap route), systemd
// accepts it (systemd-analyze verify) and rates it at most 3.0 in
// systemd-analyze security (the unit before issue 17: 7.0 MEDIUM).
func TestSystemdUnit(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "opsdeck-watch.service")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	want := []string{"CAP_DAC_READ_SEARCH", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_PTRACE"}
	for _, key := range []string{"AmbientCapabilities", "CapabilityBoundingSet"} {
		v := unitSettings(unit, key)
		if len(v) != 1 {
			t.Fatalf("%s set %d times", key, len(v))
		}
		got := strings.Fields(v[0])
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s=%s, want exactly %v", key, v[0], want)
		}
	}
	for key, val := range map[string]string{"User": "opsdeck", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes"} {
		if v := unitSettings(unit, key); !slices.Equal(v, []string{val}) {
			t.Errorf("%s=%v, want %s", key, v, val)
		}
	}
	if !slices.Contains(unitSettings(unit, "SystemCallFilter"), "@system-service") {
		t.Error("no SystemCallFilter=@system-service")
	}
	// What would break attribution or the host figures.
	for _, key := range []string{"ProtectProc", "ProcSubset", "PrivateUsers", "PrivateNetwork"} {
		if v := unitSettings(unit, key); len(v) > 0 {
			t.Errorf("%s=%v hides what opsdeck reads", key, v)
		}
	}
	execStart := unit[strings.Index(unit, "ExecStart="):]
	execStart = execStart[:strings.Index(execStart, "ExecReload=")]
	if strings.Contains(execStart, "--user") || strings.Contains(execStart, " -Z") {
		t.Error("the unit starts opsdeck as its user; --user (a root start) is not needed")
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd): score not measured")
	}
	// verify checks ExecStart's binary exists: point it at the one built.
	dir := t.TempDir()
	local := filepath.Join(dir, "opsdeck-watch.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(unit, "/usr/local/bin/opsdeck", opsdeckBinary(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", local).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=yes", local).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security --offline=yes: %.1f", score)
	if score > 3.0 {
		t.Errorf("exposure %.1f, want at most 3.0:\n%s", score, out)
	}
}
