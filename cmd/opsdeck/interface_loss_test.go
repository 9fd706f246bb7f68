package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/pump"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// vethPair creates hd8a (this namespace, 169.254.77.1) and its peer hd8b
// inside namespace ns (169.254.77.2). Traffic stays on the pair.
func vethPair(t *testing.T, ns string) {
	t.Helper()
	for _, args := range [][]string{
		{"link", "add", "hd8a", "type", "veth", "peer", "name", "hd8b", "netns", ns},
		{"addr", "add", "169.254.77.1/30", "dev", "hd8a"},
		{"link", "set", "hd8a", "up"},
		{"-n", ns, "addr", "add", "169.254.77.2/30", "dev", "hd8b"},
		{"-n", ns, "link", "set", "hd8b", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
}

// lossNamespace makes namespace opsdeck-hd8 and the veth pair hd8a/hd8b
// for the interface-loss tests (removed at the end), skipping without
// capture privilege, root or iproute2; it returns the namespace.
func lossNamespace(t *testing.T) string {
	t.Helper()
	needCapture(t)
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root: skipped")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed: skipped")
	}
	const ns = "opsdeck-hd8"
	exec.Command("ip", "link", "del", "hd8a").Run()
	exec.Command("ip", "netns", "del", ns).Run()
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", "hd8a").Run()
		exec.Command("ip", "netns", "del", ns).Run()
	})
	vethPair(t, ns)
	return ns
}

// TestConsoleCaptureSurvivesInterfaceLoss drives the capture loop of the
// console and watch (pump.Live) on a veth that the test deletes mid-capture and creates
// again: the source status must say what happened, and capture must resume
// by itself when the interface returns.
func TestConsoleCaptureSurvivesInterfaceLoss(t *testing.T) {
	ns := lossNamespace(t)

	eng := engine.New(engine.DefaultConfig(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc := pump.NewLive([]string{"hd8a"}, capture.LiveOptions{SnapLen: 65535})
	go func() { defer close(done); lc.Open(); pump.New(eng, pump.Options{Input: lc}).Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the capture loop did not stop when cancelled")
		}
	}()
	src := func() engine.SourceStatus { return eng.Snapshot(engine.SnapshotOptions{}).Source }
	wait := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; source %+v", what, src())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Datagrams to the peer leave through hd8a (ARP first), so capture
	// sees them; they go nowhere but the pair.
	ping := func() {
		c, err := net.Dial("udp", "169.254.77.2:9")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 5 {
			c.Write([]byte("opsdeck hardening"))
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait("capture to start", func() bool { return src().State == "running" })
	ping()
	wait("packets", func() bool { return eng.Counters().Pkts > 0 })

	if out, err := exec.Command("ip", "link", "del", "hd8a").CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	wait("the loss to show", func() bool { s := src(); return s.State != "running" && s.Err != "" })
	lost := src()
	if !strings.Contains(lost.Err+lost.Hint, "hd8a") && !strings.Contains(lost.Hint, "come back") {
		t.Errorf("status after the interface went away does not say so: %+v", lost)
	}
	before := eng.Counters().Pkts

	vethPair(t, ns)
	wait("capture to resume", func() bool { return src().State == "running" })
	ping()
	wait("packets after the interface returned", func() bool { return eng.Counters().Pkts > before })
	t.Logf("lost: %s (%s); resumed and captured %d more packets", lost.Err, lost.Hint, eng.Counters().Pkts-before)
}
