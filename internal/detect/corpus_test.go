package detect

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

const corpusDir = "../../testdata/corpus"

// runCapture drives a corpus capture through the pipeline as the engine
// does (decode, flow table, protocol extraction, detection, a Tick per
// second of packet time, flush at the end) and returns every alert.
func runCapture(tb testing.TB, name string, cfg Config) []*Alert {
	tb.Helper()
	return runFile(tb, filepath.Join(corpusDir, name), cfg)
}

// runFile is runCapture for a path.
func runFile(tb testing.TB, name string, cfg Config) []*Alert {
	tb.Helper()
	fh, err := os.Open(name)
	if err != nil {
		tb.Fatalf("open capture %q: %v", name, err)
	}
	defer fh.Close()
	var (
		link uint16
		next func() ([]byte, gopacket.CaptureInfo, error)
	)
	if strings.HasSuffix(name, ".pcapng") {
		r, err := pcapgo.NewNgReader(fh, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			tb.Fatalf("read capture %q: %v", name, err)
		}
		link, next = uint16(r.LinkType()), r.ReadPacketData
	} else {
		r, err := pcapgo.NewReader(fh)
		if err != nil {
			tb.Fatalf("read capture %q: %v", name, err)
		}
		link, next = uint16(r.LinkType()), r.ReadPacketData
	}

	var alerts []*Alert
	emit := func(a *Alert) { alerts = append(alerts, a) }
	d := New(cfg)
	pcfg := &proto.Config{}
	tab := flow.NewTable(flow.Config{}, func(f *flow.Flow, _ flow.EndReason) {
		if st, ok := f.App.(*proto.State); ok {
			st.Close(pcfg, func(ev *proto.Event) { d.Event(ev, f, emit) })
			f.AppProto = st.AppProto()
		}
		d.FlowEnd(f, emit)
	})
	dec := packet.NewDecoder()
	var s packet.Summary
	var last, lastTick time.Time
	for i := uint64(1); ; i++ {
		data, ci, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("read capture %q packet %d: %v", name, i, err)
		}
		_ = dec.Decode(link, data, ci.Timestamp, ci.Length, &s)
		s.Index = i
		last = s.TS
		if lastTick.IsZero() {
			lastTick = s.TS
		}
		f, toServer, created := tab.Update(&s)
		if f != nil {
			if created {
				f.App = &proto.State{}
			}
			if st, ok := f.App.(*proto.State); ok {
				st.Packet(pcfg, toServer, &s, func(ev *proto.Event) {
					f.AppProto = st.AppProto()
					d.Event(ev, f, emit)
				})
				f.AppProto = st.AppProto()
			}
		}
		d.Packet(&s, f, toServer, created, emit)
		if s.TS.Sub(lastTick) >= time.Second {
			lastTick = s.TS
			tab.Expire(s.TS)
			d.Tick(s.TS, emit)
		}
	}
	tab.Flush(flow.EndShutdown)
	d.Finish(emit)
	d.Tick(last.Add(time.Second), emit)
	return alerts
}

func ruleAlerts(as []*Alert, rule string) []*Alert {
	var out []*Alert
	for _, a := range as {
		if a.Rule.Name == rule {
			out = append(out, a)
		}
	}
	return out
}

func TestCorpusAttacks(t *testing.T) {
	tests := []struct {
		file     string
		rule     string
		src, dst string // "" = not checked
		dport    uint16
	}{
		{"ndpi/synscan-nmap-1000-ports.pcap", "scan.port", "172.16.0.8", "64.13.134.52", 0},
		{"ndpi/tcp-null-fin-xmas-scan.pcap", "scan.stealth", "192.168.1.178", "192.168.1.2", 0},
		{"suricata-verify/syn-flood-200-synthetic.pcap", "dos.synflood", "192.0.2.10", "198.51.100.5", 443},
		{"zeek/ssh-sshguess.pcap", "bruteforce.ssh", "192.168.56.1", "192.168.56.103", 22},
		{"zeek/ftp-bruteforce.pcap", "bruteforce.ftp", "192.168.56.1", "192.168.56.101", 21},
		{"zeek/ftp-bruteforce.pcap", "cred.cleartext", "192.168.56.1", "192.168.56.101", 21},
		{"ndpi/dns-tunnel-iodine.pcap", "dns.tunnel", "10.0.2.30", "10.0.2.20", 53},
		{"ndpi/dns-exfiltration-dnscat.pcap", "dns.tunnel", "192.168.220.56", "192.168.203.167", 53},
		{"ndpi/bad-dns-traffic-dnscat.pcap", "dns.tunnel", "192.168.43.91", "", 53},
		{"ndpi/icmp-tunnel.pcap", "icmp.tunnel", "", "", 0},
		{"suricata-verify/ftp-anonymous-login-bug-3519.pcap", "cred.cleartext", "192.168.0.13", "192.168.0.10", 21},
		{"suricata-verify/telnet-login.pcap", "cred.cleartext", "192.168.0.2", "192.168.0.1", 23},
		{"zeek/http-basic-auth-with-colon.pcap", "cred.cleartext", "172.24.133.205", "172.24.133.205", 8000},
		{"ndpi/http-basic-auth.pcap", "cred.cleartext", "192.168.0.4", "192.254.189.169", 80},
		{"ndpi/port4444-pe-download.pcapng", "port.suspicious", "172.16.99.201", "64.227.107.71", 4444},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.rule, func(t *testing.T) {
			all := runCapture(t, tc.file, DefaultConfig())
			got := ruleAlerts(all, tc.rule)
			if len(got) == 0 {
				for _, a := range all {
					t.Logf("other alert: %s", a.Signature)
				}
				t.Fatalf("no %s alert", tc.rule)
			}
			a := got[0]
			t.Logf("%s (update=%v) evidence=%v", a.Signature, a.Update, a.Evidence)
			if a.Update {
				t.Errorf("first alert is an update")
			}
			if tc.src != "" && a.Src.String() != tc.src {
				t.Errorf("src = %s, want %s", a.Src, tc.src)
			}
			if tc.dst != "" && a.Dst.String() != tc.dst {
				t.Errorf("dst = %s, want %s", a.Dst, tc.dst)
			}
			if tc.dport != 0 && a.DstPort != tc.dport {
				t.Errorf("dst port = %d, want %d", a.DstPort, tc.dport)
			}
			if !strings.HasPrefix(a.Signature, tc.rule+": ") {
				t.Errorf("signature %q does not start with the rule name", a.Signature)
			}
			for _, a := range got {
				if pw, ok := a.Evidence["password"]; ok && pw != maskedPassword {
					t.Errorf("password not masked: %v", pw)
				}
			}
		})
	}
}

func TestCorpusNegative(t *testing.T) {
	files := []string{
		"suricata-verify/arp-request-reply.pcap",
		"suricata-verify/ssh-hassh.pcap",
		"suricata-verify/rdp-003.pcap",
		"suricata-verify/dns-udp-eve-txt.pcap",
		"suricata-verify/dns-udp-nxdomain-soa.pcap",
		"suricata-verify/dns-udp-null-rr.pcap",
		"suricata-verify/tls13-sni-community-id-ipv4.pcap",
		"suricata-verify/tls12-sni-flow-bug-2646-01.pcap",
		"suricata-verify/tls-client-hello-frag-mtu300.pcap",
		"suricata-verify/http-host-flow-bug-78.pcap",
		"suricata-verify/http-ipv6-vlan-nikto-bug-814.pcap",
		"ndpi/dns-long-domainname-nxdomain.pcap",
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			for _, a := range runCapture(t, file, DefaultConfig()) {
				if a.Severity <= SevMedium {
					t.Errorf("unexpected %s alert (severity %d): %s", a.Rule.Name, a.Severity, a.Signature)
				}
			}
		})
	}
}

// The nmap scan probes 31337, 4444, 6667 and 12345 among its 1000 ports;
// none of them completed a session, so port.suspicious must stay quiet, and
// the scan must be one alert stream, not one alert per port.
func TestCorpusScanNotSuspicious(t *testing.T) {
	all := runCapture(t, "ndpi/synscan-nmap-1000-ports.pcap", DefaultConfig())
	if n := len(ruleAlerts(all, "port.suspicious")); n != 0 {
		t.Errorf("port.suspicious fired %d times on a SYN scan", n)
	}
	scans := ruleAlerts(all, "scan.port")
	news := 0
	for _, a := range scans {
		if !a.Update {
			news++
		}
	}
	if news != 1 || len(scans) > 10 {
		t.Errorf("scan.port: %d new alerts and %d in all, want 1 new and a few updates", news, len(scans))
	}
	last := scans[len(scans)-1]
	if n, _ := last.Evidence["ports"].(int); n < 480 {
		t.Errorf("last scan.port update reports %d ports, want about 1000 (at least half)", n)
	}
}
