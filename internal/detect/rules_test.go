package detect

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

const (
	syn = packet.TCPSyn
	ack = packet.TCPAck
	rst = packet.TCPRst
	fin = packet.TCPFin
	psh = packet.TCPPsh
	urg = packet.TCPUrg
)

// checkAround runs play(n) on a fresh pipe for n just below, at and just
// above the threshold and checks how many new alerts of rule it raised.
func checkAround(t *testing.T, rule string, th int, play func(p *pipe, n int)) {
	t.Helper()
	for _, c := range around(th) {
		t.Run(fmt.Sprintf("n=%d", c.n), func(t *testing.T) {
			p := newPipe(t, DefaultConfig())
			play(p, c.n)
			if got, _ := p.count(rule); got != c.want {
				t.Fatalf("%d events: %d new %s alerts, want %d", c.n, got, rule, c.want)
			}
			if a := p.first(rule); a != nil {
				t.Logf("%s", a.Signature)
			}
		})
	}
}

func TestScanPort(t *testing.T) {
	checkAround(t, "scan.port", DefaultConfig().ScanPorts, func(p *pipe, n int) {
		for i := range n {
			p.tcp("10.0.0.1", "10.0.0.2", 40000, uint16(1000+i), syn, nil)
			p.tcp("10.0.0.2", "10.0.0.1", uint16(1000+i), 40000, rst|ack, nil)
			p.advance(10 * time.Millisecond)
		}
	})
	t.Run("answered", func(t *testing.T) {
		// A client whose connections to many ports all succeed (FTP
		// passive data ports) is not scanning.
		p := newPipe(t, DefaultConfig())
		for i := range 40 {
			p.tcp("10.0.0.1", "10.0.0.2", uint16(40000+i), uint16(30000+i), syn, nil)
			p.tcp("10.0.0.2", "10.0.0.1", uint16(30000+i), uint16(40000+i), syn|ack, nil)
		}
		if n, _ := p.count("scan.port"); n != 0 {
			t.Fatalf("scan.port fired on answered connections")
		}
	})
	t.Run("window", func(t *testing.T) {
		// 14 ports now and 14 after the window are two quiet windows.
		p := newPipe(t, DefaultConfig())
		for i := range 28 {
			if i == 14 {
				p.advance(DefaultConfig().ScanWindow + time.Second)
			}
			p.tcp("10.0.0.1", "10.0.0.2", 40000, uint16(1000+i), syn, nil)
		}
		if n, _ := p.count("scan.port"); n != 0 {
			t.Fatalf("scan.port fired across windows")
		}
	})
}

func TestScanSweep(t *testing.T) {
	checkAround(t, "scan.sweep", DefaultConfig().SweepHosts, func(p *pipe, n int) {
		for i := range n {
			p.tcp("10.0.0.1", fmt.Sprintf("10.0.1.%d", i+1), 40000, 22, syn, nil)
			p.advance(time.Second) // slow: the count decides
		}
	})
	checkAround(t, "scan.sweep", DefaultConfig().SweepHosts, func(p *pipe, n int) {
		for i := range n {
			p.icmp("10.0.0.1", fmt.Sprintf("10.0.1.%d", i+1), 8, 7, 1, []byte("abcdefghijklmnopqrstuvwabcdefghi"))
			p.advance(time.Second) // slow: the count decides
		}
	})
	// At machine pace, session-less probes (echo, bare ACK, ARP who-has)
	// to SweepFastHosts hosts within a second are a sweep even when every
	// host answers (nmap -sn over live hosts).
	fast := DefaultConfig().SweepFastHosts
	checkAround(t, "scan.sweep", fast, func(p *pipe, n int) {
		for i := range n {
			dst := fmt.Sprintf("10.0.1.%d", i+1)
			p.icmp("10.0.0.1", dst, 8, 7, 1, []byte("abcdefghijklmnopqrstuvwabcdefghi"))
			p.icmp(dst, "10.0.0.1", 0, 7, 1, []byte("abcdefghijklmnopqrstuvwabcdefghi"))
			p.advance(10 * time.Millisecond)
		}
	})
	checkAround(t, "scan.sweep", fast, func(p *pipe, n int) {
		for i := range n {
			dst := fmt.Sprintf("10.0.1.%d", i+1)
			p.tcp("10.0.0.1", dst, 40000, 80, ack, nil) // nmap -PA80
			p.tcp(dst, "10.0.0.1", 80, 40000, rst, nil)
		}
	})
	checkAround(t, "scan.sweep", fast, func(p *pipe, n int) {
		for i := range n {
			p.arp(packet.ARPRequest, []byte{2, 0, 0, 0, 0, 0x66}, "10.0.0.66", make([]byte, 6), fmt.Sprintf("10.0.1.%d", i+1))
			p.advance(5 * time.Millisecond)
		}
	})
	t.Run("browser", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		for i := range 60 {
			dst := fmt.Sprintf("93.184.%d.%d", i/200, i%200+1)
			p.tcp("10.0.0.1", dst, uint16(50000+i), 443, syn, nil)
			p.tcp(dst, "10.0.0.1", 443, uint16(50000+i), syn|ack, nil)
		}
		if n, _ := p.count("scan.sweep"); n != 0 {
			t.Fatalf("scan.sweep fired on answered HTTPS connections")
		}
	})
}

func TestScanStealth(t *testing.T) {
	checkAround(t, "scan.stealth", DefaultConfig().StealthProbes, func(p *pipe, n int) {
		p.session("10.0.0.1", "10.0.0.2", 40000, 80, 3, 100, time.Second) // normal flags
		for i := range n {
			p.tcp("10.0.0.1", "10.0.0.2", 40001, uint16(3390+i), 0, nil)
		}
	})
	t.Run("kinds", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		p.tcp("10.0.0.1", "10.0.0.2", 40000, 1, 0, nil)
		p.tcp("10.0.0.1", "10.0.0.2", 40000, 2, fin, nil)
		p.tcp("10.0.0.1", "10.0.0.2", 40000, 3, fin|psh|urg, nil)
		p.tcp("10.0.0.1", "10.0.0.2", 40000, 4, syn|fin, nil)
		fresh, all := p.count("scan.stealth")
		if fresh != 1 {
			t.Fatalf("%d new alerts, want 1 (one per source/target)", fresh)
		}
		last := p.alerts[all-1]
		want := []string{"NULL", "FIN", "Xmas", "SYN+FIN"}
		if got := last.Evidence["probe_types"].([]string); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("probe types %v, want %v", got, want)
		}
	})
	for fl, want := range map[uint8]uint8{0: kindNull, fin: kindFin, fin | psh | urg: kindXmas, syn | fin: kindSynFin,
		syn | rst: kindSynRst, psh: kindOther, syn: 0, syn | ack: 0, ack: 0, rst: 0, rst | ack: 0, fin | ack: 0, psh | ack: 0} {
		if got := stealthKind(fl); got != want {
			t.Errorf("stealthKind(%02x) = %d, want %d", fl, got, want)
		}
	}
}

func TestSynFlood(t *testing.T) {
	th := DefaultConfig().SynFloodSYNs
	checkAround(t, "dos.synflood", th, func(p *pipe, n int) {
		for i := range n {
			p.tcp("192.0.2.10", "198.51.100.5", uint16(40000+i), 443, syn, nil)
			p.advance(time.Millisecond)
		}
		p.advance(3 * time.Second) // the window is judged after its grace
	})
	t.Run("burst-retransmitted", func(t *testing.T) {
		// 500 clients at once; the accept queue takes 64, the others' SYNs
		// are dropped, retransmitted after 1 s and then complete: the
		// handshake is the client's ACK, whatever packet it is.
		p := newPipe(t, DefaultConfig())
		for i := range 500 {
			c := fmt.Sprintf("203.0.113.%d", i%250+1)
			p.tcp(c, "198.51.100.5", uint16(1000+i), 8000, syn, nil)
			if i < 64 {
				p.tcp("198.51.100.5", c, 8000, uint16(1000+i), syn|ack, nil)
				p.tcp(c, "198.51.100.5", uint16(1000+i), 8000, ack, nil)
			}
		}
		p.advance(time.Second)
		for i := 64; i < 500; i++ {
			c := fmt.Sprintf("203.0.113.%d", i%250+1)
			p.tcp(c, "198.51.100.5", uint16(1000+i), 8000, syn, nil)
			p.tcp("198.51.100.5", c, 8000, uint16(1000+i), syn|ack, nil)
			p.tcp(c, "198.51.100.5", uint16(1000+i), 8000, ack, nil)
		}
		p.advance(3 * time.Second)
		if n, _ := p.count("dos.synflood"); n != 0 {
			t.Fatalf("synflood fired on a burst whose connections all completed: %s", p.first("dos.synflood").Signature)
		}
	})
	t.Run("spread", func(t *testing.T) {
		// th-1 SYNs per second for 5 s never fills one window.
		p := newPipe(t, DefaultConfig())
		for i := range 5 * (th - 1) {
			p.tcp("192.0.2.10", "198.51.100.5", uint16(1000+i), 443, syn, nil)
			p.advance(time.Second/time.Duration(th-1) + time.Microsecond)
		}
		if n, _ := p.count("dos.synflood"); n != 0 {
			t.Fatalf("synflood fired below the rate")
		}
	})
	t.Run("busy-server", func(t *testing.T) {
		// 300 connections in a second, all completed: a busy server.
		p := newPipe(t, DefaultConfig())
		for i := range 300 {
			c := fmt.Sprintf("203.0.113.%d", i%250+1)
			p.tcp(c, "198.51.100.5", uint16(1000+i), 443, syn, nil)
			p.tcp("198.51.100.5", c, 443, uint16(1000+i), syn|ack, nil)
			p.tcp(c, "198.51.100.5", uint16(1000+i), 443, ack, nil)
		}
		if n, _ := p.count("dos.synflood"); n != 0 {
			t.Fatalf("synflood fired on completed handshakes")
		}
	})
}

func TestICMPFlood(t *testing.T) {
	checkAround(t, "dos.icmpflood", DefaultConfig().ICMPFloodPackets, func(p *pipe, n int) {
		for i := range n {
			p.icmp("203.0.113.9", "10.0.0.2", 8, 1, uint16(i), []byte("abcdefghijklmnopqrstuvwabcdefghi"))
		}
	})
}

func TestARPSpoof(t *testing.T) {
	gw := "10.0.0.1"
	macGW := []byte{0x02, 0, 0, 0, 0, 0x01}
	macEvil := []byte{0x02, 0, 0, 0, 0, 0xee}
	victimMAC := []byte{0x02, 0, 0, 0, 0, 0x05}
	t.Run("consistent", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		for range 20 {
			p.arp(packet.ARPRequest, victimMAC, "10.0.0.5", make([]byte, 6), gw)
			p.arp(packet.ARPReply, macGW, gw, victimMAC, "10.0.0.5")
			p.advance(30 * time.Second)
		}
		if _, n := p.count("arp.spoof"); n != 0 {
			t.Fatalf("arp.spoof fired on consistent bindings")
		}
	})
	t.Run("binding-change", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		p.arp(packet.ARPReply, macGW, gw, victimMAC, "10.0.0.5")
		p.advance(time.Second)
		p.arp(packet.ARPReply, macEvil, gw, victimMAC, "10.0.0.5")
		a := p.first("arp.spoof")
		if a == nil {
			t.Fatal("no alert on a binding change")
		}
		if a.Src != addr(gw) || a.Evidence["old_mac"] != "02:00:00:00:00:01" || a.Evidence["mac"] != "02:00:00:00:00:ee" {
			t.Fatalf("alert %s: src %s evidence %v", a.Signature, a.Src, a.Evidence)
		}
	})
	t.Run("stale-rebind", func(t *testing.T) {
		// An address reassigned after its old owner was gone for long is
		// DHCP at work, not spoofing.
		p := newPipe(t, DefaultConfig())
		p.arp(packet.ARPReply, macGW, "10.0.0.9", victimMAC, "10.0.0.5")
		p.advance(time.Hour)
		p.arp(packet.ARPReply, macEvil, "10.0.0.9", victimMAC, "10.0.0.5")
		if _, n := p.count("arp.spoof"); n != 0 {
			t.Fatal("alert on a stale rebinding")
		}
	})
	t.Run("aliases", func(t *testing.T) {
		// One host owning 40 addresses answers ARP for each: normal.
		p := newPipe(t, DefaultConfig())
		for i := range 40 {
			p.arp(packet.ARPRequest, victimMAC, "10.0.0.5", make([]byte, 6), fmt.Sprintf("10.0.0.%d", 100+i))
			p.arp(packet.ARPReply, macGW, fmt.Sprintf("10.0.0.%d", 100+i), victimMAC, "10.0.0.5")
		}
		if _, n := p.count("arp.spoof"); n != 0 {
			t.Fatalf("arp.spoof fired on a host with aliases: %s", p.first("arp.spoof").Signature)
		}
	})
	t.Run("target-fields", func(t *testing.T) {
		// Two-way poisoning seen from its start: the first forged reply's
		// target fields name host A truly; the second claims A for the
		// attacker's MAC.
		p := newPipe(t, DefaultConfig())
		p.arp(packet.ARPReply, macEvil, "10.0.0.7", victimMAC, "10.0.0.5")
		p.arp(packet.ARPReply, macEvil, "10.0.0.5", macGW, "10.0.0.7")
		// Both claims are exposed: 10.0.0.7 by the second reply's target
		// fields, 10.0.0.5 by its sender fields; each names the attacker.
		if n, _ := p.count("arp.spoof"); n != 2 {
			t.Fatalf("%d alerts, want 2", n)
		}
		for _, a := range p.alerts {
			if a.Evidence["mac"] != "02:00:00:00:00:ee" {
				t.Errorf("alert %s names %v as the claimer", a.Signature, a.Evidence["mac"])
			}
		}
	})
	t.Run("traffic-binding", func(t *testing.T) {
		// The gateway's binding known only from its answered IP traffic;
		// one forged request claims it.
		p := newPipe(t, DefaultConfig())
		p.session("10.0.0.5", gw, 40000, 53, 1, 50, time.Second)
		p.arp(packet.ARPRequest, macEvil, gw, make([]byte, 6), "10.0.0.5")
		if n, _ := p.count("arp.spoof"); n != 1 {
			t.Fatalf("%d alerts, want 1", n)
		}
	})
	t.Run("solicited", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Gateways = []netip.Addr{addr(gw)}
		p := newPipe(t, cfg)
		for range 10 {
			p.arp(packet.ARPRequest, victimMAC, "10.0.0.5", make([]byte, 6), gw)
			p.arp(packet.ARPReply, macGW, gw, victimMAC, "10.0.0.5")
			p.advance(2 * time.Second)
		}
		if _, n := p.count("arp.spoof"); n != 0 {
			t.Fatal("alert on solicited gateway replies")
		}
	})
}

func TestBruteSessions(t *testing.T) {
	for _, c := range []struct {
		rule string
		port uint16
		th   int
	}{{"bruteforce.ssh", 22, DefaultConfig().BruteSSH}, {"bruteforce.rdp", 3389, DefaultConfig().BruteRDP}} {
		t.Run(c.rule, func(t *testing.T) {
			checkAround(t, c.rule, c.th, func(p *pipe, n int) {
				for i := range n {
					p.session("192.168.56.1", "192.168.56.103", uint16(55470+i), c.port, 6, 300, 4*time.Second)
					p.advance(2 * time.Second)
				}
				p.flush()
			})
			t.Run("long-sessions", func(t *testing.T) {
				p := newPipe(t, DefaultConfig())
				for i := range 3 * c.th {
					p.session("192.168.56.1", "192.168.56.103", uint16(55470+i), c.port, 10, 300, 2*time.Minute)
				}
				p.flush()
				if n, _ := p.count(c.rule); n != 0 {
					t.Fatal("long interactive sessions counted as guesses")
				}
			})
		})
	}
}

func TestBruteEvents(t *testing.T) {
	// One login attempt per connection, as hydra makes them: an event is
	// only ever handed over with a flow that is still in the table (an
	// ended flow's memory is reused).
	ftp530 := func(p *pipe, n int) {
		for i := range n {
			f := p.session("192.168.56.1", "192.168.56.101", uint16(50000+i), 21, 1, 50, time.Second)
			p.event(f, &proto.Event{Type: "ftp", FTP: &proto.FTP{Command: "PASS", CompletionCode: []string{"530"}}})
			p.advance(time.Second)
		}
	}
	checkAround(t, "bruteforce.ftp", DefaultConfig().BruteFTP, ftp530)
	checkAround(t, "bruteforce.telnet", DefaultConfig().BruteTelnet, func(p *pipe, n int) {
		f := p.session("192.168.0.2", "192.168.0.1", 50000, 23, 1, 50, time.Second)
		for range n {
			p.event(f, &proto.Event{Type: "credential", Cred: &proto.Credential{Protocol: "telnet", User: "root", Password: "x", Outcome: "failure"}})
		}
	})
	checkAround(t, "bruteforce.http", DefaultConfig().BruteHTTP, func(p *pipe, n int) {
		f := p.session("192.168.0.4", "192.0.2.80", 50000, 80, 1, 50, time.Second)
		for range n {
			p.event(f, &proto.Event{Type: "http", HTTP: &proto.HTTP{Method: "GET", Status: 401, Authorization: "Basic"}})
		}
	})
	t.Run("http-challenges", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		f := p.session("192.168.0.4", "192.0.2.80", 50000, 80, 1, 50, time.Second)
		for range 100 {
			p.event(f, &proto.Event{Type: "http", HTTP: &proto.HTTP{Method: "GET", Status: 401}})
		}
		if n, _ := p.count("bruteforce.http"); n != 0 {
			t.Fatal("401 challenges without credentials counted as failures")
		}
	})
}

func dnsQuery(name, typ string) *proto.Event {
	return &proto.Event{Type: "dns", DNS: &proto.DNS{Type: "request", Queries: []proto.DNSQuery{{RRName: name, RRType: typ}}}}
}

func TestDNSTunnel(t *testing.T) {
	th := DefaultConfig().DNSTunnelQueries
	checkAround(t, "dns.tunnel", th, func(p *pipe, n int) {
		f := p.udp("10.0.2.30", "10.0.2.20", 44639, 53, []byte{0})
		for i := range n {
			p.event(f, dnsQuery(fmt.Sprintf("%016x%016x.t.example.net", mix64(uint64(i)+1), mix64(uint64(i)+1e6)), "A"))
		}
	})
	// Stronger evidence fires sooner: an encoded label asked as TXT is two
	// points, a label near the 63-byte limit a third (dnscat2, iodine).
	for _, c := range []struct {
		qtype   string
		label   int
		n, want int
	}{{"TXT", 32, 9, 0}, {"TXT", 32, 10, 1}, {"TXT", 60, 6, 0}, {"TXT", 60, 7, 1}, {"NULL", 60, 7, 1}} {
		t.Run(fmt.Sprintf("%s-%d-%d", c.qtype, c.label, c.n), func(t *testing.T) {
			p := newPipe(t, DefaultConfig())
			f := p.udp("10.0.2.30", "10.0.2.20", 44639, 53, []byte{0})
			for i := range c.n {
				label := fmt.Sprintf("%016x%016x%016x%016x", mix64(uint64(i)+1), mix64(uint64(i)+1e6), mix64(uint64(i)+2e6), mix64(uint64(i)+3e6))[:c.label]
				p.event(f, dnsQuery(label+".hsc.fr", c.qtype))
				p.event(f, dnsQuery(label+".hsc.fr", c.qtype)) // a retry adds nothing
			}
			if got, _ := p.count("dns.tunnel"); got != c.want {
				t.Fatalf("%d %s queries with %d-byte labels: %d alerts, want %d", c.n, c.qtype, c.label, got, c.want)
			}
		})
	}
	t.Run("mdns", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		f := p.udp("192.168.1.5", "224.0.0.251", 5353, 5353, []byte{0})
		for i := range 200 {
			p.event(f, dnsQuery(fmt.Sprintf("%016x%016x._tcp.local", mix64(uint64(i)+1), mix64(uint64(i)+1e6)), "PTR"))
		}
		if _, n := p.count("dns.tunnel"); n != 0 {
			t.Fatalf("dns.tunnel fired on mDNS: %s", p.first("dns.tunnel").Signature)
		}
	})
	// Unique names are estimated (linear counting): at 300 it is within a
	// few names, so volume is checked 10% below and above.
	for _, c := range []struct{ n, want int }{{270, 0}, {330, 1}} {
		t.Run(fmt.Sprintf("unique-%d", c.n), func(t *testing.T) {
			p := newPipe(t, DefaultConfig())
			f := p.udp("10.0.2.30", "10.0.2.20", 44639, 53, []byte{0})
			for i := range c.n {
				p.event(f, dnsQuery(fmt.Sprintf("host%d.example.com", i), "A"))
			}
			if got, _ := p.count("dns.tunnel"); got != c.want {
				t.Fatalf("%d unique names: %d alerts, want %d", c.n, got, c.want)
			}
		})
	}
	t.Run("normal", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		f := p.udp("10.0.2.30", "10.0.2.20", 44639, 53, []byte{0})
		names := []string{"www.google.com", "mail.google.com", "fonts.googleapis.com", "internal-services.corp.example.com",
			"googleusercontent.com", "e1234.dscb.akamaiedge.net", "_ldap._tcp.dc._msdcs.example.org", "1.0.0.10.in-addr.arpa"}
		for range 50 {
			for _, n := range names {
				p.event(f, dnsQuery(n, "A"))
				p.event(f, dnsQuery(n, "TXT"))
			}
		}
		if _, n := p.count("dns.tunnel"); n != 0 {
			t.Fatalf("dns.tunnel fired on ordinary names: %s", p.first("dns.tunnel").Signature)
		}
	})
}

func TestDNSDGA(t *testing.T) {
	nx := func(name string) *proto.Event {
		return &proto.Event{Type: "dns", DNS: &proto.DNS{Type: "response", QR: true, RCode: "NXDOMAIN", Queries: []proto.DNSQuery{{RRName: name, RRType: "A"}}}}
	}
	random := []string{"xjwqkfnrpwz", "qzkvbxmrtpl", "zt7k2q9x4m1v", "bcdfghjklmnp", "wq3rt5yx8zk", "kkxqzvbnmwrt",
		"p9q8r7s6t5u4", "vxzqjwkrtpbn", "mnbvcxzlkjhg", "r4nd0mstr1ng9", "qwrtzpsdfghj", "x1y2z3w4v5u6"}
	checkAround(t, "dns.dga", DefaultConfig().DGANXDomains, func(p *pipe, n int) {
		f := p.udp("10.0.0.7", "10.0.0.53", 5353, 53, []byte{0})
		for i := range n {
			p.event(f, nx(random[i]+".com"))
		}
	})
	t.Run("words", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		f := p.udp("10.0.0.7", "10.0.0.53", 5353, 53, []byte{0})
		for _, w := range []string{"printerserver", "fileserver01", "intranetportal", "wpad", "mailgateway", "development",
			"localdomain", "kubernetes", "staging-backend", "corporatewiki", "timesheets", "helpdesk"} {
			p.event(f, nx(w+".corp.example.com"))
			p.event(f, nx(w+".com"))
		}
		if n, _ := p.count("dns.dga"); n != 0 {
			t.Fatalf("dns.dga fired on dictionary names: %s", p.first("dns.dga").Signature)
		}
	})
}

func TestICMPTunnel(t *testing.T) {
	checkAround(t, "icmp.tunnel", DefaultConfig().ICMPTunnelPackets, func(p *pipe, n int) {
		for i := range n {
			b := make([]byte, 40+i*13)
			for j := range b {
				b[j] = byte(i*31 + j*7)
			}
			p.icmp("192.168.154.131", "192.168.154.132", 8, 1, uint16(i), b)
		}
	})
	t.Run("ping", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		for i := range 200 {
			b := make([]byte, 56)
			copy(b, fmt.Sprintf("%016d", i)) // the timestamp ping puts first
			for j := 16; j < 56; j++ {
				b[j] = byte(j)
			}
			p.icmp("10.0.0.1", "10.0.0.2", 8, 77, uint16(i), b)
			p.icmp("10.0.0.2", "10.0.0.1", 0, 77, uint16(i), b)
			p.advance(time.Second)
		}
		if _, n := p.count("icmp.tunnel"); n != 0 {
			t.Fatal("icmp.tunnel fired on ordinary pings")
		}
	})
	t.Run("banner", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		p.icmp("10.0.0.1", "10.0.0.2", 8, 1, 1, []byte("xxxxSSH-2.0-OpenSSH_5.3\r\n"))
		if n, _ := p.count("icmp.tunnel"); n != 1 {
			t.Fatal("no alert on an SSH banner inside an echo")
		}
	})
}

func TestCredCleartext(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newPipe(t, DefaultConfig())
			f := p.session("192.168.0.13", "192.168.0.10", 50000, 21, 1, 50, time.Second)
			for range n {
				p.event(f, &proto.Event{Type: "credential", Cred: &proto.Credential{Protocol: "ftp", User: "bob", Password: "hunter2", Outcome: "success"}})
			}
			fresh, _ := p.count("cred.cleartext")
			if want := min(n, 1); fresh != want {
				t.Fatalf("%d credentials: %d alerts, want %d", n, fresh, want)
			}
			if a := p.first("cred.cleartext"); a != nil {
				if a.Severity != SevMedium || a.Evidence["password"] != maskedPassword || a.Evidence["user"] != "bob" {
					t.Fatalf("alert %+v", a)
				}
				if strings.Contains(a.Signature, "hunter2") || strings.Contains(fmt.Sprint(a.Evidence), "hunter2") {
					t.Fatal("password leaked into the alert")
				}
			}
		})
	}
}

func TestPortSuspicious(t *testing.T) {
	tests := []struct {
		name string
		play func(p *pipe)
		want int
	}{
		{"session-4444", func(p *pipe) { p.session("172.16.99.201", "64.227.107.71", 1732, 4444, 3, 500, time.Second) }, 1},
		{"session-443", func(p *pipe) { p.session("172.16.99.201", "64.227.107.71", 1732, 443, 3, 500, time.Second) }, 0},
		{"refused-4444", func(p *pipe) {
			p.tcp("172.16.0.8", "64.13.134.52", 40000, 4444, syn, nil)
			p.tcp("64.13.134.52", "172.16.0.8", 4444, 40000, rst|ack, nil)
		}, 0},
		{"synscan-open-31337", func(p *pipe) {
			// nmap -sS: SYN, SYN-ACK, then the scanner's RST.
			p.tcp("172.16.0.8", "64.13.134.52", 40000, 31337, syn, nil)
			p.tcp("64.13.134.52", "172.16.0.8", 31337, 40000, syn|ack, nil)
			p.tcp("172.16.0.8", "64.13.134.52", 40000, 31337, rst, nil)
		}, 0},
		{"udp-31337-answered", func(p *pipe) {
			p.udp("10.0.0.1", "10.0.0.2", 5000, 31337, []byte("x"))
			p.udp("10.0.0.2", "10.0.0.1", 31337, 5000, []byte("y"))
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipe(t, DefaultConfig())
			tc.play(p)
			if n, _ := p.count("port.suspicious"); n != tc.want {
				t.Fatalf("%d alerts, want %d", n, tc.want)
			}
		})
	}
}

func TestTrafficSurge(t *testing.T) {
	cfg := DefaultConfig()
	for _, c := range around(cfg.SurgeSeconds) {
		t.Run(fmt.Sprint(c.n), func(t *testing.T) {
			p := newPipe(t, cfg)
			f := p.session("10.0.0.1", "10.0.0.2", 50000, 8080, 1, 10, time.Second)
			_ = f
			payload := make([]byte, 1000)
			// Baseline: 10 kB/s for the warm-up and a minute more.
			for range int((cfg.SurgeWarmup + time.Minute) / time.Second) {
				for range 10 {
					p.tcp("10.0.0.2", "10.0.0.1", 8080, 50000, psh|ack, payload)
				}
				p.advance(time.Second)
			}
			// Surge: 2 MB/s (200x) for n seconds.
			for range c.n {
				for range 2000 {
					p.tcp("10.0.0.2", "10.0.0.1", 8080, 50000, psh|ack, payload)
				}
				p.advance(time.Second)
			}
			p.advance(2 * time.Second)
			got := 0
			for _, a := range p.alerts {
				if a.Rule.Name == "traffic.surge" && !a.Update && a.Src == addr("10.0.0.2") {
					got++
					t.Logf("%s", a.Signature)
				}
			}
			if got != c.want {
				t.Fatalf("%d surging seconds: %d alerts for 10.0.0.2, want %d", c.n, got, c.want)
			}
		})
	}
}

func TestHostNew(t *testing.T) {
	cfg := DefaultConfig()
	t.Run("warm-up", func(t *testing.T) {
		p := newPipe(t, cfg)
		p.arp(packet.ARPRequest, []byte{2, 0, 0, 0, 1, 1}, "192.168.1.10", make([]byte, 6), "192.168.1.1")
		p.advance(cfg.HostNewWarmup - time.Second)
		p.arp(packet.ARPRequest, []byte{2, 0, 0, 0, 1, 2}, "192.168.1.11", make([]byte, 6), "192.168.1.1")
		if n, _ := p.count("host.new"); n != 0 {
			t.Fatal("host.new during warm-up")
		}
		p.advance(2 * time.Second)
		p.arp(packet.ARPRequest, []byte{2, 0, 0, 0, 1, 3}, "192.168.1.12", make([]byte, 6), "192.168.1.1")
		p.arp(packet.ARPRequest, []byte{2, 0, 0, 0, 1, 1}, "192.168.1.10", make([]byte, 6), "192.168.1.1")
		a := p.first("host.new")
		if n, _ := p.count("host.new"); n != 1 || a.Src != addr("192.168.1.12") || a.Severity != SevLow {
			t.Fatalf("%d alerts, first %+v", n, a)
		}
	})
	t.Run("rate-limit", func(t *testing.T) {
		p := newPipe(t, cfg)
		p.arp(packet.ARPRequest, []byte{2, 0, 0, 0, 1, 1}, "192.168.1.10", make([]byte, 6), "192.168.1.1")
		p.advance(cfg.HostNewWarmup)
		for i := range 100 {
			p.arp(packet.ARPRequest, []byte{2, 0, 0, 0, 2, byte(i)}, fmt.Sprintf("192.168.2.%d", i), make([]byte, 6), "192.168.1.1")
		}
		if n, _ := p.count("host.new"); n != cfg.HostNewPerMinute {
			t.Fatalf("%d host.new alerts in a minute, want %d", n, cfg.HostNewPerMinute)
		}
		if p.d.Stats()["host.new.ratelimited"] != uint64(100-cfg.HostNewPerMinute) {
			t.Fatalf("stats %v", p.d.Stats())
		}
	})
}

func TestTableBound(t *testing.T) {
	tb := newTable[int, window]("t", 100, func(w *window) time.Time { return w.lastAt() })
	for i := range 10000 {
		w, _ := tb.upsert(i)
		w.last = stampOf(t0.Add(time.Duration(i) * time.Second))
		if i == 5 {
			continue
		}
	}
	if tb.len() != 100 || tb.evicted != 9900 {
		t.Fatalf("len %d evicted %d", tb.len(), tb.evicted)
	}
	// The newest entries survive sampling eviction far more than the oldest.
	if tb.get(9999) == nil {
		t.Fatal("the newest entry was evicted")
	}
}

func TestSketch(t *testing.T) {
	for _, n := range []int{1, 15, 100, 1000, 5000} {
		var s sketch
		for i := range n {
			s.add(uint32(mix64(uint64(i))))
		}
		got := s.count()
		if d := got - n; d*20 > n || -d*20 > n {
			t.Errorf("sketch of %d distinct values counts %d (more than 5%% off)", n, got)
		}
	}
}

// splitParent uses the Public Suffix List: a short registered domain under
// a ccTLD (hsc.fr) is a parent, co.uk is not.
func TestSplitParent(t *testing.T) {
	for _, c := range []struct{ name, parent, sub string }{
		{"abc.def.hsc.fr", "hsc.fr", "abc.def"},
		{"x.y.example.co.uk", "example.co.uk", "x.y"},
		{"www.example.com", "example.com", "www"},
		{"example.com", "example.com", ""},
		{"co.uk", "co.uk", ""},
		{"A.B.Example.ORG", "example.org", "a.b"},
		{"dnscat.0a1b2c.3d4e", "dnscat", "0a1b2c.3d4e"},
		{"localhost", "localhost", ""},
	} {
		p, s := splitParent(c.name)
		if p != c.parent || s != c.sub {
			t.Errorf("splitParent(%q) = %q, %q; want %q, %q", c.name, p, s, c.parent, c.sub)
		}
	}
}

// One echo carrying a written message is a covert channel; ping's counting
// payloads (Linux, Windows) are not.
func TestICMPTextMessage(t *testing.T) {
	linux := make([]byte, 56)
	for i := 8; i < 56; i++ {
		linux[i] = byte(0x10 + i - 8)
	}
	for _, c := range []struct {
		name    string
		payload []byte
		want    int
	}{
		{"message", []byte("the backup key is under the blue mat, delete after reading"), 1},
		{"linux-ping", linux, 0},
		{"windows-ping", []byte("abcdefghijklmnopqrstuvwabcdefghi"), 0},
		{"short", []byte("hi there"), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPipe(t, DefaultConfig())
			p.icmp("10.0.0.5", "10.0.0.9", 8, 1, 1, c.payload)
			if got, _ := p.count("icmp.tunnel"); got != c.want {
				t.Fatalf("%d icmp.tunnel alerts, want %d", got, c.want)
			}
		})
	}
}

// A SYN sweep walking one /24 at machine pace fires below the count; a
// browser's burst to scattered addresses does not.
func TestScanSweepWalk(t *testing.T) {
	fast := DefaultConfig().SweepFastHosts
	checkAround(t, "scan.sweep", fast, func(p *pipe, n int) {
		for i := range n {
			p.tcp("10.0.0.1", fmt.Sprintf("192.0.2.%d", i+1), uint16(40000+i), 443, syn, nil)
		}
	})
	t.Run("browser-burst", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		for i := range 20 {
			p.tcp("10.0.0.1", fmt.Sprintf("%d.%d.7.9", 23+i*7, 40+i), uint16(50000+i), 443, syn, nil)
		}
		if n, _ := p.count("scan.sweep"); n != 0 {
			t.Fatalf("scan.sweep fired on a burst to scattered addresses: %s", p.first("scan.sweep").Signature)
		}
	})
}

// host.new learns for 10 minutes of traffic, not of clock: a capture
// spliced from recordings years apart starts learning again at the jump.
func TestHostNewLearningIsTraffic(t *testing.T) {
	p := newPipe(t, DefaultConfig())
	mac := func(b byte) []byte { return []byte{2, 0, 0, 0, 9, b} }
	for range 70 { // 11.5 min of ARP every 10 s
		p.arp(packet.ARPRequest, mac(1), "10.0.0.1", make([]byte, 6), "10.0.0.2")
		p.advance(10 * time.Second)
	}
	// The next recording, two years later: packet time jumps (the engine
	// ticks at packet time, so no tick falls in between).
	p.now = p.now.Add(2 * 365 * 24 * time.Hour)
	p.tick = p.now
	p.arp(packet.ARPRequest, mac(2), "10.0.0.3", make([]byte, 6), "10.0.0.2")
	if n, _ := p.count("host.new"); n != 0 {
		t.Fatalf("host.new right after a time jump: %s", p.first("host.new").Signature)
	}
	for range 70 {
		p.arp(packet.ARPRequest, mac(2), "10.0.0.3", make([]byte, 6), "10.0.0.2")
		p.advance(10 * time.Second)
	}
	p.arp(packet.ARPRequest, mac(3), "10.0.0.4", make([]byte, 6), "10.0.0.2")
	if n, _ := p.count("host.new"); n != 1 {
		t.Fatalf("%d host.new alerts after 11 minutes of learning, want 1", n)
	}
}

// A volumetric flood from the first second, before any baseline: 20 MB/s
// fires after SurgeSeconds; 5 MB/s (under the 10 MB/s floor) waits for the
// baseline.
func TestTrafficSurgeCold(t *testing.T) {
	for _, c := range []struct {
		perSec, want int
	}{{20000, 1}, {5000, 0}} {
		t.Run(fmt.Sprint(c.perSec), func(t *testing.T) {
			p := newPipe(t, DefaultConfig())
			payload := make([]byte, 1000)
			p.advance(time.Second)
			for range 6 {
				for i := range c.perSec {
					p.udp(fmt.Sprintf("198.51.%d.%d", i/250%250, i%250+1), "10.0.0.2", uint16(1024+i%5000), 9, payload)
				}
				p.advance(time.Second)
			}
			got := 0
			for _, a := range p.alerts {
				if a.Rule.Name == "traffic.surge" && a.Src == addr("10.0.0.2") {
					got++
				}
			}
			if got != c.want {
				t.Fatalf("%d traffic.surge alerts, want %d", got, c.want)
			}
		})
	}
}
