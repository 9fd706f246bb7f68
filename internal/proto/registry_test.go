package proto

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestDetectionOrder: the probes of the parsers older than the registry run
// in the order detection had when it was one hand-written table (binary
// signatures, structured openings, text, DNS over TCP; on UDP QUIC before
// DNS), and the server ports that decide a flow no content named are the
// same. Parsers registered since may come anywhere in between.
func TestDetectionOrder(t *testing.T) {
	inOrder := func(ps []probe, want []string) {
		t.Helper()
		var got []string
		for _, p := range ps {
			if s := fmt.Sprintf("%d %s", p.order, appNames[p.app]); slices.Contains(want, s) {
				got = append(got, s)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("probes\n got %q\nwant %q", got, want)
		}
	}
	inOrder(tcpProbes, []string{"100 tls", "110 ssh", "120 http", "130 rdp", "140 telnet", "200 ldap", "210 pgsql", "220 socks5",
		"300 http", "310 redis", "320 pop3", "330 imap", "340 smtp", "350 ftp", "400 dns"})
	inOrder(udpProbes, []string{"100 quic", "400 dns"})
	ports := map[uint16]string{}
	for _, pa := range portApps {
		ports[pa.port] = appNames[pa.app]
	}
	for port, name := range map[uint16]string{21: "ftp", 23: "telnet", 25: "smtp", 587: "smtp", 110: "pop3", 143: "imap"} {
		if ports[port] != name {
			t.Errorf("port %d is %q's, want %q's", port, ports[port], name)
		}
	}
	for _, name := range strings.Fields("dns ftp http imap ldap pgsql pop3 quic rdp redis smtp socks5 ssh telnet tls") {
		if !slices.Contains(appNames, name) {
			t.Errorf("no protocol %q", name)
		}
	}
}

// FuzzDetectFirstBytes: detection through the first-byte index names what
// trying every registered probe in order names, so no probe's first bytes
// leave out an opening it accepts.
func FuzzDetectFirstBytes(f *testing.F) {
	for _, s := range []string{"GET / HTTP/1.1\r\n", "SSH-2.0-x\r\n", "220 mail\r\n", "\xff\xfb\x01", "+OK\r\n", "* OK\r\n",
		"*1\r\n$4\r\nPING\r\n", "\x05\x02\x00\x02\x01\x03bob\x03pwd", "\x16\x03\x01\x00\x10\x01", "0\x0c\x02\x01\x01`\x07\x02\x01\x03\x04\x00\x80\x00",
		"\x00\x00\x00\x08\x04\xd2\x16\x2f", "\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"} {
		for _, p := range []uint16{21, 53, 6379, 8080} {
			f.Add([]byte(s), true, p)
			f.Add([]byte(s), false, p)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, toServer bool, sport uint16) {
		got, more := detectTCP(b, toServer, sport, 40000)
		if more || len(b) == 0 {
			return
		}
		want := appNone
		for _, p := range tcpProbes {
			if p.match(b, toServer, sport, 40000) {
				want = p.app
				break
			}
		}
		if want == appNone {
			for _, pa := range portApps {
				if pa.port == sport {
					want = pa.app
					break
				}
			}
		}
		if got != want {
			t.Errorf("%q: %q through the index, %q trying every probe", b, appNames[got], appNames[want])
		}
	})
}

// TestDetectTCP: each registered protocol is named from its usual opening,
// ties between text banners go as before (a "220" banner by its words, then
// the port), and too few bytes wait for more unless they are a whole
// opening.
func TestDetectTCP(t *testing.T) {
	dnsQuery := "\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
	tests := []struct {
		name     string
		b        string
		toServer bool
		sport    uint16
		app      string
		more     bool
	}{
		{"tls client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", true, 8443, "tls", false},
		{"ssh banner", "SSH-2.0-OpenSSH_9.6\r\n", false, 2222, "ssh", false},
		{"http response", "HTTP/1.1 200 OK\r\n", false, 8080, "http", false},
		{"http request", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, 8080, "http", false},
		{"http method from the server", "GET / HTTP/1.1\r\n", false, 8080, "", false},
		{"rdp connection request", "\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00", true, 3389, "rdp", false},
		{"telnet negotiation", "\xff\xfd\x18\xff\xfd\x20\xff\xfd", false, 2323, "telnet", false},
		{"telnet opening in three bytes", "\xff\xfb\x01", false, 2323, "telnet", false},
		{"two bytes wait", "\xff\xfa", false, 2323, "", true},
		{"ldap simple bind", "0\x0c\x02\x01\x01`\x07\x02\x01\x03\x04\x00\x80\x00", true, 3890, "ldap", false},
		{"pgsql startup", "\x00\x00\x00\x13\x00\x03\x00\x00user\x00bob\x00\x00", true, 5433, "pgsql", false},
		{"socks5 greeting and login", "\x05\x02\x00\x02\x01\x03bob\x03pwd", true, 1080, "socks5", false},
		{"redis RESP", "*2\r\n$4\r\nAUTH\r\n$3\r\npwd\r\n", true, 7000, "redis", false},
		{"redis inline on its port", "AUTH pwd\r\n", true, 6379, "redis", false},
		{"inline command elsewhere", "AUTH pwd\r\n", true, 7000, "", false},
		{"pop3 banner", "+OK ready\r\n", false, 1110, "pop3", false},
		{"imap banner", "* OK IMAP4rev1 ready\r\n", false, 1143, "imap", false},
		{"smtp banner", "220 mx.example ESMTP Postfix\r\n", false, 2526, "smtp", false},
		{"ftp banner", "220 ProFTPD Server ready\r\n", false, 25, "ftp", false},
		{"plain 220 on a mail port", "220 hello\r\n", false, 2525, "smtp", false},
		{"plain 220 elsewhere", "220 hello\r\n", false, 2121, "ftp", false},
		{"dns over tcp", dnsQuery, true, 53, "dns", false},
		{"text on 21", "hello there\r\n", false, 21, "ftp", false},
		{"text on 23", "hello there\r\n", false, 23, "telnet", false},
		{"text on 110", "hello there\r\n", false, 110, "pop3", false},
		{"text on 143", "hello there\r\n", false, 143, "imap", false},
		{"text on 587", "hello there\r\n", false, 587, "smtp", false},
		{"text elsewhere", "hello there\r\n", false, 9999, "", false},
		{"short text waits", "abc", true, 21, "", true},
		{"short line decides", "QUIT\n", true, 21, "ftp", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, more := detectTCP([]byte(tt.b), tt.toServer, tt.sport, 40000)
			if appNames[app] != tt.app || more != tt.more {
				t.Errorf("got %q more %v, want %q more %v", appNames[app], more, tt.app, tt.more)
			}
		})
	}
}

// saveRegistry restores the registry when the test ends, so that a test's
// own protocol does not outlive it.
func saveRegistry(t *testing.T) {
	p, n, tp, up, pa, tf := slices.Clone(protocols), slices.Clone(appNames), slices.Clone(tcpProbes), slices.Clone(udpProbes), slices.Clone(portApps), tcpFirst
	t.Cleanup(func() { protocols, appNames, tcpProbes, udpProbes, portApps, tcpFirst = p, n, tp, up, pa, tf })
}

// TestRegisterProtocolRejects: what would make detection ambiguous or a
// flow unparsable is refused at registration, and the registry is left as
// it was.
func TestRegisterProtocolRejects(t *testing.T) {
	saveRegistry(t)
	yes := func([]byte, bool, uint16, uint16) bool { return true }
	mk := func(*State) parser { return &toyParser{} }
	tests := []struct {
		name string
		p    protocol
		want string
	}{
		{"no name", protocol{tcp: []probe{{order: 999, match: yes}}, newTCP: mk}, "without a name"},
		{"name taken", protocol{name: "ssh", tcp: []probe{{order: 999, match: yes}}, newTCP: mk}, `"ssh" registered twice`},
		{"order taken", protocol{name: "x", tcp: []probe{{order: tierSignature + 10, match: yes}}, newTCP: mk}, `"ssh" and "x" share order 110`},
		{"orders of its own clash", protocol{name: "x", tcp: []probe{{order: 998, match: yes}, {order: 998, match: yes}}, newTCP: mk}, "share order 998"},
		{"port taken", protocol{name: "x", ports: []uint16{23}, newTCP: mk}, `port 23 registered by "telnet" and "x"`},
		{"probe without a test", protocol{name: "x", tcp: []probe{{order: 999}}, newTCP: mk}, "probe without a test"},
		{"no tcp parser", protocol{name: "x", tcp: []probe{{order: 999, match: yes}}}, "no TCP parser"},
		{"no udp parser", protocol{name: "x", udp: []probe{{order: 999, match: yes}}}, "no UDP parser"},
		{"undetectable", protocol{name: "x", newTCP: mk}, "no way to be detected"},
	}
	before := fmt.Sprint(len(protocols), appNames, len(tcpProbes), len(udpProbes), portApps)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tt.want) {
					t.Errorf("panic %v, want one saying %q", r, tt.want)
				}
			}()
			registerProtocol(tt.p)
		})
	}
	if after := fmt.Sprint(len(protocols), appNames, len(tcpProbes), len(udpProbes), portApps); after != before {
		t.Errorf("registry changed: %s -> %s", before, after)
	}
}

// toyRecord and toyParser are a protocol as a new parser file would write
// it: each line either side sends is a record.
type toyRecord struct{ Text string }

func (r *toyRecord) EventType() string { return "toy" }
func (r *toyRecord) AppendEVE(b []byte, o EVEOptions) ([]byte, error) {
	j, err := json.Marshal(map[string]any{"line": r.Text, "secrets": o.ShowSecrets})
	return append(b, j...), err
}
func (r *toyRecord) Line() (string, string) { return r.Text, "toy" }

type toyParser struct{}

func (p *toyParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	n := 0
	for {
		i := strings.IndexByte(string(b[n:]), '\n')
		if i < 0 {
			return n, false
		}
		c.record(&toyRecord{Text: string(b[n : n+i])}, toServer)
		n += i + 1
	}
}
func (p *toyParser) close(c *ctx) { c.record(&toyRecord{Text: "closed"}, true) }
func (p *toyParser) done() bool   { return false }

// TestRegisteredProtocol: a protocol registered from its own file is
// detected by its probe on TCP and UDP, run, and its records reach the
// engine as events of its type with their body, with nothing else edited.
func TestRegisteredProtocol(t *testing.T) {
	saveRegistry(t)
	isToy := func(b []byte, toServer bool, _, _ uint16) bool {
		return toServer && strings.HasPrefix(string(b), "TOY ")
	}
	registerProtocol(protocol{name: "toy",
		tcp:    []probe{{order: tierText + 90, match: isToy}},
		newTCP: func(*State) parser { return &toyParser{} },
		udp:    []probe{{order: tierText + 90, match: isToy}},
		newUDP: func(*State) parser { return &toyParser{} }})

	var got []string
	emit := func(e *Event) {
		r, ok := e.Body.(*toyRecord)
		if !ok || e.Type != "toy" {
			t.Errorf("event %q with body %T", e.Type, e.Body)
			return
		}
		got = append(got, r.Text)
	}
	st := &State{}
	pkts := stream(40000, 7777, []seg{{true, "TOY one\nTOY two\n"}, {false, "ok\n"}, {true, "TOY three\n"}})
	for i := range pkts {
		st.Packet(&Config{}, pkts[i].DstPort == 7777, &pkts[i], emit)
	}
	st.Close(&Config{}, emit)
	if st.AppProto() != "toy" || strings.Join(got, ",") != "TOY one,TOY two,ok,TOY three,closed" {
		t.Errorf("tcp: app_proto %q, records %q", st.AppProto(), got)
	}

	got = nil
	st = &State{}
	for i, d := range []string{"hello\n", "TOY one\n", "TOY two\n"} {
		s := udpSummary(true, []byte(d), uint64(i+1))
		st.Packet(&Config{}, true, &s, emit)
	}
	st.Close(&Config{}, emit)
	if st.AppProto() != "toy" || strings.Join(got, ",") != "TOY one,TOY two,closed" {
		t.Errorf("udp: app_proto %q, records %q", st.AppProto(), got)
	}
}

// TestFollowsPacket holds FollowsPacket to the registry: true for exactly
// the protocols registered with packetDir, false for every other name.
func TestFollowsPacket(t *testing.T) {
	want := map[string]bool{}
	for _, p := range protocols {
		want[p.name] = p.packetDir
	}
	for _, name := range []string{"dns", "mdns", "quic", "rdp"} {
		if !want[name] {
			t.Errorf("%s is not registered with packetDir", name)
		}
	}
	for name, w := range want {
		if got := FollowsPacket(name); got != w {
			t.Errorf("FollowsPacket(%q) = %v, want %v", name, got, w)
		}
	}
	for _, name := range []string{"", "dn", "dnss", "DNS", "flow", "alert"} {
		if FollowsPacket(name) {
			t.Errorf("FollowsPacket(%q) = true", name)
		}
	}
}
