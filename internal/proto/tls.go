package proto

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// appTLS is where a STARTTLS-style upgrade hands the connection (c.upgrade).
var appTLS = registerProtocol(protocol{name: "tls",
	tcp: []probe{{order: tierSignature, first: "\x16", match: func(b []byte, _ bool, _, _ uint16) bool {
		return len(b) >= 6 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && (b[5] == 1 || b[5] == 2)
	}}},
	newTCP: func(st *State) parser {
		if p := st.pool.tlsParser(); p != nil {
			return p
		}
		return &tlsParser{}
	}})

var errTLSShort = errors.New("truncated")

// maxTLSRecord is the largest record the parser waits for (RFC 8446: 2^14
// plus expansion); anything larger is not TLS.
const maxTLSRecord = 16384 + 2048

// ClientHello is what a TLS ClientHello offers.
type ClientHello struct {
	Version      uint16 // legacy_version
	Versions     []uint16
	Ciphers      []uint16
	Extensions   []uint16
	Groups       []uint16
	PointFormats []uint8
	SigAlgs      []uint16
	SNI          string
	ALPN         []string
}

// ServerHello is what a TLS ServerHello chose.
type ServerHello struct {
	Version    uint16 // legacy_version
	Selected   uint16 // supported_versions, 0 when absent
	Cipher     uint16
	Extensions []uint16
	ALPN       []string
}

func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

type tlsReader struct {
	b   []byte
	err bool
}

func (r *tlsReader) u8() uint8 {
	if len(r.b) < 1 {
		r.err = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *tlsReader) u16() uint16 {
	if len(r.b) < 2 {
		r.err = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *tlsReader) bytes(n int) []byte {
	if len(r.b) < n {
		r.err = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *tlsReader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *tlsReader) vec16() []byte { return r.bytes(int(r.u16())) }

// ParseClientHello decodes the body of a ClientHello handshake message (after
// the 4-byte handshake header).
func ParseClientHello(b []byte) (*ClientHello, error) {
	ch, err := parseClientHello(b)
	if err != nil {
		return nil, err
	}
	return &ch, nil
}

// parseClientHello decodes a ClientHello. Its number lists share one
// allocation and its text (SNI, ALPN) one string; a list that is absent
// stays nil.
func parseClientHello(b []byte) (ClientHello, error) {
	r := tlsReader{b: b}
	ch := ClientHello{Version: r.u16()}
	r.bytes(32)
	r.vec8() // session id
	cs := tlsReader{b: r.vec16()}
	r.vec8() // compression methods
	if r.err {
		return ClientHello{}, fmt.Errorf("parse client hello: %w", errTLSShort)
	}
	var ext tlsReader
	if len(r.b) > 0 {
		ext = tlsReader{b: r.vec16()}
	}
	n := countHelloLists(ext)
	var back []uint16
	if total := len(cs.b)/2 + n.exts + n.groups + n.sigs + n.vers; total > 0 {
		back = make([]uint16, total)
	}
	ch.Ciphers, back = carve(back, len(cs.b)/2)
	ch.Extensions, back = carve(back, n.exts)
	ch.Groups, back = carve(back, n.groups)
	ch.SigAlgs, back = carve(back, n.sigs)
	ch.Versions, _ = carve(back, n.vers)
	if n.pfs > 0 {
		ch.PointFormats = make([]uint8, 0, n.pfs)
	}
	for len(cs.b) >= 2 {
		ch.Ciphers = append(ch.Ciphers, cs.u16())
	}
	var (
		textA [128]byte
		alpnA [8][2]int
	)
	text, alpn := textA[:0], alpnA[:0]
	sni := [2]int{-1, -1}
	for len(ext.b) >= 4 && !ext.err {
		typ := ext.u16()
		data := tlsReader{b: ext.vec16()}
		ch.Extensions = append(ch.Extensions, typ)
		switch typ {
		case 0: // server_name
			list := tlsReader{b: data.vec16()}
			for len(list.b) > 0 && !list.err {
				kind := list.u8()
				name := list.vec16()
				if kind == 0 && sni[0] < 0 && len(name) > 0 {
					sni[0] = len(text)
					text = append(text, name...)
					sni[1] = len(text)
				}
			}
		case 16: // ALPN: the last extension wins
			alpn = alpn[:0]
			r := tlsReader{b: data.vec16()}
			for len(r.b) > 0 && !r.err {
				p := r.vec8()
				if !r.err {
					start := len(text)
					text = append(text, p...)
					alpn = append(alpn, [2]int{start, len(text)})
				}
			}
		case 10: // supported_groups
			g := tlsReader{b: data.vec16()}
			for len(g.b) >= 2 {
				ch.Groups = append(ch.Groups, g.u16())
			}
		case 11: // ec_point_formats
			ch.PointFormats = append(ch.PointFormats, data.vec8()...)
		case 13: // signature_algorithms
			g := tlsReader{b: data.vec16()}
			for len(g.b) >= 2 {
				ch.SigAlgs = append(ch.SigAlgs, g.u16())
			}
		case 43: // supported_versions
			g := tlsReader{b: data.vec8()}
			for len(g.b) >= 2 {
				ch.Versions = append(ch.Versions, g.u16())
			}
		}
	}
	if sni[0] >= 0 || len(alpn) > 0 {
		all := string(text)
		if sni[0] >= 0 {
			ch.SNI = all[sni[0]:sni[1]]
		}
		if len(alpn) > 0 {
			ch.ALPN = make([]string, len(alpn))
			for i, sp := range alpn {
				ch.ALPN[i] = all[sp[0]:sp[1]]
			}
		}
	}
	return ch, nil
}

// helloLists counts what a ClientHello's extensions hold.
type helloLists struct{ exts, groups, sigs, vers, pfs int }

// countHelloLists walks the extensions as parseClientHello does, to size
// its lists.
func countHelloLists(ext tlsReader) helloLists {
	var n helloLists
	for len(ext.b) >= 4 && !ext.err {
		typ := ext.u16()
		data := tlsReader{b: ext.vec16()}
		n.exts++
		switch typ {
		case 10:
			n.groups += len(data.vec16()) / 2
		case 11:
			n.pfs += len(data.vec8())
		case 13:
			n.sigs += len(data.vec16()) / 2
		case 43:
			n.vers += len(data.vec8()) / 2
		}
	}
	return n
}

// carve cuts an empty list with room for n values off the front of back;
// nil when n is zero.
func carve(back []uint16, n int) (list, rest []uint16) {
	if n == 0 {
		return nil, back
	}
	return back[:0:n], back[n:]
}

func parseALPN(b []byte) []string {
	var out []string
	r := tlsReader{b: b}
	for len(r.b) > 0 && !r.err {
		p := r.vec8()
		if !r.err {
			out = append(out, string(p))
		}
	}
	return out
}

// ParseServerHello decodes the body of a ServerHello handshake message.
func ParseServerHello(b []byte) (*ServerHello, error) {
	sh, exts, err := parseServerHello(b, nil)
	if err != nil {
		return nil, err
	}
	sh.Extensions = exts
	return &sh, nil
}

// parseServerHello decodes a ServerHello except its Extensions, whose types
// it appends to exts and returns apart: a caller may keep them on its stack
// (escape analysis does not tell one field of sh from another).
func parseServerHello(b []byte, exts []uint16) (sh ServerHello, extsOut []uint16, err error) {
	r := tlsReader{b: b}
	sh.Version = r.u16()
	r.bytes(32)
	r.vec8()
	sh.Cipher = r.u16()
	r.u8() // compression
	if r.err {
		return ServerHello{}, nil, fmt.Errorf("parse server hello: %w", errTLSShort)
	}
	if len(r.b) == 0 {
		return sh, nil, nil
	}
	ext := tlsReader{b: r.vec16()}
	for len(ext.b) >= 4 && !ext.err {
		typ := ext.u16()
		data := tlsReader{b: ext.vec16()}
		exts = append(exts, typ)
		switch typ {
		case 43:
			sh.Selected = data.u16()
		case 16:
			sh.ALPN = parseALPN(data.vec16())
		}
	}
	return sh, exts, nil
}

// TLSVersionName names a protocol version as Suricata's SSLVersionToString
// does: "TLSv1" for 1.0 but "TLS 1.2" for 1.2, "TLS 1.3 draft-NN" (and
// "-fb" for Facebook's variants) for the drafts, 0xNNNN for anything else.
func TLSVersionName(v uint16) string {
	switch v {
	case 0:
		return "UNDETERMINED"
	case 0x0002, 0x0200:
		return "SSLv2"
	case 0x0300:
		return "SSLv3"
	case 0x0301:
		return "TLSv1"
	case 0x0302:
		return "TLS 1.1"
	case 0x0303:
		return "TLS 1.2"
	case 0x0304:
		return "TLS 1.3"
	case 0xfb14, 0xfb15, 0xfb16, 0xfb17, 0xfb1a:
		return "TLS 1.3 draft-" + strconv.Itoa(int(v&0xff)) + "-fb"
	}
	switch {
	case v >= 0x7f01 && v < 0x7f10:
		return "TLS 1.3 draft-<16"
	case v >= 0x7f10 && v <= 0x7f1c:
		return "TLS 1.3 draft-" + strconv.Itoa(int(v&0xff))
	}
	const hexd = "0123456789abcdef"
	return string([]byte{'0', 'x', hexd[v>>12], hexd[v>>8&0xf], hexd[v>>4&0xf], hexd[v&0xf]})
}

// maxVersion is the highest non-GREASE offered version.
func (ch *ClientHello) maxVersion() uint16 {
	best := uint16(0)
	for _, v := range ch.Versions {
		if !isGREASE(v) && v > best && v>>8 != 0x7f {
			best = v
		}
	}
	if best == 0 {
		return ch.Version
	}
	return best
}

// appendDec appends the values as JA3 lists them: decimal, dash-separated,
// GREASE values left out.
func appendDec[T uint8 | uint16](b []byte, vs []T) []byte {
	first := true
	for _, v := range vs {
		if isGREASE(uint16(v)) && uint16(v) > 0xff {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}

// jaFromText turns b, whose first 32 bytes are room for the hash and the
// rest the fingerprint string, into a JA with one allocation.
func jaFromText(b []byte) JA {
	sum := md5.Sum(b[32:])
	hex.Encode(b[:32], sum[:])
	s := string(b)
	return JA{Hash: s[:32], String: s[32:]}
}

// JA3 returns the client fingerprint (https://github.com/salesforce/ja3).
func (ch *ClientHello) JA3() *JA {
	j := ch.ja3()
	return &j
}

func (ch *ClientHello) ja3() JA {
	var a [320]byte
	return jaFromText(ch.appendJA3(a[:32]))
}

// appendJA3 appends the JA3 string to b.
func (ch *ClientHello) appendJA3(b []byte) []byte {
	b = strconv.AppendUint(b, uint64(ch.Version), 10)
	b = append(b, ',')
	b = appendDec(b, ch.Ciphers)
	b = append(b, ',')
	b = appendDec(b, ch.Extensions)
	b = append(b, ',')
	b = appendDec(b, ch.Groups)
	b = append(b, ',')
	return appendDec(b, ch.PointFormats)
}

// JA3S returns the server fingerprint.
func (sh *ServerHello) JA3S() *JA {
	j := sh.ja3s()
	return &j
}

func (sh *ServerHello) ja3s() JA {
	var a [160]byte
	b := strconv.AppendUint(a[:32], uint64(sh.Version), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(sh.Cipher), 10)
	b = append(b, ',')
	b = appendDec(b, sh.Extensions)
	return jaFromText(b)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// JA4 returns the JA4 TLS client fingerprint over TCP
// (https://github.com/FoxIO-LLC/ja4/blob/main/technical_details/JA4.md).
func (ch *ClientHello) JA4() string {
	var out [36]byte
	return string(ch.appendJA4(out[:0]))
}

// fingerprints returns JA3 and JA4 built in one allocation.
func (ch *ClientHello) fingerprints() (JA, string) {
	var a [384]byte
	b := ch.appendJA3(a[:32])
	n := len(b)
	b = ch.appendJA4(b)
	sum := md5.Sum(b[32:n])
	hex.Encode(b[:32], sum[:])
	s := string(b)
	return JA{Hash: s[:32], String: s[32:n]}, s[n:]
}

// appendJA4 appends the JA4 fingerprint (36 bytes) to b.
func (ch *ClientHello) appendJA4(b []byte) []byte {
	b = append(b, 't')
	switch ch.maxVersion() {
	case 0x0304:
		b = append(b, "13"...)
	case 0x0303:
		b = append(b, "12"...)
	case 0x0302:
		b = append(b, "11"...)
	case 0x0301:
		b = append(b, "10"...)
	case 0x0300:
		b = append(b, "s3"...)
	case 0x0200:
		b = append(b, "s2"...)
	default:
		b = append(b, "00"...)
	}
	if slices.Contains(ch.Extensions, 0) {
		b = append(b, 'd')
	} else {
		b = append(b, 'i')
	}
	var ca, ea [64]uint16
	ciphers := appendNonGREASE(ca[:0], ch.Ciphers)
	exts := appendNonGREASE(ea[:0], ch.Extensions)
	b = appendTwoDigits(b, min(len(ciphers), 99))
	b = appendTwoDigits(b, min(len(exts), 99))
	if len(ch.ALPN) > 0 && len(ch.ALPN[0]) > 0 {
		a := ch.ALPN[0]
		f, l := a[0], a[len(a)-1]
		if isAlnum(f) && isAlnum(l) {
			b = append(b, f, l)
		} else {
			const hexd = "0123456789abcdef"
			b = append(b, hexd[f>>4], hexd[l&0xf])
		}
	} else {
		b = append(b, "00"...)
	}
	b = append(b, '_')
	slices.Sort(ciphers)
	var ha [512]byte
	b = appendJA4Hash(b, appendHexList(ha[:0], ciphers))
	b = append(b, '_')
	// The extensions without SNI and ALPN, reusing exts' storage.
	rest := exts[:0]
	for _, e := range exts {
		if e != 0 && e != 16 {
			rest = append(rest, e)
		}
	}
	slices.Sort(rest)
	if len(rest) == 0 {
		b = append(b, "000000000000"...)
	} else {
		h := appendHexList(ha[:0], rest)
		var sa [64]uint16
		if sig := appendNonGREASE(sa[:0], ch.SigAlgs); len(sig) > 0 {
			h = append(h, '_')
			h = appendHexList(h, sig)
		}
		b = appendJA4Hash(b, h)
	}
	return b
}

func appendTwoDigits(b []byte, n int) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

func appendNonGREASE(out, vs []uint16) []uint16 {
	for _, v := range vs {
		if !isGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

func appendHexList(b []byte, vs []uint16) []byte {
	const hexd = "0123456789abcdef"
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, hexd[v>>12], hexd[v>>8&0xf], hexd[v>>4&0xf], hexd[v&0xf])
	}
	return b
}

// appendJA4Hash appends the first 12 hex digits of the SHA-256 of s, or
// twelve zeros when s is empty.
func appendJA4Hash(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	return hex.AppendEncode(b, sum[:6])
}

// certFields fills the certificate part of t from a DER certificate, in
// Suricata's formats.
func certFields(t *TLS, der []byte) {
	sum := sha1.Sum(der)
	t.Fingerprint = colonHex(sum[:], false)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return
	}
	t.Subject = dnString(cert.RawSubject)
	t.IssuerDN = dnString(cert.RawIssuer)
	t.Serial = colonHex(rawSerial(cert.RawTBSCertificate), true)
	t.NotBefore = cert.NotBefore.UTC().Format("2006-01-02T15:04:05")
	t.NotAfter = cert.NotAfter.UTC().Format("2006-01-02T15:04:05")
}

func colonHex(b []byte, upper bool) string {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	out := make([]byte, 0, len(b)*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// rawSerial returns the serial number's content octets as encoded (with any
// leading zero), which is what Suricata prints.
func rawSerial(tbs []byte) []byte {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(tbs, &seq); err != nil {
		return nil
	}
	var el asn1.RawValue
	rest, err := asn1.Unmarshal(seq.Bytes, &el)
	if err != nil {
		return nil
	}
	if el.Class == asn1.ClassContextSpecific && el.Tag == 0 {
		if _, err := asn1.Unmarshal(rest, &el); err != nil {
			return nil
		}
	}
	return el.Bytes
}

// oidNames are the attribute names Suricata prints in a DN: x509-parser's
// abbreviations (CN, C, L, ST, O, OU, DC, Email), else oid-registry's short
// names.
var oidNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "surname", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
	"2.5.4.17": "postalCode", "2.5.4.42": "givenName", "2.5.4.15": "businessCategory",
	"1.2.840.113549.1.9.1": "Email", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID",
}

// dnString formats a distinguished name in certificate order, "C=US, O=...",
// without RFC 4514 escaping, as Suricata logs it.
func dnString(raw []byte) string {
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(raw, &rdns); err != nil {
		return ""
	}
	var sb strings.Builder
	for _, rdn := range rdns {
		for j, atv := range rdn {
			if sb.Len() > 0 {
				if j > 0 {
					sb.WriteString(" + ")
				} else {
					sb.WriteString(", ")
				}
			}
			oid := atv.Type.String()
			if n, ok := oidNames[oid]; ok {
				oid = n
			}
			sb.WriteString(oid)
			sb.WriteByte('=')
			sb.WriteString(fmt.Sprint(atv.Value))
		}
	}
	return sb.String()
}

// tlsParser follows the handshake until the server's certificate (TLS 1.2
// and earlier) or its ServerHello (TLS 1.3), then emits one tls event.
type tlsParser struct {
	hs       [2][]byte // handshake bytes not yet parsed, per direction (0: to server)
	seenCH   bool      // a ClientHello was parsed
	seenSH   bool      // a ServerHello was parsed
	certSeen bool      // the server's own certificate was parsed
	// The flags sit together so that the parser (a TLS flow holds it
	// until the flow ends) fits the allocator's 512-byte class.
	emitted   bool
	finished  [2]bool
	info      TLS
	remain    [2]int // bytes left of the handshake record being read
	skip      [2]int // bytes left of a handshake message parsed early
	ja3, ja3s JA     // info.JA3 and info.JA3S point here
	ev        Event  // the one event, allocated with the parser
}

func (p *tlsParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	d := 1
	if toServer {
		d = 0
	}
	n := 0
	for n < len(b) && !p.finished[d] && !p.emitted {
		if p.remain[d] > 0 {
			// Handshake records are parsed as they stream in, so a large
			// certificate record need not fit in the byte budget.
			k := min(p.remain[d], len(b)-n)
			p.handshake(c, d, b[n:n+k])
			p.remain[d] -= k
			n += k
			continue
		}
		if len(b)-n < 5 {
			break
		}
		typ := b[n]
		l := int(binary.BigEndian.Uint16(b[n+3:]))
		if b[n+1] != 3 || l > maxTLSRecord {
			p.finished[d] = true
			break
		}
		n += 5
		switch typ {
		case 22:
			p.remain[d] = l
		case 20, 21, 23:
			// Past the cleartext handshake in this direction.
			p.finished[d] = true
			if d == 1 {
				p.emit(c, false)
			}
		default:
			p.finished[d] = true
		}
	}
	if p.finished[d] || p.emitted {
		p.hs[d] = nil
		return len(b), true
	}
	return n, false
}

func (p *tlsParser) handshake(c *ctx, d int, frag []byte) {
	if k := min(p.skip[d], len(frag)); k > 0 {
		p.skip[d] -= k
		frag = frag[k:]
	}
	buf := frag
	if len(p.hs[d]) > 0 {
		p.hs[d] = append(p.hs[d], frag...)
		buf = p.hs[d]
	}
	for len(buf) >= 4 && !p.finished[d] {
		l := int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])
		if len(buf)-4 < l {
			break
		}
		p.message(c, d, buf[0], buf[4:4+l])
		buf = buf[4+l:]
	}
	if p.finished[d] || len(buf) == 0 {
		p.hs[d] = p.hs[d][:0]
		return
	}
	// A certificate chain can outgrow the byte budget; the server's own
	// certificate comes first, so parse it as soon as it is complete.
	if d == 1 && buf[0] == 11 && len(buf) >= 10 {
		certLen := int(buf[7])<<16 | int(buf[8])<<8 | int(buf[9])
		if len(buf)-10 >= certLen {
			p.message(c, d, 11, buf[4:])
			p.skip[d] = 4 + (int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])) - len(buf)
			p.hs[d] = p.hs[d][:0]
			return
		}
	}
	// Keep the partial message; a message split over records is rare but
	// legal. It is kept in hs's own storage (buf may be its tail: append
	// moves it down), not in a new copy at every segment: a flight that
	// comes a few bytes a segment was copied whole, and allocated, for
	// each of them.
	p.hs[d] = append(p.hs[d][:0], buf...)
}

func (p *tlsParser) message(c *ctx, d int, typ byte, body []byte) {
	switch {
	case typ == 1 && d == 0 && !p.seenCH:
		ch, err := parseClientHello(body)
		if err != nil {
			p.finished[d] = true
			return
		}
		p.seenCH = true
		p.info.SNI = ch.SNI
		p.info.ALPN = ch.ALPN
		p.info.Ciphers = ch.Ciphers
		p.ja3, p.info.JA4 = c.st.pool.fingerprints(&ch)
		p.info.JA3 = &p.ja3
		p.info.Version = TLSVersionName(ch.maxVersion())
		// The client's part is done once it has said hello.
		p.finished[d] = true
	case typ == 2 && d == 1 && !p.seenSH:
		// The extension types are only needed for JA3S: keep them on the
		// stack.
		var extA [32]uint16
		sh, exts, err := parseServerHello(body, extA[:0])
		if err != nil {
			p.finished[d] = true
			return
		}
		p.seenSH = true
		v := sh.Version
		if sh.Selected != 0 {
			v = sh.Selected
		}
		p.info.Version = TLSVersionName(v)
		fp := ServerHello{Version: sh.Version, Cipher: sh.Cipher, Extensions: exts}
		p.ja3s = c.st.pool.ja3s(&fp)
		p.info.JA3S = &p.ja3s
		p.info.ALPNServer = sh.ALPN
		if v >= 0x0304 {
			// Everything after the ServerHello is encrypted.
			p.finished[d] = true
			p.emit(c, false)
		}
	case typ == 11 && d == 1:
		// The list length is not checked: the list may be cut short after
		// its first certificate (see handshake).
		r := tlsReader{b: body}
		r.bytes(3)
		if der := r.bytes(int(r.u8())<<16 | int(r.u16())); !r.err && len(der) > 0 && !p.certSeen {
			p.certSeen = true
			certFields(&p.info, der)
		}
	case typ == 14 && d == 1:
		// The server's handshake is done at its ServerHelloDone: Suricata
		// logs the session then.
		p.finished[d] = true
		p.emit(c, false)
	}
}

// truncate is called when direction toServer reached its byte budget: a
// server whose certificate chain outgrew it will not be followed to its
// ServerHelloDone, so what is known is logged now.
func (p *tlsParser) truncate(c *ctx, toServer bool) {
	if !toServer {
		p.emit(c, false)
	}
}

func (p *tlsParser) emit(c *ctx, toServer bool) {
	if p.emitted || (!p.seenCH && !p.seenSH) {
		return
	}
	p.emitted = true
	// info is final once emitted: the event may point into the parser.
	p.ev = Event{Type: "tls", TLS: &p.info}
	c.send(&p.ev, toServer)
	p.hs = [2][]byte{}
}

func (p *tlsParser) close(c *ctx) { p.emit(c, true) }

func (p *tlsParser) done() bool { return p.emitted || (p.finished[0] && p.finished[1]) }
