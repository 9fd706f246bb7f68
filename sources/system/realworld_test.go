package system_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
	"github.com/opsdeck/opsdeck/sources/system"
)

func needLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc (Linux)")
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestAttributeOwnSockets opens a real listener and a real connection on
// loopback and finds this test process as the owner of both through
// attrib.Lookup, as the packet path would for the flow.
func TestAttributeOwnSockets(t *testing.T) {
	needLinux(t)
	ln := listen(t)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial %s: %v", ln.Addr(), err)
	}
	defer c.Close()
	srv := <-accepted
	defer srv.Close()

	s := system.New()
	snap, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e := snap.Errors[system.PartSockets]; e != "" {
		t.Fatalf("sockets failed: %s", e)
	}
	tb := attrib.NewTable(nil)
	tb.Update(snap)

	lnAddr := netip.MustParseAddrPort(ln.Addr().String())
	client := netip.MustParseAddrPort(c.LocalAddr().String())
	pid := int32(os.Getpid())
	for _, tc := range []struct {
		name          string
		local, remote netip.AddrPort
	}{
		{"server side of the connection", lnAddr, client},
		{"client side of the connection", client, lnAddr},
		// A new inbound flow that has no accepted socket yet: the listener.
		{"listener", lnAddr, netip.MustParseAddrPort("127.0.0.1:1")},
	} {
		o, ok := tb.Lookup(attrib.ProtoTCP, tc.local, tc.remote)
		if !ok || o.PID != pid || o.State != attrib.Known {
			t.Errorf("%s: Lookup(%v, %v) = %+v, %v; want pid %d", tc.name, tc.local, tc.remote, o, ok, pid)
		}
		if !strings.HasPrefix(o.Name, "system.test") && !strings.HasSuffix(os.Args[0], o.Name) {
			t.Errorf("%s: owner name %q is not this test binary (%s)", tc.name, o.Name, os.Args[0])
		}
	}
	var found bool
	for _, l := range snap.Listeners() {
		if l.Local == lnAddr && l.PID == pid {
			found = true
		}
	}
	if !found {
		t.Errorf("listener %v with pid %d not in snapshot listeners", lnAddr, pid)
	}
	var me bool
	for _, p := range snap.Processes {
		if p.PID == pid {
			me = p.Cmdline != "" && p.RSS > 0 && p.Threads > 0 && !p.StartTime.IsZero()
		}
	}
	if !me {
		t.Errorf("this process is missing or incomplete in the process list")
	}
}

// TestNewListenerAlert samples a baseline, opens a listener, samples again
// and expects host.listener naming this process and the port.
func TestNewListenerAlert(t *testing.T) {
	needLinux(t)
	s := system.New()
	rules := ops.New(ops.Config{})
	var alerts []*detect.Alert
	emit := func(a *detect.Alert) { alerts = append(alerts, a) }
	base, _ := s.Sample(context.Background())
	rules.Observe(base, emit)
	if len(alerts) != 0 {
		t.Fatalf("baseline raised %q", alerts[0].Signature)
	}
	ln := listen(t)
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	snap, _ := s.Sample(context.Background())
	rules.Observe(snap, emit)
	var hit *detect.Alert
	for _, a := range alerts {
		if a.Rule == ops.RuleListener && a.DstPort == port {
			hit = a
		}
	}
	if hit == nil {
		t.Fatalf("no host.listener for port %d; alerts: %d", port, len(alerts))
	}
	if hit.PID != int32(os.Getpid()) || hit.Proto != "TCP" || !strings.Contains(hit.Signature, hit.Process) || hit.Process == "" {
		t.Errorf("alert %q pid %d process %q, want this process (pid %d)", hit.Signature, hit.PID, hit.Process, os.Getpid())
	}
	t.Logf("alert: %s", hit.Signature)
}

// TestSocketRefresh checks the socket-only sample used on attribution misses.
func TestSocketRefresh(t *testing.T) {
	needLinux(t)
	s := system.New()
	if _, err := s.Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	p, err := s.SampleSockets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Partial || len(p.Processes) != 0 {
		t.Errorf("socket-only sample: partial=%v with %d processes", p.Partial, len(p.Processes))
	}
	tb := attrib.NewTable(nil)
	tb.Update(p)
	o, ok := tb.Lookup(attrib.ProtoTCP, netip.MustParseAddrPort(ln.Addr().String()), netip.MustParseAddrPort("127.0.0.1:9"))
	if !ok || o.PID != int32(os.Getpid()) {
		t.Errorf("listener opened after the full sample: %+v", o)
	}
}

// TestSampleReport samples the real host twice and logs what could not be
// read, so a run as non-root documents what is missing there:
//
//	go test -c -o /tmp/systest ./sources/system
//	setpriv --reuid=nobody --regid=nogroup --clear-groups /tmp/systest -test.run SampleReport -test.v
func TestSampleReport(t *testing.T) {
	needLinux(t)
	s := system.New()
	s.Sample(context.Background())
	snap, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// These never need privileges.
	for _, p := range []string{system.PartCPU, system.PartLoad, system.PartMemory, system.PartProcesses, system.PartSockets} {
		if e := snap.Errors[p]; e != "" {
			t.Errorf("%s failed: %s", p, e)
		}
	}
	if snap.CPU.Count == 0 || snap.Memory.Total == 0 || len(snap.Processes) == 0 || len(snap.Filesystems) == 0 || len(snap.Interfaces) == 0 {
		t.Errorf("empty parts: cpu %d, mem %d, procs %d, fs %d, ifaces %d",
			snap.CPU.Count, snap.Memory.Total, len(snap.Processes), len(snap.Filesystems), len(snap.Interfaces))
	}
	noIO, owned := 0, 0
	for _, p := range snap.Processes {
		if !p.IOReadable && p.PPID != 2 && p.PID != 2 {
			noIO++
		}
	}
	for _, sk := range snap.Sockets {
		if sk.PID != 0 {
			owned++
		}
	}
	t.Logf("uid %d: %d processes, %d without readable io; %d/%d sockets with owner (owners complete: %v); errors: %v",
		os.Getuid(), len(snap.Processes), noIO, owned, len(snap.Sockets), snap.SocketOwnersComplete, snap.Errors)
}
