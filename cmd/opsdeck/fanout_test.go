package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWatchFanout: watch --fanout 4 on loopback opens four packet sockets
// (one PACKET_FANOUT group), and what the kernel spreads over them is one
// analysis: every datagram of 32 flows from 32 source ports is counted,
// each flow written once, and the stats record counts every packet.
func TestWatchFanout(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	out := filepath.Join(t.TempDir(), "eve.json")
	// A port of its own, so traffic others send on loopback stays out.
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	port := sink.LocalAddr().(*net.UDPAddr).Port
	wp := startWatch(t, bin, "--fanout", "4", "-i", "lo", "-o", out,
		"--stats-interval", "0", "--host-interval", "0", fmt.Sprintf("udp and dst port %d", port))
	if n := packetSockets(t, wp.cmd.Process.Pid); n != 4 {
		t.Errorf("--fanout 4: watch holds %d packet sockets, want 4", n)
	}
	const flows, per = 32, 5
	for range flows {
		c, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		for range per {
			c.Write([]byte("fanout"))
		}
		c.Close()
	}
	waitFor(t, "every datagram captured", func() bool {
		return scrape(t, wp.metrics)["opsdeck_decoder_packets_total"] >= flows*per
	})
	wp.stop(t)
	seen := map[float64]float64{} // source port -> packets to the server
	var stats record
	for _, r := range eveFiles(t, []string{out}) {
		switch r["event_type"] {
		case "flow":
			if r["dest_port"] == float64(port) {
				f := r["flow"].(map[string]any)
				if _, dup := seen[r["src_port"].(float64)]; dup {
					t.Errorf("flow from port %v written twice", r["src_port"])
				}
				seen[r["src_port"].(float64)] = f["pkts_toserver"].(float64)
			}
		case "stats":
			stats = r
		}
	}
	if len(seen) != flows {
		t.Errorf("%d flows written, want %d", len(seen), flows)
	}
	for p, n := range seen {
		if n != per {
			t.Errorf("flow from port %v: %v packets, want %d", p, n, per)
		}
	}
	capt, _ := stats["stats"].(map[string]any)["capture"].(map[string]any)
	if kp, _ := capt["kernel_packets"].(float64); kp < flows*per {
		t.Errorf("stats capture %v: want kernel_packets >= %d", capt, flows*per)
	}
}

// packetSockets counts the AF_PACKET sockets process pid holds: its socket
// descriptors whose inode /proc/net/packet lists.
func packetSockets(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/net/packet")
	if err != nil {
		t.Skipf("no /proc/net/packet: %v", err)
	}
	defer f.Close()
	inodes := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 && fields[0] != "sk" {
			inodes[fields[len(fields)-1]] = true
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if ino, ok := strings.CutPrefix(link, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(ino, "]")] {
			n++
		}
	}
	return n
}
