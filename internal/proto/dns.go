package proto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appDNS is DNS's protocol id, set where it registers (in init, to keep
// the registration order).
var appDNS appID

func init() {
	appDNS = registerProtocol(protocol{name: "dns", packetDir: true,
		tcp:    []probe{{order: tierMessage, match: func(b []byte, _ bool, sport, cport uint16) bool { return looksDNS(b, true, sport, cport) }}},
		newTCP: func(*State) parser { return &dnsParser{tcp: true} },
		udp:    []probe{{order: tierMessage, match: func(b []byte, _ bool, sport, cport uint16) bool { return looksDNS(b, false, sport, cport) }}},
		// Kept inline in the State: no allocation per flow.
		newUDP: func(st *State) parser { return (*dnsDatagrams)(&st.dns) }})
}

// dnsDatagrams is a UDP DNS flow's parser: the State's inline dnsParser
// given each datagram as one message.
type dnsDatagrams dnsParser

func (p *dnsDatagrams) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	(*dnsParser)(p).message(c, toServer, b)
	return len(b), false
}
func (p *dnsDatagrams) close(*ctx) {}
func (p *dnsDatagrams) done() bool { return false }

// looksDNS reports whether b is a DNS message (with its two-byte length
// prefix over TCP) on port 53. Suricata probes for DNS only on its
// detection ports (53 by default): LLMNR (5355), NetBIOS names (137) and
// DNS-shaped traffic elsewhere are not DNS to it, and opsdeck logs no dns
// records (nor app_proto dns) for them either. mDNS (5353) is its own
// protocol (mdns.go).
func looksDNS(b []byte, tcp bool, sport, cport uint16) bool {
	if sport != 53 && cport != 53 {
		return false
	}
	return dnsShaped(b, tcp, sport == 53)
}

// dnsShaped reports whether b can be a DNS message: a plausible header
// (Suricata's check), over TCP behind a length prefix that a client's
// first segment must fill (fromServerPort: the server's may be cut).
func dnsShaped(b []byte, tcp, fromServerPort bool) bool {
	if tcp {
		if len(b) < 2+12 {
			return false
		}
		n := int(b[0])<<8 | int(b[1])
		if n < 12 {
			return false
		}
		b = b[2:]
		if len(b) > n {
			b = b[:n]
		}
		if len(b) < n && !fromServerPort {
			return false
		}
	}
	return len(b) >= 12 && qdPlausible(b)
}

// qdPlausible is Suricata's header validity check for DNS probing: the
// records the header announces must fit, at two bytes each, in the message.
// The opcode is not checked: Suricata logs any (DSO, opcode 6, and
// unassigned ones such as 9 alike).
func qdPlausible(b []byte) bool {
	n := 0
	for i := 4; i < 12; i += 2 {
		n += int(b[i])<<8 | int(b[i+1])
	}
	return 2*n <= len(b)-12 || (n == 0 && len(b) >= 12)
}

var (
	errDNSShort  = errors.New("truncated message")
	errDNSHeader = errors.New("header counts do not fit the message")
	errDNSRData  = errors.New("malformed record data")
)

// maxDNSRecords bounds the records kept per section, so a hostile count
// field cannot make one datagram expensive.
const maxDNSRecords = 64

// maxDNSName is the longest name Suricata keeps (the longest dnsmasq
// builds); a longer one is cut there and flagged as truncated.
const maxDNSName = 1025

// dnsTypeNames are Suricata's names of RR types (its DNSRecordType): a
// type it does not name is written as its number (SVCB "64", CAA "257").
var dnsTypeNames = map[uint16]string{
	1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
	11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB",
	19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAPPTR", 24: "SIG", 25: "KEY", 26: "PX",
	27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX",
	37: "CERT", 38: "A6", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY",
	46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA",
	55: "HIP", 59: "CDS", 60: "CDNSKEY", 65: "HTTPS", 99: "SPF", 249: "TKEY", 250: "TSIG",
	254: "MAILA", 255: "ANY", 256: "URI",
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

// DNSTypeName returns Suricata's mnemonic of an RR type ("A", "NULL", ...)
// or its decimal number when Suricata names none.
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

// DNSSSHFP is the data of an SSHFP record as Suricata logs it: the
// fingerprint as hex bytes joined by ':'.
type DNSSSHFP struct {
	Fingerprint string `json:"fingerprint"`
	Algo        uint8  `json:"algo"`
	Type        uint8  `json:"type"`
}

// DNSOpt is one EDNS option of an OPT record, its data in hex.
type DNSOpt struct {
	Code uint16 `json:"code"`
	Data string `json:"data"`
}

// ParseDNS decodes one DNS message (without the TCP length prefix) into
// Suricata's EVE v3 shape.
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

// dnsAnswerMsg adds room for the records of a typical response (answers,
// an MX or SRV target's addresses, or a request's OPT record) and for one
// record's EDNS options.
type dnsAnswerMsg struct {
	dnsQueryMsg
	rr  [4]DNSAnswer
	opt [1]DNSOpt
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

// dnsSection says where a record is: Suricata's schema allows different
// fields in each section.
type dnsSection uint8

const (
	secAnswer dnsSection = iota
	secAuthority
	secAdditional
)

// parseDNS decodes a message into a ready dns event (Type and DNS set).
func parseDNS(b []byte) (*Event, error) { return parseDNSInto(b, nil) }

// parseDNSInto is parseDNS with the event built in am, a zeroed message,
// when am is not nil. It follows Suricata's parser: the header counts must
// fit the message, a request must ask something, questions and answers
// must parse; authorities and additionals that do not are left out (and so
// are the additionals after bad authorities), as Suricata 8 does.
func parseDNSInto(b []byte, am *dnsAnswerMsg) (*Event, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("parse dns header: %w", errDNSShort)
	}
	flags := binary.BigEndian.Uint16(b[2:])
	qd := int(binary.BigEndian.Uint16(b[4:]))
	an := int(binary.BigEndian.Uint16(b[6:]))
	ns := int(binary.BigEndian.Uint16(b[8:]))
	ar := int(binary.BigEndian.Uint16(b[10:]))
	if nb := qd + an + ns + ar; 2*nb > len(b) || (nb == 0 && len(b) > 12) || (flags&0x8000 == 0 && qd == 0) {
		return nil, fmt.Errorf("parse dns header: %w", errDNSHeader)
	}
	ca, cn, cr := dnsScan(b, qd, an, ns, ar)
	nq := min(qd, maxDNSRecords)
	na, nn, nr := min(ca, maxDNSRecords), min(cn, maxDNSRecords), min(cr, maxDNSRecords)
	var (
		qm *dnsQueryMsg
		rr []DNSAnswer
	)
	if am == nil && na+nn+nr == 0 {
		qm = new(dnsQueryMsg)
	} else {
		if am == nil {
			am = new(dnsAnswerMsg)
		}
		qm = &am.dnsQueryMsg
		if na+nn+nr <= len(am.rr) {
			rr = am.rr[:na+nn+nr]
		}
	}
	if rr == nil {
		rr = make([]DNSAnswer, na+nn+nr)
	}
	var opts []DNSOpt
	if am != nil {
		opts = am.opt[:0]
	}
	// Stack room for a typical message's text and fields.
	var (
		bufA [256]byte
		refA [8]textRef
	)
	t := dnsText{buf: bufA[:0], refs: refA[:0]}

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
	m.Z = flags&0x0040 != 0
	m.Opcode = int(flags>>11) & 0xf
	// Suricata 8 writes the rcode of requests too.
	m.RCode = dnsRCodeName(int(flags & 0xf))
	const hexd = "0123456789abcdef"
	// Suricata writes the flags as "{:x}": no leading zeros.
	switch {
	case flags >= 0x1000:
		t.buf = append(t.buf, hexd[flags>>12])
		fallthrough
	case flags >= 0x100:
		t.buf = append(t.buf, hexd[flags>>8&0xf])
		fallthrough
	case flags >= 0x10:
		t.buf = append(t.buf, hexd[flags>>4&0xf])
	}
	t.buf = append(t.buf, hexd[flags&0xf])
	t = t.mark(&m.Flags, 0)
	m.Type = "request"
	if m.QR {
		m.Type = "response"
	}
	if nq <= len(qm.q) {
		m.Queries = qm.q[:0:nq]
	} else {
		m.Queries = make([]DNSQuery, 0, nq)
	}
	off := 12
	for i := 0; i < qd; i++ {
		start := len(t.buf)
		var (
			err   error
			trunc bool
		)
		t.buf, off, trunc, err = appendDNSName(t.buf, b, off)
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
			q.RRNameTruncated = trunc
			t = t.mark(&q.RRName, start)
		} else {
			t.buf = t.buf[:start]
		}
		off += 4
	}
	if an > 0 {
		var err error
		if t, m.Answers, opts, off, err = dnsRecords(t, b, off, an, rr[:0:na], opts, secAnswer); err != nil {
			return nil, fmt.Errorf("parse dns answers: %w", err)
		}
	}
	// A bad section leaves its text behind in t.buf unreferenced; its
	// references are dropped so nothing is written into records not kept.
	// (Empty sections are not even called: most messages have some.)
	authOK := true
	if ns > 0 {
		nrefs := len(t.refs)
		t2, auth, opts2, off2, err := dnsRecords(t, b, off, ns, rr[na:na:na+nn], opts, secAuthority)
		if err == nil {
			t, m.Authorities, opts, off = t2, auth, opts2, off2
		} else {
			t.buf, t.refs, authOK = t2.buf, t2.refs[:nrefs], false
		}
	}
	if ar > 0 && authOK {
		nrefs := len(t.refs)
		t2, add, _, _, err := dnsRecords(t, b, off, ar, rr[na+nn:na+nn:na+nn+nr], opts, secAdditional)
		if err == nil {
			t, m.Additionals = t2, add
		} else {
			t.buf, t.refs = t2.buf, t2.refs[:nrefs]
		}
	}
	t.finish()
	qm.ev.Type, qm.ev.DNS = "dns", m
	return &qm.ev, nil
}

// PrintsRData reports whether Suricata writes rdata for the record's
// type, empty or not (an empty TXT string, a CNAME to the root): for the
// other types it writes an object (SOA, SRV, SSHFP, OPT) or nothing.
func PrintsRData(a *DNSAnswer) bool {
	switch a.RRType {
	case "A", "AAAA", "CNAME", "MX", "NS", "PTR", "TXT", "NULL":
		return true
	}
	return false
}

// MarshalJSON writes the record as Suricata does: rdata, even empty, for
// the types whose data it prints (see PrintsRData), none for the others.
func (a DNSAnswer) MarshalJSON() ([]byte, error) {
	type plain DNSAnswer // without this method
	if a.RData != "" || !PrintsRData(&a) {
		return json.Marshal(plain(a))
	}
	return json.Marshal(struct {
		plain
		RData string `json:"rdata"`
	}{plain: plain(a)})
}

// groupedType reports whether Suricata groups records of type t in
// dns.grouped (its logger groups these and no others).
func groupedType(t string) bool {
	switch t {
	case "A", "AAAA", "CNAME", "MX", "NS", "NULL", "PTR", "SOA", "SRV", "SSHFP", "TXT":
		return true
	}
	return false
}

// Groupable reports whether an answer belongs in dns.grouped.
func Groupable(a *DNSAnswer) bool { return groupedType(a.RRType) }

// GroupedValue is an answer's value in dns.grouped: the SOA, SRV or SSHFP
// object for those types, the record data for the others.
func GroupedValue(a *DNSAnswer) any {
	switch {
	case a.SOA != nil:
		return a.SOA
	case a.SRV != nil:
		return a.SRV
	case a.SSHFP != nil:
		return a.SSHFP
	}
	return a.RData
}

// Grouped is EVE's dns.grouped object: record values by record type, in
// answer order. It is computed on demand; the EVE writer encodes it
// straight from Answers.
func (d *DNS) Grouped() map[string][]any {
	var g map[string][]any
	for i := range d.Answers {
		if a := &d.Answers[i]; Groupable(a) {
			if g == nil {
				g = make(map[string][]any)
			}
			g[a.RRType] = append(g[a.RRType], GroupedValue(a))
		}
	}
	return g
}

// dnsRecords parses count records at off into out (room for the entries
// kept, at most maxDNSRecords); it returns the records, or nil when none is
// kept. A TXT record becomes one entry per character-string, as Suricata
// logs it (none for empty data), and an OPT record without options none.
func dnsRecords(t dnsText, b []byte, off, count int, out []DNSAnswer, opts []DNSOpt, sec dnsSection) (dnsText, []DNSAnswer, []DNSOpt, int, error) {
	for i := 0; i < count; i++ {
		start := len(t.buf)
		var (
			err   error
			trunc bool
		)
		t.buf, off, trunc, err = appendDNSName(t.buf, b, off)
		if err != nil {
			return t, nil, opts, off, err
		}
		if off+10 > len(b) {
			return t, nil, opts, off, errDNSShort
		}
		typ := binary.BigEndian.Uint16(b[off:])
		ttl := binary.BigEndian.Uint32(b[off+4:])
		rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
		off += 10
		if off+rdlen > len(b) {
			return t, nil, opts, off, errDNSShort
		}
		rd := b[off : off+rdlen]
		if len(out) >= maxDNSRecords || len(out) == cap(out) || (typ == 16 && rdlen == 0) {
			// Beyond the bound, or beyond the room dnsScan counted (the
			// text refs point into out, so it must never be reallocated),
			// or a TXT record without strings: Suricata logs no entry.
			t.buf = t.buf[:start]
			if !dnsRDataValid(b, off, rdlen, typ) {
				return t, nil, opts, off, errDNSRData
			}
			off += rdlen
			continue
		}
		out = append(out, DNSAnswer{})
		a := &out[len(out)-1]
		a.RRType, a.TTL = DNSTypeName(typ), ttl
		a.RRNameTruncated = trunc && sec == secAuthority
		t = t.mark(&a.RRName, start)
		switch typ {
		case 16:
			if t, out, err = dnsTXT(t, out, rd); err != nil {
				return t, nil, opts, off, err
			}
		case 41:
			n0 := len(opts)
			if t, opts, err = dnsOPT(t, opts, rd); err != nil {
				return t, nil, opts, off, err
			}
			if len(opts) == n0 {
				// No options: Suricata logs no entry.
				out = out[:len(out)-1]
				t.refs = t.refs[:len(t.refs)-1]
				t.buf = t.buf[:start]
			} else if sec == secAdditional {
				a.Opt = opts[n0:len(opts):len(opts)]
			}
		default:
			if t, err = dnsRData(t, a, b, off, rdlen, typ, sec); err != nil {
				return t, nil, opts, off, err
			}
		}
		off += rdlen
	}
	if len(out) == 0 {
		out = nil
	}
	return t, out, opts, off, nil
}

// dnsRDataValid checks the data of a record that is not kept as the
// parser of a kept one would, so both fail the same messages. It keeps
// nothing, so nothing it touches escapes to the heap.
func dnsRDataValid(b []byte, off, n int, typ uint16) bool {
	var buf [256]byte
	rd := b[off : off+n]
	name := func(p int) (int, bool) {
		_, end, _, err := appendDNSName(buf[:0], b[:off+n], p)
		return end, err == nil
	}
	switch typ {
	case 16:
		for p := 0; p < len(rd); p += 1 + int(rd[p]) {
			if p+1+int(rd[p]) > len(rd) {
				return false
			}
		}
	case 41:
		for p := 0; p < len(rd); p += 4 + int(binary.BigEndian.Uint16(rd[p+2:])) {
			if p+4 > len(rd) || p+4+int(binary.BigEndian.Uint16(rd[p+2:])) > len(rd) {
				return false
			}
		}
	case 2, 5, 12:
		_, ok := name(off)
		return ok
	case 15:
		if n < 2 {
			return false
		}
		_, ok := name(off + 2)
		return ok
	case 33:
		if n < 6 {
			return false
		}
		_, ok := name(off + 6)
		return ok
	case 44:
		return n >= 2
	case 6:
		p, ok := name(off)
		if !ok {
			return false
		}
		p, ok = name(p)
		return ok && p+20 <= off+n
	}
	return true
}

// dnsScan counts the entries each section will have (a TXT record has one
// per character-string), so the records can be allocated at once. A
// malformed message counts what it could read.
func dnsScan(b []byte, qd, an, ns, ar int) (ca, cn, cr int) {
	eachDNSRecord(b, qd, an+ns+ar, func(i int, typ uint16, rd []byte) {
		n := 1
		if typ == 41 && len(rd) == 0 {
			n = 0 // an OPT record without options: no entry
		} else if typ == 16 {
			n = txtStrings(rd)
		}
		switch {
		case i < an:
			ca += n
		case i < an+ns:
			cn += n
		default:
			cr += n
		}
	})
	return
}

// eachDNSRecord walks the questions of b (qd of them) and calls fn with
// the index, type and data of each of the records after them; it stops at
// the first that does not fit.
func eachDNSRecord(b []byte, qd, records int, fn func(i int, typ uint16, rd []byte)) {
	off := 12
	for i := 0; i < qd; i++ {
		if off = skipDNSName(b, off); off < 0 || off+4 > len(b) {
			return
		}
		off += 4
	}
	for i := 0; i < records; i++ {
		if off = skipDNSName(b, off); off < 0 || off+10 > len(b) {
			return
		}
		typ := binary.BigEndian.Uint16(b[off:])
		rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
		off += 10
		if off+rdlen > len(b) {
			return
		}
		fn(i, typ, b[off:off+rdlen])
		off += rdlen
	}
}

// txtStrings is the number of character-strings in a TXT record's data.
func txtStrings(rd []byte) int {
	n := 0
	for p := 0; p < len(rd); p += 1 + int(rd[p]) {
		n++
	}
	return n
}

// skipDNSName returns the offset just past the name at off, or -1.
func skipDNSName(b []byte, off int) int {
	for n := 0; off < len(b) && n < 256; n++ {
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
// A string running past the data is an error, as in Suricata's parser.
func dnsTXT(t dnsText, out []DNSAnswer, rd []byte) (dnsText, []DNSAnswer, error) {
	for p := 0; p < len(rd); {
		if p+1+int(rd[p]) > len(rd) {
			return t, out, errDNSRData
		}
		p += 1 + int(rd[p])
	}
	tmpl := out[len(out)-1]
	var nameRef textRef
	if len(t.refs) > 0 {
		nameRef = t.refs[len(t.refs)-1]
	}
	for p, first := 0, true; p < len(rd); first = false {
		l := int(rd[p])
		p++
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
	return t, out, nil
}

// dnsOPT appends the EDNS options of an OPT record's data to opts, their
// data in lower-case hex as Suricata writes it.
func dnsOPT(t dnsText, opts []DNSOpt, rd []byte) (dnsText, []DNSOpt, error) {
	const hexd = "0123456789abcdef"
	k := 0
	for p := 0; p < len(rd); k++ {
		if p+4 > len(rd) {
			return t, opts, errDNSRData
		}
		p += 4 + int(binary.BigEndian.Uint16(rd[p+2:]))
		if p > len(rd) {
			return t, opts, errDNSRData
		}
	}
	// Room for all of them first: the text refs point into opts, so it
	// must not be reallocated while they are added.
	opts = slices.Grow(opts, min(k, maxDNSRecords))
	for p := 0; p < len(rd); {
		code := binary.BigEndian.Uint16(rd[p:])
		l := int(binary.BigEndian.Uint16(rd[p+2:]))
		p += 4
		if len(opts) < cap(opts) && len(opts) < maxDNSRecords {
			opts = append(opts, DNSOpt{Code: code})
			start := len(t.buf)
			for _, c := range rd[p : p+l] {
				t.buf = append(t.buf, hexd[c>>4], hexd[c&0xf])
			}
			t = t.mark(&opts[len(opts)-1].Data, start)
		}
		p += l
	}
	return t, opts, nil
}

// dnsRData formats the record data as Suricata 8 does: addresses and names
// as text, NULL as its bytes with invalid UTF-8 escaped as \xNN, SOA, SRV
// and SSHFP as objects, and nothing for the types its logger does not
// print (DS, RRSIG, HTTPS, CAA, ...). Data that does not parse as its type
// is an error, as it is for Suricata. The objects are kept only in the
// sections where Suricata's schema has them.
func dnsRData(t dnsText, a *DNSAnswer, b []byte, off, n int, typ uint16, sec dnsSection) (dnsText, error) {
	rd := b[off : off+n]
	start := len(t.buf)
	switch typ {
	case 1, 28:
		switch n {
		case 4:
			for i, c := range rd {
				if i > 0 {
					t.buf = append(t.buf, '.')
				}
				t.buf = strconv.AppendUint(t.buf, uint64(c), 10)
			}
			return t.mark(&a.RData, start), nil
		case 16:
			t.buf = appendIPv6(t.buf, rd)
			return t.mark(&a.RData, start), nil
		}
		return t, nil
	case 2, 5, 12, 15:
		p := off
		if typ == 15 {
			if n < 2 {
				return t, errDNSRData
			}
			p += 2
		}
		var (
			err   error
			trunc bool
		)
		if t.buf, _, trunc, err = appendDNSName(t.buf, b[:off+n], p); err != nil {
			return t, err
		}
		a.RDataTruncated = trunc && sec == secAuthority
		return t.mark(&a.RData, start), nil
	case 10:
		t.buf = appendEscapeBytes(t.buf, rd)
		return t.mark(&a.RData, start), nil
	case 6:
		var (
			p, p2         int
			err           error
			trunc, trunc2 bool
		)
		if t.buf, p, trunc, err = appendDNSName(t.buf, b[:off+n], off); err != nil {
			return t, err
		}
		mid := len(t.buf)
		if t.buf, p2, trunc2, err = appendDNSName(t.buf, b[:off+n], p); err != nil {
			return t, err
		}
		_ = trunc2 // Suricata's schema has no rname_truncated
		if p2+20 > off+n {
			return t, errDNSRData
		}
		if sec == secAdditional {
			t.buf = t.buf[:start]
			return t, nil
		}
		soa := &DNSSOA{MNameTruncated: trunc, Serial: binary.BigEndian.Uint32(b[p2:]),
			Refresh: binary.BigEndian.Uint32(b[p2+4:]), Retry: binary.BigEndian.Uint32(b[p2+8:]),
			Expire: binary.BigEndian.Uint32(b[p2+12:]), Minimum: binary.BigEndian.Uint32(b[p2+16:])}
		a.SOA = soa
		t.refs = append(t.refs, textRef{&soa.MName, start, mid}, textRef{&soa.RName, mid, len(t.buf)})
		return t, nil
	case 33:
		if n < 6 {
			return t, errDNSRData
		}
		var err error
		if t.buf, _, _, err = appendDNSName(t.buf, b[:off+n], off+6); err != nil {
			return t, err
		}
		if sec != secAnswer {
			t.buf = t.buf[:start]
			return t, nil
		}
		a.SRV = &DNSSRV{Priority: binary.BigEndian.Uint16(rd), Weight: binary.BigEndian.Uint16(rd[2:]),
			Port: binary.BigEndian.Uint16(rd[4:])}
		return t.mark(&a.SRV.Name, start), nil
	case 44:
		if n < 2 {
			return t, errDNSRData
		}
		if sec != secAnswer {
			return t, nil
		}
		const hexd = "0123456789abcdef"
		for i, c := range rd[2:] {
			if i > 0 {
				t.buf = append(t.buf, ':')
			}
			t.buf = append(t.buf, hexd[c>>4], hexd[c&0xf])
		}
		a.SSHFP = &DNSSSHFP{Algo: rd[0], Type: rd[1]}
		return t.mark(&a.SSHFP.Fingerprint, start), nil
	}
	return t, nil
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
// returns the offset just past it, as Suricata's name parser reads it:
// labels joined by '.', the root as "", the name cut at maxDNSName bytes
// (truncated is then true), at most 255 labels and pointers, and bytes
// that are not valid UTF-8 escaped as \xNN. A name that runs into the end
// of b ends there. A name that loops after a pointer was followed ends
// where it is, truncated; before one, it is an error. On error out is
// returned as it was.
func appendDNSName(out, b []byte, off int) (_ []byte, end int, truncated bool, _ error) {
	start := len(out)
	end = -1
	for count := 0; ; {
		if off >= len(b) {
			break
		}
		l := int(b[off])
		switch {
		case l == 0:
			off++
		case l&0xc0 == 0:
			if off+1+l > len(b) {
				return out[:start], 0, false, errDNSShort
			}
			if !truncated {
				if len(out) > start {
					out = append(out, '.')
				}
				out = append(out, b[off+1:off+1+l]...)
			}
			off += 1 + l
		case l&0xc0 == 0xc0:
			if off+2 > len(b) {
				return out[:start], 0, false, errDNSShort
			}
			ptr := (l&0x3f)<<8 | int(b[off+1])
			if ptr > len(b) {
				return out[:start], 0, false, errDNSLabel
			}
			if ptr == off {
				if end < 0 {
					return out[:start], 0, false, errDNSLoop
				}
				goto done
			}
			if end < 0 {
				end = off + 2
			}
			off = ptr
		default:
			return out[:start], 0, false, errDNSLabel
		}
		if l == 0 {
			break
		}
		count++
		if count > 255 {
			if end < 0 {
				return out[:start], 0, false, errDNSLong
			}
			truncated = true
			break
		}
		if len(out)-start > maxDNSName {
			out = out[:start+maxDNSName]
			truncated = true
			if end >= 0 {
				break
			}
		}
	}
done:
	if end < 0 {
		end = off
	}
	if name := out[start:]; !utf8.Valid(name) {
		raw := append([]byte(nil), name...)
		out = appendEscapeBytes(out[:start], raw)
	}
	return out, end, truncated, nil
}

var (
	errDNSLoop  = errors.New("compression loop")
	errDNSLabel = errors.New("bad label type")
	errDNSLong  = errors.New("too many labels")
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
