package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestWatchAttributesFlowsToProcesses: live on loopback, a TCP connection
// between two sockets of this test process is written as a flow record
// naming this process's pid (the socket-inode mapping of issue 5, through
// the real binary).
func TestWatchAttributesFlowsToProcesses(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	out := filepath.Join(t.TempDir(), "eve.json")
	wp := startWatch(t, bin, "-i", "lo", "-o", out, "--host-interval", "1s", "tcp port "+strconv.Itoa(port))
	// Give the system source its first sample before the connection.
	time.Sleep(1500 * time.Millisecond)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			buf := make([]byte, 64)
			c.Read(buf)
			c.Write([]byte("pong\n"))
			time.Sleep(300 * time.Millisecond)
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Enough packets that the engine's last lookup retry (at 64 packets)
	// comes well after a socket refresh, even on a loaded machine.
	for i := 0; i < 40; i++ {
		c.Write([]byte("ping\n"))
		time.Sleep(50 * time.Millisecond)
	}
	c.Close()
	time.Sleep(time.Second)
	wp.stop(t)
	pid := strconv.Itoa(os.Getpid())
	var flows []record
	for _, r := range eveFiles(t, []string{out}) {
		if r["event_type"] == "flow" && r.str("dest_port") == strconv.Itoa(port) {
			flows = append(flows, r)
		}
	}
	if len(flows) != 1 {
		t.Fatalf("%d flow records to port %d, want 1", len(flows), port)
	}
	if got := flows[0].str("opsdeck.process.pid"); got != pid {
		t.Errorf("flow attributed to pid %q (%s), want this test's pid %s", got, flows[0].str("opsdeck.process"), pid)
	}
}
