package main

import (
	"os"
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
