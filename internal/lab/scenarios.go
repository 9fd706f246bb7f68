package lab

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Scenario is one recorded situation: attack or ordinary traffic, made by
// real tools, with what a detector should say about it.
type Scenario struct {
	Name string
	// Rule is the alert a detector should raise; "" for benign traffic,
	// which must raise nothing of severity 1 or 2.
	Rule string
	// Src and Dst are the alert's expected actor and target: "attacker",
	// "victim", "client" or "" when not checked (spoofed or many).
	Src, Dst string
	// Why says what the tool does, for the labels file.
	Why   string
	Tools []string
	// Setup starts the services the scenario needs, before recording.
	Setup func(*Lab)
	// Run makes the traffic; it is recorded on the victim's eth0.
	Run func(*Lab) error
}

// Addr resolves a role to its lab address ("" for none).
func (l *Lab) Addr(role string) string {
	switch role {
	case "attacker":
		return AttackerAddr.String()
	case "victim":
		return VictimAddr.String()
	case "client":
		return ClientAddr.String()
	}
	return ""
}

// RoleAddr resolves a role without a lab.
func RoleAddr(role string) string { return (*Lab)(nil).Addr(role) }

// Aliases gives the victim n extra addresses from 10.77.0.100 on, as a web
// or VM host carries on one interface.
func (l *Lab) Aliases(n int) {
	l.t.Helper()
	for i := range n {
		l.ip("-n", l.Victim.NS, "addr", "add", fmt.Sprintf("10.77.0.%d/24", 100+i), "dev", "eth0")
	}
}

// Record runs the scenario: services, then the traffic recorded into path.
func (l *Lab) Record(sc Scenario, path string) error {
	l.t.Helper()
	Need(l.t, sc.Tools...)
	if sc.Setup != nil {
		sc.Setup(l)
	}
	stop := l.Capture(path)
	err := sc.Run(l)
	stop()
	return err
}

func (l *Lab) attacker(timeout time.Duration, name string, args ...string) error {
	out, err := l.Run(l.Attacker.NS, timeout, name, args...)
	if os.Getenv("OPSDECK_LAB_DEBUG") != "" {
		l.t.Logf("lab: %s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out))
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out))
	}
	return nil
}

func (l *Lab) client(timeout time.Duration, name string, args ...string) error {
	out, err := l.Run(l.Client.NS, timeout, name, args...)
	if os.Getenv("OPSDECK_LAB_DEBUG") != "" {
		l.t.Logf("lab: %s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out))
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out))
	}
	return nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// nmap runs an nmap scan from the attacker, quickly and without DNS.
func nmap(args ...string) func(*Lab) error {
	return func(l *Lab) error {
		return l.attacker(50*time.Second, "nmap", append([]string{"-n", "-T4", "--max-retries", "1"}, args...)...)
	}
}

func webAndSSH(l *Lab) { l.HTTP(); l.SSHD() }

// hping runs hping3 from the attacker. hping3 exits 1 when nothing
// answered, which spoofed floods expect: only a timeout is an error.
func hping(l *Lab, args ...string) error {
	err := l.attacker(30*time.Second, "hping3", args...)
	if err != nil && strings.Contains(err.Error(), "timed out") {
		return err
	}
	return nil
}

// passwords writes a guess list of n entries.
func (l *Lab) passwords(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "guess%03d\n", i)
	}
	p := filepath.Join(l.Dir, "passwords.txt")
	writeFile(l.t, p, b.String())
	return p
}

// Scenarios is the evaluation set, attacks first.
var Scenarios = []Scenario{
	{Name: "nmap-syn-scan", Rule: "scan.port", Src: "attacker", Dst: "victim", Why: "nmap -sS of 1000 ports",
		Tools: []string{"nmap"}, Setup: webAndSSH, Run: nmap("-Pn", "-sS", "-p", "1-1000", VictimAddr.String())},
	{Name: "nmap-ack-scan", Rule: "scan.port", Src: "attacker", Dst: "victim", Why: "nmap -sA of 1000 ports (bare ACKs answered by RST)",
		Tools: []string{"nmap"}, Setup: webAndSSH, Run: nmap("-Pn", "-sA", "-p", "1-1000", VictimAddr.String())},
	{Name: "nmap-window-scan", Rule: "scan.port", Src: "attacker", Dst: "victim", Why: "nmap -sW of 1000 ports",
		Tools: []string{"nmap"}, Setup: webAndSSH, Run: nmap("-Pn", "-sW", "-p", "1-1000", VictimAddr.String())},
	{Name: "nmap-xmas-scan", Rule: "scan.stealth", Src: "attacker", Dst: "victim", Why: "nmap -sX of 200 ports",
		Tools: []string{"nmap"}, Setup: webAndSSH, Run: nmap("-Pn", "-sX", "--max-retries", "0", "-p", "1-200", VictimAddr.String())},
	{Name: "nmap-fin-scan", Rule: "scan.stealth", Src: "attacker", Dst: "victim", Why: "nmap -sF of 200 ports",
		Tools: []string{"nmap"}, Setup: webAndSSH, Run: nmap("-Pn", "-sF", "--max-retries", "0", "-p", "1-200", VictimAddr.String())},
	{Name: "nmap-null-scan", Rule: "scan.stealth", Src: "attacker", Dst: "victim", Why: "nmap -sN of 200 ports",
		Tools: []string{"nmap"}, Setup: webAndSSH, Run: nmap("-Pn", "-sN", "--max-retries", "0", "-p", "1-200", VictimAddr.String())},
	{Name: "nmap-udp-scan", Rule: "scan.port", Src: "attacker", Dst: "victim", Why: "nmap -sU of 500 ports; the victim answers port-unreachable without rate limit",
		Tools: []string{"nmap"}, Setup: func(l *Lab) {
			l.DNS()
			l.MustRun(l.Victim.NS, 5*time.Second, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
		}, Run: nmap("-Pn", "-sU", "--max-retries", "0", "--min-rate", "2000", "-p", "1-500", VictimAddr.String())},
	{Name: "nmap-ack-ping-sweep", Rule: "scan.sweep", Src: "attacker", Why: "nmap -sn -PA80 --send-ip over 32 addresses of the victim's aliases",
		Tools: []string{"nmap"}, Setup: func(l *Lab) { l.Aliases(40) },
		Run: nmap("-sn", "-PA80", "--send-ip", "10.77.0.96/27")},
	{Name: "nmap-icmp-sweep", Rule: "scan.sweep", Src: "attacker", Why: "nmap -sn -PE --send-ip over 32 addresses",
		Tools: []string{"nmap"}, Setup: func(l *Lab) { l.Aliases(40) },
		Run: nmap("-sn", "-PE", "--send-ip", "10.77.0.96/27")},
	{Name: "nmap-arp-sweep", Rule: "scan.sweep", Src: "attacker", Why: "nmap -sn -PR over the /24 (ARP who-has for 254 addresses)",
		Tools: []string{"nmap"}, Run: nmap("-sn", "-PR", "10.77.0.0/24")},
	{Name: "nmap-connect-sweep", Rule: "scan.sweep", Src: "attacker", Why: "unprivileged nmap -sn over 21 addresses routed through the victim (TCP connect to 80 and 443, nobody answers)",
		Tools: []string{"nmap", "setpriv"}, Run: func(l *Lab) error {
			l.ip("-n", l.Attacker.NS, "route", "add", "10.78.0.0/24", "via", VictimAddr.String())
			return l.attacker(50*time.Second, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
				"nmap", "-n", "-sn", "--max-retries", "0", "--host-timeout", "3s", "10.78.0.1-21")
		}},
	{Name: "hping3-syn-flood", Rule: "dos.synflood", Dst: "victim", Why: "hping3 -S --rand-source to port 80, 5000 SYNs at 10k/s",
		Tools: []string{"hping3"}, Setup: func(l *Lab) { l.HTTP() }, Run: func(l *Lab) error {
			return hping(l, "-q", "-S", "-p", "80", "--rand-source", "-i", "u100", "-c", "5000", VictimAddr.String())
		}},
	{Name: "hping3-icmp-flood", Rule: "dos.icmpflood", Src: "attacker", Dst: "victim", Why: "hping3 -1, 4000 echo requests at 5k/s; the victim replies to each",
		Tools: []string{"hping3"}, Run: func(l *Lab) error {
			l.MustRun(l.Victim.NS, 5*time.Second, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
			return hping(l, "-q", "-1", "-i", "u200", "-c", "4000", VictimAddr.String())
		}},
	{Name: "hping3-synack-reflection", Rule: "dos.reflection", Dst: "victim", Why: "hping3 -SA --rand-source: 4000 SYN-ACKs nobody asked for, as reflectors send them",
		Tools: []string{"hping3"}, Run: func(l *Lab) error {
			return hping(l, "-q", "-S", "-A", "-s", "80", "-k", "-p", "40000", "--rand-source", "-i", "u100", "-c", "4000", VictimAddr.String())
		}},
	{Name: "hping3-dns-amplification", Rule: "dos.reflection", Dst: "victim", Why: "hping3 -2 from port 53, 1200-byte datagrams from random sources: DNS responses nobody asked for",
		Tools: []string{"hping3"}, Run: func(l *Lab) error {
			return hping(l, "-q", "-2", "-s", "53", "-k", "-p", "33333", "-d", "1200", "--rand-source", "-i", "u500", "-c", "600", VictimAddr.String())
		}},
	{Name: "icmp-text-message", Rule: "icmp.tunnel", Src: "attacker", Dst: "victim", Why: "hping3 -1 -E: one echo request carrying a written message",
		Tools: []string{"hping3"}, Run: func(l *Lab) error {
			msg := "meet at the usual place at 22:00, bring the new keys\n"
			path := filepath.Join(l.Dir, "message.txt")
			writeFile(l.t, path, msg)
			return hping(l, "-q", "-1", "-c", "1", "-E", path, "-d", fmt.Sprint(len(msg)), VictimAddr.String())
		}},
	{Name: "arpspoof-gateway", Rule: "arp.spoof", Src: "client", Dst: "victim", Why: "arpspoof -t victim gateway: forged replies put the gateway's address on the attacker's MAC",
		Tools: []string{"arpspoof"}, Run: func(l *Lab) error {
			// The victim talks to its gateway and beyond it first, so the
			// genuine binding and the gateway's MAC are on record.
			l.Run(l.Victim.NS, 5*time.Second, "ping", "-c2", "-i0.2", "-W1", ClientAddr.String())
			l.Run(l.Victim.NS, 5*time.Second, "ping", "-c2", "-i0.2", "-W1", OffNet.String())
			l.Run(l.Attacker.NS, 9*time.Second, "arpspoof", "-i", "eth0", "-t", VictimAddr.String(), ClientAddr.String())
			return nil
		}},
	{Name: "dhcpstarv", Rule: "dhcp.starvation", Why: "dhcpstarv for 5 s against dnsmasq's pool of 101 leases",
		Tools: []string{"dhcpstarv"}, Setup: func(l *Lab) { l.DHCPServer() }, Run: func(l *Lab) error {
			l.Run(l.Attacker.NS, 5*time.Second, "dhcpstarv", "-i", "eth0")
			return nil
		}},
	{Name: "sshpass-ssh", Rule: "bruteforce.ssh", Src: "attacker", Dst: "victim", Why: "sshpass + ssh, 12 logins with wrong passwords one after another",
		Tools: []string{"sshpass", "ssh"}, Setup: func(l *Lab) { l.SSHD() }, Run: func(l *Lab) error {
			for i := range 12 {
				l.Run(l.Attacker.NS, 10*time.Second, "sshpass", "-p", fmt.Sprintf("guess%03d", i), "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
					"-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=5", "admin@"+VictimAddr.String(), "true")
			}
			return nil
		}},
	{Name: "medusa-ssh", Rule: "bruteforce.ssh", Src: "attacker", Dst: "victim", Why: "medusa -t 4 against sshd with 40 guesses",
		Tools: []string{"medusa"}, Setup: func(l *Lab) { l.SSHD() }, Run: func(l *Lab) error {
			l.Run(l.Attacker.NS, 50*time.Second, "medusa", "-h", VictimAddr.String(), "-u", "admin", "-P", l.passwords(40), "-M", "ssh", "-t", "4")
			return nil
		}},
	{Name: "hydra-ftp", Rule: "bruteforce.ftp", Src: "attacker", Dst: "victim", Why: "hydra -t 4 against vsftpd with 40 guesses",
		Tools: []string{"hydra"}, Setup: func(l *Lab) { l.FTP() }, Run: func(l *Lab) error {
			l.Run(l.Attacker.NS, 50*time.Second, "hydra", "-I", "-t", "4", "-l", "admin", "-P", l.passwords(40), "ftp://"+VictimAddr.String())
			return nil
		}},
	{Name: "medusa-ftp", Rule: "bruteforce.ftp", Src: "attacker", Dst: "victim", Why: "medusa -t 4 against vsftpd with 40 guesses",
		Tools: []string{"medusa"}, Setup: func(l *Lab) { l.FTP() }, Run: func(l *Lab) error {
			l.Run(l.Attacker.NS, 50*time.Second, "medusa", "-h", VictimAddr.String(), "-u", "admin", "-P", l.passwords(40), "-M", "ftp", "-t", "4")
			return nil
		}},
	{Name: "iodine-tunnel", Rule: "dns.tunnel", Src: "attacker", Dst: "victim", Why: "iodine client against iodined (NULL queries, encoded labels), a few pings through the tunnel",
		Tools: []string{"iodine", "iodined"}, Run: func(l *Lab) error {
			l.Start(l.Victim.NS, "iodined", "-f", "-c", "-P", "labsecret", "-l", VictimAddr.String(), "10.99.0.1/27", "t.lab.test")
			l.WaitPort("udp", VictimAddr, 53)
			c := l.Start(l.Attacker.NS, "iodine", "-f", "-P", "labsecret", "-r", VictimAddr.String(), "t.lab.test")
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := l.Run(l.Attacker.NS, 3*time.Second, "ping", "-c1", "-W1", "10.99.0.1"); err == nil {
					l.Run(l.Attacker.NS, 5*time.Second, "ping", "-c3", "-i0.3", "-W1", "10.99.0.1")
					break
				}
				time.Sleep(300 * time.Millisecond)
			}
			l.Stop(c)
			return nil
		}},
	{Name: "dnscat-style-txt", Rule: "dns.tunnel", Src: "attacker", Dst: "victim", Why: "14 TXT queries with 60+30 hex characters of data under a short domain (dnx.fr), as dnscat2 sends",
		Tools: []string{"dig"}, Setup: func(l *Lab) { l.DNS() }, Run: func(l *Lab) error {
			var args []string
			for i := range 14 {
				data := fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i)}))
				args = append(args, "TXT", fmt.Sprintf("%s.%s.dnx.fr", data[:60], data[4:34]))
			}
			return l.attacker(30*time.Second, "dig", append([]string{"@" + VictimAddr.String(), "+tries=1", "+time=1"}, args...)...)
		}},

	// Ordinary traffic.
	{Name: "benign-browsing", Why: "curl fetches pages by name from the victim's web server after dig resolves them",
		Tools: []string{"curl", "dig"}, Setup: func(l *Lab) { l.HTTP(); l.DNS() }, Run: func(l *Lab) error {
			for _, n := range []string{"www.lab.test", "static.lab.test", "api.lab.test"} {
				l.client(5*time.Second, "dig", "@"+VictimAddr.String(), "+tries=1", n, "A")
			}
			for i := range 6 {
				page := []string{"/", "/about.html"}[i%2]
				if err := l.client(10*time.Second, "curl", "-sS", "-o", "/dev/null", "--resolve", "www.lab.test:80:"+VictimAddr.String(), "http://www.lab.test"+page); err != nil {
					return err
				}
			}
			return nil
		}},
	{Name: "benign-mdns", Why: "dig asks 224.0.0.251:5353 for 5 service names, 4 times each (mDNS)",
		Tools: []string{"dig"}, Run: func(l *Lab) error {
			var script strings.Builder
			for range 4 {
				for _, n := range []string{"_services._dns-sd._udp.local", "_http._tcp.local", "_ipp._tcp.local", "_ssh._tcp.local", "_printer._tcp.local"} {
					fmt.Fprintf(&script, "dig -p 5353 @224.0.0.251 +tries=1 +time=1 %s PTR >/dev/null & ", n)
				}
				script.WriteString("sleep 0.2; ")
			}
			script.WriteString("wait")
			l.Run(l.Client.NS, 10*time.Second, "sh", "-c", script.String())
			return nil
		}},
	{Name: "benign-dhcp", Why: "busybox udhcpc takes a lease, three times",
		Tools: []string{"busybox"}, Setup: func(l *Lab) { l.DHCPServer() }, Run: func(l *Lab) error {
			for range 3 {
				l.client(10*time.Second, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-s", "/bin/true")
			}
			return nil
		}},
	{Name: "benign-irc", Why: "an IRC client session to the victim's port 6667 (NICK, USER, JOIN, PRIVMSG, QUIT)",
		Tools: []string{"nc"}, Run: func(l *Lab) error {
			srv := l.Start(l.Victim.NS, "sh", "-c", `printf ':irc.lab NOTICE * :*** Looking up your hostname\r\n:irc.lab 001 bob :Welcome\r\n' | nc -l `+VictimAddr.String()+` 6667 >/dev/null`)
			l.WaitPort("tcp", VictimAddr, 6667)
			l.Stop(srv) // WaitPort's probe consumed the first accept
			l.Start(l.Victim.NS, "sh", "-c", `printf ':irc.lab NOTICE * :*** Looking up your hostname\r\n:irc.lab 001 bob :Welcome\r\n' | nc -l `+VictimAddr.String()+` 6667 >/dev/null`)
			time.Sleep(300 * time.Millisecond)
			return l.client(10*time.Second, "sh", "-c", `printf 'NICK bob\r\nUSER bob 0 * :Bob\r\nJOIN #ops\r\nPRIVMSG #ops :deploy done\r\nQUIT :bye\r\n' | nc -w 2 `+VictimAddr.String()+` 6667`)
		}},
	{Name: "benign-anonymous-ftp", Why: "curl downloads a file from vsftpd as anonymous",
		Tools: []string{"curl"}, Setup: func(l *Lab) { l.FTP() }, Run: func(l *Lab) error {
			return l.client(15*time.Second, "curl", "-sS", "-o", "/dev/null", "ftp://"+VictimAddr.String()+"/pub/README.txt")
		}},
	{Name: "benign-burst-500", Why: "500 concurrent HTTP fetches from one client to python3's http.server that all complete (its accept queue of 64 overflows, SYNs are retransmitted)",
		Tools: []string{"curl", "/usr/bin/python3"}, Run: func(l *Lab) error {
			root := filepath.Join(l.Dir, "www8000")
			os.MkdirAll(root, 0o755)
			writeFile(l.t, filepath.Join(root, "index.html"), "<html><body>burst</body></html>\n")
			// A listen backlog of 64 overflows under 500 simultaneous SYNs, so
			// some are dropped and retransmitted, and still drains in seconds.
			l.Start(l.Victim.NS, "/usr/bin/python3", "-c", fmt.Sprintf(`import functools, http.server as h
class S(h.ThreadingHTTPServer):
    request_queue_size = 64
    daemon_threads = True
S((%q, 8000), functools.partial(h.SimpleHTTPRequestHandler, directory=%q)).serve_forever()`, VictimAddr.String(), root))
			l.WaitPort("tcp", VictimAddr, 8000)
			url := "http://" + VictimAddr.String() + ":8000/index.html?n="
			cmd := fmt.Sprintf(`curl -sS --parallel --parallel-immediate --parallel-max 250 '%s[1-250]' >/dev/null & curl -sS --parallel --parallel-immediate --parallel-max 250 '%s[251-500]' >/dev/null & wait`, url, url)
			return l.client(50*time.Second, "sh", "-c", cmd)
		}},
	{Name: "benign-aliases", Why: "a host with 40 addresses on one interface answers ARP for each as the client fetches a page from 30 of them",
		Tools: []string{"curl"}, Setup: func(l *Lab) { l.Aliases(40); l.HTTP0() }, Run: func(l *Lab) error {
			for i := range 30 {
				l.client(5*time.Second, "curl", "-sS", "-o", "/dev/null", fmt.Sprintf("http://10.77.0.%d/", 100+i))
			}
			return nil
		}},
}

// HTTP0 starts busybox httpd in the victim on port 80 of every address.
func (l *Lab) HTTP0() {
	l.t.Helper()
	Need(l.t, "busybox")
	root := filepath.Join(l.Dir, "www0")
	os.MkdirAll(root, 0o755)
	writeFile(l.t, filepath.Join(root, "index.html"), "<html><body>alias</body></html>\n")
	l.Start(l.Victim.NS, "busybox", "httpd", "-f", "-p", "80", "-h", root)
	l.WaitPort("tcp", VictimAddr, 80)
}
