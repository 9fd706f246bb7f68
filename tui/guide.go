package tui

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// guide explains one rule to an engineer who is not a security specialist:
// what happened, why it matters, how sure opsdeck is, and what to check
// next. Commands are shown, never run.
type guide struct {
	means, matters, sure string
	next                 []string // commands or checks; see fill
}

// guides by rule name. A rule without an entry gets the generic one.
var guides = map[string]guide{
	"scan.port": {
		means:   "{src} tried many ports on {dst} to find which services answer: reconnaissance, often the first step of an attack.",
		matters: "what it found open is what it will try next; a scan from inside the network means a compromised host.",
		sure:    "sure of the probing; it does not say the scanner is hostile (inventory tools scan too).",
		next:    []string{"ss -tlnp   # what {dst} exposes", "nft add rule inet filter input ip saddr {src} drop   # block the scanner"},
	},
	"scan.sweep": {
		means:   "{src} probed the same port(s) on many hosts, looking for machines that run a service.",
		matters: "a sweep maps the network before an attack spreads; from inside it is often a worm or a compromised host.",
		sure:    "sure of the probing; not of intent.",
		next:    []string{"ss -tnp 'dst {src}'   # is any local process talking to it", "nft add rule inet filter input ip saddr {src} drop"},
	},
	"scan.stealth": {
		means:   "{src} sent packets with flag combinations no normal connection uses (NULL, FIN, Xmas) to {dst}: a scanner trying to pass firewalls.",
		matters: "nothing legitimate sends these; someone is mapping {dst} and trying not to be logged.",
		sure:    "high: ordinary stacks never send these flags.",
		next:    []string{"nft add rule inet filter input ip saddr {src} drop"},
	},
	"dos.synflood": {
		means:   "{dst} receives connection requests far faster than connections complete: a SYN flood, usually from spoofed addresses.",
		matters: "the service's connection queue fills and real users are refused. The source addresses are likely forged: do not block them one by one.",
		sure:    "sure of the rate; the sources named are whatever the packets claim.",
		next:    []string{"ss -s   # connection states on this host", "sysctl net.ipv4.tcp_syncookies   # 1 keeps serving under a flood", "nstat -az TcpExtListenOverflows TcpExtListenDrops"},
	},
	"dos.icmpflood": {
		means:   "ICMP (ping) traffic to or from {dst} far above normal.",
		matters: "it can saturate the link or hide a tunnel; a host answering a flood is its victim, not its source.",
		sure:    "sure of the rate.",
		next:    []string{"nft add rule inet filter input ip protocol icmp limit rate 100/second accept"},
	},
	"arp.spoof": {
		means:   "an address on the local segment changed hardware address, or one machine claims addresses that are not its own: ARP spoofing.",
		matters: "the claimer can read and alter traffic between hosts on this segment (man in the middle), including passwords.",
		sure:    "strong when a binding contradicts one seen before; a replaced NIC or a failover also changes bindings.",
		next:    []string{"ip neigh show   # the bindings this host holds", "arping -c 3 {dst}   # who answers for the address"},
	},
	"bruteforce.ssh": {
		means:   "{src} tried to log in to SSH on {dst} many times: password guessing.",
		matters: "if any attempt succeeded the attacker has a shell; look for a successful login from {src}.",
		sure:    "sure of the attempts; whether one succeeded shows in the auth log.",
		next:    []string{"journalctl -u ssh --since -1h | grep {src}", "last -i | grep {src}   # successful logins", "nft add rule inet filter input ip saddr {src} drop"},
	},
	"bruteforce.success": {
		means:   "{src} logged in to {dst} after failing again and again: the brute force worked.",
		matters: "the attacker now has an account here; the session's process (below) is what they control.",
		sure:    "sure for FTP, Telnet and HTTP (the server said yes); for SSH and RDP a session longer than an attempt after many short ones, which is strong but inferred.",
		next:    []string{"ss -tnp 'dst {src}'   # the session and its process", "last -i | grep {src}; who", "kill {pid}   # after saving the evidence (b); then change the account's password", "nft add rule inet filter input ip saddr {src} drop"},
	},
	"bruteforce.ftp": {
		means:   "{src} tried many FTP logins on {dst}: password guessing.",
		matters: "FTP passwords travel in clear and are often reused elsewhere.",
		sure:    "sure: the server's replies say each login failed.",
		next:    []string{"nft add rule inet filter input ip saddr {src} drop"},
	},
	"dns.tunnel": {
		means:   "a host sends DNS queries whose names carry encoded data: DNS used as a hidden channel.",
		matters: "tunnels carry stolen data out or commands in past firewalls that allow DNS; the process doing it is the thing to find.",
		sure:    "strong for long encoded names under one domain; some security and CDN products look alike.",
		next:    []string{"ss -unp 'dport = :53'   # which process sends DNS", "kill {pid}   # after checking it"},
	},
	"dns.dga": {
		means:   "a host looked up many random-looking names that do not exist: malware searching for its command server.",
		matters: "the host is likely infected; the name that finally resolves is the command server.",
		sure:    "medium: misconfigured software can look alike.",
		next:    []string{"ss -unp 'dport = :53'"},
	},
	"icmp.tunnel": {
		means:   "ping packets carry varied or large data: a tunnel inside ICMP.",
		matters: "data can leave the network through ICMP where TCP is blocked.",
		sure:    "medium: some monitoring tools send large pings.",
		next:    []string{"nft add rule inet filter output ip daddr {dst} ip protocol icmp drop"},
	},
	"cred.cleartext": {
		means:   "a password or login crossed the network unencrypted.",
		matters: "anyone on the path can read and reuse it.",
		sure:    "sure: opsdeck saw the credential (masked here).",
		next:    []string{"change the password; move the service to TLS"},
	},
	"port.suspicious": {
		means:   "a session on a port used by backdoors and reverse shells ({dport}).",
		matters: "an interactive shell on such a port means someone controls a process on this host.",
		sure:    "weak alone: a port is only a hint. The process below says more.",
		next:    []string{"ss -tnp 'dport = :{dport} or sport = :{dport}'", "ls -l /proc/{pid}/exe /proc/{pid}/cwd", "kill {pid}   # after saving the evidence (b)"},
	},
	"traffic.surge": {
		means:   "a host's or interface's traffic rate is far above its recent baseline.",
		matters: "a backup or deploy can do this; so can exfiltration or a flood.",
		sure:    "sure of the rate, not the cause.",
		next:    []string{"the processes pane sorted by network (2, then s)"},
	},
	"host.new": {
		means:   "a machine not seen before appeared on the local segment.",
		matters: "an unknown device can be a rogue host plugged in by an attacker.",
		sure:    "informational.",
		next:    []string{"ip neigh show | grep {src}"},
	},
	"host.pressure": {
		means:   "for half a minute or more, tasks on this host spent a large share of their time waiting for memory or for the disk instead of running (Linux pressure stall information).",
		matters: "users feel it as slowness before any threshold trips: memory stalls come before the OOM killer, I/O stalls make every request that touches the disk wait. The processes named grew the most or did the most I/O while it lasted.",
		sure:    "sure of the stall (the kernel measures it); the processes named are the likeliest cause, not a proven one. As non-root, other users' I/O is unreadable (evidence io_unreadable_processes).",
		next:    []string{"cat /proc/pressure/memory /proc/pressure/io", "ps -o pid,rss,vsz,cmd -p {pid}   # the process named", "iotop -obn 3   # who does the I/O (root)", "vmstat 1 5   # si/so: swapping"},
	},
	"host.restart": {
		means:   "a service keeps dying and being started again: all its processes were replaced by new ones several times within minutes (systemd Restart=, a container's restart policy, or a supervisor).",
		matters: "the restart hides the crash: the service looks up while it drops requests and loses state at each death. A loop often follows a bad deploy, a configuration error, a full disk or memory limits.",
		sure:    "sure that the processes were replaced; opsdeck cannot see why they ended (read the service's log).",
		next:    []string{"systemctl status <unit>   # the unit in the evidence: exit code, restart count", "journalctl -u <unit> -n 50 --no-pager", "docker logs --tail 50 <container>   # for docker: units"},
	},
	"host.clock": {
		means:   "the wall clock jumped forward or back between two samples by more than the time that passed (suspend does not count).",
		matters: "log lines come out of order or with wrong times, cron jobs are skipped or run twice, and certificates, Kerberos tickets and one-time codes are judged at the wrong time; a large step back can also hide activity inside a timeline.",
		sure:    "sure of the step; usually NTP or chrony correcting a drifting clock, an administrator's date command, or a virtual machine resumed. A step nobody made deserves a look.",
		next:    []string{"timedatectl status", "chronyc tracking   # or: ntpq -p", "journalctl --since -10min | grep -iE 'time|clock'"},
	},
}

// genericGuide stands in for a rule without an entry.
var genericGuide = guide{
	means: "{rule}: see the rule's summary above.",
	sure:  "see docs/detection.md for the rule's thresholds and what it does not detect.",
}

// guideLines renders the guide for a, wrapped to width.
func guideLines(a *detect.Alert, width int) []string {
	name := ""
	if a.Rule != nil {
		name = a.Rule.Name
	}
	g, ok := guides[name]
	if !ok {
		g = genericGuide
	}
	fill := func(s string) string {
		r := strings.NewReplacer("{src}", addrOr(a.Src), "{dst}", addrOr(a.Dst), "{dport}", fmt.Sprint(a.DstPort),
			"{pid}", pidOr(a.PID), "{rule}", name)
		return r.Replace(s)
	}
	var out []string
	para := func(label, text string) {
		if text == "" {
			return
		}
		out = append(out, wrapLabelled(label, fill(text), width)...)
	}
	para("happened", g.means)
	para("matters", g.matters)
	para("how sure", g.sure)
	for i, n := range g.next {
		label := ""
		if i == 0 {
			label = "next"
		}
		out = append(out, wrapLabelled(label, "$ "+fill(n), width)...)
	}
	return out
}

func addrOr(a netip.Addr) string {
	if !a.IsValid() {
		return "the source"
	}
	return a.String()
}

func pidOr(pid int32) string {
	if pid <= 0 {
		return "PID"
	}
	return fmt.Sprint(pid)
}

// labelWidth is the column the detail view's labels take.
const labelWidth = 14

// wrapLabelled lays text out after a label column, wrapped to width:
// continuation lines are indented under the text, never cut.
func wrapLabelled(label, text string, width int) []string {
	tw := max(width-labelWidth, 20)
	lines := textsafe.Wrap(text, tw, 40)
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		lab := ""
		if i == 0 {
			lab = label
		}
		out = append(out, textsafe.Pad(lab, labelWidth)+l)
	}
	return out
}
