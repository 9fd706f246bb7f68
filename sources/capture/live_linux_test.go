package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// vethPair is a veth pair whose peer end lives in a network namespace the
// test created; packets sent from the namespace arrive on host.
type vethPair struct {
	ns, host, peer string
	peerIP, hostIP string
}

var vethSeq atomic.Int32

// newVeth creates the namespace and pair, or skips when that is impossible.
// No address is put on the host end, so the host's routing is not touched:
// the namespace gets a static neighbour entry for the host end instead.
func newVeth(t *testing.T) *vethPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture test needs root (network namespace and CAP_NET_RAW)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("live capture test needs the ip command (iproute2)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("live capture test needs bash to send UDP from the namespace")
	}
	n := vethSeq.Add(1)
	v := &vethPair{
		ns:     fmt.Sprintf("opsdk-%d-%d", os.Getpid(), n),
		host:   fmt.Sprintf("odk%dh%d", os.Getpid()%1000000, n),
		peer:   fmt.Sprintf("odk%dp%d", os.Getpid()%1000000, n),
		peerIP: "10.213.7.2",
		hostIP: "10.213.7.1",
	}
	if out, err := exec.Command("ip", "netns", "add", v.ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", v.host).Run()
		exec.Command("ip", "netns", "del", v.ns).Run()
	})
	v.run(t, "ip", "link", "add", v.host, "type", "veth", "peer", "name", v.peer, "netns", v.ns)
	// IPv6 autoconfiguration noise is not wanted on either end.
	os.WriteFile("/proc/sys/net/ipv6/conf/"+v.host+"/disable_ipv6", []byte("1"), 0o644)
	v.run(t, "ip", "netns", "exec", v.ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6")
	v.run(t, "ip", "link", "set", v.host, "up")
	v.run(t, "ip", "-n", v.ns, "addr", "add", v.peerIP+"/24", "dev", v.peer)
	v.run(t, "ip", "-n", v.ns, "link", "set", v.peer, "up")
	ifc, err := net.InterfaceByName(v.host)
	if err != nil {
		t.Fatal(err)
	}
	v.run(t, "ip", "-n", v.ns, "neigh", "add", v.hostIP, "lladdr", ifc.HardwareAddr.String(), "dev", v.peer, "nud", "permanent")
	return v
}

func (v *vethPair) run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// sendUDP sends count datagrams with payload from the namespace to the host
// end's address and port, using bash's /dev/udp.
func (v *vethPair) sendUDP(t *testing.T, port, count int, payload string) {
	t.Helper()
	script := fmt.Sprintf("for i in $(seq %d); do printf %%s %q > /dev/udp/%s/%d; done", count, payload, v.hostIP, port)
	v.run(t, "ip", "netns", "exec", v.ns, "bash", "-c", script)
}

// udpDst decodes a frame and returns its UDP destination port and payload.
func udpDst(f Frame) (int, string, bool) {
	var first gopacket.Decoder = layers.LayerTypeEthernet
	if f.Link == LinkLinuxSLL {
		first = layers.LayerTypeLinuxSLL
	}
	p := gopacket.NewPacket(f.Data, first, gopacket.NoCopy)
	u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok {
		return 0, "", false
	}
	return int(u.DstPort), string(u.Payload), true
}

// collect reads frames until one carries the marker payload, returning the
// frames before it (copied). A guard deadline turns a hang into a failure.
func collect(t *testing.T, src Source, marker string) []Frame {
	t.Helper()
	return collectAll(t, src, marker)
}

// nextErr reads frames from src until Next fails and sends that error.
func nextErr(src Source) <-chan error {
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := src.Next(); err != nil {
				errc <- err
				return
			}
		}
	}()
	return errc
}

// waitErr is the error nextErr sends; the test fails if none comes within
// 15 s (a hang guard, not a timing assertion).
func waitErr(t *testing.T, errc <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(15 * time.Second):
		t.Fatalf("Next did not return %s", what)
		return nil
	}
}

// collectAll reads frames until every marker has been seen, returning the
// frames that are not markers.
func collectAll(t *testing.T, src Source, markers ...string) []Frame {
	t.Helper()
	type res struct {
		frames []Frame
		err    error
	}
	done := make(chan res, 1)
	go func() {
		var out []Frame
		for {
			f, err := src.Next()
			if err != nil {
				done <- res{out, err}
				return
			}
			if _, p, ok := udpDst(f); ok && slices.Contains(markers, p) {
				markers = slices.DeleteFunc(slices.Clone(markers), func(m string) bool { return m == p })
				if len(markers) == 0 {
					done <- res{out, nil}
					return
				}
				continue
			}
			f.Data = append([]byte(nil), f.Data...)
			out = append(out, f)
		}
	}()
	r := await(t, done, src, "marker packet never captured")
	if r.err != nil {
		t.Fatalf("Next after %d frames: %v", len(r.frames), r.err)
	}
	return r.frames
}

func TestLiveVethCount(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{Promisc: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const n = 25
	v.sendUDP(t, 9999, n, "opsdeck-test")
	v.sendUDP(t, 9999, 1, "opsdeck-end")
	frames := collect(t, src, "opsdeck-end")
	got := 0
	for _, f := range frames {
		port, payload, ok := udpDst(f)
		if !ok || port != 9999 {
			continue
		}
		got++
		if payload != "opsdeck-test" || f.Link != LinkEthernet || f.Iface != v.host || f.TS.IsZero() || f.CapLen != len(f.Data) {
			t.Errorf("frame %d: payload %q link %d iface %q ts %v", f.Index, payload, f.Link, f.Iface, f.TS)
		}
	}
	if got != n {
		t.Errorf("captured %d UDP packets to 9999, sent %d", got, n)
	}
	st := src.Stats()
	if st.Packets < n+1 || st.KernelPackets < st.Packets || st.KernelDrops != 0 {
		t.Errorf("stats %+v: want at least %d packets seen by the kernel and no drops", st, n+1)
	}
}

// udpDstPort9999 is "udp dst port 9999" for Ethernet, as tcpdump -d prints it
// minus the IPv6 branch.
func udpDstPort9999(t *testing.T, ethOff uint32) []BPFInstruction {
	t.Helper()
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: ethOff - 2, Size: 2},                   // ethertype
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: 8}, // IPv4?
		bpf.LoadAbsolute{Off: ethOff + 9, Size: 1},                   // protocol
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: 6},     // UDP?
		bpf.LoadAbsolute{Off: ethOff + 6, Size: 2},                   // flags+fragment
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 4},  // first fragment only
		bpf.LoadMemShift{Off: ethOff},                                // X = IP header length
		bpf.LoadIndirect{Off: ethOff + 2, Size: 2},                   // UDP dst port
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 9999, SkipTrue: 1},
		bpf.RetConstant{Val: 262144},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func TestLiveBPFFilter(t *testing.T) {
	v := newVeth(t)
	tests := []struct {
		name  string
		iface string
		prog  []BPFInstruction
		link  LinkType
	}{
		{"ethernet", v.host, udpDstPort9999(t, 14), LinkEthernet},
		// Compiled for the SLL header; the source rewrites it for the kernel.
		{"any cooked", "any", udpDstPort9999(t, 16), LinkLinuxSLL},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenLive(tc.iface, LiveOptions{BPF: tc.prog})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			payload := fmt.Sprintf("opsdeck-filter-%d", i)
			v.sendUDP(t, 8888, 10, payload)
			v.sendUDP(t, 9999, 5, payload)
			v.sendUDP(t, 8888, 10, payload)
			v.sendUDP(t, 9999, 1, "opsdeck-end")
			frames := collect(t, src, "opsdeck-end")
			got := 0
			for _, f := range frames {
				port, p, ok := udpDst(f)
				if !ok || port != 9999 {
					t.Fatalf("frame %d passed the filter: udp %v port %d link %d % x", f.Index, ok, port, f.Link, f.Data[:min(len(f.Data), 48)])
				}
				if p != payload {
					continue // another test's traffic on "any"
				}
				got++
				if f.Link != tc.link || f.Iface != v.host {
					t.Errorf("frame %d: link %d iface %q, want %d %q", f.Index, f.Link, f.Iface, tc.link, v.host)
				}
			}
			if got != 5 {
				t.Errorf("captured %d packets to port 9999, sent 5", got)
			}
		})
	}
}

func TestLiveInterfaceGone(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	errc := nextErr(src)
	v.run(t, "ip", "link", "del", v.host)
	err = waitErr(t, errc, "after the interface was deleted")
	if !errors.Is(err, ErrInterfaceGone) {
		t.Fatalf("Next: %v, want ErrInterfaceGone", err)
	}
	if want := "capture on " + v.host + ": capture interface went away"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestLiveGoneBeforeNext: a link deleted while no Next waits (the kernel
// reports the error to a socket no one polls, and the poller reports
// edges) is still found gone by the next Next, not at the 30 s backstop.
func TestLiveGoneBeforeNext(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v.run(t, "ip", "link", "del", v.host)
	err = waitErr(t, nextErr(src), "when the interface was deleted before it")
	if !errors.Is(err, ErrInterfaceGone) {
		t.Fatalf("Next: %v, want ErrInterfaceGone", err)
	}
}

// deleteWhileDown checks that Next has not failed on a link that is only
// down, deletes the link and checks Next then reports it gone.
func deleteWhileDown(t *testing.T, v *vethPair, errc <-chan error) {
	t.Helper()
	select {
	case err := <-errc:
		t.Fatalf("Next returned %v for a link that is only down", err)
	default:
	}
	v.run(t, "ip", "link", "del", v.host)
	if err := waitErr(t, errc, "after the downed interface was deleted"); !errors.Is(err, ErrInterfaceGone) {
		t.Fatalf("Next: %v, want ErrInterfaceGone", err)
	}
}

// TestLiveGoneWhileDown: a link deleted while it is down reports nothing
// more on the socket (it stopped running when the link went down), so
// Next must find out by itself that it is gone.
func TestLiveGoneWhileDown(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	errc := nextErr(src)
	v.run(t, "ip", "link", "set", v.host, "down")
	// Wait until Next has seen the link go down: a deletion racing the
	// down notification would be reported by the socket itself.
	for range 100 {
		if out, _ := exec.Command("ip", "-o", "link", "show", v.host).Output(); !strings.Contains(string(out), ",UP") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	deleteWhileDown(t, v, errc)
}

// TestLiveGoneAfterDownWithTraffic: packets still in a block when the link
// goes down are handed over when the kernel's block timer retires that
// block, after the down; that block must not be taken for the link being
// up again, or a deletion that follows goes unnoticed (a down link's socket
// reports nothing more).
func TestLiveGoneAfterDownWithTraffic(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{BlockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	errc := nextErr(src)
	v.sendUDP(t, 9999, 3, "opsdeck-in-block")
	v.run(t, "ip", "link", "set", v.host, "down")
	time.Sleep(2 * time.Second) // the block timer retires the block
	deleteWhileDown(t, v, errc)
}

// TestLiveDownAndUp: a link that goes down and comes back is captured
// again, on the same socket.
func TestLiveDownAndUp(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v.sendUDP(t, 9999, 1, "opsdeck-before")
	collect(t, src, "opsdeck-before")
	v.run(t, "ip", "link", "set", v.host, "down")
	time.Sleep(300 * time.Millisecond) // let Next see the link down
	v.run(t, "ip", "link", "set", v.host, "up")
	v.run(t, "ip", "-n", v.ns, "link", "set", v.peer, "up")
	// The veth carrier comes back asynchronously: send until one arrives.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				exec.Command("ip", "netns", "exec", v.ns, "bash", "-c",
					fmt.Sprintf("printf opsdeck-after > /dev/udp/%s/9999", v.hostIP)).Run()
			}
		}
	}()
	collect(t, src, "opsdeck-after")
}

func TestLiveCloseWakesNext(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errc := nextErr(src)
	src.Close()
	if err := waitErr(t, errc, "after Close"); err != io.EOF {
		t.Fatalf("Next after Close: %v, want io.EOF", err)
	}
}

func TestLiveMulti(t *testing.T) {
	a, b := newVeth(t), newVeth(t)
	src, err := OpenLiveMulti([]string{a.host, b.host, a.host}, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a.sendUDP(t, 9999, 4, "opsdeck-a")
	b.sendUDP(t, 9999, 6, "opsdeck-b")
	// One end marker per interface: each interface is read by its own
	// goroutine, so one interface's frames may arrive after the other's end.
	a.sendUDP(t, 9999, 1, "opsdeck-end-a")
	b.sendUDP(t, 9999, 1, "opsdeck-end-b")
	frames := collectAll(t, src, "opsdeck-end-a", "opsdeck-end-b")
	count := map[string]int{}
	prev := uint64(0)
	for i, f := range frames {
		// Indices number the merged stream; markers are left out of frames.
		if f.Index <= prev {
			t.Errorf("frame %d has index %d after %d", i+1, f.Index, prev)
		}
		prev = f.Index
		if _, p, ok := udpDst(f); ok {
			count[f.Iface+"/"+p]++
		}
	}
	if count[a.host+"/opsdeck-a"] != 4 || count[b.host+"/opsdeck-b"] != 6 || len(count) != 2 {
		t.Errorf("per interface and payload: %v", count)
	}
}

func TestLiveNoSuchInterface(t *testing.T) {
	_, err := OpenLive("eth9nosuch", LiveOptions{})
	if !errors.Is(err, ErrNoSuchInterface) || err.Error() != `capture interface "eth9nosuch": no such interface` {
		t.Fatalf("error %v", err)
	}
}

func TestPermissionErrorText(t *testing.T) {
	err := error(&PermissionError{Iface: "eth0"})
	want := "capture on eth0 needs CAP_NET_RAW: run with sudo, or `sudo setcap cap_net_raw,cap_net_admin=eip $(which opsdeck)`"
	if err.Error() != want || !errors.Is(err, ErrPermission) {
		t.Fatalf("got %q (Is ErrPermission: %v)", err, errors.Is(err, ErrPermission))
	}
}

// TestPermissionAsNobody runs this test binary as user nobody, without
// capabilities, and checks OpenLive fails with the permission error while a
// capture file still opens.
func TestPermissionAsNobody(t *testing.T) {
	if os.Getenv("OPSDECK_CAPTURE_PERM_HELPER") == "1" {
		_, err := OpenLive("lo", LiveOptions{})
		fmt.Printf("euid=%d is=%v err=%v\n", os.Geteuid(), errors.Is(err, ErrPermission), err)
		src, ferr := OpenFile(os.Getenv("OPSDECK_CAPTURE_FILE"))
		if ferr == nil {
			_, ferr = src.Next()
		}
		fmt.Printf("file err=%v\n", ferr)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to user nobody; as non-root see TestPermissionErrorText")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv (util-linux) to drop to user nobody")
	}
	// The test binary and a capture must be reachable by nobody.
	dir, err := os.MkdirTemp("", "opsdeck-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "capture.test")
	capFile := filepath.Join(dir, "one.pcap")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(capFile, writePcap(binary.LittleEndian, false, 1, 65535, []pcapRec{{ts: time.Unix(1, 0), data: udpFrame(t, 1)}}), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		bin, "-test.run=^TestPermissionAsNobody$", "-test.count=1")
	cmd.Env = append(os.Environ(), "OPSDECK_CAPTURE_PERM_HELPER=1", "OPSDECK_CAPTURE_FILE="+capFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	want := "euid=65534 is=true err=capture on lo needs CAP_NET_RAW: run with sudo, or `sudo setcap cap_net_raw,cap_net_admin=eip $(which opsdeck)`\nfile err=<nil>\n"
	if !bytes.Contains(out, []byte(want)) {
		t.Fatalf("helper output:\n%s\nwant it to contain:\n%s", out, want)
	}
}

func TestFixCooked(t *testing.T) {
	tests := []struct {
		name string
		in   []BPFInstruction
		want []BPFInstruction
		ok   bool
	}{
		{"network offsets move back", udpDstPort9999(t, 16), func() []BPFInstruction {
			p := udpDstPort9999(t, 16)
			p[0].K = 0xfffff000 // ldh [14]: SLL protocol -> SKF_AD_PROTOCOL
			for _, i := range []int{2, 4, 6, 7} {
				p[i].K -= 16
			}
			return p
		}(), true},
		{"protocol and packet type become ancillary loads",
			[]BPFInstruction{{Op: 0x28, K: 14}, {Op: 0x28, K: 0}, {Op: 0x06, K: 1}},
			[]BPFInstruction{{Op: 0x28, K: 0xfffff000}, {Op: 0x28, K: 0xfffff004}, {Op: 0x06, K: 1}}, true},
		{"link address cannot be rewritten", []BPFInstruction{{Op: 0x20, K: 6}, {Op: 0x06, K: 1}}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := fixCooked(tc.in)
			if ok != tc.ok || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestInterfacesListsAnyAndLoopback(t *testing.T) {
	names, err := Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 2 || names[0] != "any" || !slices.Contains(names, "lo") {
		t.Fatalf("Interfaces() = %v, want any first and lo", names)
	}
}
