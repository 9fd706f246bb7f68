package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestCLIHabits: what a tcpdump or git user's hands expect (issue 17).
func TestCLIHabits(t *testing.T) {
	bin := opsdeckBinary(t)
	cases := []struct {
		args       []string
		code       int
		out, err   string // substrings of stdout and stderr
		maxErrLine int    // at most this many stderr lines (0: no bound)
	}{
		{args: []string{"analyze", "--help"}, code: 0, err: "Usage: opsdeck analyze"},
		{args: []string{"watch", "-h"}, code: 0, err: "Usage: opsdeck watch"},
		{args: []string{"help", "analyze"}, code: 0, err: "Usage: opsdeck analyze"},
		{args: []string{"analyze", "--bogus", "x.pcap"}, code: 2, err: "Run 'opsdeck analyze -h' for the flags.", maxErrLine: 2},
		{args: []string{"anlyze", "x.pcap"}, code: 2, err: `did you mean "analyze"`},
		{args: []string{"wacth"}, code: 2, err: `did you mean "watch"`},
		{args: []string{"version"}, code: 0, out: "opsdeck "},
		{args: []string{"help"}, code: 0, out: "Exit status"},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(stdout.String(), c.out) || !strings.Contains(stderr.String(), c.err) {
			t.Errorf("opsdeck %s: exit %d, stdout %q, stderr %q; want exit %d, %q, %q", strings.Join(c.args, " "), code, stdout.String(), stderr.String(), c.code, c.out, c.err)
		}
		if n := strings.Count(stderr.String(), "\n"); c.maxErrLine > 0 && n > c.maxErrLine {
			t.Errorf("opsdeck %s: %d lines on stderr, want at most %d", strings.Join(c.args, " "), n, c.maxErrLine)
		}
	}
}

func TestNearCommand(t *testing.T) {
	for word, want := range map[string]string{"anlyze": "analyze", "analyse": "analyze", "wtch": "watch", "confg": "config",
		"host": "", "port": "", "tcp": "", "analyze": "", "-i": "", "icmp": "", "versoin": "version"} {
		if got := nearCommand(word); got != want {
			t.Errorf("nearCommand(%q) = %q, want %q", word, got, want)
		}
	}
}
