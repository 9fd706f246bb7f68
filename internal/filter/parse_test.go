package filter

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		expr string
		pos  int
		msg  string // substring of the message
	}{
		{"tcp and", 7, "unexpected end"},
		{"host", 4, "expected an address"},
		{"host example.com", 5, "name resolution not supported; use an address"},
		{"src host db1", 9, "name resolution not supported"},
		{"port 99999", 5, "illegal port number 99999 > 65535"},
		{"tcp port 80 or foo", 15, "unknown port name"},
		{"net 10.1.2.3/16", 4, `non-network bits set in "10.1.2.3/16"`},
		{"net 2001:db8::1/32", 4, "non-network bits"},
		{"host 10.0.0.0/8", 5, "mask syntax for networks only"},
		{"tcp[13:3] = 1", 7, "data size must be 1, 2, or 4"},
		{"ip[0] / 0 = 1", 6, "division by zero"},
		{"ip[0] << 40 = 1", 6, "shift by more than 31 bits"},
		{"tcp or 80", 7, "needs a qualifier"},
		{"80", 2, "expected a comparison"},
		{"(tcp", 4, "expected ')'"},
		{"tcp)", 3, "unexpected ')'"},
		{"ip6 host 10.0.0.1", 9, "'ip6' modifier applied to host"},
		{"tcp host 1.2.3.4", 9, "'tcp' modifier applied to host"},
		{"ip port 80", 8, "illegal qualifier of 'port'"},
		{"host 01:02:03:04:05:06", 5, "ethernet address used in non-ether expression"},
		{"vlan 4096", 5, "VLAN tag 4096 greater than maximum 4095"},
		{"gateway 10.0.0.1", 0, "not supported"},
		{"tcp port 80 $ udp", 12, "unexpected character '$'"},
		{"ip[0] = 1 = 2", 10, "unexpected '='"},
		{"less", 4, "less needs a length"},
		{"ip proto 300", 9, "protocol number 300 > 255"},
	}
	for _, c := range cases {
		_, err := Compile(c.expr, linkEthernet, 65535)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) = %v, want a *SyntaxError", c.expr, err)
			continue
		}
		if se.Pos != c.pos || !strings.Contains(se.Msg, c.msg) || se.Expr != c.expr {
			t.Errorf("Compile(%q): pos %d msg %q, want pos %d containing %q", c.expr, se.Pos, se.Msg, c.pos, c.msg)
		}
	}
}

func TestSyntaxErrorFormat(t *testing.T) {
	_, err := Compile("tcp port 80 and host", linkEthernet, 65535)
	want := "capture filter: expected an address, number or name, found end of expression at position 20: \"tcp port 80 and host\"\n" +
		"  tcp port 80 and host\n" +
		"  " + strings.Repeat(" ", 20) + "^"
	if err == nil || err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
	// Control characters must not reach the terminal raw, and the caret
	// counts runes, not bytes.
	_, err = Compile("hôst\x1b[2J 1", linkEthernet, 65535)
	if err == nil || strings.Contains(err.Error(), "\x1b") {
		t.Fatalf("Error() = %q", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || lines[1] != "  hôst?[2J 1" || lines[2] != "   ^" {
		t.Errorf("Error() lines = %q", lines)
	}
}

// TestParseAccepts covers spellings beyond the tcpdump-compared set,
// including ones this package accepts and libpcap does not (ip proto tcp).
func TestParseAccepts(t *testing.T) {
	for _, expr := range []string{
		"ip proto tcp", "ip6 proto udp", "proto icmp6", "ether proto \\arp", "ether proto arp",
		"port ssh", "portrange ftp-ssh", "tcp port 0x50", "host 012.0.0.1",
		"host ::1 or ::2", "net 10.0.0.0 mask 255.0.0.0", "src or dst net 10",
		"dst and src port 1", "ether src 0102.0304.0506", "ether host 1-2-3-4-5-6",
		"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "icmp6[icmp6type] == icmp6-neighborsolicit",
		"len >= 64", "ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0",
		"- len < 0", "(((tcp)))", "not not not udp", "vlan and vlan and vlan 3",
		"udp[udp[0] & 3] = 1", "ip[ip[0] & 0xf] + ip[1] * 2 - ip[2] / 3 % 5 | 1 ^ 2 > 0",
	} {
		p, err := Compile(expr, linkEthernet, 65535)
		if err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
			continue
		}
		newXVM(t, p.Instructions())
	}
}

// TestProgramShape pins a small program so code generation changes are seen.
func TestProgramShape(t *testing.T) {
	p, err := Compile("ip and udp dst port 53", linkEthernet, 65535)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Instructions() {
		got = append(got, r.Disassemble().(interface{ String() string }).String())
	}
	want := []string{
		"ldh [12]", "jneq #2048,16",
		"ldh [12]", "jneq #2048,7", "ldb [23]", "jneq #17,5", "ldh [20]", "jset #8191,3",
		"ldx 4*([14]&0xf)", "ldh [x + 16]", "jeq #53,6",
		"ldh [12]", "jneq #34525,5", "ldb [20]", "jneq #17,3", "ldh [56]", "jneq #53,1",
		"ret #65535", "ret #0",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("program:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
