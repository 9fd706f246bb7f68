package eve

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/proto"
)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("want one line, got %d: %s", len(lines), b)
	}
	var m map[string]any
	if err := json.Unmarshal(lines[0], &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return m
}

func TestAlertRecord(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	a := &detect.Alert{Rule: detect.RuleScanPort, TS: time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC),
		Signature: "scan.port: 192.0.2.1 probed 1000 ports on 198.51.100.5", Src: netip.MustParseAddr("192.0.2.1"),
		Dst: netip.MustParseAddr("198.51.100.5"), Proto: "TCP", Suppressed: 3, Evidence: map[string]any{"ports": 1000}}
	if err := w.Alert(a, nil); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	m := decode(t, buf.Bytes())
	al := m["alert"].(map[string]any)
	md := al["metadata"].(map[string]any)
	checks := map[string]any{
		"timestamp": "2026-01-02T03:04:05.678901+0000", "event_type": "alert", "src_ip": "192.0.2.1", "dest_ip": "198.51.100.5", "proto": "TCP",
	}
	for k, v := range checks {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if al["signature_id"] != float64(9000001) || al["gid"] != float64(GID) || al["severity"] != float64(2) || al["signature"] != a.Signature {
		t.Errorf("alert = %v", al)
	}
	ext := m["opsdeck"].(map[string]any)
	if ext["suppressed"] != float64(3) {
		t.Errorf("opsdeck = %v", ext)
	}
	if md["rule"].([]any)[0] != "scan.port" || md["mitre_technique_id"].([]any)[0] != "T1046" {
		t.Errorf("metadata = %v", md)
	}
	if ext["evidence"].(map[string]any)["ports"] != float64(1000) {
		t.Errorf("evidence = %v", ext["evidence"])
	}
	// Only Suricata's keys outside "opsdeck".
	for _, k := range []string{"evidence", "suppressed", "process", "credential"} {
		if _, ok := m[k]; ok {
			t.Errorf("top-level %q: opsdeck's own keys belong in \"opsdeck\"", k)
		}
	}
}

// TestCredentialMasked: the writer is where secrets are masked: events
// carry them as sent (a credential's password, FTP's PASS argument) and
// ShowSecrets alone decides whether the EVE line shows them.
func TestCredentialMasked(t *testing.T) {
	pass := &proto.FTP{Command: "PASS", CommandData: "hunter2", Reply: []string{"Login incorrect."}, CompletionCode: []string{"530"}}
	for _, ev := range []*proto.Event{
		{Type: "credential", Cred: &proto.Credential{Protocol: "ftp", User: "bob", Password: "hunter2", Outcome: "failure"}},
		{Type: "ftp", FTP: pass},
	} {
		for _, show := range []bool{false, true} {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			w.ShowSecrets = show
			w.Proto(ev, nil)
			w.Flush()
			has := strings.Contains(buf.String(), "hunter2")
			masked := strings.Contains(buf.String(), `"`+proto.Masked+`"`)
			if has != show || masked == show {
				t.Errorf("%s show=%v: password in output = %v, masked = %v: %s", ev.Type, show, has, masked, buf.String())
			}
		}
	}
	if pass.CommandData != "hunter2" {
		t.Errorf("the writer changed the event: %q", pass.CommandData)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", "quote\" back\\slash", "ctl\x00\x1b[31m\x7f", "bad utf8 \xff\xfe", "ünïcødé ☃", "\u202e rtl"} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, b, err)
		}
		want, _ := json.Marshal(s)
		var w string
		json.Unmarshal(want, &w)
		if got != w {
			t.Errorf("%q: round trip %q, want %q", s, got, w)
		}
	}
}

func TestAppendDNSMatchesJSON(t *testing.T) {
	cases := []*proto.DNS{
		{Version: 3, Type: "request", ID: 7, Flags: "0100", RD: true, Queries: []proto.DNSQuery{{RRName: "example.com", RRType: "A"}}},
		{Version: 3, Type: "response", ID: 39372, Flags: "8180", QR: true, RD: true, RA: true, RCode: "NOERROR",
			Queries: []proto.DNSQuery{{RRName: "x.example", RRType: "A"}},
			Answers: []proto.DNSAnswer{{RRName: "x.example", RRType: "A", TTL: 5, RData: "34.197.178.240"}, {RRName: "x.example", RRType: "SRV", TTL: 1, SRV: &proto.DNSSRV{Priority: 1, Weight: 2, Port: 443, Name: "s.example"}},
				{RRName: "x.example", RRType: "NULL", RData: "VACKD\x03\\xc5\x01"}, {RRName: "e.example", RRType: "TXT"}, {RRName: "e.example", RRType: "HTTPS"}, {RRName: "x.example", RRType: "A", TTL: 5, RData: "10.0.0.1"}, {RRName: "y", RRType: "AAAA", RData: "::1"}},
			Authorities: []proto.DNSAnswer{{RRName: "oisf.net", RRType: "SOA", TTL: 899, SOA: &proto.DNSSOA{MName: "ns", RName: "host\"master", Serial: 1, Refresh: 7200, Retry: 900, Expire: 1209600, Minimum: 86400}}}},
		{Version: 3, Type: "response", TC: true, AA: true, Opcode: 5, RCode: "NXDOMAIN", Queries: []proto.DNSQuery{{RRName: "\u202eevil\x1b[2J<>&", RRType: "TXT"}}},
	}
	for i, d := range cases {
		if diff := appendDNSDiff(t, d); diff != "" {
			t.Errorf("case %d:%s", i, diff)
		}
	}
}

func TestFlowProcess(t *testing.T) {
	mk := func(pid int32, name string, state attrib.State) map[string]any {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		f := &flow.Flow{ID: 1, Client: netip.MustParseAddr("127.0.0.1"), Server: netip.MustParseAddr("127.0.0.1"), CPort: 5000, SPort: 22, Proto: 6,
			Owner: &flow.Owner{PID: pid, Process: name, State: uint8(state)}}
		w.Flow(f, flow.EndShutdown)
		w.Flush()
		m := decode(t, buf.Bytes())
		if _, ok := m["process"]; ok {
			t.Errorf("process at top level")
		}
		ext, _ := m["opsdeck"].(map[string]any)
		return ext
	}
	if p := mk(42, "sshd", attrib.Known)["process"].(map[string]any); p["pid"] != float64(42) || p["name"] != "sshd" {
		t.Errorf("known owner: %v", p)
	}
	if p := mk(0, "", attrib.OtherNamespace)["process"].(map[string]any); p["state"] != "other_namespace" {
		t.Errorf("other namespace: %v", p)
	}
	if _, ok := mk(0, "", attrib.Unknown)["process"]; ok {
		t.Errorf("unknown owner written")
	}
}

func TestAppendTimestamp(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(2017, 6, 8, 15, 45, 58, 525601000, time.UTC),
		time.Date(2009, 10, 16, 16, 44, 16, 83524999, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)),
		time.Unix(0, 0),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := string(appendTimestamp(nil, ts)), ts.UTC().Format(TimeFormat); got != want {
			t.Errorf("%v: %s, want %s", ts, got, want)
		}
	}
}

// The writer's day cache must format exactly as appendTimestamp does, in
// any order: across midnight, back in time, before 1970 and out of range.
func TestTimestampCache(t *testing.T) {
	var c tsCache
	base := time.Date(2026, 1, 1, 23, 59, 59, 999999000, time.UTC)
	times := []time.Time{
		base, base.Add(time.Microsecond), base.Add(-48 * time.Hour), base,
		time.Unix(-1, 0), time.Unix(-86400, 0), time.Unix(-86401, 500), time.Unix(0, 0),
		time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), base,
		time.Date(2026, 3, 29, 1, 30, 0, 0, time.FixedZone("x", -7*3600)),
	}
	for i := 0; i < 2000; i++ {
		times = append(times, base.Add(time.Duration(i)*37*time.Minute+time.Duration(i)*time.Microsecond))
	}
	for _, ts := range times {
		if got, want := string(c.append(nil, ts)), string(appendTimestamp(nil, ts)); got != want {
			t.Fatalf("%v: %s, want %s", ts, got, want)
		}
	}
}

func sameJSON(t *testing.T, what string, got []byte, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: invalid JSON %s: %v", what, got, err)
	}
	json.Unmarshal(want, &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

func TestAppendTLSHTTPMatchJSON(t *testing.T) {
	for i, v := range []*proto.TLS{
		{},
		{SNI: "www.example.com", Version: "TLS 1.3", ALPN: []string{"h2", "http/1.1"}, JA3: &proto.JA{Hash: "abc", String: "771,4865"}, JA4: "t13d1517h2_x_y"},
		{SNI: "evil\x1b]8;;x\x07", Subject: "C=US, O=\"Q\"", IssuerDN: "CN=ca", Serial: "08:3A", Fingerprint: "cc:aa", NotBefore: "2017-03-23T00:00:00",
			NotAfter: "2020-05-13T12:00:00", ALPNServer: []string{"h2"}, JA3S: &proto.JA{Hash: "d", String: "771,4865,43"}, Ciphers: []uint16{1, 2}},
	} {
		// Suricata's names for the ALPN lists, not proto.TLS's tags.
		j, _ := json.Marshal(v)
		var want map[string]any
		json.Unmarshal(j, &want)
		for from, to := range map[string]string{"alpn_ts": "client_alpns", "alpn_tc": "server_alpns"} {
			if x, ok := want[from]; ok {
				want[to] = x
				delete(want, from)
			}
		}
		sameJSON(t, "tls case "+strconv.Itoa(i), appendTLS(nil, v), want)
	}
	for i, v := range []*proto.HTTP{
		{},
		{Hostname: "www.google.com", URL: "/blah/", UserAgent: "Wget/1.11.4", Method: "GET", Protocol: "HTTP/1.0", Status: 404, ContentType: "text/html", Length: 1194},
		{Hostname: "h\u202e", Port: 8000, Referer: "x<y>&z", Authorization: "Basic secret"},
	} {
		sameJSON(t, "http case "+strconv.Itoa(i), appendHTTP(nil, v), v)
	}
}

// TestDNSVersion2: --dns-version 2 writes Suricata 7's format: one query
// record per question, one answer record, both in the flow's direction.
func TestDNSVersion2(t *testing.T) {
	f := &flow.Flow{ID: 3, Client: netip.MustParseAddr("10.0.0.2"), Server: netip.MustParseAddr("10.0.0.53"), CPort: 5353, SPort: 53, Proto: 17}
	req := &proto.DNS{Version: 3, Type: "request", ID: 7, TxID: 0, RD: true,
		Queries: []proto.DNSQuery{{RRName: "a.example", RRType: "A"}, {RRName: "b.example", RRType: "AAAA"}}}
	resp := &proto.DNS{Version: 3, Type: "response", ID: 7, Flags: "8180", QR: true, RD: true, RA: true, RCode: "NOERROR",
		Queries: []proto.DNSQuery{{RRName: "a.example", RRType: "A"}},
		Answers: []proto.DNSAnswer{{RRName: "a.example", RRType: "A", TTL: 5, RData: "192.0.2.7"}, {RRName: "a.example", RRType: "OPT", RData: "x"}}}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.DNSVersion = 2
	w.Proto(&proto.Event{Type: "dns", DNS: req, ToServer: true}, f)
	w.Proto(&proto.Event{Type: "dns", DNS: resp}, f)
	w.Flush()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 2 query records and 1 answer, got %d: %s", len(lines), buf.String())
	}
	var recs []map[string]any
	for _, l := range lines {
		recs = append(recs, decode(t, []byte(l)))
	}
	for i, want := range []struct{ typ, rrname, rrtype string }{{"query", "a.example", "A"}, {"query", "b.example", "AAAA"}, {"answer", "a.example", "A"}} {
		d := recs[i]["dns"].(map[string]any)
		if d["version"] != float64(2) || d["type"] != want.typ || d["rrname"] != want.rrname || d["rrtype"] != want.rrtype || d["id"] != float64(7) {
			t.Errorf("record %d: dns = %v, want %+v", i, d, want)
		}
		if recs[i]["src_ip"] != "10.0.0.2" || recs[i]["dest_port"] != float64(53) {
			t.Errorf("record %d: not in the flow's direction: %v", i, recs[i])
		}
	}
	d := recs[2]["dns"].(map[string]any)
	if d["rcode"] != "NOERROR" || d["answers"].([]any)[0].(map[string]any)["rdata"] != "192.0.2.7" {
		t.Errorf("answer = %v", d)
	}
	if g := d["grouped"].(map[string]any); len(g) != 1 || g["A"].([]any)[0] != "192.0.2.7" {
		t.Errorf("grouped = %v, want only A (Suricata groups no OPT)", g)
	}
}

// TestHeadOptions: the sensor name is "host" as a string and in_iface is
// written when set; Object puts the extension in opsdeck.<event_type>.
func TestHeadOptions(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.SensorName, w.InIface = "sensor-1", "eth0"
	w.Object(time.Unix(1, 0), "stats", map[string]any{"uptime": 1}, map[string]any{"faults": 0})
	w.Flush()
	m := decode(t, buf.Bytes())
	if m["host"] != "sensor-1" || m["in_iface"] != "eth0" || m["timestamp"] != "1970-01-01T00:00:01.000000+0000" {
		t.Errorf("head = %v", m)
	}
	if m["stats"].(map[string]any)["uptime"] != float64(1) || m["opsdeck"].(map[string]any)["stats"].(map[string]any)["faults"] != float64(0) {
		t.Errorf("body = %v", m)
	}
}

// appendDNSDiff compares appendDNS(d) with encoding/json's encoding of d
// (plus dns.grouped, which the writer derives from the answers), as
// JSON values; it returns "" or the two encodings.
func appendDNSDiff(t testing.TB, d *proto.DNS) string {
	t.Helper()
	got := appendDNS(nil, d)
	want, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	var w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	json.Unmarshal(want, &w)
	// grouped is not a field: the writer derives it from the answers.
	if gr := d.Grouped(); gr != nil {
		// Through JSON, so its objects compare as maps.
		j, _ := json.Marshal(gr)
		var v any
		json.Unmarshal(j, &v)
		w["grouped"] = v
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		return "\n got " + string(gb) + "\nwant " + string(wb)
	}
	return ""
}

// shortWriter writes half of what it is given once, with an error, then
// everything.
type shortWriter struct {
	out    []byte
	failed bool
}

func (s *shortWriter) Write(b []byte) (int, error) {
	if !s.failed {
		s.failed = true
		s.out = append(s.out, b[:len(b)/2]...)
		return len(b) / 2, errors.New("no space left on device")
	}
	s.out = append(s.out, b...)
	return len(b), nil
}

// TestWriterStopsAfterError: after a short write fails, the writer keeps
// its first error and writes nothing more, so no record is joined to the
// partial line the failure left.
func TestWriterStopsAfterError(t *testing.T) {
	sw := &shortWriter{}
	w := NewWriter(sw)
	w.FlushEach = true
	f := &flow.Flow{ID: 1, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), CPort: 5000, SPort: 22, Proto: 6}
	if err := w.Flow(f, flow.EndTimeout); err == nil {
		t.Fatal("the failed write was not reported")
	}
	n := len(sw.out)
	if err := w.Flow(f, flow.EndTimeout); err == nil || w.Err() == nil {
		t.Fatal("the first error was not kept")
	}
	if len(sw.out) != n {
		t.Fatalf("%d more bytes written after the error", len(sw.out)-n)
	}
}
