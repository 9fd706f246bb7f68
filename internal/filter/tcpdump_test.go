package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"golang.org/x/net/bpf"
)

// equivFilters are run through tcpdump and Compile over every corpus capture
// and its link-type variants; the kept packets must be the same.
var equivFilters = []string{
	"",
	"tcp",
	"udp",
	"icmp",
	"icmp6",
	"arp",
	"rarp",
	"ip",
	"ip6",
	"sctp",
	"host 10.16.1.11",
	"src host 10.16.1.1",
	"dst host 192.168.56.101",
	"host 10.10.10.1 and 10.10.10.2",
	"host 192.168.154.131 or 192.168.154.132 or arp",
	"ip host 10.10.10.1",
	"arp host 192.168.154.132",
	"net 10.0.0.0/8",
	"net 192.168.0.0 mask 255.255.0.0",
	"src and dst net 172.24.0.0/16",
	"net 10",
	"net 192.168.56",
	"ip6 host 2a00:800:1010::1",
	"ip6 net 2000::/3",
	"dst net fe80::/10",
	"port 53",
	"udp dst port 53",
	"tcp port 80",
	"port 80 or 443",
	"tcp port 21 or 22 or 23",
	"src or dst port 21",
	"src port 21 and not dst port 54017",
	"portrange 20-25",
	"tcp src portrange 1-1024",
	"port http or port domain",
	"vlan",
	"vlan and ip6",
	"vlan 1111 and tcp port 80",
	"vlan and vlan",
	"not vlan and tcp",
	"ether host 00:1a:6b:6c:0c:cc",
	"ether src 08:00:27:bf:4f:8a",
	"ether dst ff:ff:ff:ff:ff:ff",
	"ether proto 0x806",
	"proto 17",
	"ip proto \\tcp",
	"ip6 proto 6",
	"proto \\icmp or proto 58",
	"greater 1000",
	"less 100",
	"tcp[tcpflags] & (tcp-syn) != 0",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
	"tcp[13] = 0 or tcp[13] & 0x29 = 0x29 or tcp[13] = 1",
	"icmp[icmptype] = icmp-echo",
	"icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
	"ip[2:2] > 576",
	"ip[6:2] & 0x1fff = 0 and ip[9] = 6",
	"udp[8:2] & 0x8000 = 0 and udp port 53",
	"tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
	"udp and (udp[4:2] - 8) > 100",
	"icmp6[icmp6type] = icmp6-echo or icmp6[0] = 135",
	"arp[6:2] = 2",
	"ether[12:2] = 0x800 and ether[0] & 1 = 0",
	"len > 100 and len <= 500",
	"ip[0] & 0xf != 5",
	"(tcp or udp) and not (port 53 or port 80)",
	"not tcp and not udp",
	"! (ip or ip6) || arp",
	"src net 192.168.56.0/24 && dst port 21",
	"ip6[6] = 17 or ip6[6] = 58",
	"len - 14 > ip[2:2]",
	"tcp[2:2] % 2 = 1 and tcp[0:2] * 2 > 1000",
	"ip[8] < 64 or ip[8] >= 128",
	"- ip[8] < 0",
	"ip[12:4] ^ ip[16:4] != 0",
	"tcp[12] >> 4 > 5",
}

// variantSources are the Ethernet captures rewritten to the other link
// types: IPv4 TCP/UDP/ICMP, IPv6, ARP and VLAN between them.
var variantSources = map[string]bool{
	"suricata-verify/arp-request-reply.pcap":            true,
	"suricata-verify/http-ipv6-vlan-nikto-bug-814.pcap": true,
	"suricata-verify/dns-udp-eve-txt.pcap":              true,
	"ndpi/ftp-failed-login-ipv6.pcap":                   true,
	"ndpi/tcp-null-fin-xmas-scan.pcap":                  true,
	"suricata-verify/http-host-flow-bug-78.pcap":        true,
}

// variant is a capture rewritten to another link type.
type variant struct {
	name     string
	linkType uint16
	convert  func(frame []byte) []byte // nil result drops the packet
}

// ethPayload returns the EtherType and payload of an untagged Ethernet frame.
func ethPayload(f []byte) (uint16, []byte, bool) {
	if len(f) < 14 {
		return 0, nil, false
	}
	return uint16(f[12])<<8 | uint16(f[13]), f[14:], true
}

var variants = []variant{
	{"sll", 113, func(f []byte) []byte {
		et, pl, ok := ethPayload(f)
		if !ok {
			return nil
		}
		h := []byte{0, 0, 0, 1, 0, 6, f[6], f[7], f[8], f[9], f[10], f[11], 0, 0, byte(et >> 8), byte(et)}
		return append(h, pl...)
	}},
	{"sll2", 276, func(f []byte) []byte {
		et, pl, ok := ethPayload(f)
		if !ok {
			return nil
		}
		h := []byte{byte(et >> 8), byte(et), 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, f[6], f[7], f[8], f[9], f[10], f[11], 0, 0}
		return append(h, pl...)
	}},
	{"raw", 101, func(f []byte) []byte {
		et, pl, ok := ethPayload(f)
		if !ok || (et != 0x800 && et != 0x86dd) {
			return nil
		}
		return pl
	}},
	{"null", 0, func(f []byte) []byte {
		et, pl, ok := ethPayload(f)
		if !ok {
			return nil
		}
		af := byte(2)
		switch et {
		case 0x800:
		case 0x86dd:
			af = 30
		default:
			return nil
		}
		// Little-endian, as written by the x86 and ARM hosts tcpdump runs on.
		return append([]byte{af, 0, 0, 0}, pl...)
	}},
	{"loop", 108, func(f []byte) []byte {
		et, pl, ok := ethPayload(f)
		if !ok {
			return nil
		}
		af := byte(2)
		switch et {
		case 0x800:
		case 0x86dd:
			af = 24
		default:
			return nil
		}
		return append([]byte{0, 0, 0, af}, pl...)
	}},
}

type pkt struct {
	ci   gopacket.CaptureInfo
	data []byte
}

type capture struct {
	name     string
	path     string
	linkType uint16
	pkts     []pkt
}

// readPcap reads a classic pcap file. The link type comes from the file
// header itself: gopacket's reader reports it as 8 bits, and LINUX_SLL2
// (276) would read as 20.
func readPcap(t testing.TB, r io.Reader) (uint16, []pkt) {
	t.Helper()
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read pcap: %v", err)
	}
	pr, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("open pcap: %v", err)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if raw[0] == 0xa1 || raw[0] == 0x4d { // big-endian magic, µs or ns
		order = binary.BigEndian
	}
	var out []pkt
	for {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read pcap: %v", err)
		}
		out = append(out, pkt{ci, data})
	}
	return uint16(order.Uint32(raw[20:24])), out
}

func corpusFiles(t testing.TB) []string {
	files, err := filepath.Glob("../../testdata/corpus/*/*.pcap")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus captures found under testdata/corpus: %v", err)
	}
	return files
}

// loadCaptures reads the corpus and writes the link-type variants of the
// Ethernet captures into dir.
func loadCaptures(t *testing.T, dir string) []capture {
	var caps []capture
	for _, path := range corpusFiles(t) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		lt, pkts := readPcap(t, f)
		f.Close()
		name := filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
		caps = append(caps, capture{name, path, lt, pkts})
		if lt != linkEthernet || !variantSources[name] {
			continue
		}
		for _, v := range variants {
			var conv []pkt
			for _, p := range pkts {
				if d := v.convert(p.data); d != nil {
					ci := p.ci
					ci.Length += len(d) - len(p.data)
					ci.CaptureLength = len(d)
					conv = append(conv, pkt{ci, d})
				}
			}
			if len(conv) == 0 {
				continue
			}
			vp := filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+"."+v.name+".pcap")
			var buf bytes.Buffer
			w := pcapgo.NewWriterNanos(&buf)
			// gopacket's LinkType is 8 bits; write a placeholder and patch the
			// 32-bit link type field of the file header (offset 20).
			if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint32(buf.Bytes()[20:24], uint32(v.linkType))
			for _, p := range conv {
				if err := w.WritePacket(p.ci, p.data); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(vp, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			caps = append(caps, capture{name + "." + v.name, vp, v.linkType, conv})
		}
	}
	return caps
}

func needTcpdump(t *testing.T) string {
	path, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed (apt-get install tcpdump); skipping equivalence with libpcap")
	}
	return path
}

// runTcpdump returns the packets tcpdump keeps, or its error text.
func runTcpdump(t *testing.T, tcpdump, path, expr string) ([]pkt, string) {
	args := []string{"-r", path, "-w", "-"}
	if expr != "" {
		args = append(args, "--", expr)
	}
	cmd := exec.Command(tcpdump, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "tcpdump: "); i >= 0 {
			msg = msg[i+len("tcpdump: "):]
		}
		return nil, msg
	}
	_, pkts := readPcap(t, &stdout)
	return pkts, ""
}

func TestEquivalenceWithTcpdump(t *testing.T) {
	tcpdump := needTcpdump(t)
	caps := loadCaptures(t, t.TempDir())
	compared, kept := 0, 0
	for _, c := range caps {
		for _, expr := range equivFilters {
			want, tdErr := runTcpdump(t, tcpdump, c.path, expr)
			prog, err := Compile(expr, c.linkType, 65535)
			switch {
			case tdErr == "expression rejects all packets":
				want = nil
			case tdErr != "":
				if err == nil {
					t.Errorf("%s %q: tcpdump fails (%s) but Compile accepts", c.name, expr, tdErr)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %q: Compile: %v (tcpdump accepts)", c.name, expr, err)
				continue
			}
			var got []pkt
			for _, p := range c.pkts {
				if prog.Match(p.data, p.ci.Length) {
					got = append(got, p)
				}
			}
			compared++
			kept += len(got)
			if d := diffPkts(c.pkts, got, want); d != "" {
				t.Errorf("%s %q: %s\nprogram:\n%s", c.name, expr, d, dump(prog.Instructions()))
			}
		}
	}
	t.Logf("compared %d filter/capture pairs over %d captures; %d packets kept", compared, len(caps), kept)
}

// diffPkts explains the first difference between our kept packets and tcpdump's.
func diffPkts(all, got, want []pkt) string {
	same := func(a, b pkt) bool {
		return a.ci.Timestamp.Equal(b.ci.Timestamp) && bytes.Equal(a.data, b.data)
	}
	index := func(p pkt) int {
		for i, q := range all {
			if same(p, q) {
				return i + 1
			}
		}
		return -1
	}
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("kept %d packets, tcpdump %d; tcpdump also keeps packet #%d", len(got), len(want), index(want[i]))
		case i >= len(want):
			return fmt.Sprintf("kept %d packets, tcpdump %d; we also keep packet #%d", len(got), len(want), index(got[i]))
		case !same(got[i], want[i]):
			return fmt.Sprintf("kept %d packets, tcpdump %d; first difference: ours #%d, tcpdump #%d", len(got), len(want), index(got[i]), index(want[i]))
		}
	}
	return ""
}

func dump(raw []bpf.RawInstruction) string {
	var b strings.Builder
	for i, r := range raw {
		fmt.Fprintf(&b, "(%03d) %v\n", i, r.Disassemble())
	}
	return b.String()
}

// tcpdumpProgram returns tcpdump's own compiled program (-ddd) for expr.
func tcpdumpProgram(t *testing.T, tcpdump, path, expr string) ([]bpf.RawInstruction, error) {
	out, err := exec.Command(tcpdump, "-r", path, "-ddd", "--", expr).Output()
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	n, err := strconv.Atoi(lines[0])
	if err != nil || n != len(lines)-1 {
		return nil, fmt.Errorf("bad -ddd output %q", out)
	}
	var prog []bpf.RawInstruction
	for _, l := range lines[1:] {
		var op, jt, jf, k uint64
		if _, err := fmt.Sscanf(l, "%d %d %d %d", &op, &jt, &jf, &k); err != nil {
			return nil, fmt.Errorf("bad -ddd line %q: %w", l, err)
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(op), Jt: uint8(jt), Jf: uint8(jf), K: uint32(k)})
	}
	return prog, nil
}

// TestTcpdumpProgramsAgree runs libpcap's compiled programs (tcpdump -ddd)
// and ours on the same packets: with our interpreter, with x/net/bpf's VM,
// and compares verdicts. This checks the interpreter independently of the
// compiler, and the compiler against libpcap's code rather than its output.
func TestTcpdumpProgramsAgree(t *testing.T) {
	tcpdump := needTcpdump(t)
	caps := loadCaptures(t, t.TempDir())
	for _, c := range caps {
		if c.linkType != linkEthernet {
			continue
		}
		for _, expr := range equivFilters {
			if expr == "" {
				continue
			}
			theirs, err := tcpdumpProgram(t, tcpdump, c.path, expr)
			if err != nil {
				continue // e.g. "expression rejects all packets"
			}
			prog, err := Compile(expr, c.linkType, 65535)
			if err != nil {
				t.Errorf("%q: %v", expr, err)
				continue
			}
			vmTheirs := newXVM(t, theirs)
			vmOurs := newXVM(t, prog.raw)
			dec := decode(theirs)
			for i, p := range c.pkts {
				a := run(dec, p.data, uint32(p.ci.Length)) != 0
				b := prog.Match(p.data, p.ci.Length)
				if a != b {
					t.Errorf("%s %q packet #%d: libpcap program says %v, ours %v", c.name, expr, i+1, a, b)
				}
				if len(p.data) == p.ci.Length && xvmComparable(theirs) && xvmComparable(prog.raw) {
					// x/net/bpf's VM only knows len(pkt); compare when it equals the wire length.
					x, _ := vmTheirs.Run(p.data)
					y, _ := vmOurs.Run(p.data)
					if (x != 0) != a || (y != 0) != b {
						t.Errorf("%s %q packet #%d: x/net/bpf VM disagrees with our interpreter", c.name, expr, i+1)
					}
				}
			}
		}
	}
}

func newXVM(t *testing.T, raw []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	ins := make([]bpf.Instruction, len(raw))
	for i, r := range raw {
		ins[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("bpf.NewVM: %v\n%s", err, dump(raw))
	}
	return vm
}
