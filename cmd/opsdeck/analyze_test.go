package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusFiles lists every capture under testdata/corpus.
func corpusFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*/*.pcap", "*/*.pcapng"} {
		m, err := filepath.Glob(filepath.Join("..", "..", "testdata", "corpus", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 29 {
		t.Fatalf("found %d corpus captures, want 29", len(files))
	}
	return files
}

type record map[string]any

func (r record) str(path string) string {
	v := r.get(path)
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (r record) get(path string) any {
	var cur any = map[string]any(r)
	for _, p := range strings.Split(path, ".") {
		idx := -1
		if i := strings.IndexByte(p, '['); i > 0 && strings.HasSuffix(p, "]") {
			idx, _ = strconv.Atoi(p[i+1 : len(p)-1])
			p = p[:i]
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
		if idx >= 0 {
			l, ok := cur.([]any)
			if !ok || idx >= len(l) {
				return nil
			}
			cur = l[idx]
		}
	}
	return cur
}

// analyze runs "opsdeck analyze" in-process and returns its records.
func analyze(t *testing.T, args ...string) ([]record, error) {
	t.Helper()
	var out bytes.Buffer
	err := cmdAnalyze(args, &out)
	var recs []record
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r record
		if jerr := json.Unmarshal(sc.Bytes(), &r); jerr != nil {
			t.Fatalf("output line is not JSON: %v: %s", jerr, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs, err
}

func ofType(recs []record, typ string) []record {
	var out []record
	for _, r := range recs {
		if r["event_type"] == typ {
			out = append(out, r)
		}
	}
	return out
}

// TestAnalyzeCorpusExitsZero: every corpus capture analyzes cleanly and ends
// with one stats record.
func TestAnalyzeCorpusExitsZero(t *testing.T) {
	for _, f := range corpusFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			recs, err := analyze(t, f)
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			if len(recs) == 0 || recs[len(recs)-1]["event_type"] != "stats" {
				t.Fatalf("last record is not stats")
			}
		})
	}
}

type conv struct {
	a, b     string // addr:port
	pAB, pBA int
	proto    string
}

// tsharkConvs runs tshark's conversation statistics on a file.
func tsharkConvs(t *testing.T, file string) []conv {
	out, err := exec.Command("tshark", "-n", "-r", file, "-q", "-z", "conv,tcp", "-z", "conv,udp").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var convs []conv
	proto := ""
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "TCP Conversations"):
			proto = "TCP"
		case strings.HasPrefix(line, "UDP Conversations"):
			proto = "UDP"
		}
		f := strings.Fields(line)
		if len(f) < 8 || f[1] != "<->" {
			continue
		}
		ba, _ := strconv.Atoi(f[3])
		ab, _ := strconv.Atoi(f[6])
		convs = append(convs, conv{a: f[0], b: f[2], pAB: ab, pBA: ba, proto: proto})
	}
	return convs
}

// endpoint is a record's address and port, the address in Go's short
// form (EVE writes IPv6 in full as Suricata does; tshark writes it short).
func endpoint(r record, side string) string {
	ip := r.str(side + "_ip")
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = a.String()
	}
	port := r.str(side + "_port")
	return ip + ":" + port
}

// TestFlowsAgreeWithTshark: the same TCP and UDP flows as tshark's
// conversation statistics, with the same per-direction packet counts.
func TestFlowsAgreeWithTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	for _, f := range corpusFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			recs, err := analyze(t, "--no-detect", f)
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			ours := map[string][2]int{}
			for _, r := range ofType(recs, "flow") {
				p := r.str("proto")
				if p != "TCP" && p != "UDP" {
					continue
				}
				a, b := endpoint(r, "src"), endpoint(r, "dest")
				ts, _ := strconv.Atoi(r.str("flow.pkts_toserver"))
				tc, _ := strconv.Atoi(r.str("flow.pkts_toclient"))
				k := p + " " + a + " " + b
				c := ours[k]
				ours[k] = [2]int{c[0] + ts, c[1] + tc}
			}
			theirs := tsharkConvs(t, f)
			matched := 0
			for _, c := range theirs {
				k1, k2 := c.proto+" "+c.a+" "+c.b, c.proto+" "+c.b+" "+c.a
				if got, ok := ours[k1]; ok {
					if got != [2]int{c.pAB, c.pBA} {
						t.Errorf("%s: packets %v, tshark %d/%d", k1, got, c.pAB, c.pBA)
					}
					delete(ours, k1)
				} else if got, ok := ours[k2]; ok {
					if got != [2]int{c.pBA, c.pAB} {
						t.Errorf("%s: packets %v, tshark %d/%d", k2, got, c.pBA, c.pAB)
					}
					delete(ours, k2)
				} else {
					t.Errorf("tshark conversation %s %s <-> %s (%d/%d pkts) missing", c.proto, c.a, c.b, c.pAB, c.pBA)
					continue
				}
				matched++
			}
			for k, v := range ours {
				t.Errorf("flow %s (%v pkts) not in tshark's conversations", k, v)
			}
			t.Logf("%d conversations agree", matched)
		})
	}
}

// TestFlowRecordsMatchSuricata checks the flow records suricata-verify's
// expected outputs give (packets, bytes, state, flags).
func TestFlowRecordsMatchSuricata(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "corpus", "suricata-verify")
	cases := []struct {
		file  string
		sport string
		want  map[string]string
	}{
		{"dns-udp-eve-txt.pcap", "52345", map[string]string{"proto": "UDP", "dest_port": "53", "app_proto": "dns", "flow.pkts_toserver": "1", "flow.pkts_toclient": "1",
			"flow.bytes_toserver": "81", "flow.bytes_toclient": "129", "flow.state": "established", "flow.age": "0", "flow.start": "2017-06-08T15:45:57.828730+0000", "flow.end": "2017-06-08T15:45:57.833020+0000"}},
		{"dns-udp-eve-txt.pcap", "60922", map[string]string{"flow.pkts_toserver": "1", "flow.pkts_toclient": "1", "flow.bytes_toserver": "100", "flow.bytes_toclient": "116", "flow.state": "established"}},
		{"tls12-sni-flow-bug-2646-01.pcap", "49584", map[string]string{"app_proto": "tls", "flow.pkts_toserver": "10", "flow.pkts_toclient": "19", "flow.bytes_toserver": "1584", "flow.bytes_toclient": "6151",
			"flow.state": "closed", "flow.age": "57", "tcp.tcp_flags": "1b", "tcp.tcp_flags_ts": "1b", "tcp.tcp_flags_tc": "1b", "tcp.state": "last_ack", "tcp.syn": "true", "tcp.fin": "true", "tcp.psh": "true", "tcp.ack": "true"}},
		{"http-host-flow-bug-78.pcap", "37010", map[string]string{"app_proto": "http", "flow.pkts_toserver": "8", "flow.pkts_toclient": "5", "flow.bytes_toserver": "607", "flow.bytes_toclient": "5453",
			"flow.state": "closed", "tcp.tcp_flags": "1e", "tcp.tcp_flags_ts": "1e", "tcp.tcp_flags_tc": "1a", "tcp.state": "closed", "tcp.rst": "true", "flow.start": "2009-10-16T16:44:16.083524+0000", "flow.end": "2009-10-16T16:44:16.185868+0000"}},
		{"http-ipv6-vlan-nikto-bug-814.pcap", "58307", map[string]string{"flow.pkts_toserver": "4", "flow.pkts_toclient": "3", "flow.bytes_toserver": "461", "flow.bytes_toclient": "234", "vlan": "[1111]"}},
		{"tls13-sni-community-id-ipv4.pcap", "35958", map[string]string{"app_proto": "tls", "community_id": "1:0rRFlkfZsYZ0l7PqLoMEAxHMqrI="}},
	}
	for _, c := range cases {
		t.Run(c.file+":"+c.sport, func(t *testing.T) {
			recs, err := analyze(t, filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			var got record
			for _, r := range ofType(recs, "flow") {
				if r.str("src_port") == c.sport {
					got = r
				}
			}
			if got == nil {
				t.Fatalf("no flow record with src_port %s", c.sport)
			}
			for k, v := range c.want {
				if g := got.str(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
	// With Suricata's test seed the Community ID is the expected one.
	recs, err := analyze(t, "--community-id-seed", "7", filepath.Join(dir, "tls13-sni-community-id-ipv4.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ofType(recs, "flow") {
		if got := r.str("community_id"); got != "1:IwiTNfuO7aCaamMijl+7/X9uLx0=" {
			t.Errorf("community_id with seed 7 = %s", got)
		}
	}
}

// TestAnalyzeErrors: clear one-line errors and non-zero exits for bad input;
// a truncated capture still yields everything before the cut.
func TestAnalyzeErrors(t *testing.T) {
	dir := t.TempDir()
	notCap := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCap, []byte("hello, this is not a capture\n"), 0o644)
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", "suricata-verify", "dns-udp-eve-txt.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.pcap")
	os.WriteFile(trunc, src[:len(src)-20], 0o644)

	if _, err := analyze(t, notCap); err == nil {
		t.Errorf("a text file: no error")
	}
	if _, err := analyze(t, filepath.Join(dir, "missing.pcap")); err == nil {
		t.Errorf("a missing file: no error")
	}
	recs, err := analyze(t, trunc)
	if err == nil {
		t.Errorf("a truncated file: no error")
	}
	if n := len(ofType(recs, "dns")); n != 3 {
		t.Errorf("truncated file: %d dns records before the cut, want 3", n)
	}
	st := ofType(recs, "stats")
	if len(st) != 1 || st[0].str("stats.decoder.pkts") != "3" {
		t.Errorf("stats after truncation: %v", st)
	}
	if _, err := analyze(t, filepath.Join("..", "..", "testdata", "corpus", "suricata-verify", "dns-udp-eve-txt.pcap"), "port", "(("); err == nil {
		t.Errorf("a bad filter: no error")
	}
	_ = fmt.Sprint
}

// TestAllowListMutes: an allow-list entry in the configuration file mutes a
// rule for one source; the stats record counts what it muted.
func TestAllowListMutes(t *testing.T) {
	scan := filepath.Join("..", "..", "testdata", "corpus", "ndpi", "synscan-nmap-1000-ports.pcap")
	count := func(recs []record, rule string) int {
		n := 0
		for _, r := range ofType(recs, "alert") {
			if r.str("alert.metadata.rule") == `["`+rule+`"]` {
				n++
			}
		}
		return n
	}
	recs, err := analyze(t, scan)
	if err != nil {
		t.Fatal(err)
	}
	if count(recs, "scan.port") == 0 {
		t.Fatalf("no scan.port alert without an allow list")
	}
	cfg := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(cfg, []byte("[[allow]]\nrule = \"scan.*\"\nsrc = [\"172.16.0.8/32\"]\n"), 0o600)
	recs, err = analyze(t, "--config", cfg, scan)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(recs, "scan.port"); n != 0 {
		t.Errorf("%d scan.port alerts despite the allow list", n)
	}
	st := ofType(recs, "stats")
	if len(st) != 1 || st[0].str("stats.detect.alerts_suppressed") == "0" {
		t.Errorf("stats do not count the muted alerts: %v", st)
	}
}

// TestAnalyzeFilterMatchesTcpdump: with a trailing capture filter, analyze
// keeps exactly the packets tcpdump keeps, and the stats record counts both
// the packets read and those that passed (stats.decoder.pkts).
func TestAnalyzeFilterMatchesTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed (apt-get install tcpdump); .ci/run installs it")
	}
	cases := []struct{ file, filter string }{
		{"suricata-verify/dns-udp-eve-txt.pcap", "udp dst port 53"},
		{"ndpi/synscan-nmap-1000-ports.pcap", "tcp[tcpflags] & tcp-rst != 0"},
		{"ndpi/synscan-nmap-1000-ports.pcap", "dst host 64.13.134.52 and portrange 1-1024"},
		{"suricata-verify/http-ipv6-vlan-nikto-bug-814.pcap", "vlan 1111 and ip6 and tcp port 80"},
		{"zeek/http-basic-auth-with-colon.pcap", "src port 8000"},
		{"ndpi/port4444-pe-download.pcapng", "tcp port 4444 or arp"},
		{"suricata-verify/arp-request-reply.pcap", "arp and not icmp"},
		{"ndpi/ftp-failed-login-ipv6.pcap", "ip6 and (port 21 or port 20)"},
	}
	for _, c := range cases {
		t.Run(c.file+" "+c.filter, func(t *testing.T) {
			f := corpus(c.file)
			out, err := exec.Command("sh", "-c", "tcpdump -r \"$0\" -nn -q \"$1\" 2>/dev/null | wc -l", f, c.filter).Output()
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSpace(string(out))
			total, _ := exec.Command("sh", "-c", "tcpdump -r \"$0\" -nn -q 2>/dev/null | wc -l", f).Output()
			recs, err := analyze(t, append([]string{f}, strings.Fields(c.filter)...)...)
			if err != nil {
				t.Fatal(err)
			}
			st := ofType(recs, "stats")[0]
			if got := st.str("stats.decoder.pkts"); got != want {
				t.Errorf("passed %s packets, tcpdump kept %s", got, want)
			}
			if got := st.str("opsdeck.stats.capture.packets_read"); got != strings.TrimSpace(string(total)) {
				t.Errorf("read %s packets, the file has %s", got, strings.TrimSpace(string(total)))
			}
		})
	}
	if _, err := analyze(t, corpus("suricata-verify/dns-udp-eve-txt.pcap"), "port", "99999"); err == nil || !strings.Contains(err.Error(), "position") {
		t.Errorf("a bad filter: %v, want an error pointing at the position", err)
	}
}
