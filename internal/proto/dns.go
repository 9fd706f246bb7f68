package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

var errDNSShort = errors.New("truncated message")

// maxDNSRecords bounds the records parsed per section, so a hostile count
// field cannot make one datagram expensive.
const maxDNSRecords = 64

var dnsTypeNames = map[uint16]string{
	1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
	11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB",
	19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR", 24: "SIG", 25: "KEY", 26: "PX",
	27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX",
	37: "CERT", 38: "A6", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY",
	46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA",
	55: "HIP", 59: "CDS", 60: "CDNSKEY", 64: "SVCB", 65: "HTTPS", 99: "SPF", 249: "TKEY", 250: "TSIG",
	251: "IXFR", 252: "AXFR", 255: "ANY", 256: "URI", 257: "CAA",
}

var dnsRCodes = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}

// dnsTypeLow holds dnsTypeNames below 256: every question and record names
// its type, and an array index is cheaper than a map lookup.
var dnsTypeLow = func() (a [256]string) {
	for t, s := range dnsTypeNames {
		if t < 256 {
			a[t] = s
		}
	}
	return a
}()

// DNSTypeName returns the mnemonic of an RR type ("A", "NULL", ...) or its
// decimal number when unknown.
func DNSTypeName(t uint16) string {
	if t < 256 {
		if s := dnsTypeLow[t]; s != "" {
			return s
		}
	} else if s, ok := dnsTypeNames[t]; ok {
		return s
	}
	return strconv.Itoa(int(t))
}

func dnsRCodeName(c int) string {
	if c < len(dnsRCodes) {
		return dnsRCodes[c]
	}
	return strconv.Itoa(c)
}

// ParseDNS decodes one DNS message (without the TCP length prefix) into
// Suricata's EVE v3 shape. Additional records are not returned.
func ParseDNS(b []byte) (*DNS, error) {
	ev, err := parseDNS(b)
	if err != nil {
		return nil, err
	}
	return ev.DNS, nil
}

// dnsQueryMsg is what a message without records needs, allocated at once:
// the event, the message and its question.
type dnsQueryMsg struct {
	ev Event
	m  DNS
	q  [1]DNSQuery
}

// dnsAnswerMsg adds room for the records of a typical response and for the
// values of its grouped answers.
type dnsAnswerMsg struct {
	dnsQueryMsg
	rr [2]DNSAnswer
}

// dnsText gathers the text of one message (names, record data, flags) in
// one buffer, so the message costs a single string allocation: each field
// becomes a substring of it once parsing is done.
type dnsText struct {
	buf  []byte
	refs []textRef
}

type textRef struct {
	dst        *string
	start, end int
}

// mark records that the text appended since start is the value of *dst.
// dnsText is passed by value throughout: stores through a pointer would
// move its stack buffers to the heap.
func (t dnsText) mark(dst *string, start int) dnsText {
	t.refs = append(t.refs, textRef{dst, start, len(t.buf)})
	return t
}

func (t dnsText) finish() {
	if len(t.refs) == 0 {
		return
	}
	s := string(t.buf)
	for _, r := range t.refs {
		*r.dst = s[r.start:r.end]
	}
}

// parseDNS decodes a message into a ready dns event (Type and DNS set).
func parseDNS(b []byte) (*Event, error) { return parseDNSInto(b, nil) }

// parseDNSInto is parseDNS with the event built in am, a zeroed message,
// when am is not nil.
func parseDNSInto(b []byte, am *dnsAnswerMsg) (*Event, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("parse dns header: %w", errDNSShort)
	}
	qd := int(binary.BigEndian.Uint16(b[4:]))
	an := int(binary.BigEndian.Uint16(b[6:]))
	ns := int(binary.BigEndian.Uint16(b[8:]))
	nq, na, nn := min(qd, maxDNSRecords), min(an, maxDNSRecords), min(ns, maxDNSRecords)
	if xa, xn := dnsScanTXT(b, qd, an, ns); xa+xn > 0 {
		na, nn = min(na+xa, maxDNSRecords), min(nn+xn, maxDNSRecords)
	}
	var (
		qm *dnsQueryMsg
		rr []DNSAnswer
	)
	if am == nil && na+nn == 0 {
		qm = new(dnsQueryMsg)
	} else {
		if am == nil {
			am = new(dnsAnswerMsg)
		}
		qm = &am.dnsQueryMsg
		if na+nn <= len(am.rr) {
			rr = am.rr[:na+nn]
		}
	}
	if rr == nil {
		rr = make([]DNSAnswer, na+nn)
	}
	// Stack room for a typical message's text and fields.
	var (
		bufA [256]byte
		refA [8]textRef
	)
	t := dnsText{buf: bufA[:0], refs: refA[:0]}

	flags := binary.BigEndian.Uint16(b[2:])
	m := &qm.m
	// The block is fresh (zero): fields are set one by one, since a whole
	// struct assignment costs a write-barrier copy.
	m.Version = 3
	m.ID = binary.BigEndian.Uint16(b)
	m.QR = flags&0x8000 != 0
	m.AA = flags&0x0400 != 0
	m.TC = flags&0x0200 != 0
	m.RD = flags&0x0100 != 0
	m.RA = flags&0x0080 != 0
	m.Opcode = int(flags>>11) & 0xf
	const hexd = "0123456789abcdef"
	t.buf = append(t.buf, hexd[flags>>12], hexd[flags>>8&0xf], hexd[flags>>4&0xf], hexd[flags&0xf])
	t = t.mark(&m.Flags, 0)
	m.Type = "request"
	if m.QR {
		m.Type = "response"
		m.RCode = dnsRCodeName(int(flags & 0xf))
	}
	if nq <= len(qm.q) {
		m.Queries = qm.q[:0:nq]
	} else {
		m.Queries = make([]DNSQuery, 0, nq)
	}
	off := 12
	for i := 0; i < qd; i++ {
		start := len(t.buf)
		var err error
		t.buf, off, err = appendDNSName(t.buf, b, off)
		if err != nil {
			return nil, fmt.Errorf("parse dns question %d: %w", i, err)
		}
		if off+4 > len(b) {
			return nil, fmt.Errorf("parse dns question %d: %w", i, errDNSShort)
		}
		if i < maxDNSRecords {
			m.Queries = m.Queries[:i+1]
			q := &m.Queries[i]
			q.RRType = DNSTypeName(binary.BigEndian.Uint16(b[off:]))
			t = t.mark(&q.RRName, start)
		} else {
			t.buf = t.buf[:start]
		}
		off += 4
	}
	var err error
	if t, m.Answers, off, err = dnsRecords(t, b, off, an, rr[:na:na]); err != nil {
		return nil, fmt.Errorf("parse dns answers: %w", err)
	}
	if t, m.Authorities, _, err = dnsRecords(t, b, off, ns, rr[na:na+nn:na+nn]); err != nil {
		return nil, fmt.Errorf("parse dns authorities: %w", err)
	}
	t.finish()
	qm.ev.Type, qm.ev.DNS = "dns", m
	return &qm.ev, nil
}

// Grouped is EVE's dns.grouped object: record data by record type, in
// answer order (SOA and SRV records have structured data and are left out).
// It is computed on demand; the EVE writer encodes it straight from Answers.
func (d *DNS) Grouped() map[string][]string {
	var g map[string][]string
	for i := range d.Answers {
		if a := &d.Answers[i]; Groupable(a) {
			if g == nil {
				g = make(map[string][]string)
			}
			g[a.RRType] = append(g[a.RRType], a.RData)
		}
	}
	return g
}

// Groupable reports whether an answer belongs in dns.grouped.
func Groupable(a *DNSAnswer) bool { return a.RData != "" && a.SOA == nil && a.SRV == nil }

// dnsRecords parses count records at off into out (room for the records
// kept, at most maxDNSRecords); it returns the records, or nil when count is
// zero. A TXT record becomes one answer per character-string, as Suricata
// logs it; the answers stay within maxDNSRecords.
func dnsRecords(t dnsText, b []byte, off, count int, out []DNSAnswer) (dnsText, []DNSAnswer, int, error) {
	if count == 0 {
		return t, nil, off, nil
	}
	out = out[:0]
	for i := 0; i < count; i++ {
		start := len(t.buf)
		var err error
		t.buf, off, err = appendDNSName(t.buf, b, off)
		if err != nil {
			return t, nil, off, err
		}
		if off+10 > len(b) {
			return t, nil, off, errDNSShort
		}
		typ := binary.BigEndian.Uint16(b[off:])
		ttl := binary.BigEndian.Uint32(b[off+4:])
		rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
		off += 10
		if off+rdlen > len(b) {
			return t, nil, off, errDNSShort
		}
		if len(out) >= maxDNSRecords || len(out) == cap(out) {
			// Beyond the bound, or beyond the room dnsScan counted: the
			// text refs point into out, so it must never be reallocated.
			t.buf = t.buf[:start]
			off += rdlen
			continue
		}
		out = append(out, DNSAnswer{})
		a := &out[len(out)-1]
		a.RRType, a.TTL = DNSTypeName(typ), ttl
		t = t.mark(&a.RRName, start)
		if typ == 16 && rdlen > 0 {
			t, out = dnsTXT(t, out, b[off:off+rdlen])
		} else {
			t = dnsRData(t, a, b, off, rdlen, typ)
		}
		off += rdlen
	}
	return t, out, off, nil
}

// dnsScanTXT counts, per section, the answers that TXT records of several
// character-strings add to the record count, so the answers can be allocated
// at once. A malformed message counts what it could read.
func dnsScanTXT(b []byte, qd, an, ns int) (xa, xn int) {
	off := 12
	for i := 0; i < qd; i++ {
		if off = skipDNSName(b, off); off < 0 || off+4 > len(b) {
			return
		}
		off += 4
	}
	for i := 0; i < an+ns && i < 2*maxDNSRecords; i++ {
		if off = skipDNSName(b, off); off < 0 || off+10 > len(b) {
			return
		}
		typ := binary.BigEndian.Uint16(b[off:])
		rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
		off += 10
		if off+rdlen > len(b) {
			return
		}
		if typ == 16 {
			n := -1
			for p := off; p < off+rdlen; p += 1 + int(b[p]) {
				n++
			}
			if n <= 0 {
				// one string or none: no extra answer
			} else if i < an {
				xa += n
			} else {
				xn += n
			}
		}
		off += rdlen
	}
	return
}

// skipDNSName returns the offset just past the name at off, or -1.
func skipDNSName(b []byte, off int) int {
	for n := 0; off < len(b) && n < 128; n++ {
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1
		case l&0xc0 == 0xc0:
			return off + 2
		case l&0xc0 != 0:
			return -1
		}
		off += 1 + l
	}
	return -1
}

// dnsTXT fills the last answer of out with the first character-string of
// rd and appends one answer, same name, type and TTL, per further string.
func dnsTXT(t dnsText, out []DNSAnswer, rd []byte) (dnsText, []DNSAnswer) {
	tmpl := out[len(out)-1]
	nameRef := t.refs[len(t.refs)-1]
	for p, first := 0, true; p < len(rd); first = false {
		l := int(rd[p])
		p++
		if p+l > len(rd) {
			l = len(rd) - p
		}
		if !first {
			if len(out) >= maxDNSRecords || len(out) == cap(out) {
				break
			}
			out = append(out, tmpl)
			t.refs = append(t.refs, textRef{&out[len(out)-1].RRName, nameRef.start, nameRef.end})
		}
		start := len(t.buf)
		t.buf = appendEscapeBytes(t.buf, rd[p:p+l])
		t = t.mark(&out[len(out)-1].RData, start)
		p += l
	}
	return t, out
}

// dnsRData formats the record data as Suricata does: addresses and names as
// text, SOA and SRV as objects, anything else as its bytes with invalid
// UTF-8 escaped as \xNN.
func dnsRData(t dnsText, a *DNSAnswer, b []byte, off, n int, typ uint16) dnsText {
	rd := b[off : off+n]
	start := len(t.buf)
	switch typ {
	case 1:
		if n == 4 {
			for i, c := range rd {
				if i > 0 {
					t.buf = append(t.buf, '.')
				}
				t.buf = strconv.AppendUint(t.buf, uint64(c), 10)
			}
			t = t.mark(&a.RData, start)
			return t
		}
	case 28:
		if n == 16 {
			t.buf = appendIPv6(t.buf, rd)
			t = t.mark(&a.RData, start)
			return t
		}
	case 2, 3, 4, 5, 7, 8, 9, 12, 39:
		var err error
		if t.buf, _, err = appendDNSName(t.buf, b, off); err == nil {
			t = t.mark(&a.RData, start)
			return t
		}
	case 15:
		if n > 2 {
			var err error
			if t.buf, _, err = appendDNSName(t.buf, b, off+2); err == nil {
				t = t.mark(&a.RData, start)
				return t
			}
		}
	case 6:
		var soa DNSSOA
		var p int
		var err error
		if t.buf, p, err = appendDNSName(t.buf, b, off); err != nil {
			break
		}
		mid := len(t.buf)
		if t.buf, p, err = appendDNSName(t.buf, b, p); err != nil || p+20 > off+n {
			t.buf = t.buf[:start]
			break
		}
		soa.Serial = binary.BigEndian.Uint32(b[p:])
		soa.Refresh = binary.BigEndian.Uint32(b[p+4:])
		soa.Retry = binary.BigEndian.Uint32(b[p+8:])
		soa.Expire = binary.BigEndian.Uint32(b[p+12:])
		soa.Minimum = binary.BigEndian.Uint32(b[p+16:])
		a.SOA = &soa
		t.refs = append(t.refs, textRef{&soa.MName, start, mid}, textRef{&soa.RName, mid, len(t.buf)})
		return t
	case 33:
		if n > 6 {
			var err error
			if t.buf, _, err = appendDNSName(t.buf, b, off+6); err == nil {
				a.SRV = &DNSSRV{Priority: binary.BigEndian.Uint16(rd), Weight: binary.BigEndian.Uint16(rd[2:]),
					Port: binary.BigEndian.Uint16(rd[4:])}
				t = t.mark(&a.SRV.Name, start)
				return t
			}
		}
	case 99:
		for p := 0; p < len(rd); {
			l := int(rd[p])
			p++
			if p+l > len(rd) {
				l = len(rd) - p
			}
			t.buf = appendEscapeBytes(t.buf, rd[p:p+l])
			p += l
		}
		t = t.mark(&a.RData, start)
		return t
	}
	t.buf = appendEscapeBytes(t.buf[:start], rd)
	return t.mark(&a.RData, start)
}

func appendIPv6(out, b []byte) []byte {
	const hexd = "0123456789abcdef"
	for i := 0; i < 16; i++ {
		if i > 0 && i%2 == 0 {
			out = append(out, ':')
		}
		out = append(out, hexd[b[i]>>4], hexd[b[i]&0xf])
	}
	return out
}

// appendEscapeBytes keeps valid UTF-8 and writes each invalid byte as \xNN,
// the way Suricata prints binary record data.
func appendEscapeBytes(out, b []byte) []byte {
	if utf8.Valid(b) {
		return append(out, b...)
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = appendHexEscape(out, b[0])
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

// appendDNSName appends the possibly compressed name at off to out and
// returns the offset just past it. Labels are joined by '.', the root is
// "<root>", and bytes outside printable ASCII are escaped as \xNN. On error
// out is returned as it was.
func appendDNSName(out, b []byte, off int) ([]byte, int, error) {
	start := len(out)
	end := -1
	jumps := 0
	total := 0
	for {
		if off >= len(b) {
			return out[:start], 0, errDNSShort
		}
		l := int(b[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if len(out) == start {
				out = append(out, "<root>"...)
			}
			return out, end, nil
		case l&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return out[:start], 0, errDNSShort
			}
			if end < 0 {
				end = off + 2
			}
			jumps++
			if jumps > 64 {
				return out[:start], 0, errDNSLoop
			}
			off = (l&0x3f)<<8 | int(b[off+1])
		case l&0xc0 != 0:
			return out[:start], 0, errDNSLabel
		default:
			off++
			if off+l > len(b) {
				return out[:start], 0, errDNSShort
			}
			total += l + 1
			if total > 255 {
				return out[:start], 0, errDNSLong
			}
			if len(out) > start {
				out = append(out, '.')
			}
			for _, c := range b[off : off+l] {
				if c < 0x20 || c >= 0x7f {
					out = appendHexEscape(out, c)
				} else {
					out = append(out, c)
				}
			}
			off += l
		}
	}
}

var (
	errDNSLoop  = errors.New("compression loop")
	errDNSLabel = errors.New("bad label type")
	errDNSLong  = errors.New("name too long")
)

func appendHexEscape(out []byte, c byte) []byte {
	const hexd = "0123456789abcdef"
	return append(out, '\\', 'x', hexd[c>>4], hexd[c&0xf])
}

// dnsParser emits a dns event per message; over TCP it splits the stream on
// the two-byte length prefix.
type dnsParser struct {
	tcp bool
	// txs counts the messages parsed in the flow, both directions: Suricata
	// makes every request and every response its own transaction, numbered
	// in arrival order (a query and its answer are tx 0 and 1).
	txs int
	// resync is set for a TCP direction after a gap: its next data is
	// parsed only if it starts with a plausible message, as Suricata's DNS
	// parser does after a gap.
	resync [2]bool
	capped bool // maxTxPerFlow reached
}

// holdLimit lets any one DNS message over TCP be reassembled.
func (p *dnsParser) holdLimit(*Config) int {
	if !p.tcp {
		return 0
	}
	return 2 + 65535
}

func (p *dnsParser) gap(_ *ctx, toServer bool, _ int64, _ int) {
	if toServer {
		p.resync[0] = true
	} else {
		p.resync[1] = true
	}
}

func (p *dnsParser) message(c *ctx, toServer bool, b []byte) {
	ev, err := parseDNSInto(b, c.st.pool.dnsMsg())
	if err != nil {
		return
	}
	ev.DNS.TxID = p.txs
	p.txs++
	c.send(ev, toServer)
}

func (p *dnsParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	d := 1
	if toServer {
		d = 0
	}
	if p.resync[d] {
		if len(b) < 2+12 {
			return 0, false
		}
		if l := int(binary.BigEndian.Uint16(b)); l < 12 || !qdPlausible(b[2:min(len(b), 2+l)]) {
			return len(b), false // not a message start: dropped, as Suricata does
		}
		p.resync[d] = false
	}
	n := 0
	for len(b)-n >= 2 {
		if p.txs >= maxTxPerFlow {
			if !p.capped {
				p.capped = true
				c.cfg.budget().capped()
			}
			return len(b), true
		}
		l := int(binary.BigEndian.Uint16(b[n:]))
		if len(b)-n-2 < l {
			break
		}
		p.message(c, toServer, b[n+2:n+2+l])
		n += 2 + l
	}
	return n, false
}

func (p *dnsParser) close(*ctx) {}
func (p *dnsParser) done() bool { return false }
