package pump

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/lab"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// vethNamespace makes namespace opsdeck-pmp with the veth pair pmpa (here,
// 169.254.78.1) / pmpb (inside, 169.254.78.2), removed at the end. Without
// root or iproute2 the test is skipped.
func vethNamespace(t *testing.T) {
	t.Helper()
	lab.Veth{NS: "opsdeck-pmp", Host: "pmpa", Peer: "pmpb", Prefix: "169.254.78"}.Setup(t)
}

// send writes n datagrams to the peer: they leave through pmpa (after
// ARP), so capture on pmpa sees them, and go nowhere but the pair.
func send(t *testing.T, n int) {
	c, err := net.Dial("udp", "169.254.78.2:9")
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	for range n {
		c.Write([]byte("opsdeck pump test"))
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLiveVeth captures on a real veth through the pump: frames reach the
// engine, the status is live and running and carries the kernel's
// counters when the run ends, the Frame hook sees the interface's name,
// and Count ends the run by itself (tcpdump -c on a live link).
func TestLiveVeth(t *testing.T) {
	vethNamespace(t)
	eng := engine.New(engine.DefaultConfig(), nil)
	live := NewLive([]string{"pmpa"}, capture.LiveOptions{SnapLen: 65535, Filter: KernelFilter("udp port 9", 65535)})
	if err := live.Open(); err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	p := New(eng, Options{Input: live, Count: 20, Frame: func(fr *capture.Frame) {
		if len(ifaces) < 3 {
			ifaces = append(ifaces, fr.Iface)
		}
	}})
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	go send(t, 40)
	waitFor(t, "capture to run", func() bool { return eng.Snapshot(engine.SnapshotOptions{}).Source.State == "running" })
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Count 20 did not end the live run")
	}
	if eng.Counters().Pkts != 20 || p.Read() != 20 {
		t.Errorf("-c 20 on a live link: analysed %d, read %d", eng.Counters().Pkts, p.Read())
	}
	st := eng.Snapshot(engine.SnapshotOptions{}).Source
	if st.Kind != "live" || st.Name != "pmpa" || st.Privilege != "root" || st.KernelPackets < 20 {
		t.Errorf("status %+v", st)
	}
	if len(ifaces) == 0 || ifaces[0] != "pmpa" {
		t.Errorf("frames' interface %q", ifaces)
	}
	if c := p.Capture(); c.Packets < 20 {
		t.Errorf("capture counters %+v", c)
	}
}

// TestLiveLostAfterDrop: once privileges are dropped (DroppedTo) a lost
// interface cannot be reopened, so the run ends with an error that says
// what to do, and the status says so too.
func TestLiveLostAfterDrop(t *testing.T) {
	vethNamespace(t)
	eng := engine.New(engine.DefaultConfig(), nil)
	live := NewLive([]string{"pmpa"}, capture.LiveOptions{SnapLen: 65535})
	if err := live.Open(); err != nil {
		t.Fatal(err)
	}
	live.DroppedTo("nobody", "restart it")
	done := make(chan error, 1)
	go func() { done <- New(eng, Options{Input: live}).Run(context.Background()) }()
	send(t, 3)
	waitFor(t, "packets", func() bool { return eng.Counters().Pkts > 0 })
	if out, err := exec.Command("ip", "link", "del", "pmpa").CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "restart it") {
			t.Errorf("Run after the loss: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end when the interface went away")
	}
	st := eng.Snapshot(engine.SnapshotOptions{}).Source
	if !st.Stopped() || st.Hint != "restart it" || st.Privilege != "dropped to nobody" {
		t.Errorf("status %+v", st)
	}
}

// TestLiveIdleClock: while a live link is idle the clock tick moves the
// engine's time on (so idle flows end and detector windows close), and the
// Idle and Tick hooks run around it; a replayed file's time is never moved.
func TestLiveIdleClock(t *testing.T) {
	vethNamespace(t)
	eng := engine.New(engine.DefaultConfig(), nil)
	live := NewLive([]string{"pmpa"}, capture.LiveOptions{SnapLen: 65535})
	if err := live.Open(); err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time, 10)
	var idles int
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p := New(eng, Options{Input: live, Idle: func() { idles++ }, Tick: func(now time.Time) {
		select {
		case ticks <- now:
		default:
		}
	}})
	go func() { done <- p.Run(ctx) }()
	send(t, 3)
	waitFor(t, "packets", func() bool { return eng.Counters().Pkts > 0 })
	last := eng.Now()
	<-ticks
	<-ticks // a whole tick after the last packet
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !eng.Now().After(last) {
		t.Errorf("the engine's clock stayed at the last packet (%v) on an idle live link", last)
	}
	if idles < 2 {
		t.Errorf("Idle ran %d times for 2 ticks", idles)
	}
}
