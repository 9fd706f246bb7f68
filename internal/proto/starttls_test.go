package proto

import (
	"testing"
)

// Issue 18: after a protocol upgrade the ClientHello is parsed and logged
// as tls, and the flow's protocol becomes tls, as Suricata's TLS upgrade.
// The captures are Python's smtplib, imaplib, poplib, ftplib and a CONNECT
// tunnel against servers that accept the upgrade (scripts/mkstarttls.py);
// tshark dissects one ClientHello and one ServerHello in each.
func TestStartTLSCorpus(t *testing.T) {
	for _, tt := range []struct {
		file string
		port uint16
		sni  string
	}{
		{"starttls/smtp-starttls.pcap", 18025, ""},
		{"starttls/imap-starttls.pcap", 18143, ""},
		{"starttls/pop3-starttls.pcap", 18110, ""},
		{"starttls/ftp-starttls.pcap", 18021, ""},
		{"starttls/connect-starttls.pcap", 18080, "www.lab.test"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			pkts := readPcap(t, tt.file)
			tls := ofType(runSummaries(pkts, &Config{}), "tls")
			if len(tls) != 1 || tls[0].TLS.Version != "TLS 1.3" || tls[0].TLS.SNI != tt.sni || tls[0].TLS.JA3 == nil {
				t.Fatalf("tls events %+v", tls)
			}
			if got := appProtos(pkts, &Config{})[tt.port]; got != "tls" {
				t.Errorf("app_proto %q after the upgrade, want tls", got)
			}
		})
	}
}

// A refused upgrade (SMTP 454) or an answer to another command leaves the
// flow in its protocol.
func TestStartTLSRefused(t *testing.T) {
	for _, segs := range [][]seg{
		{{false, "220 mx ESMTP\r\n"}, {true, "EHLO c\r\n"}, {false, "250 mx\r\n"}, {true, "STARTTLS\r\n"}, {false, "454 TLS not available\r\n"}, {true, "QUIT\r\n"}},
		{{false, "+OK ready\r\n"}, {true, "STLS\r\n"}, {false, "-ERR no\r\n"}},
		{{false, "220 ftp\r\n"}, {true, "AUTH TLS\r\n"}, {false, "504 no\r\n"}},
		{{true, "CONNECT h:443 HTTP/1.1\r\n\r\n"}, {false, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"}},
	} {
		st := &State{}
		port := uint16(25)
		if segs[0].data[0] == '+' {
			port = 110
		} else if segs[1].data[0] == 'A' {
			port = 21
		} else if segs[0].toServer {
			port = 8080
		}
		runStream(st, &Config{}, stream(40000, port, segs))
		if st.AppProto() == "tls" || st.AppProto() == "" {
			t.Errorf("%q: app_proto %q after a refused upgrade", segs[1].data, st.AppProto())
		}
	}
}
