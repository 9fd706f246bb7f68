package proto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// rdp-003.pcap is the capture of Suricata's RDP documentation example
// (suricata-verify tests/rdp/rdp-protocol): a Windows XP client with
// standard RDP security. Suricata's documented output for it, with the
// transaction ids Suricata 7 and later give (from 1), and the frames that
// acknowledge each message (tshark: frames 5, 7, 8 and 9), whose direction
// the event takes as Suricata's packet-direction logging does.
func TestRDPCorpusSuricata(t *testing.T) {
	evs := ofType(runPcap(t, "suricata-verify/rdp-003.pcap", &Config{}), "rdp")
	want := []struct {
		json     string
		pcapCnt  uint64
		toServer bool
	}{
		{`{"tx_id":1,"event_type":"initial_request","cookie":"A70067"}`, 5, false},
		{`{"tx_id":2,"event_type":"initial_response"}`, 7, true},
		{`{"tx_id":3,"event_type":"connect_request","client":{"version":"v5","desktop_width":1152,` +
			`"desktop_height":864,"color_depth":15,"keyboard_layout":"en-US","build":"Windows XP",` +
			`"client_name":"ISD2-KM84178","keyboard_type":"enhanced","function_keys":12,"product_id":1,` +
			`"capabilities":["support_errinfo_pdf"],"id":"55274-OEM-0011903-00107"},` +
			`"channels":["rdpdr","cliprdr","rdpsnd"]}`, 8, false},
		{`{"tx_id":4,"event_type":"connect_response"}`, 9, true},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d rdp events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		j, err := json.Marshal(evs[i].RDP)
		if err != nil {
			t.Fatal(err)
		}
		if string(j) != w.json {
			t.Errorf("event %d:\n got %s\nwant %s", i, j, w.json)
		}
		if evs[i].PcapCnt != w.pcapCnt || evs[i].ToServer != w.toServer {
			t.Errorf("event %d at frame %d toServer %v, want %d %v", i, evs[i].PcapCnt, evs[i].ToServer, w.pcapCnt, w.toServer)
		}
	}
}

// tpkt frames an X.224 TPDU.
func tpkt(tpdu []byte) []byte {
	b := []byte{3, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(tpdu)))
	return append(b, tpdu...)
}

// x224 builds a class 0 Connection Request (0xe) or Confirm (0xd) TPDU.
func x224(typ byte, variable []byte) []byte {
	return append([]byte{byte(6 + len(variable)), typ << 4, 0, 0, 0x12, 0x34, 0}, variable...)
}

// negMsg builds an RDP_NEG_REQ (1), RDP_NEG_RSP (2) or RDP_NEG_FAILURE (3).
func negMsg(typ, flags byte, v uint32) []byte {
	b := []byte{typ, flags, 8, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[4:], v)
	return b
}

// coreOpts are the fields of a synthesized TS_UD_CS_CORE.
type coreOpts struct {
	version, layout, build, kbType uint32
	name, ime, id                  string
	postDepth, highDepth           uint16
	supported, early               uint16
	conn                           byte
	physW, physH                   uint32
	orient                         uint16
	scale, devScale                uint32
	optional                       int // how many bytes of the optional part to keep (-1: all)
}

func utf16Field(s string, n int) []byte {
	b := make([]byte, n)
	for i, u := range utf16.Encode([]rune(s)) {
		if 2*i+1 < n {
			binary.LittleEndian.PutUint16(b[2*i:], u)
		}
	}
	return b
}

func le16b(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32b(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// clientCore builds a TS_UD_CS_CORE block.
func clientCore(o coreOpts) []byte {
	var b []byte
	b = append(b, le32b(o.version)...)
	b = append(b, le16b(1920)...)
	b = append(b, le16b(1080)...)
	b = append(b, le16b(0xca01)...) // colorDepth 8 bpp
	b = append(b, le16b(0xaa03)...) // SASSequence
	b = append(b, le32b(o.layout)...)
	b = append(b, le32b(o.build)...)
	b = append(b, utf16Field(o.name, 32)...)
	b = append(b, le32b(o.kbType)...)
	b = append(b, le32b(0)...)  // subtype
	b = append(b, le32b(12)...) // function keys
	b = append(b, utf16Field(o.ime, 64)...)
	var opt []byte
	opt = append(opt, le16b(o.postDepth)...)
	opt = append(opt, le16b(1)...) // clientProductId
	opt = append(opt, le32b(0)...) // serialNumber
	opt = append(opt, le16b(o.highDepth)...)
	opt = append(opt, le16b(o.supported)...)
	opt = append(opt, le16b(o.early)...)
	opt = append(opt, utf16Field(o.id, 64)...)
	opt = append(opt, o.conn, 0)
	opt = append(opt, le32b(1)...) // serverSelectedProtocol
	opt = append(opt, le32b(o.physW)...)
	opt = append(opt, le32b(o.physH)...)
	opt = append(opt, le16b(o.orient)...)
	opt = append(opt, le32b(o.scale)...)
	opt = append(opt, le32b(o.devScale)...)
	if o.optional >= 0 {
		opt = opt[:min(o.optional, len(opt))]
	}
	b = append(b, opt...)
	return append(append(le16b(0xc001), le16b(uint16(4+len(b)))...), b...)
}

// clientNet builds a TS_UD_CS_NET block.
func clientNet(names ...string) []byte {
	b := le32b(uint32(len(names)))
	for _, n := range names {
		name := make([]byte, 8)
		copy(name, n)
		b = append(b, name...)
		b = append(b, le32b(0x80800000)...)
	}
	return append(append(le16b(0xc003), le16b(uint16(4+len(b)))...), b...)
}

// connectInitial wraps client data blocks in an MCS Connect Initial with a
// GCC Conference Create Request, in an X.224 Data TPDU.
func connectInitial(blocks ...[]byte) []byte {
	data := slices.Concat(blocks...)
	gcc := []byte("\x00\x05\x00\x14\x7c\x00\x01\x81\x2a\x00\x08\x00\x10\x00\x01\xc0\x00Duca")
	l := len(data)
	gcc = append(gcc, byte(0x80|l>>8), byte(l))
	gcc = append(gcc, data...)
	mcs := append([]byte{0x7f, 0x65, 0x82, 0, 0}, gcc...) // lengths are not checked
	return tpkt(append([]byte{2, 0xf0, 0x80}, mcs...))
}

func TestRDPMessages(t *testing.T) {
	full := coreOpts{version: 0x8000c, layout: 0x407, build: 7601, kbType: 4, name: "WS-ÜBER-01",
		ime: "", id: "1f7b2a", postDepth: 0xca01, highDepth: 24, supported: 0xf, early: 0x1 | 0x20 | 0x10 | 0x400,
		conn: 7, physW: 520, physH: 290, orient: 90, scale: 125, devScale: 140, optional: -1}
	tests := []struct {
		name     string
		toServer bool
		msg      []byte
		want     string // JSON of the rdp object; "" for none
	}{
		{"request cookie and flags", true,
			tpkt(x224(0xe, append([]byte("Cookie: mstshash=alice\r\n"), negMsg(1, 0x0b, 3)...))),
			`{"tx_id":1,"event_type":"initial_request","cookie":"alice","flags":["restricted_admin_mode_required","redirected_authentication_mode_required","correlation_info_present"]}`},
		{"request unknown flag bit", true, tpkt(x224(0xe, negMsg(1, 0x04, 3))),
			`{"tx_id":1,"event_type":"initial_request"}`},
		{"request no negotiation", true, tpkt(x224(0xe, nil)), `{"tx_id":1,"event_type":"initial_request"}`},
		{"request cookie without CRLF", true, tpkt(x224(0xe, []byte("Cookie: mstshash=bob"))),
			`{"tx_id":1,"event_type":"initial_request"}`},
		{"response hybrid", false, tpkt(x224(0xd, negMsg(2, 0x1f, 2))),
			`{"tx_id":1,"event_type":"initial_response","server_supports":["extended_client_data","dynvc_gfx","restricted_admin","redirected_authentication"],"protocol":"hybrid"}`},
		{"response rdp no flags", false, tpkt(x224(0xd, negMsg(2, 0, 0))),
			`{"tx_id":1,"event_type":"initial_response","protocol":"rdp"}`},
		{"response unknown protocol", false, tpkt(x224(0xd, negMsg(2, 1, 3))),
			`{"tx_id":1,"event_type":"initial_response"}`},
		{"failure", false, tpkt(x224(0xd, negMsg(3, 0, 5))),
			`{"tx_id":1,"event_type":"initial_response","error_code":5,"reason":"hybrid required by server"}`},
		{"failure unknown code", false, tpkt(x224(0xd, negMsg(3, 0, 9))), `{"tx_id":1,"event_type":"initial_response"}`},
		{"confirm from the client is no transaction", true, tpkt(x224(0xd, negMsg(2, 0, 0))), ""},
		{"connect request, every field", true, connectInitial(clientCore(full), le16b(0xc002), le16b(12), make([]byte, 8), clientNet("rdpdr", "rdpsnd", "cliprdr", "drdynvc")),
			`{"tx_id":1,"event_type":"connect_request","client":{"version":"v10.7","desktop_width":1920,"desktop_height":1080,` +
				`"color_depth":24,"keyboard_layout":"de-DE","build":"Windows 7 SP1","client_name":"WS-ÜBER-01","keyboard_type":"enhanced",` +
				`"function_keys":12,"product_id":1,"capabilities":["support_errinfo_pdf","valid_connection_type","support_heartbeat_pdu"],` +
				`"id":"1f7b2a","connection_hint":"autodetect","physical_width":520,"physical_height":290,"desktop_orientation":90,` +
				`"scale_factor":125,"device_scale_factor":140},"channels":["rdpdr","rdpsnd","cliprdr","drdynvc"]}`},
		// An early capability flag Suricata does not know (0x800,
		// RNS_UD_CS_SUPPORT_SKIP_CHANNELJOIN) ends the optional fields
		// there, as it does in Suricata.
		{"connect request, unknown capability", true, connectInitial(clientCore(func() coreOpts { o := full; o.early |= 0x800; return o }())),
			`{"tx_id":1,"event_type":"connect_request","client":{"version":"v10.7","desktop_width":1920,"desktop_height":1080,` +
				`"color_depth":24,"keyboard_layout":"de-DE","build":"Windows 7 SP1","client_name":"WS-ÜBER-01","keyboard_type":"enhanced",` +
				`"function_keys":12,"product_id":1}}`},
		// A physical width out of 10-10000 mm ends them too.
		{"connect request, physical size out of range", true, connectInitial(clientCore(func() coreOpts { o := full; o.physW = 5; return o }())),
			`{"tx_id":1,"event_type":"connect_request","client":{"version":"v10.7","desktop_width":1920,"desktop_height":1080,` +
				`"color_depth":24,"keyboard_layout":"de-DE","build":"Windows 7 SP1","client_name":"WS-ÜBER-01","keyboard_type":"enhanced",` +
				`"function_keys":12,"product_id":1,"capabilities":["support_errinfo_pdf","valid_connection_type","support_heartbeat_pdu"],` +
				`"id":"1f7b2a","connection_hint":"autodetect"}}`},
		{"connect request, no optional fields, unknown build and layout", true,
			connectInitial(clientCore(coreOpts{version: 0x90000, layout: 0xffff, build: 22631, name: "X", optional: 0})),
			`{"tx_id":1,"event_type":"connect_request","client":{"version":"unknown","desktop_width":1920,"desktop_height":1080,` +
				`"color_depth":8,"keyboard_layout":"unknown","build":"unknown","client_name":"X","function_keys":12}}`},
		{"connect request, network data only", true, connectInitial(clientNet("a")),
			`{"tx_id":1,"event_type":"connect_request","channels":["a"]}`},
		{"connect response", false, tpkt([]byte{2, 0xf0, 0x80, 0x7f, 0x66, 0x82, 0x01, 0x00}),
			`{"tx_id":1,"event_type":"connect_response"}`},
		{"other data", false, tpkt([]byte{2, 0xf0, 0x80, 0x68, 0x00}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{len(tt.msg), 1} {
				evs := rdpRun(t, &Config{}, []rdpSeg{{tt.toServer, tt.msg}}, chunk)
				got := ""
				if len(evs) > 1 {
					t.Fatalf("%d events", len(evs))
				}
				if len(evs) == 1 {
					j, _ := json.Marshal(evs[0].RDP)
					got = string(j)
				}
				if got != tt.want {
					t.Errorf("chunk %d:\n got %s\nwant %s", chunk, got, tt.want)
				}
			}
		})
	}
}

// A client name with an unpaired surrogate is not UTF-16: Suricata's
// parser rejects the core data and stops reading the client data blocks
// there, so neither the client nor the channels after it are logged.
func TestRDPClientNameNotUTF16(t *testing.T) {
	core := clientCore(coreOpts{name: "AB", optional: 0})
	binary.LittleEndian.PutUint16(core[4+20:], 0xd800)
	evs := rdpRun(t, &Config{}, []rdpSeg{{true, connectInitial(core, clientNet("rdpdr"))}}, 0)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	if j, _ := json.Marshal(evs[0].RDP); string(j) != `{"tx_id":1,"event_type":"connect_request"}` {
		t.Fatalf("event %s", j)
	}
}

type rdpSeg struct {
	toServer bool
	data     []byte
}

// rdpRun feeds segments to an rdpParser the way State does (unconsumed
// bytes kept, each direction cut at the inspected-bytes bound) in chunks
// of the given size (0: whole), and returns the events.
func rdpRun(t *testing.T, cfg *Config, segs []rdpSeg, chunk int) []*Event {
	t.Helper()
	var evs []*Event
	p := &rdpParser{}
	c := &ctx{cfg: cfg, st: &State{}, emit: func(e *Event) { evs = append(evs, e) }}
	var buf [2][]byte
	var seen [2]int
	var stopped [2]bool
	for _, sg := range segs {
		d := 1
		if sg.toServer {
			d = 0
		}
		data := sg.data
		for len(data) > 0 && !stopped[d] && !p.done() {
			k := len(data)
			if chunk > 0 {
				k = min(chunk, k)
			}
			k = min(k, cfg.maxBytes()-seen[d])
			if k <= 0 {
				break
			}
			seen[d] += k
			buf[d] = append(buf[d], data[:k]...)
			data = data[k:]
			n, stop := p.feed(c, sg.toServer, buf[d])
			if n < 0 || n > len(buf[d]) {
				t.Fatalf("feed consumed %d of %d", n, len(buf[d]))
			}
			buf[d] = buf[d][n:]
			stopped[d] = stop
		}
	}
	p.close(c)
	return evs
}

// rdpCert makes a self-signed DER certificate with the given serial.
func rdpCert(t testing.TB, serial *big.Int, pad int) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "rdp-host", Organization: []string{strings.Repeat("o", pad)}},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1800000000, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// tlsRecords builds the server's first flight: ServerHello, Certificate and
// ServerHelloDone in one handshake record.
func tlsServerFlight(certs ...[]byte) []byte {
	hs := func(typ byte, body []byte) []byte {
		return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	}
	sh := hs(2, append(append([]byte{3, 3}, make([]byte, 32)...), 0, 0xc0, 0x2f, 0))
	var list []byte
	for _, c := range certs {
		list = append(list, byte(len(c)>>16), byte(len(c)>>8), byte(len(c)))
		list = append(list, c...)
	}
	cert := hs(11, append([]byte{byte(len(list) >> 16), byte(len(list) >> 8), byte(len(list))}, list...))
	body := slices.Concat(sh, cert, hs(14, nil))
	return append([]byte{22, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

func clientHelloRecord() []byte {
	body := []byte{1, 0, 0, 6, 3, 3, 0, 0, 0, 0}
	return append([]byte{22, 3, 1, 0, byte(len(body))}, body...)
}

// A connection that moves to TLS logs the serial numbers of the server's
// chain (lowercase hex, no leading zeros: Suricata's BigUint rendering)
// and nothing after.
func TestRDPTLSHandshake(t *testing.T) {
	leaf := rdpCert(t, big.NewInt(0x8000), 0) // DER 00 80 00
	ca := rdpCert(t, new(big.Int).SetBytes([]byte{0x16, 0xed, 0x2a, 0xa0, 0x49, 0x5f, 0x25, 0x9d}), 0)
	segs := []rdpSeg{
		{true, tpkt(x224(0xe, append([]byte("Cookie: mstshash=admin\r\n"), negMsg(1, 0, 3)...)))},
		{false, tpkt(x224(0xd, negMsg(2, 0x1, 1)))},
		{true, clientHelloRecord()},
		{false, tlsServerFlight(leaf, ca)},
		{true, []byte{20, 3, 3, 0, 1, 1, 22, 3, 3, 0, 4, 0xde, 0xad, 0xbe, 0xef}},
		{false, tpkt(x224(0xd, negMsg(2, 0, 0)))}, // bypassed: not logged
	}
	evs := rdpRun(t, &Config{}, segs, 0)
	var got []string
	for _, e := range evs {
		j, _ := json.Marshal(e.RDP)
		got = append(got, string(j))
	}
	want := []string{
		`{"tx_id":1,"event_type":"initial_request","cookie":"admin"}`,
		`{"tx_id":2,"event_type":"initial_response","server_supports":["extended_client_data"],"protocol":"ssl"}`,
		`{"tx_id":3,"event_type":"tls_handshake","x509_serials":["8000","16ed2aa0495f259d"]}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
	// Byte by byte, the same.
	if evs := rdpRun(t, &Config{}, segs, 1); len(evs) != 3 || len(evs[2].RDP.X509Serials) != 2 {
		t.Fatalf("byte by byte: %+v", evs)
	}
}

// A chain longer than the bytes a direction inspects still gives the
// serials of the certificates that arrived whole; an empty list still
// writes the key, as Suricata does.
func TestRDPTLSChainPastByteBound(t *testing.T) {
	leaf := rdpCert(t, big.NewInt(0x1234), 0)
	big1 := rdpCert(t, big.NewInt(0x5678), 5000)
	segs := []rdpSeg{{false, tpkt(x224(0xd, negMsg(2, 0, 1)))}, {false, tlsServerFlight(leaf, big1)}}
	evs := rdpRun(t, &Config{}, segs, 1000)
	if len(evs) != 2 || !slices.Equal(evs[1].RDP.X509Serials, []string{"1234"}) {
		t.Fatalf("events %+v", evs)
	}
	segs = []rdpSeg{{false, tpkt(x224(0xd, negMsg(2, 0, 1)))}, {false, tlsServerFlight(big1)}}
	evs = rdpRun(t, &Config{}, segs, 0)
	if len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	if j, _ := json.Marshal(evs[1].RDP); string(j) != `{"tx_id":2,"event_type":"tls_handshake","x509_serials":[]}` {
		t.Errorf("cut chain: %s", j)
	}
}

// What is neither TPKT nor TLS ends the parsing of the flow.
func TestRDPStopsOnOtherBytes(t *testing.T) {
	segs := []rdpSeg{
		{true, tpkt(x224(0xe, []byte("Cookie: mstshash=x\r\n")))},
		{true, []byte("GET / HTTP/1.1\r\n\r\n")},
		{false, tpkt(x224(0xd, negMsg(2, 0, 0)))},
	}
	evs := rdpRun(t, &Config{}, segs, 0)
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	// A TPKT shorter than its own header, too.
	evs = rdpRun(t, &Config{}, []rdpSeg{{true, []byte{3, 0, 0, 2}}, {true, tpkt(x224(0xe, nil))}}, 0)
	if len(evs) != 0 {
		t.Fatalf("events %+v", evs)
	}
}

func TestParseRDPCookie(t *testing.T) {
	for _, tt := range []struct {
		in     []byte
		cookie string
		ok     bool
	}{
		{tpkt(x224(0xe, []byte("Cookie: mstshash=A70067\r\n"))), "A70067", true},
		{tpkt(x224(0xe, negMsg(1, 0, 0))), "", true},
		{tpkt(x224(0xd, nil)), "", false},
		{[]byte{3, 0, 0, 40, 0x20, 0xe0}, "", false},
	} {
		c, ok := ParseRDPCookie(tt.in)
		if c != tt.cookie || ok != tt.ok {
			t.Errorf("ParseRDPCookie(%x) = %q %v, want %q %v", tt.in, c, ok, tt.cookie, tt.ok)
		}
	}
}

// FuzzRDPStream drives an RDP flow through State with random segments
// seeded from the corpus capture and a synthesized TLS set-up: no panic,
// buffers within their bounds (feedState checks), and every event is a
// well-formed transaction: ids from 1 in order, a known type, valid UTF-8.
func FuzzRDPStream(f *testing.F) {
	f.Add(encodeStream(f, "suricata-verify/rdp-003.pcap", 3389))
	var tlsSeed []byte
	for _, s := range []rdpSeg{
		{true, tpkt(x224(0xe, append([]byte("Cookie: mstshash=admin\r\n"), negMsg(1, 0, 3)...)))},
		{false, tpkt(x224(0xd, negMsg(2, 0x1, 1)))},
		{true, clientHelloRecord()},
		{false, tlsServerFlight(rdpCert(f, big.NewInt(7), 0))},
	} {
		for len(s.data) > 0 {
			k := min(len(s.data), 255)
			dir := byte(1)
			if s.toServer {
				dir = 0
			}
			tlsSeed = append(tlsSeed, 0x10, dir, 0, byte(k))
			tlsSeed = append(tlsSeed, s.data[:k]...)
			s.data = s.data[k:]
		}
	}
	f.Add(tlsSeed)
	types := []string{RDPInitialRequest, RDPInitialResponse, RDPConnectRequest, RDPConnectResponse, RDPTLSHandshake}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := &Config{MaxBytes: DefaultMaxBytes}
		st := &State{}
		next := 1
		emit := func(e *Event) {
			if e.Type != "rdp" {
				return
			}
			r := e.RDP
			if r.TxID != next || !slices.Contains(types, r.EventType) {
				t.Fatalf("transaction %d %q after %d", r.TxID, r.EventType, next-1)
			}
			next++
			j, err := json.Marshal(r)
			if err != nil || !json.Valid(j) {
				t.Fatalf("event does not encode: %v", err)
			}
			strs := append([]string{r.Cookie}, r.Channels...)
			if r.Client != nil {
				strs = append(strs, r.Client.ClientName, r.Client.IME, r.Client.ID)
			}
			for _, s := range strs {
				if !utf8.ValidString(s) {
					t.Fatalf("not UTF-8: %q", s)
				}
			}
		}
		feedState(t, st, cfg, b, 3389, emit)
		st.Close(cfg, emit)
	})
}

func TestRDPSummary(t *testing.T) {
	evs := ofType(runPcap(t, "suricata-verify/rdp-003.pcap", &Config{}), "rdp")
	var got []string
	for _, e := range evs {
		got = append(got, e.RDP.Summary())
	}
	want := []string{"cookie A70067", "connection confirm",
		"client ISD2-KM84178 (Windows XP, en-US) channels rdpdr,cliprdr,rdpsnd", "connect response"}
	if !slices.Equal(got, want) {
		t.Errorf("summaries %q, want %q", got, want)
	}
}
