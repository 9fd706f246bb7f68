package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func corpus(rel string) string {
	return filepath.Join("..", "..", "testdata", "corpus", filepath.FromSlash(rel))
}

// find returns the records of a type whose fields equal want.
func find(recs []record, typ string, want map[string]string) []record {
	var out []record
	for _, r := range ofType(recs, typ) {
		ok := true
		for k, v := range want {
			if r.str(k) != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// TestProtocolEventsEndToEnd: "opsdeck analyze" writes the protocol facts
// the corpus's expected outputs give (issue 3), through the whole pipeline.
func TestProtocolEventsEndToEnd(t *testing.T) {
	cases := []struct {
		file string
		typ  string
		want map[string]string
	}{
		{"suricata-verify/dns-udp-eve-txt.pcap", "dns", map[string]string{"dns.type": "request", "dns.id": "28243", "dns.queries": `[{"rrname":"google.com","rrtype":"TXT"}]`, "src_ip": "10.16.1.11", "src_port": "52345", "pcap_cnt": "1"}},
		{"suricata-verify/dns-udp-eve-txt.pcap", "dns", map[string]string{"dns.type": "response", "dns.id": "39372", "dns.rcode": "NOERROR", "dns.flags": "8180", "src_ip": "10.16.1.1", "dest_port": "60922", "dns.grouped": `{"A":["34.197.178.240"]}`, "pcap_cnt": "4"}},
		{"suricata-verify/dns-udp-nxdomain-soa.pcap", "dns", map[string]string{"dns.type": "response", "dns.rcode": "NXDOMAIN", "dns.authorities[0].rrname": "oisf.net",
			"dns.authorities[0].rrtype": "SOA", "dns.authorities[0].ttl": "899", "dns.authorities[0].soa.mname": "ns-110.awsdns-13.com", "dns.authorities[0].soa.rname": "awsdns-hostmaster.amazon.com",
			"dns.authorities[0].soa.serial": "1", "dns.authorities[0].soa.refresh": "7200", "dns.authorities[0].soa.retry": "900", "dns.authorities[0].soa.expire": "1209600", "dns.authorities[0].soa.minimum": "86400"}},
		{"suricata-verify/dns-udp-null-rr.pcap", "dns", map[string]string{"dns.type": "response", "dns.answers[0].rrtype": "NULL", "dns.answers[0].rdata": "VACKD\x03\\xc5\\xe9\x01", "dns.queries[0].rrname": "vaaaakardli.pirate.sea"}},
		{"suricata-verify/tls13-sni-community-id-ipv4.pcap", "tls", map[string]string{"tls.sni": "ipv4.google.com", "tls.version": "TLS 1.3", "src_port": "35958", "dest_port": "443"}},
		{"suricata-verify/tls12-sni-flow-bug-2646-01.pcap", "tls", map[string]string{"tls.sni": "raw.githubusercontent.com", "tls.version": "TLS 1.2",
			"tls.subject": "C=US, ST=California, L=San Francisco, O=GitHub, Inc., CN=www.github.com", "tls.issuerdn": "C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert SHA2 High Assurance Server CA",
			"tls.serial": "08:3A:84:59:2F:77:F2:E7:95:1B:F8:87:CE:DE:C9:66", "tls.fingerprint": "cc:aa:48:48:66:46:0e:91:53:2c:9c:7c:23:2a:b1:74:4d:29:9d:33",
			"tls.notbefore": "2017-03-23T00:00:00", "tls.notafter": "2020-05-13T12:00:00"}},
		{"suricata-verify/tls-client-hello-frag-mtu300.pcap", "tls", map[string]string{"tls.sni": "www.google.com"}},
		{"suricata-verify/http-host-flow-bug-78.pcap", "http", map[string]string{"http.hostname": "www.google.com", "http.url": "/blah/", "http.http_user_agent": "Wget/1.11.4",
			"http.http_method": "GET", "http.status": "404", "http.http_content_type": "text/html", "http.length": "1194", "http.protocol": "HTTP/1.0"}},
		{"suricata-verify/http-ipv6-vlan-nikto-bug-814.pcap", "http", map[string]string{"http.hostname": "www.net1.bg", "http.url": "/cgi-bin/cart32.exe",
			"http.http_user_agent": "Mozilla/4.75 (Nikto/2.1.4) (Evasions:None) (Test:000003)", "vlan": "[1111]", "src_ip": "fe80:0000:0000:0000:020c:29ff:fef3:cf38"}},
		{"suricata-verify/ssh-hassh.pcap", "ssh", map[string]string{"ssh.client.hassh.hash": "2dd6531c7e89d3c925db9214711be76a", "ssh.server.hassh.hash": "6832f1ce43d4397c2c0a3e2f8c94334e"}},
		{"suricata-verify/rdp-003.pcap", "rdp", map[string]string{"rdp.cookie": "A70067"}},
		{"suricata-verify/ftp-anonymous-login-bug-3519.pcap", "credential", map[string]string{"opsdeck.credential.protocol": "ftp", "opsdeck.credential.user": "anonymous", "opsdeck.credential.outcome": "success", "opsdeck.credential.password": "********"}},
		{"zeek/ftp-password-pass-command.pcap", "credential", map[string]string{"opsdeck.credential.user": "Admin", "opsdeck.credential.outcome": "failure"}},
		{"suricata-verify/telnet-login.pcap", "credential", map[string]string{"opsdeck.credential.protocol": "telnet", "opsdeck.credential.user": "fake"}},
		{"zeek/http-basic-auth-with-colon.pcap", "credential", map[string]string{"opsdeck.credential.protocol": "http", "opsdeck.credential.user": "test"}},
	}
	for _, c := range cases {
		t.Run(c.file+" "+c.typ, func(t *testing.T) {
			recs, err := analyze(t, corpus(c.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := find(recs, c.typ, c.want); len(got) == 0 {
				var seen []string
				for _, r := range ofType(recs, c.typ) {
					seen = append(seen, r.str(c.typ))
				}
				t.Errorf("no %s record with %v; %s records: %s", c.typ, c.want, c.typ, strings.Join(seen, "\n"))
			}
		})
	}
	// --show-secrets reveals the password (here one containing ':').
	recs, err := analyze(t, "--show-secrets", corpus("zeek/http-basic-auth-with-colon.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if len(find(recs, "credential", map[string]string{"opsdeck.credential.user": "test", "opsdeck.credential.password": "1:34"})) == 0 {
		t.Errorf("--show-secrets: no credential test / 1:34")
	}
	// Every FTP brute-force guess is a credential record: bro / 1..30, all failed.
	recs, err = analyze(t, "--show-secrets", corpus("zeek/ftp-bruteforce.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		if len(find(recs, "credential", map[string]string{"opsdeck.credential.user": "bro", "opsdeck.credential.password": strconv.Itoa(i), "opsdeck.credential.outcome": "failure"})) != 1 {
			t.Errorf("ftp-bruteforce: no single failed credential bro/%d", i)
		}
	}
}

// TestDetectionsEndToEnd: the corpus attacks raise the right rule, actor
// and target through "opsdeck analyze" (issue 4), and the negative controls
// raise nothing of severity 1 or 2.
func TestDetectionsEndToEnd(t *testing.T) {
	cases := []struct {
		file, rule, src, dst string
	}{
		{"ndpi/synscan-nmap-1000-ports.pcap", "scan.port", "172.16.0.8", "64.13.134.52"},
		{"ndpi/tcp-null-fin-xmas-scan.pcap", "scan.stealth", "192.168.1.178", "192.168.1.2"},
		{"suricata-verify/syn-flood-200-synthetic.pcap", "dos.synflood", "192.0.2.10", "198.51.100.5"},
		{"zeek/ssh-sshguess.pcap", "bruteforce.ssh", "192.168.56.1", "192.168.56.103"},
		{"zeek/ftp-bruteforce.pcap", "bruteforce.ftp", "192.168.56.1", "192.168.56.101"},
		{"ndpi/dns-tunnel-iodine.pcap", "dns.tunnel", "10.0.2.30", "10.0.2.20"},
		{"ndpi/dns-exfiltration-dnscat.pcap", "dns.tunnel", "192.168.220.56", "192.168.203.167"},
		{"ndpi/bad-dns-traffic-dnscat.pcap", "dns.tunnel", "192.168.43.91", "4.2.2.4"},
		{"ndpi/icmp-tunnel.pcap", "icmp.tunnel", "192.168.154.131", "192.168.154.132"},
		{"suricata-verify/ftp-anonymous-login-bug-3519.pcap", "cred.cleartext", "192.168.0.13", "192.168.0.10"},
		{"suricata-verify/telnet-login.pcap", "cred.cleartext", "192.168.0.2", "192.168.0.1"},
		{"zeek/http-basic-auth-with-colon.pcap", "cred.cleartext", "172.24.133.205", "172.24.133.205"},
		{"ndpi/http-basic-auth.pcap", "cred.cleartext", "192.168.0.4", "192.254.189.169"},
		{"ndpi/port4444-pe-download.pcapng", "port.suspicious", "172.16.99.201", "64.227.107.71"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			recs, err := analyze(t, "--alerts-only", corpus(c.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(find(recs, "alert", map[string]string{"alert.metadata.rule": `["` + c.rule + `"]`, "src_ip": c.src, "dest_ip": c.dst})) == 0 {
				var seen []string
				for _, r := range ofType(recs, "alert") {
					seen = append(seen, r.str("alert.signature"))
				}
				t.Errorf("no %s alert %s -> %s; alerts: %v", c.rule, c.src, c.dst, seen)
			}
		})
	}
	// The nmap scan touches backdoor ports but opens no session on them.
	recs, _ := analyze(t, "--alerts-only", corpus("ndpi/synscan-nmap-1000-ports.pcap"))
	if n := len(find(recs, "alert", map[string]string{"alert.metadata.rule": `["port.suspicious"]`})); n != 0 {
		t.Errorf("the SYN scan raised %d port.suspicious alerts", n)
	}
	for _, neg := range []string{"suricata-verify/arp-request-reply.pcap", "suricata-verify/ssh-hassh.pcap", "suricata-verify/rdp-003.pcap",
		"suricata-verify/dns-udp-eve-txt.pcap", "suricata-verify/tls13-sni-community-id-ipv4.pcap", "suricata-verify/tls12-sni-flow-bug-2646-01.pcap",
		"suricata-verify/http-host-flow-bug-78.pcap"} {
		recs, err := analyze(t, "--alerts-only", corpus(neg))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ofType(recs, "alert") {
			if s := r.str("alert.severity"); s == "1" || s == "2" {
				t.Errorf("negative control %s raised severity %s: %s", neg, s, r.str("alert.signature"))
			}
		}
	}
}
