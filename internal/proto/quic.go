package proto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
)

func init() {
	registerProtocol(protocol{name: "quic", packetDir: true,
		udp: []probe{{order: tierSignature, match: looksQUIC}},
		newUDP: func(st *State) parser {
			st.quic = newQUICParser()
			st.halves() // the CRYPTO stream is reassembled in h.buf
			return (*quicDatagrams)(st.quic)
		}})
}

// quicDatagrams is a QUIC flow's parser (st.quic): the State's
// quicDatagram, which ends the flow when both sides are done.
type quicDatagrams quicParser

func (q *quicDatagrams) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	c.st.quicDatagram(c, toServer, b)
	return len(b), false
}
func (q *quicDatagrams) close(*ctx) {}
func (q *quicDatagrams) done() bool { return false }

// QUIC Initial packets are protected with keys anyone can derive from the
// client's first Destination Connection ID and a salt the version publishes
// (RFC 9001 section 5.2, RFC 9369 section 3.3.1), so a passive observer can
// read the ClientHello and ServerHello they carry. Everything here uses the
// standard library's crypto: no QUIC library decrypts a packet it did not
// take part in, and this is a few hundred lines.

// QUIC is what one QUIC long-header packet showed, in Suricata's EVE quic
// shape: the version of every long-header packet before the handshake,
// and the TLS hello's server name, fingerprints and extensions from the
// packet that completed it.
type QUIC struct {
	Version    string          `json:"version"` // hex as Suricata writes it ("1", "ff00001d", "6b3343cf")
	SNI        string          `json:"sni,omitempty"`
	UA         string          `json:"ua,omitempty"`  // gQUIC's user agent (UAID)
	CYU        []JA            `json:"cyu,omitempty"` // gQUIC's CHLO fingerprint
	JA3        *JA             `json:"ja3,omitempty"`
	JA3S       *JA             `json:"ja3s,omitempty"`
	JA4        string          `json:"ja4,omitempty"`
	Extensions []QUICExtension `json:"extensions,omitempty"`
	// ALPN is what the client offered (also in Extensions); the console
	// shows it.
	ALPN []string `json:"-"`
}

// QUICExtension is one TLS extension of the hello (EVE quic.extensions[]):
// Suricata lists every one in order, named when IANA names it, with the
// values of server_name and ALPN.
type QUICExtension struct {
	Name   string   `json:"name,omitempty"`
	Type   uint16   `json:"type"`
	Values []string `json:"values,omitempty"`
}

// Bounds on what one flow's QUIC decoding holds.
const (
	// quicMaxCrypto is the CRYPTO stream bytes buffered per direction
	// while its hello is incomplete: a ClientHello with a post-quantum key
	// share and ECH is about 2 KiB, four times that is plenty. Data past
	// it is dropped and counted.
	quicMaxCrypto = 8192
	// quicMaxRanges bounds the disjoint pieces of a CRYPTO stream
	// remembered: a hello cut into more pieces than this is given up.
	quicMaxRanges = 16
	// quicMaxPackets is the long-header packets decoded per direction
	// before its hello: after it the direction is given up.
	quicMaxPackets = 16
)

// QUIC versions with published Initial salts.
const (
	quicV1 = 0x00000001
	quicV2 = 0x6b3343cf
)

var (
	// RFC 9001 section 5.2.
	quicSaltV1 = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	// RFC 9369 section 3.3.1.
	quicSaltV2 = []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
	// draft-ietf-quic-tls-29 to -32.
	quicSaltDraft29 = []byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99}
	// draft-ietf-quic-tls-23 to -28, and Facebook's mvfst draft.
	quicSaltDraft23 = []byte{0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02}
)

// quicSalt returns the Initial salt of a version, or nil when it has none
// this decoder knows.
func quicSalt(v uint32) []byte {
	switch {
	case v == quicV1 || v == 0xff000021 || v == 0xff000022:
		return quicSaltV1
	case v == quicV2:
		return quicSaltV2
	case v >= 0xff00001d && v <= 0xff000020:
		return quicSaltDraft29
	case v >= 0xff000017 && v <= 0xff00001c, v == 0xfaceb002:
		return quicSaltDraft23
	}
	return nil
}

// QUICVersionName writes a version as Suricata does: the gQUIC versions it
// knows by name, any other in lowercase hex without leading zeros.
func QUICVersionName(v uint32) string {
	switch v {
	case 0x51303339, 0x51303433, 0x51303434, 0x51303435, 0x51303436:
		b := [4]byte{}
		binary.BigEndian.PutUint32(b[:], v)
		return string(b[:])
	case quicV1:
		return "1"
	}
	return strconv.FormatUint(uint64(v), 16)
}

// quicPacketType is a long header's packet type, whatever the version's
// encoding of it.
type quicPacketType uint8

const (
	quicInitial quicPacketType = iota
	quic0RTT
	quicHandshake
	quicRetry
	quicVersionNeg
)

// quicHeader is a long header as far as it is readable without keys.
type quicHeader struct {
	version  uint32
	typ      quicPacketType
	dcid     []byte
	pnOffset int // where the protected packet number starts
	end      int // where the packet ends in its datagram
}

var errQUIC = errors.New("malformed QUIC packet")

// readVarint decodes a QUIC variable-length integer (RFC 9000 section 16).
func readVarint(b []byte) (v uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	n = 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, false
	}
	v = uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, true
}

// parseQUICLong reads the long header at the start of b (RFC 8999 section
// 5.1, RFC 9000 section 17.2).
func parseQUICLong(b []byte) (quicHeader, error) {
	var h quicHeader
	if len(b) < 7 || b[0]&0x80 == 0 {
		return h, errQUIC
	}
	h.version = binary.BigEndian.Uint32(b[1:5])
	i := 5
	dl := int(b[i])
	i++
	if len(b) < i+dl+1 {
		return h, errQUIC
	}
	h.dcid = b[i : i+dl]
	i += dl
	sl := int(b[i])
	i++
	if len(b) < i+sl {
		return h, errQUIC
	}
	i += sl
	if h.version == 0 {
		h.typ, h.end = quicVersionNeg, len(b)
		return h, nil
	}
	t := (b[0] >> 4) & 3
	if h.version == quicV2 {
		// RFC 9369 section 3.2 rotates the type codes by one.
		t = (t + 3) & 3
	}
	h.typ = quicPacketType(t)
	if h.typ == quicRetry {
		h.end = len(b)
		return h, nil
	}
	if h.typ == quicInitial {
		tl, n, ok := readVarint(b[i:])
		if !ok || tl > uint64(len(b)-i-n) {
			return h, errQUIC
		}
		i += n + int(tl)
	}
	l, n, ok := readVarint(b[i:])
	if !ok || l > uint64(len(b)-i-n) {
		return h, errQUIC
	}
	h.pnOffset = i + n
	h.end = h.pnOffset + int(l)
	return h, nil
}

// quicDirKeys are the Initial keys of one direction.
type quicDirKeys struct {
	aead cipher.AEAD
	hp   cipher.Block
	iv   [12]byte
}

// quicKeys are both directions' Initial keys, derived from the client's
// first Destination Connection ID; each direction's on first use (a
// capture may hold only the client's side).
type quicKeys struct {
	version uint32
	dcid    [20]byte
	dcidLen int
	initial [32]byte // the initial secret
	have    [2]bool
	dir     [2]quicDirKeys // 0: client's, 1: server's
}

// hkdfExpandLabel is TLS 1.3's HKDF-Expand-Label with an empty context
// (RFC 8446 section 7.1).
func hkdfExpandLabel(secret []byte, label string, n int) []byte {
	var info [64]byte
	b := binary.BigEndian.AppendUint16(info[:0], uint16(n))
	b = append(b, byte(6+len(label)))
	b = append(b, "tls13 "...)
	b = append(b, label...)
	b = append(b, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(b), n)
	if err != nil {
		// Only a length beyond 255 hash sizes fails; these are fixed.
		panic(err)
	}
	return out
}

// deriveQUICKeys computes the initial secret of version v for dcid, false
// when the version has no known salt.
func deriveQUICKeys(v uint32, dcid []byte) (*quicKeys, bool) {
	salt := quicSalt(v)
	if salt == nil || len(dcid) > 20 {
		return nil, false
	}
	initial, err := hkdf.Extract(sha256.New, dcid, salt)
	if err != nil {
		return nil, false
	}
	k := &quicKeys{version: v, dcidLen: len(dcid)}
	copy(k.dcid[:], dcid)
	copy(k.initial[:], initial)
	return k, true
}

// keys returns direction d's keys (0: the client's), derived now if they
// were not yet.
func (k *quicKeys) keys(d int) *quicDirKeys {
	dk := &k.dir[d]
	if k.have[d] {
		return dk
	}
	keyL, ivL, hpL := "quic key", "quic iv", "quic hp"
	if k.version == quicV2 {
		keyL, ivL, hpL = "quicv2 key", "quicv2 iv", "quicv2 hp"
	}
	label := "client in"
	if d == 1 {
		label = "server in"
	}
	secret := hkdfExpandLabel(k.initial[:], label, 32)
	// 16-byte keys: aes.NewCipher and cipher.NewGCM cannot fail.
	blk, _ := aes.NewCipher(hkdfExpandLabel(secret, keyL, 16))
	dk.aead, _ = cipher.NewGCM(blk)
	dk.hp, _ = aes.NewCipher(hkdfExpandLabel(secret, hpL, 16))
	copy(dk.iv[:], hkdfExpandLabel(secret, ivL, 12))
	k.have[d] = true
	return dk
}

func (k *quicKeys) matches(v uint32, dcid []byte) bool {
	return k != nil && k.version == v && string(k.dcid[:k.dcidLen]) == string(dcid)
}

// decodePacketNumber expands a truncated packet number of n bytes given
// the largest one received so far (RFC 9000 appendix A.3).
func decodePacketNumber(largest int64, truncated uint64, n int) uint64 {
	expected := uint64(largest + 1)
	win := uint64(1) << (8 * n)
	half := win / 2
	candidate := (expected &^ (win - 1)) | truncated
	switch {
	case candidate+half <= expected && candidate < (1<<62)-win:
		return candidate + win
	case candidate > expected+half && candidate >= win:
		return candidate - win
	}
	return candidate
}

// openInitial removes header protection from the Initial packet pkt (one
// packet, h its header) and decrypts it with k, appending the plaintext
// frames to dst. pkt is not modified.
func openInitial(dst []byte, k *quicDirKeys, pkt []byte, h *quicHeader, largest int64) (plain []byte, pn uint64, err error) {
	if h.pnOffset+4+16 > h.end {
		return nil, 0, errQUIC
	}
	var mask [16]byte
	k.hp.Encrypt(mask[:], pkt[h.pnOffset+4:h.pnOffset+20])
	first := pkt[0] ^ mask[0]&0x0f
	n := int(first&3) + 1
	if h.pnOffset+n+16 > h.end {
		return nil, 0, errQUIC
	}
	// The associated data is the header with protection removed; it is
	// rebuilt in a copy (a token makes it long, rarely).
	var hdrA [128]byte
	hdr := append(hdrA[:0], pkt[:h.pnOffset+n]...)
	hdr[0] = first
	var trunc uint64
	for i := 0; i < n; i++ {
		hdr[h.pnOffset+i] ^= mask[1+i]
		trunc = trunc<<8 | uint64(hdr[h.pnOffset+i])
	}
	pn = decodePacketNumber(largest, trunc, n)
	nonce := k.iv
	for i := 0; i < 8; i++ {
		nonce[4+i] ^= byte(pn >> (56 - 8*i))
	}
	plain, err = k.aead.Open(dst, nonce[:], pkt[h.pnOffset+n:h.end], hdr)
	if err != nil {
		return nil, 0, err
	}
	return plain, pn, nil
}

// quicCrypto reassembles one direction's Initial CRYPTO stream up to
// quicMaxCrypto bytes: data sits at its stream offset in buf, and ranges
// says which parts of buf arrived (sorted, disjoint, merged).
type quicCrypto struct {
	ranges  [quicMaxRanges][2]uint32
	nranges int
}

// add records that [off, end) of the stream arrived; false when the
// pieces are too many to remember.
func (q *quicCrypto) add(off, end uint32) bool {
	var all [quicMaxRanges + 1][2]uint32
	n, placed := 0, false
	for _, r := range q.ranges[:q.nranges] {
		if !placed && off < r[0] {
			all[n] = [2]uint32{off, end}
			n++
			placed = true
		}
		all[n] = r
		n++
	}
	if !placed {
		all[n] = [2]uint32{off, end}
		n++
	}
	// Merge overlapping or touching neighbours.
	out := 0
	for _, r := range all[:n] {
		if out > 0 && all[out-1][1] >= r[0] {
			all[out-1][1] = max(all[out-1][1], r[1])
			continue
		}
		all[out] = r
		out++
	}
	if out > quicMaxRanges {
		return false
	}
	copy(q.ranges[:], all[:out])
	q.nranges = out
	return true
}

// prefix is how many bytes from the stream's start arrived without a hole.
func (q *quicCrypto) prefix() int {
	if q.nranges == 0 || q.ranges[0][0] != 0 {
		return 0
	}
	return int(q.ranges[0][1])
}

// quicParser follows a UDP flow's QUIC long-header packets until each
// direction's TLS hello, as Suricata's quic parser does: one event per
// long-header packet, the one that completes a hello carrying what it
// offered or chose.
type quicParser struct {
	keys    *quicKeys
	crypto  [2]quicCrypto
	largest [2]int64 // largest packet number decrypted, -1 before any
	packets [2]uint8 // long-header packets seen before the hello
	hello   [2]bool  // the direction's hello was logged
	gaveUp  [2]bool  // the direction is no longer decoded
	clipped [2]bool  // CRYPTO data past quicMaxCrypto was dropped
}

func newQUICParser() *quicParser {
	return &quicParser{largest: [2]int64{-1, -1}}
}

func (q *quicParser) finished(d int) bool { return q.hello[d] || q.gaveUp[d] }

// looksQUIC reports whether the first bytes of a UDP flow are QUIC. On
// Suricata's QUIC ports (443 and 80, either end) any well-formed long header,
// or a short header with its fixed bit, is enough, as for Suricata's probe;
// elsewhere only a client Initial whose protection opens with the keys its
// own header gives, which nothing but QUIC does by chance. This is wider
// than Suricata, which looks for QUIC on its ports only: QUIC on 8443 or
// 4433 is common and the test cannot be passed by accident.
func looksQUIC(b []byte, toServer bool, sport, cport uint16) bool {
	if len(b) == 0 {
		return false
	}
	quicPort := sport == 443 || sport == 80 || cport == 443 || cport == 80
	if quicPort && b[0]&0xc0 == 0 {
		_, _, ok := gquicPublic(b)
		return ok
	}
	if quicPort && len(b) >= 5 && isGQUIC(binary.BigEndian.Uint32(b[1:])) {
		_, _, ok := gquicLong(b, binary.BigEndian.Uint32(b[1:]))
		return ok
	}
	h, err := parseQUICLong(b)
	if b[0]&0x80 == 0 {
		// A short header: the connection was picked up mid-way.
		return quicPort && b[0]&0x40 != 0 && len(b) >= 1+1+16
	}
	if err != nil {
		return false
	}
	if quicPort {
		return true
	}
	// A client's first datagram is at least 1200 bytes (RFC 9000 section
	// 14.1): the cheap test keeps small datagrams from costing a key
	// derivation each.
	if !toServer || h.typ != quicInitial || len(b) < 1200 || quicSalt(h.version) == nil {
		return false
	}
	k, ok := deriveQUICKeys(h.version, h.dcid)
	if !ok {
		return false
	}
	_, _, err = openInitial(nil, k.keys(0), b, &h, -1)
	return err == nil
}

// datagram decodes the packets of one datagram of direction d.
func (q *quicParser) datagram(c *ctx, d int, b []byte) {
	for len(b) > 0 && !q.finished(d) {
		if b[0]&0xc0 == 0 {
			q.gquicPublic(c, d, b)
			return
		}
		if b[0]&0x80 == 0 {
			// Short header: 1-RTT data, encrypted with keys never on the
			// wire.
			return
		}
		if len(b) >= 5 && isGQUIC(binary.BigEndian.Uint32(b[1:])) {
			q.gquicLong(c, d, b)
			return
		}
		h, err := parseQUICLong(b)
		if err != nil {
			return
		}
		pkt := b[:h.end]
		b = b[h.end:]
		if !q.count(d) {
			return
		}
		ev := &QUIC{Version: QUICVersionName(h.version)}
		if h.typ != quicInitial {
			q.emit(c, d, ev)
			if h.typ == quicRetry || h.typ == quicVersionNeg {
				return
			}
			continue
		}
		var plain []byte
		var pn uint64
		err = errQUIC
		if q.keys != nil && q.keys.version == h.version {
			plain, pn, err = openInitial(nil, q.keys.keys(d), pkt, &h, q.largest[d])
		}
		if err != nil && d == 0 && !q.keys.matches(h.version, h.dcid) {
			// The keys come from the client's first Destination
			// Connection ID, kept after the client moves to the server's
			// choice; but after a Retry, or on a reused 5-tuple, a client
			// Initial that the old keys do not open names new ones.
			if k, ok := deriveQUICKeys(h.version, h.dcid); ok {
				if plain, pn, err = openInitial(nil, k.keys(0), pkt, &h, -1); err == nil {
					q.keys = k
					q.largest = [2]int64{-1, -1}
				}
			}
		}
		if err != nil {
			q.emit(c, d, ev)
			return
		}
		q.largest[d] = max(q.largest[d], int64(pn))
		q.frames(c, d, plain)
		q.tryHello(c, d, ev)
		q.emit(c, d, ev)
		if q.hello[d] {
			c.st.h[d].buf = nil
		}
	}
}

// frames reads an Initial packet's frames (RFC 9000 section 12.4: PADDING,
// PING, ACK, CRYPTO and CONNECTION_CLOSE may appear) and stores CRYPTO
// data. An unexpected frame ends the packet.
func (q *quicParser) frames(c *ctx, d int, p []byte) {
	for len(p) > 0 {
		typ := p[0]
		p = p[1:]
		switch typ {
		case 0x00, 0x01: // PADDING, PING
		case 0x02, 0x03: // ACK, ACK with ECN counts
			n := 4
			var rangeCount uint64
			for i := 0; i < n; i++ {
				v, k, ok := readVarint(p)
				if !ok {
					return
				}
				p = p[k:]
				if i == 2 {
					rangeCount = v
					if rangeCount > uint64(len(p)) {
						return
					}
					n += 2 * int(rangeCount)
				}
			}
			if typ == 0x03 {
				for i := 0; i < 3; i++ {
					_, k, ok := readVarint(p)
					if !ok {
						return
					}
					p = p[k:]
				}
			}
		case 0x06: // CRYPTO
			off, k, ok := readVarint(p)
			if !ok {
				return
			}
			p = p[k:]
			l, k, ok := readVarint(p)
			if !ok || l > uint64(len(p)-k) {
				return
			}
			data := p[k : k+int(l)]
			p = p[k+int(l):]
			q.store(c, d, off, data)
		case 0x1c: // CONNECTION_CLOSE
			return
		default:
			return
		}
	}
}

// store puts one CRYPTO frame's data at its offset in direction d's
// buffer, which is the half's buf so that the engine's Budget counts it.
func (q *quicParser) store(c *ctx, d int, off uint64, data []byte) {
	if len(data) == 0 || q.gaveUp[d] {
		return
	}
	if off >= quicMaxCrypto {
		q.clip(c, d)
		return
	}
	end := off + uint64(len(data))
	if end > quicMaxCrypto {
		data = data[:quicMaxCrypto-off]
		end = quicMaxCrypto
		q.clip(c, d)
	}
	h := &c.st.h[d]
	if int(end) > len(h.buf) {
		grow := int(end) - len(h.buf)
		if int(end) > cap(h.buf) {
			if !c.cfg.budget().room(int64(max(int(end), 2*cap(h.buf)) - cap(h.buf))) {
				q.gaveUp[d] = true
				h.buf = nil
				c.cfg.budget().gave(true)
				return
			}
			nb := make([]byte, len(h.buf), min(quicMaxCrypto, max(int(end), 2*cap(h.buf))))
			copy(nb, h.buf)
			h.buf = nb
		}
		h.buf = append(h.buf, make([]byte, grow)...)
	}
	copy(h.buf[off:end], data)
	if !q.crypto[d].add(uint32(off), uint32(end)) {
		q.gaveUp[d] = true
		h.buf = nil
		c.cfg.budget().gave(false)
	}
}

// clip counts, once per direction, CRYPTO data dropped past the bound.
func (q *quicParser) clip(c *ctx, d int) {
	if !q.clipped[d] {
		q.clipped[d] = true
		c.cfg.budget().gave(false)
	}
}

// tryHello parses direction d's hello once the CRYPTO stream holds all of
// it, filling ev from it.
func (q *quicParser) tryHello(c *ctx, d int, ev *QUIC) {
	buf := c.st.h[d].buf
	n := q.crypto[d].prefix()
	if n < 4 {
		return
	}
	typ := buf[0]
	l := int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])
	want := byte(1)
	if d == 1 {
		want = 2
	}
	if typ != want || 4+l > quicMaxCrypto {
		// Not a hello, or one that cannot fit: nothing will come of
		// this direction.
		q.gaveUp[d] = true
		c.st.h[d].buf = nil
		if typ == want {
			q.clip(c, d)
		}
		return
	}
	if n < 4+l {
		return
	}
	body := buf[4 : 4+l]
	q.hello[d] = true
	if d == 0 {
		ch, err := parseClientHello(body)
		if err != nil {
			return
		}
		ja3, ja4 := c.st.pool.fingerprints(&ch)
		ev.SNI = ch.SNI
		ev.ALPN = ch.ALPN
		ev.JA3 = &ja3
		if ja4 != "" {
			// JA4 marks a hello carried over QUIC with q.
			ev.JA4 = "q" + ja4[1:]
		}
		ev.Extensions = quicExtensions(ch.Extensions, ch.SNI, ch.ALPN)
		return
	}
	var extA [32]uint16
	sh, exts, err := parseServerHello(body, extA[:0])
	if err != nil {
		return
	}
	fp := ServerHello{Version: sh.Version, Cipher: sh.Cipher, Extensions: exts}
	ja3s := c.st.pool.ja3s(&fp)
	ev.JA3S = &ja3s
	ev.Extensions = quicExtensions(exts, "", sh.ALPN)
}

// quicExtensions lists a hello's extensions as Suricata's quic logger
// does.
func quicExtensions(types []uint16, sni string, alpn []string) []QUICExtension {
	if len(types) == 0 {
		return nil
	}
	out := make([]QUICExtension, len(types))
	for i, t := range types {
		out[i] = QUICExtension{Name: tlsExtensionName(t), Type: t}
		switch t {
		case 0:
			if sni != "" {
				out[i].Values = []string{sni}
			}
		case 16:
			out[i].Values = alpn
		}
	}
	return out
}

// tlsExtensionName is the IANA name of a TLS extension type, spelled as
// Suricata's quic logger spells it, or "" for one it does not name.
func tlsExtensionName(t uint16) string {
	if int(t) < len(tlsExtensionNames) {
		return tlsExtensionNames[t]
	}
	switch t {
	case 13172:
		return "next_protocol_negotiation"
	case 65281:
		return "renegotiation_info"
	}
	return ""
}

var tlsExtensionNames = [...]string{
	"server_name", "max_fragment_length", "client_certificate_url", "trusted_ca_keys",
	"truncated_hmac", "status_request", "user_mapping", "client_authz", "server_authz",
	"cert_type", "supported_groups", "ec_point_formats", "srp", "signature_algorithms",
	"use_srtp", "heartbeat", "alpn", "status_request_v2", "signed_certificate_timestamp",
	"client_certificate_type", "server_certificate_type", "padding", "encrypt_then_mac",
	"extended_master_secret", "token_binding", "cached_info", "tls_lts",
	"compress_certificate", "record_size_limit", "pwd_protect", "pwd_clear",
	"password_salt", "ticket_pinning", "tls_cert_with_extern_psk", "delegated_credentials",
	"session_ticket", "tlmsp", "tlmsp_proxying", "tlmsp_delegate", "supported_ekt_ciphers",
	"", "pre_shared_key", "early_data", "supported_versions", "cookie",
	"psk_key_exchange_modes", "", "certificate_authorities", "oid_filters",
	"post_handshake_auth", "signature_algorithms_cert", "key_share", "transparency_info",
	"connection_id_deprecated", "connection_id", "external_id_hash", "external_session_id",
	"quic_transport_parameters", "ticket_request", "dnssec_chain",
}

// emit logs one packet's event.
func (q *quicParser) emit(c *ctx, d int, ev *QUIC) {
	c.send(&Event{Type: "quic", QUIC: ev}, d == 0)
}

// quicDatagram hands one UDP datagram of a QUIC flow to its parser; the
// flow is done once both directions are.
func (st *State) quicDatagram(c *ctx, toServer bool, b []byte) {
	d := 1
	if toServer {
		d = 0
	}
	q := st.quic
	if q.finished(d) {
		return
	}
	q.datagram(c, d, b)
	if q.finished(d) {
		st.h[d].buf = nil
	}
	if q.finished(0) && q.finished(1) {
		st.done = true
	}
}

// gquicPublic logs a gQUIC packet with a public header (Q043 and earlier)
// that carries its version: the client's, before the server has agreed.
func (q *quicParser) gquicPublic(c *ctx, d int, b []byte) {
	v, frames, ok := gquicPublic(b)
	if !ok || v == 0 || !q.count(d) {
		return
	}
	ev := &QUIC{Version: QUICVersionName(v)}
	gquicFrames(ev, v, frames)
	q.emit(c, d, ev)
}

// gquicLong logs a Q044 to Q046 long-header packet, reading an Initial's
// frames, which these versions send in clear.
func (q *quicParser) gquicLong(c *ctx, d int, b []byte) {
	v := binary.BigEndian.Uint32(b[1:])
	typ, frames, ok := gquicLong(b, v)
	if !ok || !q.count(d) {
		return
	}
	ev := &QUIC{Version: QUICVersionName(v)}
	if typ == quicInitial {
		gquicFrames(ev, v, frames)
	}
	q.emit(c, d, ev)
}

// count counts one more long-header packet of direction d, false (and the
// direction given up) past quicMaxPackets.
func (q *quicParser) count(d int) bool {
	q.packets[d]++
	if q.packets[d] > quicMaxPackets {
		q.gaveUp[d] = true
		return false
	}
	return true
}
