package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestMain isolates the tests from the configuration file of whoever runs
// them: every command reads $XDG_CONFIG_HOME/opsdeck/config.toml.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "opsdeck-test-config")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// opsdeckBinary builds opsdeck once per test run, for the tests that
// drive the real binary. It goes under
// $XDG_CONFIG_HOME, the directory TestMain creates and removes, so nothing
// is left behind.
func opsdeckBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "opsdeck")
		// Without cgo, as make build and releases: --user keeps
		// capabilities on every thread only so (capabilities_linux.go).
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestCPUProfileEnv: OPSDECK_CPUPROFILE=FILE writes a CPU profile of the run.
func TestCPUProfileEnv(t *testing.T) {
	bin := opsdeckBinary(t)
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	cmd := exec.Command(bin, "analyze", "-o", os.DevNull, filepath.Join("..", "..", "testdata", "corpus", "ndpi", "synscan-nmap-1000-ports.pcap"))
	cmd.Env = append(os.Environ(), "OPSDECK_CPUPROFILE="+prof)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("analyze: %v\n%s", err, out)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Fatalf("no CPU profile written: %v", err)
	}
}
