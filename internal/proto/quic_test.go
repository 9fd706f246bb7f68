package proto

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// readHex reads a testdata file of hex lines; lines starting with # are
// comments.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sb strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			sb.WriteString(l)
		}
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// udpDatagrams feeds datagrams (toServer[i] says which way each goes)
// through one State between 10.0.0.1:port0 and 10.0.0.2:sport and
// returns the events.
func udpDatagrams(st *State, cfg *Config, sport uint16, dgrams [][]byte, toServer []bool) []*Event {
	var evs []*Event
	emit := func(e *Event) { evs = append(evs, e) }
	ts := time.Unix(1700000000, 0)
	for i, m := range dgrams {
		s := packet.Summary{TS: ts.Add(time.Duration(i) * time.Millisecond), Index: uint64(i + 1), IPVersion: 4,
			Proto: packet.ProtoUDP, HasL4: true, Payload: m, SrcPort: 50000, DstPort: sport}
		if !toServer[i] {
			s.SrcPort, s.DstPort = sport, 50000
		}
		st.Packet(cfg, toServer[i], &s, emit)
	}
	return evs
}

// TestQUICInitialSecretsRFC9001 checks the key schedule against RFC 9001
// appendix A.1.
func TestQUICInitialSecretsRFC9001(t *testing.T) {
	dcid := mustHex(t, "8394c8f03e515708")
	initial, err := hkdf.Extract(sha256.New, dcid, quicSaltV1)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(initial); got != "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44" {
		t.Errorf("initial_secret = %s", got)
	}
	for _, tc := range []struct {
		label, secret, key, iv, hp string
	}{
		{"client in", "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
			"1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
		{"server in", "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b",
			"cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314"},
	} {
		secret := hkdfExpandLabel(initial, tc.label, 32)
		for name, got := range map[string][]byte{
			tc.secret: secret,
			tc.key:    hkdfExpandLabel(secret, "quic key", 16),
			tc.iv:     hkdfExpandLabel(secret, "quic iv", 12),
			tc.hp:     hkdfExpandLabel(secret, "quic hp", 16),
		} {
			if hex.EncodeToString(got) != name {
				t.Errorf("%s: got %x, want %s", tc.label, got, name)
			}
		}
	}
}

// TestQUICRFC9001Vectors decrypts RFC 9001's client Initial (A.2) and
// server Initial (A.3) and checks the events against what the hellos in
// the RFC's text say.
func TestQUICRFC9001Vectors(t *testing.T) {
	client := readHex(t, "rfc9001-a2-client-initial.hex")
	server := readHex(t, "rfc9001-a3-server-initial.hex")
	orig := slices.Clone(client)

	h, err := parseQUICLong(client)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := deriveQUICKeys(h.version, h.dcid)
	if !ok {
		t.Fatal("no keys for v1")
	}
	plain, pn, err := openInitial(nil, k.keys(0), client, &h, -1)
	if err != nil {
		t.Fatalf("open client Initial: %v", err)
	}
	// A.2: packet number 2, a CRYPTO frame with the 241-byte ClientHello,
	// then PADDING up to 1162 bytes of payload.
	if pn != 2 || len(plain) != 1162 || !bytes.HasPrefix(plain, mustHex(t, "060040f1010000ed0303ebf8fa56f129")) {
		t.Errorf("client Initial: pn %d, %d bytes, starts %x", pn, len(plain), plain[:16])
	}
	if _, _, err := openInitial(nil, k.keys(1), client, &h, -1); err == nil {
		t.Error("the server's keys opened the client's packet")
	}
	if !bytes.Equal(client, orig) {
		t.Error("openInitial modified its input")
	}

	var cfg Config
	st := &State{}
	evs := udpDatagrams(st, &cfg, 443, [][]byte{client, server}, []bool{true, false})
	if st.AppProto() != "quic" {
		t.Errorf("app_proto %q, want quic", st.AppProto())
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	c := evs[0].QUIC
	if evs[0].Type != "quic" || !evs[0].ToServer || c == nil {
		t.Fatalf("first event %+v", evs[0])
	}
	if c.Version != "1" || c.SNI != "example.com" || !slices.Equal(c.ALPN, []string{"alpn"}) {
		t.Errorf("client: version %q sni %q alpn %q", c.Version, c.SNI, c.ALPN)
	}
	// The ClientHello of A.2: TLS 1.2 legacy version, two suites, eleven
	// extensions, groups x25519, secp256r1, secp384r1.
	wantJA3 := "771,4865-4866,0-65281-10-16-5-51-43-13-45-28-57,29-23-24,"
	if c.JA3 == nil || c.JA3.String != wantJA3 || c.JA3.Hash != md5hex(wantJA3) {
		t.Errorf("ja3 %+v, want %s", c.JA3, wantJA3)
	}
	if !strings.HasPrefix(c.JA4, "q13d0211an_") {
		t.Errorf("ja4 %q", c.JA4)
	}
	var names []string
	for _, e := range c.Extensions {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, ","); got != "server_name,renegotiation_info,supported_groups,alpn,status_request,key_share,supported_versions,signature_algorithms,psk_key_exchange_modes,record_size_limit,quic_transport_parameters" {
		t.Errorf("extensions %s", got)
	}
	if v := c.Extensions[0].Values; !slices.Equal(v, []string{"example.com"}) {
		t.Errorf("server_name values %q", v)
	}
	s := evs[1].QUIC
	if evs[1].ToServer || s == nil || s.Version != "1" || s.SNI != "" || s.JA3 != nil {
		t.Fatalf("second event %+v %+v", evs[1], s)
	}
	// A.3's ServerHello: TLS_AES_128_GCM_SHA256, key_share, supported_versions.
	if s.JA3S == nil || s.JA3S.String != "771,4865,51-43" {
		t.Errorf("ja3s %+v", s.JA3S)
	}
	if !st.Done() {
		t.Error("both hellos seen but the flow is not done")
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sealInitial builds a protected Initial packet of version v carrying
// frames, with keys from keyDCID, as a client (toServer) or server sends it.
func sealInitial(t testing.TB, v uint32, keyDCID, dcid, scid []byte, toServer bool, pn uint32, frames []byte) []byte {
	t.Helper()
	k, ok := deriveQUICKeys(v, keyDCID)
	if !ok {
		t.Fatalf("no keys for %x", v)
	}
	dk := k.keys(1)
	if toServer {
		dk = k.keys(0)
	}
	typ := byte(0)
	if v == quicV2 {
		typ = 1
	}
	hdr := []byte{0xc0 | typ<<4 | 3}
	hdr = binary.BigEndian.AppendUint32(hdr, v)
	hdr = append(hdr, byte(len(dcid)))
	hdr = append(hdr, dcid...)
	hdr = append(hdr, byte(len(scid)))
	hdr = append(hdr, scid...)
	hdr = append(hdr, 0) // no token
	hdr = binary.BigEndian.AppendUint16(hdr, 0x4000|uint16(4+len(frames)+16))
	pnOff := len(hdr)
	hdr = binary.BigEndian.AppendUint32(hdr, pn)
	nonce := dk.iv
	for i := 0; i < 8; i++ {
		nonce[4+i] ^= byte(uint64(pn) >> (56 - 8*i))
	}
	pkt := dk.aead.Seal(slices.Clone(hdr), nonce[:], frames, hdr)
	var mask [16]byte
	dk.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := 0; i < 4; i++ {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}

// cryptoFrame is a CRYPTO frame with data at off.
func cryptoFrame(off int, data []byte) []byte {
	b := []byte{0x06, 0x80 | byte(off>>24), byte(off >> 16), byte(off >> 8), byte(off)}
	b = append(b, 0x40|byte(len(data)>>8), byte(len(data)))
	return append(b, data...)
}

// bigClientHello is the A.2 ClientHello with a padding extension that
// makes it n bytes longer, as a post-quantum key share does.
func bigClientHello(t testing.TB, n int) []byte {
	t.Helper()
	client := readHex(t, "rfc9001-a2-client-initial.hex")
	h, _ := parseQUICLong(client)
	k, _ := deriveQUICKeys(h.version, h.dcid)
	plain, _, err := openInitial(nil, k.keys(0), client, &h, -1)
	if err != nil {
		t.Fatal(err)
	}
	ch := slices.Clone(plain[4 : 4+241]) // after the frame type, offset 0 and 2-byte length
	extLen := int(binary.BigEndian.Uint16(ch[4+2+32+1+2+4+2:]))
	ch = append(ch, 0, 21, byte(n>>8), byte(n))
	ch = append(ch, make([]byte, n)...)
	binary.BigEndian.PutUint16(ch[4+2+32+1+2+4+2:], uint16(extLen+4+n))
	l := len(ch) - 4
	ch[1], ch[2], ch[3] = byte(l>>16), byte(l>>8), byte(l)
	return ch
}

// TestQUICSplitHello: a ClientHello in CRYPTO frames cut out of order over
// two Initial packets, the second to a new connection ID and coalesced
// with a 0-RTT packet, on a port
// that is not QUIC's (found by its protection opening), in QUIC v2 and v1.
func TestQUICSplitHello(t *testing.T) {
	for _, v := range []uint32{quicV1, quicV2, 0xff00001d} {
		ch := bigClientHello(t, 1500)
		dcid := mustHex(t, "0011223344556677")
		scid := mustHex(t, "a1a2a3a4")
		// Packet 0: the middle and the start; packet 1: the end, then a
		// padding frame, then PING.
		a, b := 700, 1400
		p0 := sealInitial(t, v, dcid, dcid, scid, true, 0, append(cryptoFrame(a, ch[a:b]), cryptoFrame(0, ch[:a])...))
		// The second goes to the connection ID the server chose, still
		// protected with keys from the first (RFC 9001 section 5.2).
		p1 := sealInitial(t, v, dcid, mustHex(t, "5e5e5e5e5e5e5e5e"), scid, true, 1, append(append(cryptoFrame(b, ch[b:]), 0, 0, 0), 0x01))
		zeroRTT := []byte{0xc0 | 1<<4 | 3}
		if v == quicV2 {
			zeroRTT[0] = 0xc0 | 2<<4 | 3
		}
		zeroRTT = binary.BigEndian.AppendUint32(zeroRTT, v)
		zeroRTT = append(zeroRTT, 8)
		zeroRTT = append(zeroRTT, dcid...)
		zeroRTT = append(zeroRTT, 4)
		zeroRTT = append(zeroRTT, scid...)
		zeroRTT = append(zeroRTT, 0x40, 24)
		zeroRTT = append(zeroRTT, make([]byte, 24)...)
		var cfg Config
		cfg.Budget = &Budget{}
		st := &State{}
		evs := udpDatagrams(st, &cfg, 8443, [][]byte{p0, append(p1, zeroRTT...)}, []bool{true, true})
		if st.AppProto() != "quic" {
			t.Fatalf("%x: app_proto %q", v, st.AppProto())
		}
		// One event per Initial, as Suricata logs them; the 0-RTT packet
		// after the hello is encrypted with keys never on the wire and is
		// not looked at.
		if len(evs) != 2 {
			t.Fatalf("%x: %d events, want 2", v, len(evs))
		}
		if evs[0].QUIC.SNI != "" || evs[1].QUIC.SNI != "example.com" || evs[1].QUIC.Version != QUICVersionName(v) {
			t.Errorf("%x: events %+v %+v", v, evs[0].QUIC, evs[1].QUIC)
		}
		var pad *QUICExtension
		for i := range evs[1].QUIC.Extensions {
			if evs[1].QUIC.Extensions[i].Type == 21 {
				pad = &evs[1].QUIC.Extensions[i]
			}
		}
		if pad == nil || pad.Name != "padding" {
			t.Errorf("%x: padding extension not listed: %+v", v, evs[1].QUIC.Extensions)
		}
		if st.h[0].buf != nil || cfg.Budget.Stats().Memuse != 0 {
			t.Errorf("%x: CRYPTO buffer kept after the hello (%d bytes charged)", v, cfg.Budget.Stats().Memuse)
		}
	}
}

// TestQUICBounds: a CRYPTO stream whose hello claims more than the bound,
// data past the bound, and a stream cut into too many pieces are given up
// and counted, holding nothing.
func TestQUICBounds(t *testing.T) {
	dcid := mustHex(t, "0102030405060708")
	huge := []byte{1, 0, 0xff, 0xff} // a ClientHello of 65535 bytes
	far := cryptoFrame(quicMaxCrypto+10, []byte("x"))
	var pieces []byte
	for i := 0; i < quicMaxRanges+2; i++ {
		pieces = append(pieces, cryptoFrame(100+i*10, []byte("ab"))...)
	}
	for name, frames := range map[string][][]byte{
		"huge hello":  {cryptoFrame(0, huge)},
		"past bound":  {far, cryptoFrame(0, []byte{1, 0, 0, 200})},
		"many pieces": {pieces},
	} {
		var dgrams [][]byte
		var dirs []bool
		for i, f := range frames {
			dgrams = append(dgrams, sealInitial(t, quicV1, dcid, dcid, nil, true, uint32(i), f))
			dirs = append(dirs, true)
		}
		cfg := Config{Budget: &Budget{}}
		st := &State{}
		udpDatagrams(st, &cfg, 443, dgrams, dirs)
		bs := cfg.Budget.Stats()
		if bs.GapDrops == 0 {
			t.Errorf("%s: no drop counted", name)
		}
		if bs.Memuse > 4 || len(st.h[0].buf) > 4 {
			t.Errorf("%s: %d bytes still held", name, bs.Memuse)
		}
		if name != "past bound" && !st.quic.finished(0) {
			t.Errorf("%s: direction not given up", name)
		}
	}
}

// TestQUICDetection: what makes a UDP flow QUIC and what does not.
func TestQUICDetection(t *testing.T) {
	client := readHex(t, "rfc9001-a2-client-initial.hex")
	dnsQ := mustHex(t, "abcd01000001000000000000076578616d706c6503636f6d0000010001")
	tampered := slices.Clone(client)
	tampered[200] ^= 1
	dcid := mustHex(t, "0102030405060708")
	small := sealInitial(t, quicV1, dcid, dcid, nil, true, 0, cryptoFrame(0, bigClientHello(t, 0)))
	for _, tc := range []struct {
		name string
		b    []byte
		port uint16
		want string
	}{
		{"client Initial on 443", client, 443, "quic"},
		{"client Initial on another port", client, 4433, "quic"},
		{"tampered Initial on another port", tampered, 4433, ""},
		{"tampered Initial on 443", tampered, 443, "quic"},
		{"client Initial under 1200 bytes on another port", small, 4433, ""},
		{"client Initial under 1200 bytes on 443", small, 443, "quic"},
		{"short header on 443", append([]byte{0x41}, make([]byte, 40)...), 443, "quic"},
		{"short header elsewhere", append([]byte{0x41}, make([]byte, 40)...), 4433, ""},
		{"DNS on 53", dnsQ, 53, "dns"},
		{"noise on 443", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 443, ""},
	} {
		st := &State{}
		udpDatagrams(st, &Config{}, tc.port, [][]byte{tc.b}, []bool{true})
		if got := st.AppProto(); got != tc.want {
			t.Errorf("%s: app_proto %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestQUICVersionNames: Suricata's spelling of versions.
func TestQUICVersionNames(t *testing.T) {
	for v, want := range map[uint32]string{1: "1", quicV2: "6b3343cf", 0xff00001d: "ff00001d", 0x51303436: "Q046", 0x51303530: "51303530", 0: "0"} {
		if got := QUICVersionName(v); got != want {
			t.Errorf("%x: %q, want %q", v, got, want)
		}
	}
}

// TestQUICCryptoRanges: the range set merges and refuses as it should.
func TestQUICCryptoRanges(t *testing.T) {
	var q quicCrypto
	for _, r := range [][2]uint32{{10, 20}, {30, 40}, {0, 5}, {5, 10}, {20, 30}} {
		if !q.add(r[0], r[1]) {
			t.Fatalf("add %v refused", r)
		}
	}
	if q.nranges != 1 || q.prefix() != 40 {
		t.Errorf("ranges %v (%d), prefix %d", q.ranges[:q.nranges], q.nranges, q.prefix())
	}
	q = quicCrypto{}
	for i := 0; i < quicMaxRanges; i++ {
		if !q.add(uint32(10+i*10), uint32(15+i*10)) {
			t.Fatalf("piece %d refused", i)
		}
	}
	if q.add(1000, 1001) {
		t.Error("a piece past the bound was accepted")
	}
	if !q.add(15, 20) || q.nranges != quicMaxRanges-1 {
		t.Errorf("a merging piece: %d ranges", q.nranges)
	}
	if q.prefix() != 0 {
		t.Errorf("prefix %d without offset 0", q.prefix())
	}
}

// TestDecodePacketNumber: RFC 9000 appendix A.3's example.
func TestDecodePacketNumber(t *testing.T) {
	if got := decodePacketNumber(0xa82f30ea, 0x9b32, 2); got != 0xa82f9b32 {
		t.Errorf("got %x", got)
	}
	if got := decodePacketNumber(-1, 2, 4); got != 2 {
		t.Errorf("got %d", got)
	}
}

// BenchmarkQUICClientInitial: what a new QUIC flow's first datagram costs,
// key derivation, header protection, AEAD and the ClientHello included.
func BenchmarkQUICClientInitial(b *testing.B) {
	client := readHex(b, "rfc9001-a2-client-initial.hex")
	s := packet.Summary{IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true, SrcPort: 50000, DstPort: 443, Payload: client}
	cfg := &Config{}
	n := 0
	emit := func(*Event) { n++ }
	b.ReportAllocs()
	for b.Loop() {
		st := &State{}
		st.Packet(cfg, true, &s, emit)
	}
	if n == 0 {
		b.Fatal("no event")
	}
}
