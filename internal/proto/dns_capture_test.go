package proto

import (
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// dnsmasqCapture is dig against two dnsmasq servers in a namespace, one
// answering from its own records, one authoritative for "lab", recorded by
// scripts/mkdnscap.sh (dnsmasq 2.90, dig 9.18).
const dnsmasqCapture = "testdata/dns-dnsmasq.pcap"

// dnsFrame is one DNS message of a capture and what opsdeck made of it.
type dnsFrame struct {
	frame uint64
	raw   []byte
	d     *DNS
}

// dnsFramesOf parses every DNS message of a capture (over TCP, a segment
// carrying one whole length-prefixed message, as dig and dnsmasq send).
func dnsFramesOf(t testing.TB, file string) []dnsFrame {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := filepath.Abs(corpusDir)
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		t.Fatal(err)
	}
	var out []dnsFrame
	for _, s := range readPcap(t, rel) {
		p := s.Payload
		if len(p) == 0 || (s.SrcPort != 53 && s.DstPort != 53) {
			continue
		}
		if s.Proto == packet.ProtoTCP {
			if len(p) < 2 || int(binary.BigEndian.Uint16(p)) != len(p)-2 {
				continue
			}
			p = p[2:]
		}
		d, err := ParseDNS(p)
		if err != nil {
			t.Fatalf("frame %d: %v", s.Index, err)
		}
		out = append(out, dnsFrame{s.Index, p, d})
	}
	return out
}

// checkDNSLab checks what opsdeck logs for each exchange of a
// scripts/mkdnscap.sh recording against what dnsmasq was told to serve and
// what Suricata 8 logs for such records.
func checkDNSLab(t *testing.T, frames []dnsFrame) {
	t.Helper()
	find := func(name, typ string, resp bool) *DNS {
		t.Helper()
		for _, f := range frames {
			if len(f.d.Queries) > 0 && f.d.Queries[0].RRName == name && f.d.Queries[0].RRType == typ && f.d.QR == resp {
				return f.d
			}
		}
		t.Fatalf("no %s %s (response %v) in the capture", name, typ, resp)
		return nil
	}
	rr := func(a []DNSAnswer) (s []string) {
		for _, x := range a {
			s = append(s, x.RRName+" "+x.RRType+" "+x.RData)
		}
		return s
	}
	eq := func(what string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", what, got, want)
		}
	}

	// dig's requests carry an EDNS client cookie (option 10, 8 bytes).
	q := find("a.lab", "A", false)
	if q.Type != "request" || q.RCode != "NOERROR" || q.Flags != "120" || len(q.Additionals) != 1 {
		t.Fatalf("a.lab request: %+v", q)
	}
	if a := q.Additionals[0]; a.RRName != "" || a.RRType != "OPT" || len(a.Opt) != 1 || a.Opt[0].Code != 10 || len(a.Opt[0].Data) != 16 {
		t.Errorf("a.lab request additionals: %+v", q.Additionals)
	}
	// dnsmasq's OPT carries no option: Suricata logs no additionals then.
	eq("a.lab answers", rr(find("a.lab", "A", true).Answers), "a.lab A 192.0.2.1")
	if d := find("a.lab", "A", true); d.Additionals != nil {
		t.Errorf("a.lab response additionals %+v, want none (empty OPT)", d.Additionals)
	}
	eq("www.lab answers", rr(find("www.lab", "A", true).Answers), "www.lab CNAME a.lab", "a.lab A 192.0.2.1")
	eq("AAAA answers", rr(find("a.lab", "AAAA", true).Answers), "a.lab AAAA 2001:0db8:0000:0000:0000:0000:0000:0001")
	if q := find("a.lab", "AAAA", false); q.Additionals != nil {
		t.Errorf("+noedns request additionals %+v", q.Additionals)
	}
	mx := find("lab", "MX", true)
	eq("MX answers", rr(mx.Answers), "lab MX mail.lab")
	eq("MX additionals", rr(mx.Additionals), "mail.lab A 192.0.2.25", "mail.lab AAAA 2001:0db8:0000:0000:0000:0000:0000:0025")
	srv := find("_sip._udp.lab", "SRV", true)
	if len(srv.Answers) != 1 || srv.Answers[0].SRV == nil || *srv.Answers[0].SRV != (DNSSRV{Priority: 10, Weight: 20, Port: 5060, Name: "sip.lab"}) {
		t.Errorf("SRV answers %+v", srv.Answers)
	}
	eq("SRV additionals", rr(srv.Additionals), "sip.lab A 192.0.2.5")
	if g := srv.Grouped()["SRV"]; len(g) != 1 || *g[0].(*DNSSRV) != *srv.Answers[0].SRV {
		t.Errorf("SRV grouped %v", g)
	}
	eq("TXT answers", rr(find("txt.lab", "TXT", true).Answers), "txt.lab TXT v=one", "txt.lab TXT two")
	ssh := find("ssh.lab", "SSHFP", true)
	want := DNSSSHFP{Fingerprint: "19:8c:34:a9:2f:c0:b2:ab:1d:a5:2b:68:8c:2f:19:1d:2d:96:0c:09", Algo: 1, Type: 1}
	if len(ssh.Answers) != 1 || ssh.Answers[0].SSHFP == nil || *ssh.Answers[0].SSHFP != want || ssh.Answers[0].RData != "" {
		t.Errorf("SSHFP answers %+v, want %+v", ssh.Answers, want)
	}
	if g := ssh.Grouped()["SSHFP"]; len(g) != 1 || *g[0].(*DNSSSHFP) != want {
		t.Errorf("SSHFP grouped %v", g)
	}
	// Suricata prints no data for HTTPS and does not name CAA.
	eq("HTTPS answers", rr(find("web.lab", "HTTPS", true).Answers), "web.lab HTTPS ")
	eq("CAA answers", rr(find("caa.lab", "257", true).Answers), "caa.lab 257 ")
	if g := find("web.lab", "HTTPS", true).Grouped(); g != nil {
		t.Errorf("HTTPS grouped %v, want none", g)
	}
	nx := find("missing.lab", "A", true)
	soa := DNSSOA{MName: "ns.lab", RName: "hostmaster.lab", Serial: 2026120301, Refresh: 1200, Retry: 120, Expire: 604800, Minimum: 600}
	if nx.RCode != "NXDOMAIN" || !nx.AA || len(nx.Authorities) != 1 || nx.Authorities[0].SOA == nil || *nx.Authorities[0].SOA != soa {
		t.Errorf("NXDOMAIN: %+v", nx)
	}
	// dig +zflag: the z bit in the request, echoed by dnsmasq.
	zq, zr := find("lab", "SOA", false), find("lab", "SOA", true)
	if !zq.Z || zq.Flags != "60" || !zr.Z {
		t.Errorf("z bit: request %+v, response z %v", zq, zr.Z)
	}
	if len(zr.Answers) != 1 || zr.Answers[0].SOA == nil || *zr.Answers[0].SOA != soa {
		t.Errorf("SOA answers %+v", zr.Answers)
	}
	if g := zr.Grouped()["SOA"]; len(g) != 1 || *g[0].(*DNSSOA) != soa {
		t.Errorf("SOA grouped %v", g)
	}
	eq("NS answers", rr(find("lab", "NS", true).Answers), "lab NS ns.lab")
	ptr := find("1.2.0.192.in-addr.arpa", "PTR", true)
	eq("PTR answers", rr(ptr.Answers), "1.2.0.192.in-addr.arpa PTR a.lab")
	eq("PTR authorities", rr(ptr.Authorities), "2.0.192.in-addr.arpa NS ns.lab")
}

// TestDNSCaptureDnsmasq: the committed recording gives Suricata 8's
// record for each kind of answer dnsmasq gave.
func TestDNSCaptureDnsmasq(t *testing.T) {
	frames := dnsFramesOf(t, dnsmasqCapture)
	if len(frames) != 28 {
		t.Fatalf("%d DNS messages, want 28 (14 exchanges)", len(frames))
	}
	checkDNSLab(t, frames)
}

// TestDNSCaptureLive records a fresh exchange with scripts/mkdnscap.sh
// (root, dnsmasq, dig, tcpdump) and checks it the same way: the committed
// capture is not the only one that passes.
func TestDNSCaptureLive(t *testing.T) {
	checkDNSLab(t, dnsFramesOf(t, recordDnsmasq(t, "mkdnscap.sh")))
}

// recordDnsmasq runs scripts/<script> (dig against dnsmasq in a network
// namespace, recorded with tcpdump) and returns the capture it wrote; it
// skips without root or the tools.
func recordDnsmasq(t *testing.T, script string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	for _, tool := range []string{"dnsmasq", "dig", "tcpdump", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/run installs it)", tool)
		}
	}
	out := filepath.Join(t.TempDir(), "dns.pcap")
	if b, err := exec.Command("../../scripts/"+script, out).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, b)
	}
	return out
}

// TestDNSCaptureTshark compares each message of the recording with
// tshark's dissection of the same file: id, z bit, the types of the records
// in all sections, EDNS options, SSHFP fingerprints, SOA serials, SRV
// ports and addresses.
func TestDNSCaptureTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	fields := []string{"frame.number", "dns.id", "dns.flags.z", "dns.resp.type", "dns.opt.code", "dns.opt.data",
		"dns.sshfp.fingerprint", "dns.soa.serial_number", "dns.srv.port", "dns.a", "dns.aaaa"}
	args := []string{"-r", dnsmasqCapture, "-Y", "dns", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	b, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	byFrame := map[uint64][]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		c := strings.Split(l, "\t")
		for len(c) < len(fields) {
			c = append(c, "")
		}
		n, _ := strconv.ParseUint(c[0], 10, 64)
		byFrame[n] = c
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, "|")
	}
	frames := dnsFramesOf(t, dnsmasqCapture)
	if len(frames) != len(byFrame) {
		t.Fatalf("%d messages, tshark dissects %d", len(frames), len(byFrame))
	}
	for _, f := range frames {
		c, ok := byFrame[f.frame]
		if !ok {
			t.Fatalf("frame %d: not DNS for tshark", f.frame)
		}
		d := f.d
		if id, _ := strconv.ParseUint(strings.TrimPrefix(c[1], "0x"), 16, 16); uint16(id) != d.ID {
			t.Errorf("frame %d: id %d, tshark %s", f.frame, d.ID, c[1])
		}
		if (c[2] == "1" || c[2] == "True") != d.Z {
			t.Errorf("frame %d: z %v, tshark %s", f.frame, d.Z, c[2])
		}
		// Record types in all sections; an OPT record is logged only with
		// options, a TXT record once per string.
		var theirs, ours []string
		for _, ty := range split(c[3]) {
			n, _ := strconv.Atoi(ty)
			if n != 41 && n != 16 {
				theirs = append(theirs, DNSTypeName(uint16(n)))
			}
		}
		var codes, datas, fps, serials, ports, addrs []string
		for _, sec := range [][]DNSAnswer{d.Answers, d.Authorities, d.Additionals} {
			for _, a := range sec {
				if a.RRType != "OPT" && a.RRType != "TXT" {
					ours = append(ours, a.RRType)
				}
				for _, o := range a.Opt {
					codes, datas = append(codes, strconv.Itoa(int(o.Code))), append(datas, o.Data)
				}
				if a.SSHFP != nil {
					fps = append(fps, strings.ReplaceAll(a.SSHFP.Fingerprint, ":", ""))
				}
				if a.SOA != nil {
					serials = append(serials, strconv.FormatUint(uint64(a.SOA.Serial), 10))
				}
				if a.SRV != nil {
					ports = append(ports, strconv.Itoa(int(a.SRV.Port)))
				}
				if a.RRType == "A" || a.RRType == "AAAA" {
					addrs = append(addrs, netip.MustParseAddr(a.RData).String())
				}
			}
		}
		theirAddrs := append(split(c[9]), split(c[10])...)
		slices.Sort(addrs)
		slices.Sort(theirAddrs)
		for _, cmp := range []struct {
			what        string
			ours, their []string
		}{{"record types", ours, theirs}, {"EDNS option codes", codes, split(c[4])}, {"EDNS option data", datas, split(c[5])},
			{"SSHFP fingerprints", fps, split(c[6])}, {"SOA serials", serials, split(c[7])}, {"SRV ports", ports, split(c[8])},
			{"addresses", addrs, theirAddrs}} {
			if !slices.Equal(cmp.ours, cmp.their) {
				t.Errorf("frame %d: %s %q, tshark %q", f.frame, cmp.what, cmp.ours, cmp.their)
			}
		}
	}
}

// BenchmarkDNSEDNSExchange is dig's lookups of the recording as the
// engine sees them, each exchange its own flow through a State from a
// Pool: a request with an EDNS cookie and a response with one address and
// an empty OPT record (A), one with two additional addresses (MX), one
// with an SSHFP answer.
func BenchmarkDNSEDNSExchange(b *testing.B) {
	frames := dnsFramesOf(b, dnsmasqCapture)
	for _, c := range []struct{ bench, name string }{{"A", "a.lab"}, {"MX", "lab"}, {"SSHFP", "ssh.lab"}} {
		var pkts []packet.Summary
		for _, f := range frames {
			if len(f.d.Queries) > 0 && f.d.Queries[0].RRName == c.name && f.frame < 29 && len(pkts) < 2 {
				pkts = append(pkts, udpSummary(!f.d.QR, f.raw, uint64(len(pkts)+1)))
			}
		}
		if len(pkts) != 2 {
			b.Fatalf("%s: %d messages, want 2", c.name, len(pkts))
		}
		b.Run(c.bench, func(b *testing.B) {
			benchFlows(b, pkts, 53, 2, func(e *Event) bool { return e.DNS != nil })
		})
	}
}
