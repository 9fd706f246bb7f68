package proto

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// mdnsCapture is dig asking dnsmasq on port 5353 (unicast mDNS) for a
// DNS-SD service's records, recorded by scripts/mkmdnscap.sh.
const mdnsCapture = "testdata/mdns-dnsmasq.pcap"

// mdnsEventsOf runs a capture through flows and States as the engine does
// and returns its mdns records, failing on any dns event (Suricata 8 logs
// port 5353 as mdns, never dns).
func mdnsEventsOf(t *testing.T, file string) (recs []*MDNS, frames []uint64) {
	t.Helper()
	abs, _ := filepath.Abs(file)
	base, _ := filepath.Abs(corpusDir)
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range runSummaries(readPcap(t, rel), &Config{}) {
		switch {
		case g.DNS != nil:
			t.Fatalf("a dns event on port 5353: %+v", g.DNS)
		case g.Type == "mdns":
			recs, frames = append(recs, g.Body.(*MDNS)), append(frames, g.PcapCnt)
		}
	}
	return recs, frames
}

// checkMDNSLab checks the records of a scripts/mkmdnscap.sh recording.
func checkMDNSLab(t *testing.T, recs []*MDNS) {
	t.Helper()
	if len(recs) != 8 {
		t.Fatalf("%d mdns records, want 8 (4 exchanges)", len(recs))
	}
	find := func(name, typ, kind string) *MDNS {
		t.Helper()
		for _, m := range recs {
			if len(m.Queries) > 0 && m.Queries[0].RRName == name && m.Queries[0].RRType == typ && m.Type == kind {
				return m
			}
		}
		t.Fatalf("no %s %s %s", kind, name, typ)
		return nil
	}
	q := find("_http._tcp.local", "ptr", "request")
	if !slices.Equal(q.Flags, []string{"rd", "ad"}) || q.RCode != 0 || q.Opcode != 0 {
		t.Errorf("request header: %+v", q)
	}
	r := find("_http._tcp.local", "ptr", "response")
	if !slices.Equal(r.Flags, []string{"aa", "rd", "ra"}) || len(r.Answers) != 1 ||
		r.Answers[0].RRName != "_http._tcp.local" || r.Answers[0].PTR != "web._http._tcp.local" {
		t.Errorf("PTR response: %+v", r)
	}
	// One TXT record of two strings: one answer with both, as Suricata's
	// mdns logger writes it (dns makes one answer per string).
	txt := find("web._http._tcp.local", "txt", "response")
	if len(txt.Answers) != 1 || !slices.Equal(txt.Answers[0].TXT, []string{"path=/", "v=1"}) {
		t.Errorf("TXT response: %+v", txt.Answers)
	}
	srv := find("web._http._tcp.local", "srv", "response")
	if len(srv.Answers) != 1 || srv.Answers[0].RRName != "web._http._tcp.local" || len(srv.Additionals) != 1 ||
		srv.Additionals[0].RRName != "web.local" {
		t.Errorf("SRV response: %+v", srv)
	}
	if a := find("web.local", "a", "response"); len(a.Answers) != 1 || a.Answers[0].RRName != "web.local" {
		t.Errorf("A response: %+v", a)
	}
}

// TestMDNSCapture: unicast mDNS to dnsmasq on port 5353 is logged as mdns
// records in Suricata 8's shape, the flows' app_proto "mdns".
func TestMDNSCapture(t *testing.T) {
	recs, _ := mdnsEventsOf(t, mdnsCapture)
	checkMDNSLab(t, recs)
}

// TestMDNSCaptureLive records a fresh exchange with scripts/mkmdnscap.sh
// (root, dnsmasq, dig, tcpdump) and checks it the same way.
func TestMDNSCaptureLive(t *testing.T) {
	recs, _ := mdnsEventsOf(t, recordDnsmasq(t, "mkmdnscap.sh"))
	checkMDNSLab(t, recs)
}

// TestMDNSCaptureTshark compares each record with tshark's mDNS
// dissection of the same file: id, response bit, TXT strings, PTR targets
// and the number of answers.
func TestMDNSCaptureTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	b, err := exec.Command("tshark", "-r", mdnsCapture, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
		"-e", "frame.number", "-e", "dns.id", "-e", "dns.flags.response", "-e", "dns.txt", "-e", "dns.ptr.domain_name",
		"-e", "dns.count.answers").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	theirs := map[uint64][]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		c := strings.Split(l, "\t")
		for len(c) < 6 {
			c = append(c, "")
		}
		n, _ := strconv.ParseUint(c[0], 10, 64)
		theirs[n] = c
	}
	recs, frames := mdnsEventsOf(t, mdnsCapture)
	if len(recs) != len(theirs) {
		t.Fatalf("%d records, tshark dissects %d messages", len(recs), len(theirs))
	}
	for i, m := range recs {
		c := theirs[frames[i]]
		var txt, ptr []string
		for _, a := range m.Answers {
			txt = append(txt, a.TXT...)
			if a.PTR != "" {
				ptr = append(ptr, a.PTR)
			}
		}
		id, _ := strconv.ParseUint(strings.TrimPrefix(c[1], "0x"), 16, 16)
		resp := c[2] == "1" || c[2] == "True"
		if uint16(id) != m.ID || resp != (m.Type == "response") || strings.Join(txt, "|") != c[3] ||
			strings.Join(ptr, "|") != c[4] || strconv.Itoa(len(m.Answers)) != c[5] {
			t.Errorf("frame %d: %+v, tshark %q", frames[i], m, c)
		}
	}
}

// FuzzParseMDNS: any datagram gives no record or one that encodes, with
// bounded sections and TXT strings only where the entries were.
func FuzzParseMDNS(f *testing.F) {
	for _, p := range corpusPayloads(f, "../../internal/proto/testdata/mdns-dnsmasq.pcap", 0, true) {
		f.Add(p)
	}
	f.Add(rawDNS(0, 0x8400, 0, 2, 0, 0, []byte{1, 'a', 0, 0, 16, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'x', 1, 'y'},
		[]byte{0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'z'}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := parseMDNS(b)
		if m == nil {
			return
		}
		if len(m.Answers) > maxDNSRecords || len(m.Authorities) > maxDNSRecords || len(m.Additionals) > maxDNSRecords {
			t.Fatalf("sections over the bound: %+v", m)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	})
}
