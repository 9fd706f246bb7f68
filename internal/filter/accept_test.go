package filter

import (
	"os/exec"
	"strings"
	"testing"
)

// acceptCases lists expressions whose acceptance must agree with libpcap's
// (true: compiles). Filters this package deliberately accepts beyond
// libpcap are in TestParse instead.
var acceptCases = []string{
	"(host 1.2.3.4) or 5.6.7.8",
	"host 1.2.3.4 and (tcp) or 5.6.7.8",
	"src 10.0.0.0/8",
	"host 10.0.0.0/8",
	"net 10.0.0.0/8 or 11.0.0.0/8",
	"tcp port 80 or 443",
	"port 80 and not 443",
	"host 1.2.3.4 and not 5.6.7.8",
	"host (1.2.3.4 or 5.6.7.8)",
	"proto \\tcp",
	"ether proto \\ip",
	"tcp or 80",
	"vlan 100 or 200",
	"80",
	"(80)",
	"not",
	"tcp and",
	"host",
	"port 99999",
	"net 10.1.2.3/16",
	"tcp[13:3] = 1",
	"1 = 1",
	"ip[0] / 0 = 1",
	"ip[0] << 40 = 1",
	"len - 1 > 0",
	"len-1 > 0",
	"host 10.1",
	"ip6 host 10.0.0.1",
	"ip host ::1",
	"tcp host 1.2.3.4",
	"ip port 80",
	"ether host 1.2.3.4",
	"host 01:02:03:04:05:06",
	"src or dst host 1.2.3.4",
	"dst and src port 1",
	"port 80 or (443 or 8080)",
	"portrange 100-90",
	"vlan 4096",
	"icmp6[0] = 128",
	"(tcp[0] + 1) > 4",
	"(len) > 5",
	"ether[0] = 1 or (ip and udp)",
	"not not tcp",
	"!tcp && !udp",
	"tcp[tcpflags] & tcp-syn != 0 and 1.2.3.4",
	"net 192.168",
	"host 0x0a000001",
	"src net 10 and dst port 21",
	"ip6 net ::/0",
	"ip6 net fe80::1/10",
	"host ::ffff:1.2.3.4",
	"host ::1 or ::2",
	"tcp src port 80 and dst",
	"greater",
	"less 10 20",
	"a.b.c",
	"host 10.0.0.1 and",
	"((tcp))",
	"(tcp",
	"tcp)",
	"ip[1:2] == 3",
	"ip[1:2] = = 3",
	"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
	"ether src 1:2:3:4:5:6 and ether dst 0102.0304.0506",
	"ether host 01-02-03-04-05-06",
}

func TestAcceptanceMatchesTcpdump(t *testing.T) {
	tcpdump := needTcpdump(t)
	file := corpusFiles(t)[0] // any Ethernet capture supplies the link type
	for _, expr := range acceptCases {
		out, err := exec.Command(tcpdump, "-r", file, "-d", "--", expr).CombinedOutput()
		theirs := err == nil || strings.Contains(string(out), "expression rejects all packets")
		_, ourErr := Compile(expr, linkEthernet, 65535)
		if theirs != (ourErr == nil) {
			t.Errorf("%q: tcpdump accepts=%v (%s), Compile error=%v", expr, theirs, strings.TrimSpace(string(out)), ourErr)
		}
	}
}
