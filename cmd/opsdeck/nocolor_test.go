package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoColorKeepsAttributes: issue 14. NO_COLOR is about colour: the
// console under NO_COLOR=1 draws no colour at all, but the focused pane and
// the selected row keep their reverse video and bold.
func TestNoColorKeepsAttributes(t *testing.T) {
	bin := buildConsole(t)
	exitFile := filepath.Join(t.TempDir(), "exit")
	s := startTmux(t, 120, 40, fmt.Sprintf("TERM=tmux-256color NO_COLOR=1 %s --demo; echo $? > %s; sleep 30", bin, exitFile))
	// The demo's first alert: the alerts pane, focused, selects it.
	s.waitFor("the demo's first alert", func(scr string) bool { return !strings.Contains(scr, "no alerts") && strings.Contains(scr, "alerts H") })
	scr := s.run("capture-pane", "-p", "-e", "-t", "e2e")
	// Any foreground or background colour but the defaults (39, 49).
	colour := regexp.MustCompile(`\x1b\[([0-9;]*;)?(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;[0-9;]*)?m`)
	if m := colour.FindString(scr); m != "" {
		t.Errorf("NO_COLOR=1 screen has a colour sequence %q", m)
	}
	if !strings.Contains(scr, "\x1b[7m") && !strings.Contains(scr, ";7m") {
		t.Errorf("NO_COLOR=1 screen has no reverse video: the selection is invisible:\n%q", scr)
	}
	s.quit(exitFile)
}

// TestConsoleMissingFile: issue 14. -r with a file that cannot be read is
// an error before any screen opens, not a console that shows nothing and
// exits 0.
func TestConsoleMissingFile(t *testing.T) {
	err := cmdConsole([]string{"-r", filepath.Join(t.TempDir(), "missing.pcap")})
	if err == nil || !strings.Contains(err.Error(), "missing.pcap") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("error %v, want one naming the file and the cause", err)
	}
}
