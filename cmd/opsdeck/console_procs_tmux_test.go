package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConsoleProcessKeys drives the process table of the real binary in
// tmux against a real process this test starts: the search (ctrl+f) jumps
// to it without filtering, r renices it after a confirmation naming it
// (checked in /proc), x picks SIGHUP from the list and sends it (the
// process dies of it), > re-sorts, K shows kernel threads.
func TestConsoleProcessKeys(t *testing.T) {
	bin := buildConsole(t)
	pcap, err := filepath.Abs("../../testdata/corpus/ndpi/synscan-nmap-1000-ports.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("corpus capture missing: %v", err)
	}
	// A process with a command line no other has.
	// A name no other run's process has (tests of two checkouts may run
	// at once on one machine).
	arg := fmt.Sprintf("3141.%06d", os.Getpid()%1000000)
	victim := exec.Command("sleep", arg)
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer victim.Process.Kill()
	pid := victim.Process.Pid

	s := startTmux(t, 200, 50, fmt.Sprintf("%s -r %s --speed 0", bin, pcap))
	s.waitFor("the first host sample", contains("Load", "2 processes"))
	sendKeys(s, "2", "z")
	s.waitFor("the zoomed process table", contains("TIME+", "COMMAND", "UNIT"))

	// Search jumps to the process: the table keeps its other rows.
	sendKeys(s, "C-f")
	s.run("send-keys", "-t", "e2e", "-l", arg)
	scr := s.waitFor("the search prompt", contains("search: "+arg))
	if strings.Count(scr, "\n") < 10 || !strings.Contains(scr, "sleep "+arg) {
		t.Fatalf("search filtered or did not find the process:\n%s", scr)
	}
	sendKeys(s, "Enter")

	// Renice to 3: the confirmation names the process.
	sendKeys(s, "r", "Right", "Right", "Right")
	s.waitFor("the renice confirmation", contains(fmt.Sprintf("renice %d (sleep) from 0 to 3?", pid)))
	sendKeys(s, "y")
	s.waitFor("the renice status", contains(fmt.Sprintf("reniced %d (sleep) to 3", pid)))
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if nice, _ := strconv.Atoi(f[16]); nice != 3 {
		t.Errorf("nice of %d is %d after renice, want 3", pid, nice)
	}

	// SIGUSR1 from the list (not SIGHUP: a test run under nohup passes
	// SIGHUP ignored to the processes it starts).
	sendKeys(s, "x", "Right", "Right", "Right", "Right", "Right")
	s.waitFor("the signal list", contains(fmt.Sprintf("send SIGUSR1 to %d (sleep)?", pid)))
	sendKeys(s, "Enter")
	s.waitFor("the signal status", contains(fmt.Sprintf("sent SIGUSR1 to %d (sleep)", pid)))
	waited := make(chan error, 1)
	go func() { waited <- victim.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the process did not end after SIGUSR1")
	}
	if ws, ok := victim.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGUSR1 {
		t.Errorf("the process ended with %v (%v), want SIGUSR1", victim.ProcessState, err)
	}

	// Sort column and kernel threads.
	sendKeys(s, ">")
	s.waitFor("sort on the next column", contains("sort MEM▼"))
	if scr := s.screen(); strings.Contains(scr, " kernel)") {
		sendKeys(s, "K")
		s.waitFor("kernel threads shown", func(scr string) bool { return !strings.Contains(scr, " kernel)") && strings.Contains(scr, "kthreadd") })
	} else {
		t.Log("no kernel threads visible in this PID namespace: K not checked")
	}
	sendKeys(s, "q")
}

// sendKeys sends each key on its own: keys sent together may reach the
// console as one message.
func sendKeys(s *tmuxSession, keys ...string) {
	for _, k := range keys {
		s.run("send-keys", "-t", "e2e", k)
		time.Sleep(50 * time.Millisecond)
	}
}
