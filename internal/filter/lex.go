package filter

import (
	"net/netip"
	"strings"
)

type tokKind int

const (
	tEOF  tokKind = iota
	tNum          // decimal, hex or octal number
	tHID          // dotted IPv4 address, possibly partial ("10.1")
	tHID6         // IPv6 address
	tEID          // MAC address
	tID           // any other word (names, "1-1024", escaped "\tcp")
	tKey          // keyword; text holds the canonical spelling
	tOp           // operator or punctuation; text holds it
)

type token struct {
	kind tokKind
	text string
	num  uint32
	pos  int
}

// keywords maps every reserved word to its canonical spelling; aliases
// (link, ==, &&) are folded here so the parser sees one name per concept.
var keywords = map[string]string{
	"and": "and", "or": "or", "not": "not",
	"src": "src", "dst": "dst",
	"host": "host", "net": "net", "mask": "mask", "port": "port", "portrange": "portrange",
	"gateway": "gateway", "proto": "proto", "protochain": "protochain",
	"ether": "ether", "link": "ether", "ip": "ip", "ip6": "ip6", "arp": "arp", "rarp": "rarp",
	"tcp": "tcp", "udp": "udp", "sctp": "sctp", "icmp": "icmp", "icmp6": "icmp6", "igmp": "igmp",
	"vlan": "vlan", "mpls": "mpls", "pppoed": "pppoed", "pppoes": "pppoes", "geneve": "geneve",
	"less": "less", "greater": "greater", "len": "len", "length": "len",
	"broadcast": "broadcast", "multicast": "multicast", "inbound": "inbound", "outbound": "outbound",
	"ifname": "ifname", "on": "ifname", "rnr": "rnr", "rulenum": "rnr", "reason": "reason",
	"rset": "rset", "ruleset": "rset", "srnr": "srnr", "subrulenum": "srnr", "action": "action",
	"wlan": "wlan", "fddi": "fddi", "tr": "tr", "ppp": "ppp", "slip": "slip",
	"atalk": "atalk", "aarp": "aarp", "decnet": "decnet", "lat": "lat", "sca": "sca",
	"moprc": "moprc", "mopdl": "mopdl", "iso": "iso", "esis": "esis", "isis": "isis",
	"clnp": "clnp", "stp": "stp", "ipx": "ipx", "netbeui": "netbeui", "ah": "ah", "esp": "esp",
	"pim": "pim", "vrrp": "vrrp", "carp": "carp", "igrp": "igrp", "radio": "radio",
	"type": "type", "subtype": "subtype", "dir": "dir", "addr1": "addr1", "addr2": "addr2",
	"addr3": "addr3", "addr4": "addr4", "ra": "ra", "ta": "ta",
}

// numericKeywords are the named constants pcap-filter(7) allows in arithmetic.
var numericKeywords = map[string]uint32{
	"tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
	"tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
	"icmptype": 0, "icmpcode": 1,
	"icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5,
	"icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11,
	"icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15,
	"icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6type": 0, "icmp6code": 1,
	"icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3,
	"icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133, "icmp6-routeradvert": 134,
	"icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136, "icmp6-redirect": 137,
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == ':'
}

// lex splits expr into tokens. Like libpcap's scanner it reads the longest
// word first and then decides what it is, so "1-1024" is one word and
// "tcp-syn" a named constant.
func lex(expr string) ([]token, *SyntaxError) {
	var toks []token
	i := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '\\':
			j := i + 1
			for j < len(expr) && !strings.ContainsRune(" !()\n\t", rune(expr[j])) {
				j++
			}
			if j == i+1 {
				return nil, &SyntaxError{Expr: expr, Pos: i, Msg: "empty escaped name"}
			}
			toks = append(toks, token{kind: tID, text: expr[i+1 : j], pos: i})
			i = j
			continue
		case isWordByte(c) && c != '-' && c != ':' && c != '.',
			c == ':' && i+1 < len(expr) && expr[i+1] == ':': // an IPv6 address such as ::1
			j := i
			for j < len(expr) && isWordByte(expr[j]) {
				j++
			}
			tok, n := classify(expr[i:j])
			tok.pos = i
			toks = append(toks, tok)
			i += n
			continue
		}
		// Operators: two-character ones first.
		if i+1 < len(expr) {
			two := expr[i : i+2]
			switch two {
			case "&&", "||", "==", "!=", "<=", ">=", "<<", ">>":
				t := two
				switch two {
				case "&&":
					t = "and"
				case "||":
					t = "or"
				case "==":
					t = "="
				}
				kind := tOp
				if t == "and" || t == "or" {
					kind = tKey
				}
				toks = append(toks, token{kind: kind, text: t, pos: i})
				i += 2
				continue
			}
		}
		if strings.IndexByte("()[]:!&|^+-*/%<>=", c) >= 0 {
			t := string(c)
			kind := tOp
			if c == '!' {
				kind, t = tKey, "not"
			}
			toks = append(toks, token{kind: kind, text: t, pos: i})
			i++
			continue
		}
		return nil, &SyntaxError{Expr: expr, Pos: i, Msg: "unexpected character " + quoteByte(c)}
	}
	toks = append(toks, token{kind: tEOF, pos: len(expr)})
	return toks, nil
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(c) + "'"
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[c>>4], hex[c&15]})
}

// classify decides what the word w is and how many of its bytes it consumes.
// A word containing ':' that is neither a MAC nor an IPv6 address is cut at
// the first ':' so "tcp[13:1]" still reads as 13 ':' 1.
func classify(w string) (token, int) {
	if strings.Contains(w, ":") {
		if isMAC(w) {
			return token{kind: tEID, text: w}, len(w)
		}
		if a, err := netip.ParseAddr(w); err == nil && a.Is6() && a.Zone() == "" {
			return token{kind: tHID6, text: w}, len(w)
		}
		w = w[:strings.IndexByte(w, ':')]
		if w == "" {
			// "::x" that is not an address: a lone ':' operator.
			return token{kind: tOp, text: ":"}, 1
		}
	}
	n := len(w)
	if k, ok := keywords[w]; ok {
		return token{kind: tKey, text: k}, n
	}
	if v, ok := numericKeywords[w]; ok {
		return token{kind: tNum, text: w, num: v}, n
	}
	if v, ok := parseNum(w); ok {
		return token{kind: tNum, text: w, num: v}, n
	}
	// libpcap's scanner prefers a MAC address (0102.0304.0506) over a
	// dotted IPv4 address of the same length.
	if isMAC(w) {
		return token{kind: tEID, text: w}, n
	}
	if isDotted(w) {
		return token{kind: tHID, text: w}, n
	}
	// A trailing '-' or '.' is not part of a libpcap ID; give it back.
	for len(w) > 1 && (w[len(w)-1] == '-' || w[len(w)-1] == '.') {
		w = w[:len(w)-1]
	}
	return token{kind: tID, text: w}, len(w)
}

// parseNum reads a decimal, 0x-hex or 0-octal number that fits in 32 bits.
func parseNum(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	digits := s
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	var v uint64
	for i := 0; i < len(digits); i++ {
		d := hexVal(digits[i])
		if d < 0 || uint64(d) >= base {
			return 0, false
		}
		v = v*base + uint64(d)
		if v > 0xffffffff {
			return 0, false
		}
	}
	return uint32(v), true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isDotted reports whether s is 2 to 4 dot-separated decimal numbers.
func isDotted(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 10 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// parseDotted converts a possibly partial dotted quad; bits is 8 per part.
func parseDotted(s string) (v uint32, bits int, ok bool) {
	for _, p := range strings.Split(s, ".") {
		n, okn := parseDecimal(p)
		if !okn || n > 255 {
			return 0, 0, false
		}
		v = v<<8 | n
		bits += 8
	}
	return v, bits, true
}

func parseDecimal(s string) (uint32, bool) {
	var v uint64
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
		if v > 0xffffffff {
			return 0, false
		}
	}
	return uint32(v), true
}

// isMAC accepts the forms libpcap does: six 1-2 digit hex groups separated by
// ':', '-' or '.', or three 4-digit groups separated by '.'.
func isMAC(s string) bool {
	_, ok := parseMAC(s)
	return ok
}

func parseMAC(s string) ([6]byte, bool) {
	var mac [6]byte
	for _, sep := range []string{":", "-", "."} {
		parts := strings.Split(s, sep)
		if len(parts) != 6 {
			continue
		}
		ok := true
		for i, p := range parts {
			if len(p) < 1 || len(p) > 2 {
				ok = false
				break
			}
			v := 0
			for j := 0; j < len(p); j++ {
				d := hexVal(p[j])
				if d < 0 {
					ok = false
					break
				}
				v = v*16 + d
			}
			mac[i] = byte(v)
		}
		if ok {
			return mac, true
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) == 3 {
		for i, p := range parts {
			if len(p) != 4 {
				return mac, false
			}
			v := 0
			for j := 0; j < 4; j++ {
				d := hexVal(p[j])
				if d < 0 {
					return mac, false
				}
				v = v*16 + d
			}
			mac[2*i], mac[2*i+1] = byte(v>>8), byte(v)
		}
		return mac, true
	}
	return mac, false
}
