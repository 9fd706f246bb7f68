package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tunnelLab makes two network namespaces joined by a veth underlay
// (192.0.2.1 <-> 192.0.2.2) and a kernel VXLAN device over it in each
// (10.42.0.1 <-> 10.42.0.2, fd42::1 <-> fd42::2), removed at the end. It
// skips without root, iproute2 or a kernel that makes VXLAN devices.
func tunnelLab(t *testing.T) (a, b string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the tunnel lab makes network namespaces: needs root; skipped")
	}
	for _, tool := range []string{"ip", "tcpdump", "tshark", "ping", "nc", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/run installs it): skipped", tool)
		}
	}
	a, b = "odtun-a", "odtun-b"
	del := func() {
		exec.Command("ip", "netns", "del", a).Run()
		exec.Command("ip", "netns", "del", b).Run()
	}
	del()
	t.Cleanup(del)
	run := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, args := range [][]string{
		{"netns", "add", a}, {"netns", "add", b},
		{"link", "add", "odtun-va", "netns", a, "type", "veth", "peer", "name", "odtun-vb", "netns", b},
		{"-n", a, "addr", "add", "192.0.2.1/24", "dev", "odtun-va"},
		{"-n", b, "addr", "add", "192.0.2.2/24", "dev", "odtun-vb"},
		{"-n", a, "link", "set", "odtun-va", "up"}, {"-n", b, "link", "set", "odtun-vb", "up"},
		{"-n", a, "link", "set", "lo", "up"}, {"-n", b, "link", "set", "lo", "up"},
	} {
		if err := run(args...); err != nil {
			t.Skipf("namespace set-up: %v", err)
		}
	}
	for _, side := range []struct{ ns, local, remote, addr, addr6 string }{
		{a, "192.0.2.1", "192.0.2.2", "10.42.0.1/24", "fd42::1/64"},
		{b, "192.0.2.2", "192.0.2.1", "10.42.0.2/24", "fd42::2/64"},
	} {
		if err := run("-n", side.ns, "link", "add", "odtun-vx", "type", "vxlan", "id", "42",
			"local", side.local, "remote", side.remote, "dstport", "4789"); err != nil {
			t.Skipf("this kernel makes no VXLAN device: %v", err)
		}
		for _, args := range [][]string{
			{"-n", side.ns, "addr", "add", side.addr, "dev", "odtun-vx"},
			{"-n", side.ns, "addr", "add", side.addr6, "dev", "odtun-vx", "nodad"},
			{"-n", side.ns, "link", "set", "odtun-vx", "up"},
		} {
			if err := run(args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	return a, b
}

// inNS runs a command in a namespace and returns its combined output.
func inNS(ns string, args ...string) ([]byte, error) {
	return exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
}

// TestTunnelLabAgainstTshark: a ping (IPv4 and IPv6), a TCP connection and
// a UDP datagram to a closed port through a real kernel VXLAN tunnel
// between two namespaces, captured with tcpdump on the underlay. opsdeck's
// flows must be Suricata's: every TCP and UDP conversation tshark lists,
// the tunnel's carrier datagrams (depth 0) beside the inner flows (depth
// 1), with the same packet counts; one ICMP flow for the ping whatever the
// echo ids, its requester the client; one ICMPv6 flow between the two
// inner hosts; the kernel's port unreachable counted in the UDP flow it
// answers, no ICMP flow of its own.
func TestTunnelLabAgainstTshark(t *testing.T) {
	a, b := tunnelLab(t)
	pcap := filepath.Join(t.TempDir(), "vxlan-lab.pcap")
	dump := exec.Command("ip", "netns", "exec", a, "tcpdump", "-i", "odtun-va", "--immediate-mode", "-U", "-s", "0", "-w", pcap, "udp port 4789")
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	// tcpdump writes the file header once it is capturing.
	for i := 0; i < 50; i++ {
		if st, err := os.Stat(pcap); err == nil && st.Size() > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv := exec.Command("ip", "netns", "exec", b, "timeout", "10", "sh", "-c", "echo hello-from-b | nc -l -p 8080 >/dev/null")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	steps := [][]string{
		{"ping", "-c", "3", "-i", "0.2", "10.42.0.2"},
		{"ping", "-c", "2", "-i", "0.2", "10.42.0.2"}, // a second ping: another echo id
		{"ping", "-6", "-c", "2", "-i", "0.2", "fd42::2"},
		{"sh", "-c", "echo GET / | timeout 5 nc -q 1 10.42.0.2 8080"},
		// A datagram to a closed port: the kernel answers port unreachable.
		{"python3", "-c", "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', 40000)); s.sendto(b'probe', ('10.42.0.2', 33434))"},
	}
	for _, s := range steps {
		if out, err := inNS(a, s...); err != nil {
			t.Fatalf("%v: %v: %s", s, err, out)
		}
	}
	srv.Wait()
	time.Sleep(300 * time.Millisecond)
	dump.Process.Signal(syscall.SIGINT)
	dump.Wait()

	recs, err := analyze(t, "--no-detect", pcap)
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	flows := ofType(recs, "flow")

	// TCP and UDP: the same conversations as tshark, carriers included.
	ours := map[string][2]int{}
	for _, r := range flows {
		if p := r.str("proto"); p == "TCP" || p == "UDP" {
			ts, _ := strconv.Atoi(r.str("flow.pkts_toserver"))
			tc, _ := strconv.Atoi(r.str("flow.pkts_toclient"))
			ours[p+" "+endpoint(r, "src")+" "+endpoint(r, "dest")] = [2]int{ts, tc}
		}
	}
	count := func(filter string) int {
		out, err := exec.Command("tshark", "-n", "-r", pcap, "-Y", filter).Output()
		if err != nil {
			t.Fatalf("tshark -Y %q: %v", filter, err)
		}
		return strings.Count(string(out), "\n")
	}
	// tshark leaves ICMP errors out of its conversations; Suricata counts
	// a port unreachable in the UDP flow it answers, to the client.
	unreach := count("icmp.type == 3 && icmp.code == 3 && ip.src == 10.42.0.2")
	carriers, inner := 0, 0
	for _, c := range tsharkConvs(t, pcap) {
		if c.a == "10.42.0.1:40000" && c.b == "10.42.0.2:33434" {
			c.pBA += unreach
		}
		k1, k2 := c.proto+" "+c.a+" "+c.b, c.proto+" "+c.b+" "+c.a
		got, ok := ours[k1]
		want := [2]int{c.pAB, c.pBA}
		if !ok {
			got, ok = ours[k2]
			want = [2]int{c.pBA, c.pAB}
		}
		if !ok {
			t.Errorf("tshark conversation %s %s <-> %s (%d/%d) has no flow", c.proto, c.a, c.b, c.pAB, c.pBA)
			continue
		}
		if got != want {
			t.Errorf("%s %s <-> %s: packets %v, tshark %v", c.proto, c.a, c.b, got, want)
		}
		delete(ours, k1)
		delete(ours, k2)
		if strings.HasSuffix(c.a, ":4789") || strings.HasSuffix(c.b, ":4789") {
			carriers++
		} else {
			inner++
		}
	}
	for k, v := range ours {
		t.Errorf("flow %s %v is not in tshark's conversations", k, v)
	}
	if carriers == 0 || inner < 2 {
		t.Errorf("%d carrier and %d inner conversations: the lab made no traffic through the tunnel", carriers, inner)
	}

	// The ping: one ICMP flow from the requester however many ids, as many
	// requests and replies as tshark counts.
	requests := count("icmp.type == 8 && ip.src == 10.42.0.1")
	replies := count("icmp.type == 0 && ip.src == 10.42.0.2")
	ids := count("icmp.type == 8 && ip.src == 10.42.0.1 && icmp.seq == 1")
	var icmp4, icmp6 []record
	for _, r := range flows {
		switch r.str("proto") {
		case "ICMP":
			icmp4 = append(icmp4, r)
		case "IPv6-ICMP":
			if strings.HasPrefix(r.str("src_ip"), "fd42:") && strings.HasPrefix(r.str("dest_ip"), "fd42:") {
				icmp6 = append(icmp6, r)
			}
		}
	}
	if ids != 2 || requests < 5 {
		t.Fatalf("tshark sees %d pings (%d requests): the lab's two pings did not run", ids, requests)
	}
	if len(icmp4) != 1 {
		t.Fatalf("%d ICMP flows for two pings and a port unreachable, want 1 (Suricata keys ICMPv4 by type, not echo id; errors make no flow)", len(icmp4))
	}
	f := icmp4[0]
	if f.str("src_ip") != "10.42.0.1" || f.str("icmp_type") != "8" ||
		f.str("flow.pkts_toserver") != strconv.Itoa(requests) || f.str("flow.pkts_toclient") != strconv.Itoa(replies) {
		t.Errorf("ICMP flow %s -> %s type %s, %s/%s packets; tshark: %d requests from 10.42.0.1, %d replies",
			f.str("src_ip"), f.str("dest_ip"), f.str("icmp_type"), f.str("flow.pkts_toserver"), f.str("flow.pkts_toclient"), requests, replies)
	}

	// ICMPv6 between the two inner hosts: one flow, every message of the
	// pair (neighbour discovery and echo), its client the sender of the
	// first one (here fd42::2's neighbour advertisement, before the ping).
	pairFilter := "icmpv6 && ((ipv6.src == fd42::1 && ipv6.dst == fd42::2) || (ipv6.src == fd42::2 && ipv6.dst == fd42::1))"
	pair := count(pairFilter)
	first, err := exec.Command("tshark", "-n", "-r", pcap, "-Y", pairFilter, "-T", "fields", "-e", "ipv6.src").Output()
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ = bytes.Cut(first, []byte("\n"))
	if len(icmp6) != 1 {
		t.Fatalf("%d ICMPv6 flows between fd42::1 and fd42::2, want 1", len(icmp6))
	}
	ts, _ := strconv.Atoi(icmp6[0].str("flow.pkts_toserver"))
	tc, _ := strconv.Atoi(icmp6[0].str("flow.pkts_toclient"))
	if src, _ := netip.ParseAddr(icmp6[0].str("src_ip")); ts+tc != pair || src.String() != strings.TrimSpace(string(first)) {
		t.Errorf("ICMPv6 flow from %s, %d/%d packets; tshark: %d ICMPv6 messages between the pair, the first from %s",
			icmp6[0].str("src_ip"), ts, tc, pair, first)
	}

	// The port unreachable: counted to the client in the UDP flow it answers.
	for _, r := range flows {
		if r.str("proto") == "UDP" && r.str("dest_port") == "33434" {
			if unreach == 0 || r.str("flow.pkts_toclient") != strconv.Itoa(unreach) || r.str("flow.pkts_toserver") != "1" {
				t.Errorf("UDP flow to the closed port: %s/%s packets; tshark: 1 datagram, %d port unreachable",
					r.str("flow.pkts_toserver"), r.str("flow.pkts_toclient"), unreach)
			}
			return
		}
	}
	t.Error("no UDP flow to the closed port 33434")
}
