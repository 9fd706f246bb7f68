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
	r := tlsReader{b: b}
	ch := &ClientHello{Version: r.u16()}
	r.bytes(32)
	r.vec8() // session id
	cs := tlsReader{b: r.vec16()}
	for len(cs.b) >= 2 {
		ch.Ciphers = append(ch.Ciphers, cs.u16())
	}
	r.vec8() // compression methods
	if r.err {
		return nil, fmt.Errorf("parse client hello: %w", errTLSShort)
	}
	if len(r.b) == 0 {
		return ch, nil
	}
	ext := tlsReader{b: r.vec16()}
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
				if kind == 0 && ch.SNI == "" {
					ch.SNI = string(name)
				}
			}
		case 16: // ALPN
			ch.ALPN = parseALPN(data.vec16())
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
	return ch, nil
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
	r := tlsReader{b: b}
	sh := &ServerHello{Version: r.u16()}
	r.bytes(32)
	r.vec8()
	sh.Cipher = r.u16()
	r.u8() // compression
	if r.err {
		return nil, fmt.Errorf("parse server hello: %w", errTLSShort)
	}
	if len(r.b) == 0 {
		return sh, nil
	}
	ext := tlsReader{b: r.vec16()}
	for len(ext.b) >= 4 && !ext.err {
		typ := ext.u16()
		data := tlsReader{b: ext.vec16()}
		sh.Extensions = append(sh.Extensions, typ)
		switch typ {
		case 43:
			sh.Selected = data.u16()
		case 16:
			sh.ALPN = parseALPN(data.vec16())
		}
	}
	return sh, nil
}

// TLSVersionName names a protocol version as Suricata does ("TLS 1.2").
func TLSVersionName(v uint16) string {
	switch v {
	case 0x0200:
		return "SSLv2"
	case 0x0300:
		return "SSLv3"
	case 0x0301:
		return "TLS 1.0"
	case 0x0302:
		return "TLS 1.1"
	case 0x0303:
		return "TLS 1.2"
	case 0x0304:
		return "TLS 1.3"
	}
	if v>>8 == 0x7f {
		return "TLS 1.3 draft-" + strconv.Itoa(int(v&0xff))
	}
	return "UNDETERMINED"
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

func joinDec[T uint8 | uint16](sb *strings.Builder, vs []T) {
	first := true
	for _, v := range vs {
		if isGREASE(uint16(v)) && uint16(v) > 0xff {
			continue
		}
		if !first {
			sb.WriteByte('-')
		}
		first = false
		sb.WriteString(strconv.Itoa(int(v)))
	}
}

func md5JA(s string) *JA {
	sum := md5.Sum([]byte(s))
	return &JA{Hash: hex.EncodeToString(sum[:]), String: s}
}

// JA3 returns the client fingerprint (https://github.com/salesforce/ja3).
func (ch *ClientHello) JA3() *JA {
	var sb strings.Builder
	sb.WriteString(strconv.Itoa(int(ch.Version)))
	sb.WriteByte(',')
	joinDec(&sb, ch.Ciphers)
	sb.WriteByte(',')
	joinDec(&sb, ch.Extensions)
	sb.WriteByte(',')
	joinDec(&sb, ch.Groups)
	sb.WriteByte(',')
	joinDec(&sb, ch.PointFormats)
	return md5JA(sb.String())
}

// JA3S returns the server fingerprint.
func (sh *ServerHello) JA3S() *JA {
	var sb strings.Builder
	sb.WriteString(strconv.Itoa(int(sh.Version)))
	sb.WriteByte(',')
	sb.WriteString(strconv.Itoa(int(sh.Cipher)))
	sb.WriteByte(',')
	joinDec(&sb, sh.Extensions)
	return md5JA(sb.String())
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// JA4 returns the JA4 TLS client fingerprint over TCP
// (https://github.com/FoxIO-LLC/ja4/blob/main/technical_details/JA4.md).
func (ch *ClientHello) JA4() string {
	var sb strings.Builder
	sb.WriteByte('t')
	switch ch.maxVersion() {
	case 0x0304:
		sb.WriteString("13")
	case 0x0303:
		sb.WriteString("12")
	case 0x0302:
		sb.WriteString("11")
	case 0x0301:
		sb.WriteString("10")
	case 0x0300:
		sb.WriteString("s3")
	case 0x0200:
		sb.WriteString("s2")
	default:
		sb.WriteString("00")
	}
	hasSNI := slices.Contains(ch.Extensions, 0)
	if hasSNI {
		sb.WriteByte('d')
	} else {
		sb.WriteByte('i')
	}
	ciphers := nonGREASE(ch.Ciphers)
	exts := nonGREASE(ch.Extensions)
	fmt.Fprintf(&sb, "%02d%02d", min(len(ciphers), 99), min(len(exts), 99))
	alpn := "00"
	if len(ch.ALPN) > 0 && len(ch.ALPN[0]) > 0 {
		a := ch.ALPN[0]
		f, l := a[0], a[len(a)-1]
		if isAlnum(f) && isAlnum(l) {
			alpn = string([]byte{f, l})
		} else {
			h := hex.EncodeToString([]byte(a))
			alpn = string([]byte{h[0], h[len(h)-1]})
		}
	}
	sb.WriteString(alpn)
	sb.WriteByte('_')
	slices.Sort(ciphers)
	sb.WriteString(ja4Hash(hexList(ciphers)))
	sb.WriteByte('_')
	var rest []uint16
	for _, e := range exts {
		if e != 0 && e != 16 {
			rest = append(rest, e)
		}
	}
	slices.Sort(rest)
	if len(rest) == 0 {
		sb.WriteString("000000000000")
	} else {
		s := hexList(rest)
		if sig := nonGREASE(ch.SigAlgs); len(sig) > 0 {
			s += "_" + hexList(sig)
		}
		sb.WriteString(ja4Hash(s))
	}
	return sb.String()
}

func nonGREASE(vs []uint16) []uint16 {
	out := make([]uint16, 0, len(vs))
	for _, v := range vs {
		if !isGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

func hexList(vs []uint16) string {
	var sb strings.Builder
	for i, v := range vs {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%04x", v)
	}
	return sb.String()
}

func ja4Hash(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
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

var oidNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
	"2.5.4.17": "postalCode", "2.5.4.42": "GN", "2.5.4.15": "businessCategory",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
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
	ch       *ClientHello
	sh       *ServerHello
	info     TLS
	emitted  bool
	finished [2]bool
	remain   [2]int // bytes left of the handshake record being read
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
			p.hs[d] = p.hs[d][:0]
			return
		}
	}
	// Keep the partial message; a message split over records is rare but legal.
	p.hs[d] = append(p.hs[d][:0:0], buf...)
}

func (p *tlsParser) message(c *ctx, d int, typ byte, body []byte) {
	switch {
	case typ == 1 && d == 0 && p.ch == nil:
		ch, err := ParseClientHello(body)
		if err != nil {
			p.finished[d] = true
			return
		}
		p.ch = ch
		p.info.SNI = ch.SNI
		p.info.ALPN = ch.ALPN
		p.info.Ciphers = ch.Ciphers
		p.info.JA3 = ch.JA3()
		p.info.JA4 = ch.JA4()
		p.info.Version = TLSVersionName(ch.maxVersion())
		// The client's part is done once it has said hello.
		p.finished[d] = true
	case typ == 2 && d == 1 && p.sh == nil:
		sh, err := ParseServerHello(body)
		if err != nil {
			p.finished[d] = true
			return
		}
		p.sh = sh
		v := sh.Version
		if sh.Selected != 0 {
			v = sh.Selected
		}
		p.info.Version = TLSVersionName(v)
		p.info.JA3S = sh.JA3S()
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
		if der := r.bytes(int(r.u8())<<16 | int(r.u16())); !r.err && len(der) > 0 {
			certFields(&p.info, der)
		}
		p.finished[d] = true
		p.emit(c, false)
	case typ == 14 && d == 1: // ServerHelloDone without a certificate
		p.finished[d] = true
		p.emit(c, false)
	}
}

func (p *tlsParser) emit(c *ctx, toServer bool) {
	if p.emitted || (p.ch == nil && p.sh == nil) {
		return
	}
	p.emitted = true
	t := p.info
	c.send(&Event{Type: "tls", TLS: &t}, toServer)
	p.hs = [2][]byte{}
}

func (p *tlsParser) close(c *ctx) { p.emit(c, true) }

func (p *tlsParser) done() bool { return p.emitted || (p.finished[0] && p.finished[1]) }
