package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/testpkt"
)

// craftedSource is the spoofed address the crafted segments come from.
const craftedSource = "127.0.0.77"

// sendSeqHalf sends, over a raw socket on loopback, issue 12's two-packet
// crash to each port: data at sequence S, then one byte at S+len+2^31,
// from a spoofed source, with no handshake.
func sendSeqHalf(t *testing.T, ports []int) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		t.Skipf("raw socket: %v: skipped", err)
	}
	defer syscall.Close(fd)
	src, dst := net.ParseIP(craftedSource).To4(), net.ParseIP("127.0.0.1").To4()
	req := []byte("GET / HTTP/1.1\r\nHost: victim\r\n")
	for i, port := range ports {
		s0 := rand.Uint32()
		for j, payload := range [][]byte{req, []byte("x")} {
			seq := s0
			if j == 1 {
				seq = s0 + uint32(len(req)) + 1<<31
			}
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Id: uint16(i)}
			tcp := &layers.TCP{SrcPort: layers.TCPPort(30000 + i), DstPort: layers.TCPPort(port), Seq: seq, Ack: 1, ACK: true, PSH: true, Window: 512}
			tcp.SetNetworkLayerForChecksum(ip)
			frame := testpkt.Frame(t, ip, tcp, gopacket.Payload(payload))
			var to syscall.SockaddrInet4
			copy(to.Addr[:], dst)
			if err := syscall.Sendto(fd, frame, 0, &to); err != nil {
				t.Fatalf("sendto: %v", err)
			}
		}
	}
}

// TestWatchSurvivesCraftedSegments: issue 12, finding 1, live. watch on
// loopback receives the two-packet crash on eight ports, then a port scan:
// it keeps capturing (the scan's alert is written), writes every crafted
// flow, counts no fault, and exits 0 on SIGTERM.
func TestWatchSurvivesCraftedSegments(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	out := filepath.Join(t.TempDir(), "eve.json")
	base := 40000 + rand.IntN(20000)
	ports := []int{80, 443, 21, 22, 25, 4444, 8080, 31337}
	expr := fmt.Sprintf("host %s or tcp portrange %d-%d", craftedSource, base, base+99)
	wp := startWatch(t, bin, "-i", "lo", "-o", out, "--host-interval", "0", expr)
	sendSeqHalf(t, ports)
	connectScan(t, "127.0.0.1", base, 40)
	waitFor(t, "the scan's alert after the crafted segments", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), `"scan.port"`)
	})
	wp.stop(t)
	recs := eveFiles(t, []string{out})
	crafted := map[string]bool{}
	var stats record
	for _, r := range recs {
		switch r.str("event_type") {
		case "flow":
			if r.str("src_ip") == craftedSource || r.str("dest_ip") == craftedSource {
				crafted[r.str("dest_port")+"/"+r.str("src_port")] = true
			}
		case "stats":
			stats = r
		}
	}
	if stats == nil {
		t.Fatal("no stats record")
	}
	// The crafted flows and the kernel's RSTs back are one flow per port.
	if len(crafted) < len(ports) {
		t.Errorf("%d flow records with %s, want %d: %v", len(crafted), craftedSource, len(ports), crafted)
	}
	for _, stage := range []string{"engine", "parser", "detect"} {
		if v := stats.str("opsdeck.stats.faults." + stage); v != "0" {
			t.Errorf("stats.faults.%s = %s", stage, v)
		}
	}
}

// TestConsoleSurvivesCraftedSegments: the same two packets at the live
// console in tmux; it keeps capturing: a later scan raises its alert, the
// header never says CAPTURE STOPPED, and q exits 0.
func TestConsoleSurvivesCraftedSegments(t *testing.T) {
	needCapture(t)
	bin := buildConsole(t)
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	base := 40000 + rand.IntN(20000)
	expr := fmt.Sprintf("host %s or tcp portrange %d-%d", craftedSource, base, base+99)
	s := startTmux(t, 160, 45, fmt.Sprintf("TERM=tmux-256color %s -i lo --evidence-dir %s '%s'; echo $? > %s; sleep 30",
		bin, dir, expr, exitFile))
	s.waitFor("capture to run", contains("pkt/s", "lo"))
	sendSeqHalf(t, []int{80, 443, 21, 4444})
	connectScan(t, "127.0.0.1", base, 40)
	scr := s.waitFor("the scan alert", contains("scan.port"))
	if strings.Contains(scr, "STOPPED") || strings.Contains(scr, "faults") {
		t.Errorf("the console lost its capture or hit a fault:\n%s", scr)
	}
	s.quit(exitFile)
}

// TestConsoleUserDropsRoot: issue 12, finding 10. The console with --user
// (and tcpdump's -Z) opens capture as root, then runs as that user: its
// uid is the user's, the header says so, and capture goes on.
func TestConsoleUserDropsRoot(t *testing.T) {
	needCapture(t)
	bin := buildConsole(t)
	if os.Geteuid() != 0 {
		t.Skip("--user needs root: skipped")
	}
	for _, flag := range []string{"--user", "-Z"} {
		t.Run(strings.TrimLeft(flag, "-"), func(t *testing.T) {
			// nobody must be able to run the binary and write its config.
			dir, err := os.MkdirTemp("", "opsdeck-user-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			os.Chmod(dir, 0o755)
			data, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			ubin := filepath.Join(dir, "opsdeck")
			if err := os.WriteFile(ubin, data, 0o755); err != nil {
				t.Fatal(err)
			}
			pidFile := filepath.Join(dir, "pid")
			base := 40000 + rand.IntN(20000)
			s := startTmux(t, 160, 45, fmt.Sprintf("echo $$ > %s; TERM=tmux-256color exec %s -i lo %s nobody 'tcp portrange %d-%d'",
				pidFile, ubin, flag, base, base+99))
			s.waitFor("the header to say root was dropped", contains("[dropped to nobody]"))
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/status")
			if err != nil {
				t.Fatal(err)
			}
			uid := ""
			for _, l := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(l, "Uid:"); ok {
					uid = strings.Join(strings.Fields(v), " ")
				}
			}
			if uid != "65534 65534 65534 65534" {
				t.Errorf("the console runs with uids %q, want nobody's (65534) for real, effective, saved and fs", uid)
			}
			connectScan(t, "127.0.0.1", base, 40)
			s.waitFor("capture to go on after dropping root", contains("scan.port"))
			s.run("send-keys", "-t", "e2e", "q")
		})
	}
}

// TestWatchResumesAfterInterfaceLoss: issue 12, finding 11, through the
// binary. watch on a veth that the test deletes and creates again keeps
// running, says on stderr that capture was lost and resumed, and writes
// the flows seen after the interface came back.
func TestWatchResumesAfterInterfaceLoss(t *testing.T) {
	ns := lossNamespace(t)
	bin := buildOpsdeck(t)
	out := filepath.Join(t.TempDir(), "eve.json")
	wp := startWatch(t, bin, "-i", "hd8a", "-o", out, "--host-interval", "0")
	send := func(port int) {
		c, err := net.Dial("udp", fmt.Sprintf("169.254.77.2:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 3 {
			c.Write([]byte("opsdeck hardening"))
			time.Sleep(50 * time.Millisecond)
		}
	}
	send(9001)
	if out, err := exec.Command("ip", "link", "del", "hd8a").CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	waitFor(t, "watch to report the loss", func() bool { return strings.Contains(wp.stderr.String(), "lost") })
	vethPair(t, ns)
	waitFor(t, "watch to resume", func() bool { return strings.Contains(wp.stderr.String(), "resumed") })
	for range 5 {
		send(9002)
	}
	select {
	case err := <-wp.done:
		t.Fatalf("watch exited after the interface went away: %v\n%s", err, wp.stderr)
	default:
	}
	wp.stop(t)
	ports := map[string]bool{}
	for _, r := range eveFiles(t, []string{out}) {
		if r.str("event_type") == "flow" {
			ports[r.str("dest_port")] = true
		}
	}
	if !ports["9001"] || !ports["9002"] {
		t.Errorf("flows before and after the loss: %v, want 9001 and 9002\n%s", ports, wp.stderr)
	}
}
