package main

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/lab"
	"github.com/opsdeck/opsdeck/internal/pump"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// lossVeth is the interface-loss tests' rig: namespace opsdeck-hd8 and the
// veth pair hd8a (here, 169.254.77.1) / hd8b (inside, 169.254.77.2).
var lossVeth = lab.Veth{NS: "opsdeck-hd8", Host: "hd8a", Peer: "hd8b", Prefix: "169.254.77"}

// vethPair creates the pair again after a test deleted it.
func vethPair(t *testing.T, _ string) { lossVeth.Pair(t) }

// lossNamespace makes lossVeth (removed at the end), skipping without
// capture privilege, root or iproute2; it returns the namespace.
func lossNamespace(t *testing.T) string {
	t.Helper()
	needCapture(t)
	lossVeth.Setup(t)
	return lossVeth.NS
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
