package proto

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

func TestDNSCorpus(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, evs []got)
	}{
		{"suricata-verify/dns-udp-eve-txt.pcap", func(t *testing.T, evs []got) {
			want := []struct {
				cnt         uint64
				typ, name   string
				rrtype, ans string
				ttl         uint32
				id          uint16
			}{
				{1, "request", "google.com", "TXT", "", 0, 28243},
				{2, "response", "google.com", "TXT", "v=spf1 include:_spf.google.com ~all", 3217, 28243},
				{3, "request", "textsecure-service-ca.whispersystems.org", "A", "", 0, 39372},
				{4, "response", "textsecure-service-ca.whispersystems.org", "A", "34.197.178.240", 5, 39372},
			}
			if len(evs) != len(want) {
				t.Fatalf("got %d dns events, want %d", len(evs), len(want))
			}
			for i, w := range want {
				d := evs[i].DNS
				// Every message is its own transaction, numbered per flow
				// in both directions as Suricata does: query 0, answer 1.
				tx := 0
				if w.typ == "response" {
					tx = 1
				}
				if evs[i].PcapCnt != w.cnt || d.Type != w.typ || d.ID != w.id || d.TxID != tx ||
					d.Queries[0].RRName != w.name || d.Queries[0].RRType != w.rrtype {
					t.Errorf("event %d: pcap_cnt %d %+v, want %+v", i, evs[i].PcapCnt, d, w)
				}
				if w.typ != "response" {
					continue
				}
				if d.RCode != "NOERROR" || d.Flags != "8180" || !d.QR || !d.RD || !d.RA || d.Version != 3 {
					t.Errorf("event %d: header %+v", i, d)
				}
				if len(d.Answers) != 1 || d.Answers[0].RData != w.ans || d.Answers[0].TTL != w.ttl ||
					d.Answers[0].RRType != w.rrtype || d.Answers[0].RRName != w.name {
					t.Errorf("event %d: answers %+v", i, d.Answers)
				}
				if g := d.Grouped()[w.rrtype]; len(g) != 1 || g[0] != w.ans {
					t.Errorf("event %d: grouped %v", i, d.Grouped())
				}
			}
		}},
		{"suricata-verify/dns-udp-nxdomain-soa.pcap", func(t *testing.T, evs []got) {
			resp := evs[len(evs)-1].DNS
			if resp.RCode != "NXDOMAIN" || resp.Queries[0].RRName != "dne.oisf.net" {
				t.Fatalf("response %+v", resp)
			}
			want := DNSAnswer{RRName: "oisf.net", RRType: "SOA", TTL: 899, SOA: &DNSSOA{
				MName: "ns-110.awsdns-13.com", RName: "awsdns-hostmaster.amazon.com",
				Serial: 1, Refresh: 7200, Retry: 900, Expire: 1209600, Minimum: 86400}}
			if len(resp.Authorities) != 1 || !reflect.DeepEqual(resp.Authorities[0], want) {
				t.Errorf("authorities %+v, want %+v", resp.Authorities, want)
			}
		}},
		{"suricata-verify/dns-udp-null-rr.pcap", func(t *testing.T, evs []got) {
			if len(evs) != 2 || evs[0].DNS.Queries[0].RRType != "NULL" || evs[0].DNS.Type != "request" {
				t.Fatalf("events %+v", evs)
			}
			resp := evs[1].DNS
			if resp.RCode != "NOERROR" || len(resp.Answers) != 1 ||
				resp.Answers[0].RData != "VACKD\x03\\xc5\\xe9\x01" || resp.Queries[0].RRName != "vaaaakardli.pirate.sea" {
				t.Errorf("response %+v", resp)
			}
		}},
		{"ndpi/dns-long-domainname-nxdomain.pcap", func(t *testing.T, evs []got) {
			resp := evs[len(evs)-1].DNS
			if resp.RCode != "NXDOMAIN" || resp.Queries[0].RRName != "gmr02c.16.0.fhkfhsdkfhsk.tunnel.example.com" {
				t.Errorf("response %+v", resp)
			}
		}},
		{"ndpi/dns-tunnel-iodine.pcap", func(t *testing.T, evs []got) {
			// Every datagram of a DNS flow is parsed, not only the first
			// bytes: the tunnel detector needs all 222 queries.
			reqs := 0
			for _, e := range evs {
				if e.DNS.Type == "request" {
					reqs++
					if e.DNS.Queries[0].RRType != "NULL" || !strings.HasSuffix(e.DNS.Queries[0].RRName, "pirate.sea") {
						t.Errorf("query %+v", e.DNS.Queries)
					}
				}
			}
			if reqs != 222 {
				t.Errorf("got %d requests, want 222", reqs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			evs := ofType(runPcap(t, tt.file, &Config{}), "dns")
			if len(evs) == 0 {
				t.Fatal("no dns events")
			}
			tt.check(t, evs)
		})
	}
}

func TestTLSCorpus(t *testing.T) {
	tests := []struct {
		file string
		want TLS
		cnt  uint64
	}{
		{"suricata-verify/tls13-sni-community-id-ipv4.pcap", TLS{SNI: "ipv4.google.com", Version: "TLS 1.3"}, 7},
		{"suricata-verify/tls12-sni-flow-bug-2646-01.pcap", TLS{
			SNI: "raw.githubusercontent.com", Version: "TLS 1.2",
			Subject:     "C=US, ST=California, L=San Francisco, O=GitHub, Inc., CN=www.github.com",
			IssuerDN:    "C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert SHA2 High Assurance Server CA",
			Serial:      "08:3A:84:59:2F:77:F2:E7:95:1B:F8:87:CE:DE:C9:66",
			Fingerprint: "cc:aa:48:48:66:46:0e:91:53:2c:9c:7c:23:2a:b1:74:4d:29:9d:33",
			NotBefore:   "2017-03-23T00:00:00", NotAfter: "2020-05-13T12:00:00"}, 12},
		// The ClientHello is split over three segments and the certificate
		// record runs past the byte budget: both must still be read.
		{"suricata-verify/tls-client-hello-frag-mtu300.pcap", TLS{SNI: "www.google.com", Version: "TLS 1.2",
			Subject: "CN=www.google.com", IssuerDN: "C=US, O=Google Trust Services LLC, CN=GTS CA 1C3"}, 21},
	}
	// JA3/JA3S hashes as tshark computes them on the same captures.
	ja3 := map[string][2]string{
		"suricata-verify/tls13-sni-community-id-ipv4.pcap":  {"e690df036922288311144cc96acf6515", "907bf3ecef1c987c889946b737b43de8"},
		"suricata-verify/tls12-sni-flow-bug-2646-01.pcap":   {"316193effb467e51d0301cabd36b69e0", "098e26e2609212ac1bfac552fbe04127"},
		"suricata-verify/tls-client-hello-frag-mtu300.pcap": {"a64c29923906f2a1be278be1da0714fa", "a27e76e64afe9199440ad714848966f8"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			all := runPcap(t, tt.file, &Config{})
			evs := ofType(all, "tls")
			if len(evs) != 1 {
				t.Fatalf("got %d tls events, want 1", len(evs))
			}
			g := evs[0].TLS
			if evs[0].PcapCnt != tt.cnt {
				t.Errorf("pcap_cnt %d, want %d", evs[0].PcapCnt, tt.cnt)
			}
			w := tt.want
			if g.SNI != w.SNI || g.Version != w.Version || g.Subject != w.Subject || g.IssuerDN != w.IssuerDN {
				t.Errorf("got sni %q version %q subject %q issuer %q, want %+v", g.SNI, g.Version, g.Subject, g.IssuerDN, w)
			}
			if w.Serial != "" && (g.Serial != w.Serial || g.Fingerprint != w.Fingerprint || g.NotBefore != w.NotBefore || g.NotAfter != w.NotAfter) {
				t.Errorf("cert serial %q fp %q validity %q..%q, want %+v", g.Serial, g.Fingerprint, g.NotBefore, g.NotAfter, w)
			}
			if h := ja3[tt.file]; g.JA3 == nil || g.JA3S == nil || g.JA3.Hash != h[0] || g.JA3S.Hash != h[1] {
				t.Errorf("ja3 %+v ja3s %+v, want %v", g.JA3, g.JA3S, h)
			}
			if len(g.JA4) != 36 || g.JA4[0] != 't' {
				t.Errorf("ja4 %q", g.JA4)
			}
		})
	}
}

// TestJA4 checks the fingerprint of a Chrome ClientHello against its published
// value (the cipher and extension hashes are the JA4 specification example).
func TestJA4(t *testing.T) {
	ch := &ClientHello{
		Version:  0x0303,
		Versions: []uint16{0x1a1a, 0x0304, 0x0303},
		Ciphers: []uint16{0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		Extensions: []uint16{0x2a2a, 0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d,
			0x0012, 0x0033, 0x002d, 0x002b, 0x001b, 0x4469, 0x0029, 0xfe0d},
		SigAlgs: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
		ALPN:    []string{"h2", "http/1.1"},
	}
	if got, want := ch.JA4(), "t13d1517h2_8daaf6152771_b0da82dd1658"; got != want {
		t.Errorf("JA4 = %q, want %q", got, want)
	}
}

func TestHTTPCorpus(t *testing.T) {
	tests := []struct {
		file string
		want HTTP
	}{
		{"suricata-verify/http-host-flow-bug-78.pcap", HTTP{Hostname: "www.google.com", URL: "/blah/", UserAgent: "Wget/1.11.4",
			Method: "GET", Protocol: "HTTP/1.0", Status: 404, ContentType: "text/html", Length: 1194}},
		{"suricata-verify/http-ipv6-vlan-nikto-bug-814.pcap", HTTP{Hostname: "www.net1.bg", URL: "/cgi-bin/cart32.exe",
			UserAgent: "Mozilla/4.75 (Nikto/2.1.4) (Evasions:None) (Test:000003)", Method: "GET", Protocol: "HTTP/1.1"}},
		{"zeek/http-basic-auth-with-colon.pcap", HTTP{Hostname: "172.24.133.205", Port: 8000, URL: "/",
			UserAgent: "python-requests/2.31.0", Method: "GET", Protocol: "HTTP/1.1", Status: 200, ContentType: "text/html",
			Length: 643, Authorization: "Basic"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			evs := ofType(runPcap(t, tt.file, &Config{}), "http")
			if len(evs) != 1 {
				t.Fatalf("got %d http events, want 1", len(evs))
			}
			if *evs[0].HTTP != tt.want {
				t.Errorf("got %+v\nwant %+v", *evs[0].HTTP, tt.want)
			}
		})
	}
}

type credWant struct{ proto, user, pass, outcome string }

func TestCredentialsCorpus(t *testing.T) {
	bro := make([]credWant, 30)
	for i := range bro {
		bro[i] = credWant{"ftp", "bro", strconv.Itoa(i + 1), "failure"}
	}
	tests := []struct {
		file string
		want []credWant
	}{
		{"suricata-verify/ftp-anonymous-login-bug-3519.pcap", []credWant{{"ftp", "anonymous", "anonymous", "success"}}},
		{"zeek/ftp-password-pass-command.pcap", []credWant{{"ftp", "Admin", "qwerty", "failure"}}},
		{"zeek/ftp-bruteforce.pcap", bro},
		{"suricata-verify/telnet-login.pcap", []credWant{{"telnet", "fake", "user", "success"}}},
		{"zeek/http-basic-auth-with-colon.pcap", []credWant{{"http", "test", "1:34", "success"}}},
		{"ndpi/http-basic-auth.pcap", []credWant{{"http", "test", "fail2", "failure"}}},
		{"ndpi/ftp-failed-login-ipv6.pcap", []credWant{{"ftp", "hello", "", "failure"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var gotC []credWant
			for _, e := range ofType(runPcap(t, tt.file, &Config{}), "credential") {
				c := e.Cred
				gotC = append(gotC, credWant{c.Protocol, c.User, c.Password, c.Outcome})
			}
			if !reflect.DeepEqual(gotC, tt.want) {
				t.Errorf("credentials\n got %v\nwant %v", gotC, tt.want)
			}
		})
	}
}

func TestFTPEvents(t *testing.T) {
	evs := ofType(runPcap(t, "suricata-verify/ftp-anonymous-login-bug-3519.pcap", &Config{}), "ftp")
	count := map[string]int{}
	for _, e := range evs {
		count[e.FTP.Command]++
		if e.FTP.Command == "PASS" && (e.FTP.CommandData != "anonymous" || !reflect.DeepEqual(e.FTP.Reply, []string{"Login successful."}) ||
			!reflect.DeepEqual(e.FTP.CompletionCode, []string{"230"})) {
			t.Errorf("PASS event %+v", e.FTP)
		}
		if e.FTP.Command == "NLST" && !reflect.DeepEqual(e.FTP.Reply, []string{"Here comes the directory listing.", "Directory send OK."}) {
			t.Errorf("NLST event %+v", e.FTP)
		}
	}
	want := map[string]int{"": 1, "USER": 1, "PASS": 1, "NLST": 1, "PORT": 2, "RETR": 1, "QUIT": 1}
	if len(evs) != 8 || !reflect.DeepEqual(count, want) {
		t.Errorf("ftp commands %v (%d events), want %v", count, len(evs), want)
	}
	// The PASS argument is kept in the ftp event as in the credential, for
	// the outputs to decide: ShownData masks it unless told to show it.
	for _, e := range runPcap(t, "suricata-verify/ftp-anonymous-login-bug-3519.pcap", &Config{}) {
		if e.FTP != nil && e.FTP.Command == "PASS" && (e.FTP.ShownData(false) != Masked || e.FTP.ShownData(true) != "anonymous") {
			t.Errorf("PASS data shown %q masked, %q in clear", e.FTP.ShownData(false), e.FTP.ShownData(true))
		}
		if e.FTP != nil && e.FTP.Command == "USER" && e.FTP.ShownData(false) != "anonymous" {
			t.Errorf("USER data %q: only PASS's argument is a secret", e.FTP.ShownData(false))
		}
		if e.Cred != nil && e.Cred.Password != "anonymous" {
			t.Errorf("credential password %q", e.Cred.Password)
		}
	}
}

// seg is one synthesized TCP segment.
type seg struct {
	toServer bool
	data     string
}

// stream builds the packets of a TCP connection with a handshake and the
// given segments, in order, sequence numbers following.
func stream(sport, dport uint16, segs []seg) []packet.Summary {
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seq := [2]uint32{1000, 5000}
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []packet.Summary
	add := func(toServer bool, flags uint8, payload []byte) {
		d := 1
		s := packet.Summary{TS: ts.Add(time.Duration(len(out)) * time.Millisecond), Index: uint64(len(out) + 1),
			IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true, TCPFlags: flags, Payload: payload}
		if toServer {
			d = 0
			s.Src, s.Dst, s.SrcPort, s.DstPort = cli, srv, 40000, dport
		} else {
			s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, dport, 40000
		}
		_ = sport
		s.Seq = seq[d]
		if flags&packet.TCPAck != 0 {
			s.Ack = seq[1-d] // everything the other side sent so far
		}
		seq[d] += uint32(len(payload))
		if flags&packet.TCPSyn != 0 {
			seq[d]++
		}
		out = append(out, s)
	}
	add(true, packet.TCPSyn, nil)
	add(false, packet.TCPSyn|packet.TCPAck, nil)
	add(true, packet.TCPAck, nil)
	for _, sg := range segs {
		add(sg.toServer, packet.TCPAck|packet.TCPPsh, []byte(sg.data))
	}
	// Each side acknowledges the other's last data.
	add(true, packet.TCPAck, nil)
	add(false, packet.TCPAck, nil)
	return out
}

// runStream feeds packets to one State and returns the events.
func runStream(st *State, cfg *Config, pkts []packet.Summary) []Event {
	var out []Event
	emit := func(e *Event) { out = append(out, *e) }
	for i := range pkts {
		st.Packet(cfg, pkts[i].DstPort != 40000, &pkts[i], emit)
	}
	st.Close(cfg, emit)
	return out
}

// firstPayload returns the first non-empty payload sent to port in a capture.
func firstPayload(t *testing.T, file string, port uint16, toServer bool) string {
	for _, s := range readPcap(t, file) {
		if len(s.Payload) > 0 && ((toServer && s.DstPort == port) || (!toServer && s.SrcPort == port)) {
			return string(s.Payload)
		}
	}
	t.Fatalf("no payload for port %d in %s", port, file)
	return ""
}

func TestAppProtoByContent(t *testing.T) {
	hello := firstPayload(t, "suricata-verify/tls13-sni-community-id-ipv4.pcap", 443, true)
	sshCli := "SSH-2.0-OpenSSH_9.6\r\n"
	sshSrv := "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n"
	dnsQ := firstPayload(t, "suricata-verify/dns-udp-eve-txt.pcap", 53, true)
	tests := []struct {
		name string
		port uint16
		segs []seg
		app  string
		typ  string
	}{
		{"http on 8080", 8080, []seg{{true, "GET /x HTTP/1.1\r\nHost: a.example:8080\r\n\r\n"}, {false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}}, "http", "http"},
		{"tls on 8443", 8443, []seg{{true, hello}}, "tls", "tls"},
		{"ssh on 2222", 2222, []seg{{false, sshSrv}, {true, sshCli}}, "ssh", "ssh"},
		{"ftp on 2121", 2121, []seg{{false, "220 (vsFTPd 3.0.3)\r\n"}, {true, "USER bob\r\n"}, {false, "331 Please specify the password.\r\n"},
			{true, "PASS secret\r\n"}, {false, "230 Login successful.\r\n"}}, "ftp", "credential"},
		{"smtp on 2525", 2525, []seg{{false, "220 mx.example ESMTP Postfix\r\n"}}, "smtp", ""},
		{"unknown on 443", 443, []seg{{true, "\x00\x01\x02\x03\x04\x05\x06\x07\x08"}, {false, "\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &State{}
			pkts := stream(40000, tt.port, tt.segs)
			var types []string
			for i := range pkts {
				st.Packet(&Config{}, pkts[i].DstPort == tt.port, &pkts[i], func(e *Event) { types = append(types, e.Type) })
			}
			if st.AppProto() != tt.app {
				t.Errorf("app_proto %q, want %q", st.AppProto(), tt.app)
			}
			st.Close(&Config{}, func(e *Event) { types = append(types, e.Type) })
			if tt.typ != "" && !strings.Contains(strings.Join(types, ","), tt.typ) {
				t.Errorf("events %v, want a %s event", types, tt.typ)
			}
		})
	}
	// Suricata 8 logs DNS on port 5353 as mDNS (mdns.go).
	t.Run("mdns on 5353", func(t *testing.T) {
		st := &State{}
		s := packet.Summary{IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true, SrcPort: 5353, DstPort: 5353, Payload: []byte(dnsQ)}
		n := 0
		st.Packet(&Config{}, true, &s, func(e *Event) { n++ })
		if st.AppProto() != "mdns" || n != 1 {
			t.Errorf("app_proto %q, %d events", st.AppProto(), n)
		}
	})
	// Suricata probes for DNS only on port 53: a DNS-shaped message on
	// another port, LLMNR (5355) or NetBIOS names (137) is not DNS to it.
	for _, port := range []uint16{9999, 5355, 137} {
		t.Run(fmt.Sprint("no dns on ", port), func(t *testing.T) {
			st := &State{}
			s := packet.Summary{IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true, SrcPort: 40000, DstPort: port, Payload: []byte(dnsQ)}
			n := 0
			st.Packet(&Config{}, true, &s, func(e *Event) { n++ })
			if st.AppProto() == "dns" || n != 0 {
				t.Errorf("app_proto %q, %d events", st.AppProto(), n)
			}
		})
	}
}

// TestReassembly reorders and duplicates the three segments of a split
// ClientHello: the SNI must still come out, once.
func TestReassembly(t *testing.T) {
	var hello []packet.Summary
	var rest []packet.Summary
	for _, s := range readPcap(t, "suricata-verify/tls-client-hello-frag-mtu300.pcap") {
		if s.DstPort == 443 && len(s.Payload) > 0 && len(hello) < 3 {
			hello = append(hello, s)
		} else if s.DstPort == 443 && len(hello) == 0 {
			rest = append(rest, s) // SYN and ACK before the hello
		}
	}
	orders := map[string][]int{
		"in order":     {0, 1, 2},
		"reversed":     {2, 1, 0},
		"middle first": {1, 0, 2},
		"duplicates":   {0, 0, 2, 1, 2},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			st := &State{}
			var sni []string
			emit := func(e *Event) {
				if e.TLS != nil {
					sni = append(sni, e.TLS.SNI)
				}
			}
			for i := range rest {
				st.Packet(&Config{}, true, &rest[i], emit)
			}
			for _, i := range order {
				s := hello[i]
				st.Packet(&Config{}, true, &s, emit)
			}
			st.Close(&Config{}, emit)
			if len(sni) != 1 || sni[0] != "www.google.com" {
				t.Errorf("sni %v", sni)
			}
		})
	}
}

func TestHTTPPipelining(t *testing.T) {
	req := "GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dTpwOnc6\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.1\r\nHost: h\r\n\r\n"
	resp := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 No\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n"
	// Deliver byte by byte in places to exercise partial headers and chunks.
	var segs []seg
	for i := 0; i < len(req); i += 7 {
		segs = append(segs, seg{true, req[i:min(i+7, len(req))]})
	}
	for i := 0; i < len(resp); i += 5 {
		segs = append(segs, seg{false, resp[i:min(i+5, len(resp))]})
	}
	evs := runStream(&State{}, &Config{}, stream(40000, 80, segs))
	var got []string
	for _, e := range evs {
		switch {
		case e.HTTP != nil:
			got = append(got, e.HTTP.Method+" "+e.HTTP.URL+" "+strconv.Itoa(e.HTTP.Status)+" "+e.HTTP.ContentType)
		case e.Cred != nil:
			got = append(got, "cred "+e.Cred.User+"/"+e.Cred.Password+" "+e.Cred.Outcome)
		}
	}
	want := []string{"GET /a 401 ", "cred u/p:w: failure", "POST /b 200 text/plain", "GET /c 404 "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestLineProtocolCredentials(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		port uint16
		segs []seg
		want []credWant
	}{
		{"smtp auth login", 25, []seg{{false, "220 mx ESMTP\r\n"}, {true, "EHLO me\r\n"}, {false, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n"},
			{true, "AUTH LOGIN\r\n"}, {false, "334 VXNlcm5hbWU6\r\n"}, {true, b64([]byte("alice")) + "\r\n"}, {false, "334 UGFzc3dvcmQ6\r\n"},
			{true, b64([]byte("s3cret")) + "\r\n"}, {false, "535 5.7.8 Authentication failed\r\n"},
			{true, "AUTH PLAIN " + b64([]byte("\x00alice\x00right")) + "\r\n"}, {false, "235 2.7.0 ok\r\n"}},
			[]credWant{{"smtp", "alice", "s3cret", "failure"}, {"smtp", "alice", "right", "success"}}},
		{"smtp auth plain continuation", 587, []seg{{false, "220 mx ESMTP\r\n"}, {true, "AUTH PLAIN\r\n"}, {false, "334 \r\n"},
			{true, b64([]byte("\x00bob\x00pw")) + "\r\n"}, {false, "235 ok\r\n"}}, []credWant{{"smtp", "bob", "pw", "success"}}},
		{"pop3", 110, []seg{{false, "+OK POP3 ready\r\n"}, {true, "USER carol\r\n"}, {false, "+OK\r\n"}, {true, "PASS x y\r\n"},
			{false, "-ERR invalid\r\n"}}, []credWant{{"pop3", "carol", "x y", "failure"}}},
		{"imap", 143, []seg{{false, "* OK IMAP4rev1 ready\r\n"}, {true, "a1 LOGIN \"dave\" \"p \\\"q\\\"\"\r\n"},
			{false, "* CAPABILITY IMAP4rev1\r\na1 OK LOGIN completed\r\n"}}, []credWant{{"imap", "dave", "p \"q\"", "success"}}},
		{"imap authenticate", 143, []seg{{false, "* OK ready\r\n"}, {true, "a2 AUTHENTICATE PLAIN\r\n"}, {false, "+ \r\n"},
			{true, b64([]byte("\x00erin\x00pw")) + "\r\n"}, {false, "a2 NO bad\r\n"}}, []credWant{{"imap", "erin", "pw", "failure"}}},
		{"telnet char at a time", 23, []seg{{false, "\xff\xfd\x18\xff\xfd\x20"}, {true, "\xff\xfb\x18\xff\xfa\x18\x00VT100\xff\xf0"},
			{false, "\r\nlogin: "}, {true, "r"}, {false, "r"}, {true, "o"}, {false, "o"}, {true, "x"}, {false, "x"}, {true, "\x7f"},
			{false, "\b \b"}, {true, "o"}, {false, "o"}, {true, "t"}, {false, "t"}, {true, "\r\x00"}, {false, "\r\nPassword:"},
			{true, "t"}, {true, "o"}, {true, "r"}, {true, "\r\n"}, {false, "\r\nLogin incorrect\r\nlogin: "},
			{true, "root\r\n"}, {false, "Password: "}, {true, "toor\r\n"}, {false, "\r\nLast login: Mon\r\n# "}},
			[]credWant{{"telnet", "root", "tor", "failure"}, {"telnet", "root", "toor", "success"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &State{}
			var gotC []credWant
			for _, e := range runStream(st, &Config{}, stream(40000, tt.port, tt.segs)) {
				if e.Cred != nil {
					gotC = append(gotC, credWant{e.Cred.Protocol, e.Cred.User, e.Cred.Password, e.Cred.Outcome})
				}
			}
			if !reflect.DeepEqual(gotC, tt.want) {
				t.Errorf("credentials\n got %v\nwant %v (app %q)", gotC, tt.want, st.AppProto())
			}
		})
	}
}

// TestMaxBytes checks the per-direction bound of a parser that is not a
// streaming one (FTP): what is past it is not parsed, the flow becomes Done
// once both directions are spent, and a spent flow keeps no buffers.
func TestMaxBytes(t *testing.T) {
	segs := []seg{{false, "220 ftp\r\n"}, {true, strings.Repeat("NOOP\r\n", 60)}, {false, strings.Repeat("200 ok\r\n", 60)},
		{true, "USER late\r\n"}, {false, "331 pw\r\n"}}
	cfg := &Config{MaxBytes: 300}
	st := &State{}
	for _, e := range runStream(st, cfg, stream(40000, 21, segs)) {
		if e.FTP != nil && e.FTP.Command == "USER" {
			t.Errorf("a command past the bound was parsed: %+v", e.FTP)
		}
	}
	st = &State{}
	pkts := stream(40000, 21, segs)
	for i := range pkts {
		st.Packet(cfg, pkts[i].DstPort == 21, &pkts[i], func(*Event) {})
	}
	if !st.Done() {
		t.Error("flow not Done after both directions spent their budget")
	}
	if st.h[0].buf != nil || st.h[1].buf != nil {
		t.Error("buffers kept after the budget was spent")
	}
}

func TestMaskSecret(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": "********", "a much longer secret": "********"} {
		if got := MaskSecret(in); got != want {
			t.Errorf("MaskSecret(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppProtoCorpus(t *testing.T) {
	tests := []struct {
		file string
		port uint16
		want string
	}{
		{"suricata-verify/tls13-sni-community-id-ipv4.pcap", 443, "tls"},
		{"suricata-verify/http-ipv6-vlan-nikto-bug-814.pcap", 80, "http"},
		{"zeek/http-basic-auth-with-colon.pcap", 8000, "http"},
		{"suricata-verify/ssh-hassh.pcap", 22, "ssh"},
		{"suricata-verify/rdp-003.pcap", 3389, "rdp"},
		{"suricata-verify/telnet-login.pcap", 23, "telnet"},
		{"ndpi/ftp-failed-login-ipv6.pcap", 21, "ftp"},
		{"ndpi/dns-tunnel-iodine.pcap", 53, "dns"},
		{"ndpi/port4444-pe-download.pcapng", 4444, ""},
		{"ndpi/port4444-pe-download.pcapng", 53, ""}, // a PE over TCP/53 is not DNS
	}
	for _, tt := range tests {
		if got := appProtos(readPcap(t, tt.file), &Config{})[tt.port]; got != tt.want {
			t.Errorf("%s port %d: app_proto %q, want %q", tt.file, tt.port, got, tt.want)
		}
	}
}
