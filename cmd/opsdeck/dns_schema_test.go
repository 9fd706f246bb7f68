package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestDNSRecordsValidateAgainstSuricataSchema: the DNS and mDNS records of the
// dnsmasq recording (additionals with EDNS options, SSHFP, SRV and SOA
// answers grouped as objects, the z bit, NXDOMAIN with SOA, HTTPS and CAA
// without data) validate against Suricata's schema in both DNS formats,
// and carry those fields (the check cannot pass on records without them).
func TestDNSRecordsValidateAgainstSuricataSchema(t *testing.T) {
	s := suricataSchema(t)
	file := filepath.Join("..", "..", "internal", "proto", "testdata", "dns-dnsmasq.pcap")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{`"additionals":[{"rrname":"","rrtype":"OPT","ttl":0,"opt":[{"code":10,"data":"`,
			`"sshfp":{"fingerprint":"19:8c:34:a9:2f:c0:b2:ab:1d:a5:2b:68:8c:2f:19:1d:2d:96:0c:09","algo":1,"type":1}`,
			`"grouped":{"SSHFP":[{"fingerprint":`, `"grouped":{"SRV":[{"priority":10,"weight":20,"port":5060,"name":"sip.lab"}]}`,
			`"grouped":{"SOA":[{"mname":"ns.lab"`, `"z":true`, `"rrtype":"HTTPS","ttl":0}`,
			`"additionals":[{"rrname":"mail.lab","rrtype":"A","ttl":0,"rdata":"192.0.2.25"}`}},
		{[]string{"--dns-version", "2"}, []string{`"type":"answer"`, `"z":true`,
			`"additionals":[{"rrname":"sip.lab","rrtype":"A","ttl":0,"rdata":"192.0.2.5"}]`}},
	} {
		var out bytes.Buffer
		if err := cmdAnalyze(append(append([]string{}, c.args...), file), &out); err != nil {
			t.Fatalf("analyze %v: %v", c.args, err)
		}
		n, problems := validateEVE(t, s, out.Bytes())
		for p, k := range problems {
			t.Errorf("%v: %d records: %s", c.args, k, p)
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: no record has %s", c.args, w)
			}
		}
		t.Logf("%v: %d records validated", c.args, n)
	}
	// Unicast mDNS to dnsmasq on port 5353: mdns records, as Suricata 8's.
	var out bytes.Buffer
	if err := cmdAnalyze([]string{filepath.Join("..", "..", "internal", "proto", "testdata", "mdns-dnsmasq.pcap")}, &out); err != nil {
		t.Fatal(err)
	}
	_, problems := validateEVE(t, s, out.Bytes())
	for p, k := range problems {
		t.Errorf("mdns: %d records: %s", k, p)
	}
	// A response goes from the server (port 5353) to the client.
	for _, w := range []string{`"event_type":"mdns"`, `"txt":["path=/","v=1"]`, `"ptr":"web._http._tcp.local"`, `"app_proto":"mdns"`,
		`"event_type":"mdns","src_ip":"127.0.0.1","src_port":5353`} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("mdns: no record has %s", w)
		}
	}
	if strings.Contains(out.String(), `"event_type":"dns"`) {
		t.Error("mdns: a dns record on port 5353")
	}
}
