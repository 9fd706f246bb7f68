package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// DNSTypeName returns the mnemonic of an RR type ("A", "NULL", ...) or its
// decimal number when unknown.
func DNSTypeName(t uint16) string {
	if s, ok := dnsTypeNames[t]; ok {
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
	if len(b) < 12 {
		return nil, fmt.Errorf("parse dns header: %w", errDNSShort)
	}
	flags := binary.BigEndian.Uint16(b[2:])
	m := &DNS{
		Version: 3,
		ID:      binary.BigEndian.Uint16(b),
		Flags:   fmt.Sprintf("%04x", flags),
		QR:      flags&0x8000 != 0,
		AA:      flags&0x0400 != 0,
		TC:      flags&0x0200 != 0,
		RD:      flags&0x0100 != 0,
		RA:      flags&0x0080 != 0,
		Opcode:  int(flags>>11) & 0xf,
	}
	m.Type = "request"
	if m.QR {
		m.Type = "response"
		m.RCode = dnsRCodeName(int(flags & 0xf))
	}
	qd := int(binary.BigEndian.Uint16(b[4:]))
	an := int(binary.BigEndian.Uint16(b[6:]))
	ns := int(binary.BigEndian.Uint16(b[8:]))
	off := 12
	for i := 0; i < qd; i++ {
		name, n, err := dnsName(b, off)
		if err != nil {
			return nil, fmt.Errorf("parse dns question %d: %w", i, err)
		}
		off = n
		if off+4 > len(b) {
			return nil, fmt.Errorf("parse dns question %d: %w", i, errDNSShort)
		}
		if i < maxDNSRecords {
			m.Queries = append(m.Queries, DNSQuery{RRName: name, RRType: DNSTypeName(binary.BigEndian.Uint16(b[off:]))})
		}
		off += 4
	}
	var err error
	if m.Answers, off, err = dnsRecords(b, off, an); err != nil {
		return nil, fmt.Errorf("parse dns answers: %w", err)
	}
	if m.Authorities, _, err = dnsRecords(b, off, ns); err != nil {
		return nil, fmt.Errorf("parse dns authorities: %w", err)
	}
	for _, a := range m.Answers {
		if a.RData == "" || a.SOA != nil || a.SRV != nil {
			continue
		}
		if m.Grouped == nil {
			m.Grouped = make(map[string][]string)
		}
		m.Grouped[a.RRType] = append(m.Grouped[a.RRType], a.RData)
	}
	return m, nil
}

func dnsRecords(b []byte, off, count int) ([]DNSAnswer, int, error) {
	var out []DNSAnswer
	for i := 0; i < count; i++ {
		name, n, err := dnsName(b, off)
		if err != nil {
			return nil, off, err
		}
		off = n
		if off+10 > len(b) {
			return nil, off, errDNSShort
		}
		typ := binary.BigEndian.Uint16(b[off:])
		ttl := binary.BigEndian.Uint32(b[off+4:])
		rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
		off += 10
		if off+rdlen > len(b) {
			return nil, off, errDNSShort
		}
		if i >= maxDNSRecords {
			off += rdlen
			continue
		}
		a := DNSAnswer{RRName: name, RRType: DNSTypeName(typ), TTL: ttl}
		dnsRData(&a, b, off, rdlen, typ)
		out = append(out, a)
		off += rdlen
	}
	return out, off, nil
}

// dnsRData formats the record data as Suricata does: addresses and names as
// text, SOA and SRV as objects, anything else as its bytes with invalid
// UTF-8 escaped as \xNN.
func dnsRData(a *DNSAnswer, b []byte, off, n int, typ uint16) {
	rd := b[off : off+n]
	switch typ {
	case 1:
		if n == 4 {
			a.RData = fmt.Sprintf("%d.%d.%d.%d", rd[0], rd[1], rd[2], rd[3])
			return
		}
	case 28:
		if n == 16 {
			a.RData = expandIPv6(rd)
			return
		}
	case 2, 3, 4, 5, 7, 8, 9, 12, 39:
		if name, _, err := dnsName(b, off); err == nil {
			a.RData = name
			return
		}
	case 15:
		if n > 2 {
			if name, _, err := dnsName(b, off+2); err == nil {
				a.RData = name
				return
			}
		}
	case 6:
		mname, p, err := dnsName(b, off)
		if err != nil {
			break
		}
		rname, p, err := dnsName(b, p)
		if err != nil || p+20 > off+n {
			break
		}
		a.SOA = &DNSSOA{MName: mname, RName: rname,
			Serial:  binary.BigEndian.Uint32(b[p:]),
			Refresh: binary.BigEndian.Uint32(b[p+4:]),
			Retry:   binary.BigEndian.Uint32(b[p+8:]),
			Expire:  binary.BigEndian.Uint32(b[p+12:]),
			Minimum: binary.BigEndian.Uint32(b[p+16:])}
		return
	case 33:
		if n > 6 {
			if name, _, err := dnsName(b, off+6); err == nil {
				a.SRV = &DNSSRV{Priority: binary.BigEndian.Uint16(rd), Weight: binary.BigEndian.Uint16(rd[2:]),
					Port: binary.BigEndian.Uint16(rd[4:]), Name: name}
				return
			}
		}
	case 16, 99:
		var sb strings.Builder
		for p := 0; p < len(rd); {
			l := int(rd[p])
			p++
			if p+l > len(rd) {
				l = len(rd) - p
			}
			sb.WriteString(escapeBytes(rd[p : p+l]))
			p += l
		}
		a.RData = sb.String()
		return
	}
	a.RData = escapeBytes(rd)
}

func expandIPv6(b []byte) string {
	const hexd = "0123456789abcdef"
	var out [39]byte
	j := 0
	for i := 0; i < 16; i++ {
		if i > 0 && i%2 == 0 {
			out[j] = ':'
			j++
		}
		out[j], out[j+1] = hexd[b[i]>>4], hexd[b[i]&0xf]
		j += 2
	}
	return string(out[:])
}

// escapeBytes keeps valid UTF-8 and writes each invalid byte as \xNN, the way
// Suricata prints binary record data.
func escapeBytes(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

// dnsName reads a possibly compressed name at off and returns it with the
// offset just past it. Labels are joined by '.', the root is "<root>", and
// bytes outside printable ASCII are escaped as \xNN.
func dnsName(b []byte, off int) (string, int, error) {
	var sb strings.Builder
	end := -1
	jumps := 0
	total := 0
	for {
		if off >= len(b) {
			return "", 0, errDNSShort
		}
		l := int(b[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if sb.Len() == 0 {
				return "<root>", end, nil
			}
			return sb.String(), end, nil
		case l&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return "", 0, errDNSShort
			}
			if end < 0 {
				end = off + 2
			}
			jumps++
			if jumps > 64 {
				return "", 0, errors.New("compression loop")
			}
			off = (l&0x3f)<<8 | int(b[off+1])
		case l&0xc0 != 0:
			return "", 0, errors.New("bad label type")
		default:
			off++
			if off+l > len(b) {
				return "", 0, errDNSShort
			}
			total += l + 1
			if total > 255 {
				return "", 0, errors.New("name too long")
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			for _, c := range b[off : off+l] {
				if c < 0x20 || c >= 0x7f {
					fmt.Fprintf(&sb, `\x%02x`, c)
				} else {
					sb.WriteByte(c)
				}
			}
			off += l
		}
	}
}

// dnsParser emits a dns event per message; over TCP it splits the stream on
// the two-byte length prefix.
type dnsParser struct {
	tcp         bool
	reqs, resps int
}

func (p *dnsParser) message(c *ctx, toServer bool, b []byte) {
	m, err := ParseDNS(b)
	if err != nil {
		return
	}
	if m.QR {
		m.TxID = p.resps
		p.resps++
	} else {
		m.TxID = p.reqs
		p.reqs++
	}
	c.send(&Event{Type: "dns", DNS: m}, toServer)
}

func (p *dnsParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	n := 0
	for len(b)-n >= 2 {
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
