package proto

import (
	"encoding/json"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// corpusPayloads returns the non-empty payloads of a capture in one
// direction of one server port (0: any), for fuzz seeds.
func corpusPayloads(tb testing.TB, file string, port uint16, toServer bool) [][]byte {
	var out [][]byte
	for _, s := range readPcap(tb, file) {
		if len(s.Payload) == 0 {
			continue
		}
		if port == 0 || (toServer && s.DstPort == port) || (!toServer && s.SrcPort == port) {
			out = append(out, s.Payload)
		}
	}
	return out
}

// streamOf concatenates payloads up to n bytes.
func streamOf(ps [][]byte, n int) []byte {
	var b []byte
	for _, p := range ps {
		b = append(b, p...)
		if len(b) >= n {
			return b[:n]
		}
	}
	return b
}

// feedParser drives a parser the way State does: unconsumed bytes are
// presented again with the next chunk appended. It checks the contract.
func feedParser(t *testing.T, p parser, toServer bool, data []byte, chunk int) {
	if chunk <= 0 {
		chunk = 1
	}
	c := &ctx{cfg: &Config{}, st: &State{}, emit: func(*Event) {}}
	var buf []byte
	for i := 0; i < len(data); i += chunk {
		buf = append(buf, data[i:min(i+chunk, len(data))]...)
		n, stop := p.feed(c, toServer, buf)
		if n < 0 || n > len(buf) {
			t.Fatalf("feed consumed %d of %d", n, len(buf))
		}
		if stop {
			break
		}
		buf = buf[n:]
	}
	p.close(c)
}

func FuzzParseDNS(f *testing.F) {
	for _, file := range []string{"suricata-verify/dns-udp-eve-txt.pcap", "suricata-verify/dns-udp-nxdomain-soa.pcap",
		"suricata-verify/dns-udp-null-rr.pcap", "ndpi/dns-exf-high-entropy.pcap",
		"../../internal/proto/testdata/dns-dnsmasq.pcap"} {
		for _, p := range corpusPayloads(f, file, 0, true) {
			f.Add(p)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDNS(b)
		if err == nil && m == nil {
			t.Fatal("nil message without error")
		}
		if m != nil {
			checkDNSShape(t, m)
		}
		(&dnsParser{tcp: true}).feed(&ctx{cfg: &Config{}, st: &State{}}, true, b)
	})
}

func FuzzTLSHello(f *testing.F) {
	for _, file := range []string{"suricata-verify/tls13-sni-community-id-ipv4.pcap", "suricata-verify/tls12-sni-flow-bug-2646-01.pcap"} {
		for _, p := range corpusPayloads(f, file, 443, true)[:1] {
			f.Add(p[9:])
		}
		for _, p := range corpusPayloads(f, file, 443, false)[:1] {
			f.Add(p[9:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if ch, err := ParseClientHello(b); err == nil {
			ch.JA3()
			ch.JA4()
		}
		if sh, err := ParseServerHello(b); err == nil {
			sh.JA3S()
		}
	})
}

func FuzzTLSStream(f *testing.F) {
	for _, file := range []string{"suricata-verify/tls12-sni-flow-bug-2646-01.pcap", "suricata-verify/tls-client-hello-frag-mtu300.pcap"} {
		f.Add(streamOf(corpusPayloads(f, file, 443, false), 4096), uint8(100), false)
		f.Add(streamOf(corpusPayloads(f, file, 443, true), 4096), uint8(7), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8, toServer bool) {
		feedParser(t, &tlsParser{}, toServer, b, int(chunk))
		certFields(&TLS{}, b)
	})
}

func FuzzHTTP(f *testing.F) {
	for _, file := range []string{"suricata-verify/http-host-flow-bug-78.pcap", "zeek/http-basic-auth-with-colon.pcap"} {
		f.Add(streamOf(corpusPayloads(f, file, 0, true), 4096), uint8(13), true)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 404 x\r\n\r\n"), uint8(3), false)
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8, toServer bool) {
		p := &httpParser{}
		feedParser(t, p, toServer, b, int(chunk))
		feedParser(t, p, !toServer, b, int(chunk))
	})
}

func FuzzSSH(f *testing.F) {
	f.Add(streamOf(corpusPayloads(f, "suricata-verify/ssh-hassh.pcap", 22, true), 4096), uint8(50))
	f.Add(streamOf(corpusPayloads(f, "suricata-verify/ssh-hassh.pcap", 22, false), 4096), uint8(200))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		feedParser(t, &sshParser{}, true, b, int(chunk))
		feedParser(t, &sshParser{}, false, b, int(chunk))
		if len(b) > 0 {
			ParseKexInit(b)
		}
	})
}

func FuzzLineProtocols(f *testing.F) {
	f.Add(streamOf(corpusPayloads(f, "suricata-verify/ftp-anonymous-login-bug-3519.pcap", 21, false), 4096), uint8(9), uint8(0))
	f.Add(streamOf(corpusPayloads(f, "suricata-verify/ftp-anonymous-login-bug-3519.pcap", 21, true), 4096), uint8(9), uint8(0))
	f.Add([]byte("a1 LOGIN \"x\\\"\" y\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n+OK\r\n235 ok\r\na1 OK\r\n"), uint8(4), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8, kind uint8) {
		var p parser
		switch kind % 4 {
		case 0:
			p = &ftpParser{}
		case 1:
			p = &mailParser{kind: appSMTP}
		case 2:
			p = &mailParser{kind: appPOP3}
		default:
			p = &mailParser{kind: appIMAP}
		}
		feedParser(t, p, true, b, int(chunk))
		feedParser(t, p, false, b, int(chunk))
	})
}

func FuzzTelnet(f *testing.F) {
	f.Add(streamOf(corpusPayloads(f, "suricata-verify/telnet-login.pcap", 23, false), 4096), uint8(1))
	f.Add(streamOf(corpusPayloads(f, "suricata-verify/telnet-login.pcap", 23, true), 4096), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		p := &telnetParser{}
		feedParser(t, p, false, b, int(chunk))
		feedParser(t, p, true, b, int(chunk))
		if len(p.line) > telnetMaxLine || len(p.srv) > telnetMaxLine*2 {
			t.Fatalf("telnet buffers grew: %d %d", len(p.line), len(p.srv))
		}
	})
}

func FuzzRDP(f *testing.F) {
	for _, p := range corpusPayloads(f, "suricata-verify/rdp-003.pcap", 3389, true)[:2] {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseRDPCookie(b)
		feedParser(t, &rdpParser{}, true, b, 5)
	})
}

// FuzzStatePacket drives State.Packet with random segment sequences: each
// record of the input is a header (flags, direction, sequence jitter,
// length) followed by that many payload bytes. Bit 1 of the direction byte
// scales the jitter by 2^24, reaching half the sequence space either way.
func FuzzStatePacket(f *testing.F) {
	// Issue 12, finding 1: data, then one byte 2^31 past it.
	f.Add([]byte{packet.TCPAck, 0, 0, 5, 'G', 'E', 'T', ' ', '/', packet.TCPAck, 2, 0x80, 1, 'x'}, uint16(4444))
	f.Add(encodeStream(f, "suricata-verify/telnet-login.pcap", 23), uint16(23))
	f.Add(encodeStream(f, "zeek/ftp-password-pass-command.pcap", 21), uint16(21))
	f.Add(encodeStream(f, "suricata-verify/http-ipv6-vlan-nikto-bug-814.pcap", 80), uint16(80))
	f.Add(encodeStream(f, "suricata-verify/dns-udp-eve-txt.pcap", 53), uint16(53))
	// Issue 15 and 18: detection by content of the credential protocols,
	// a SOCKS5 tunnel detected afresh, an SSLRequest upgrade.
	f.Add(encodeStream(f, "creds/socks5-auth.pcap", 18108), uint16(18108))
	f.Add(encodeStream(f, "creds/ldap-bind.pcap", 18389), uint16(18389))
	f.Add(encodeStream(f, "creds/redis-auth.pcap", 18379), uint16(18379))
	f.Add(encodeStream(f, "creds/pgsql-sslrequest.pcap", 18433), uint16(18433))
	f.Fuzz(func(t *testing.T, b []byte, port uint16) {
		st := &State{}
		cfg := &Config{MaxBytes: 512}
		emit := func(e *Event) {
			if e.Type == "" {
				t.Fatal("event without type")
			}
		}
		feedState(t, st, cfg, b, port, emit)
		st.Close(cfg, emit)
		st.AppProto()
	})
}

// encodeStream turns a corpus capture's payloads into a FuzzStatePacket
// input; port is the server's.
func encodeStream(tb testing.TB, file string, port uint16) []byte {
	var out []byte
	for _, s := range readPcap(tb, file) {
		if len(s.Payload) == 0 || len(s.Payload) > 255 {
			continue
		}
		dir := byte(0)
		if s.SrcPort == port {
			dir = 1
		}
		out = append(out, packet.TCPAck, dir, 0, byte(len(s.Payload)))
		out = append(out, s.Payload...)
	}
	return out
}

// feedState decodes a FuzzStatePacket input into segments of one flow and
// feeds them to st, checking its bounds after each.
func feedState(t *testing.T, st *State, cfg *Config, b []byte, port uint16, emit func(*Event)) {
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seq := [2]uint32{1, 1}
	proto := packet.ProtoTCP
	if port == 53 {
		proto = packet.ProtoUDP
	}
	for i := uint64(1); len(b) >= 4 && !st.Done(); i++ {
		flags, dir, jitter, l := b[0], b[1]&1, int8(b[2]), int(b[3])
		far := b[1]&2 != 0
		b = b[4:]
		l = min(l, len(b))
		payload := b[:l]
		b = b[l:]
		s := packet.Summary{Index: i, IPVersion: 4, Proto: proto, HasL4: true, TCPFlags: flags, Payload: payload}
		if dir == 0 {
			s.Src, s.Dst, s.SrcPort, s.DstPort = cli, srv, 40000, port
		} else {
			s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, port, 40000
		}
		j := int64(jitter)
		if far {
			j <<= 24 // far jumps, up to half the sequence space either way
		}
		s.Seq = seq[dir] + uint32(j)
		if jitter == 0 {
			seq[dir] += uint32(l)
		}
		st.Packet(cfg, dir == 0, &s, emit)
		lim := max(cfg.MaxBytes, st.streamLimit(cfg)) // DNS over TCP holds a whole message
		for d := 0; st.h != nil && d < 2; d++ {
			if len(st.h[d].buf) > lim || len(st.h[d].pend) > lim || len(st.h[d].ooo) > maxOOOSegs || st.h[d].oooLen > lim {
				t.Fatalf("direction %d holds %d bytes, %d segments of %d bytes", d, len(st.h[d].buf), len(st.h[d].ooo), st.h[d].oooLen)
			}
		}
	}
}

// fuzzPool persists across FuzzPooledState's inputs, so each input is
// parsed in memory that earlier, different inputs used.
var (
	fuzzPoolMu sync.Mutex
	fuzzPool   Pool
)

// FuzzPooledState is differential: an input parsed by a State from a pool
// that earlier inputs (and its own first half) dirtied must give exactly
// the events of a fresh State (encoded at emit time, as pooled events live
// only that long).
func FuzzPooledState(f *testing.F) {
	f.Add(encodeStream(f, "suricata-verify/tls-client-hello-frag-mtu300.pcap", 443), uint16(443))
	f.Add(encodeStream(f, "ndpi/http-basic-auth.pcap", 80), uint16(80))
	f.Add(encodeStream(f, "suricata-verify/dns-udp-eve-txt.pcap", 53), uint16(53))
	f.Add(encodeStream(f, "zeek/ftp-password-pass-command.pcap", 21), uint16(21))
	f.Fuzz(func(t *testing.T, b []byte, port uint16) {
		run := func(st *State, b []byte) []string {
			var out []string
			emit := func(e *Event) {
				j, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, string(j))
			}
			cfg := &Config{MaxBytes: 512}
			feedState(t, st, cfg, b, port, emit)
			st.Close(cfg, emit)
			return out
		}
		want := run(&State{}, b)
		fuzzPoolMu.Lock()
		defer fuzzPoolMu.Unlock()
		// First the input cut in half, which likely leaves a parser in the
		// middle of something (a body, a handshake, a login), then the
		// whole input in the memory that run gave back.
		st := fuzzPool.Get()
		run(st, b[:len(b)/2])
		fuzzPool.Put(st)
		st = fuzzPool.Get()
		got := run(st, b)
		fuzzPool.Put(st)
		if !slices.Equal(got, want) {
			t.Fatalf("pooled events differ\n got: %q\nwant: %q", got, want)
		}
	})
}

// checkDNSShape checks what Suricata's EVE schema and opsdeck's bounds
// require of any parsed message: sections bounded, objects only in the
// sections whose schema has them, names within Suricata's length.
func checkDNSShape(t *testing.T, m *DNS) {
	t.Helper()
	if len(m.Queries) > maxDNSRecords || len(m.Answers) > maxDNSRecords || len(m.Authorities) > maxDNSRecords ||
		len(m.Additionals) > maxDNSRecords {
		t.Fatalf("section over the bound: %d %d %d %d", len(m.Queries), len(m.Answers), len(m.Authorities), len(m.Additionals))
	}
	for _, q := range m.Queries {
		if len(q.RRName) > 4*maxDNSName {
			t.Fatalf("name of %d bytes", len(q.RRName))
		}
	}
	for i, sec := range [][]DNSAnswer{m.Answers, m.Authorities, m.Additionals} {
		for _, a := range sec {
			if (a.SRV != nil || a.SSHFP != nil) && i != 0 || len(a.Opt) > 0 && i != 2 || a.SOA != nil && i == 2 ||
				(a.RRNameTruncated || a.RDataTruncated) && i != 1 {
				t.Fatalf("section %d has a field its schema lacks: %+v", i, a)
			}
			for _, o := range a.Opt {
				if len(o.Data)%2 != 0 {
					t.Fatalf("option data %q", o.Data)
				}
			}
		}
	}
}
