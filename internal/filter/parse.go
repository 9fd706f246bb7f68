package filter

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// qual is the set of qualifiers in force for an address (libpcap's struct qual).
// The last one used carries over to a bare address after "and"/"or", which is
// how "host a or b" means "host a or host b".
type qual struct {
	proto string // "" (any), ether, ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, igmp
	dir   string // "" (src or dst), src, dst, or, and
	addr  string // "" (host), host, net, port, portrange, proto, gateway
	err   bool   // no qualifiers may carry over here
}

var qerr = qual{err: true}

type parser struct {
	expr string
	toks []token
	i    int
	lay  layout
}

// fail aborts parsing; Compile recovers the *SyntaxError.
func (p *parser) fail(pos int, format string, args ...any) {
	panic(&SyntaxError{Expr: p.expr, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isKey(t token, words ...string) bool {
	return t.kind == tKey && slices.Contains(words, t.text)
}

func (p *parser) isOp(t token, ops ...string) bool {
	return t.kind == tOp && slices.Contains(ops, t.text)
}

func (p *parser) expectOp(op string) token {
	t := p.peek()
	if !p.isOp(t, op) {
		p.fail(t.pos, "expected '%s', found %s", op, describe(t))
	}
	return p.next()
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tOp:
		return "'" + t.text + "'"
	}
	return fmt.Sprintf("%q", t.text)
}

// attempt runs f and restores the parser if it fails, returning the error.
func (p *parser) attempt(f func()) (err *SyntaxError) {
	saveI, saveLay := p.i, p.lay
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			p.i, p.lay = saveI, saveLay
			err = se
		}
	}()
	f()
	return nil
}

// parseTop parses a whole expression.
func (p *parser) parseTop() *node {
	n, _ := p.parseExpr(qerr)
	if t := p.peek(); t.kind != tEOF {
		p.fail(t.pos, "unexpected %s", describe(t))
	}
	return n
}

// parseExpr: term { (and|or) (term|id) }, all left-associative at one
// precedence, as in pcap-filter(7).
func (p *parser) parseExpr(q0 qual) (*node, qual) {
	n, q := p.parseTerm(q0)
	for p.isKey(p.peek(), "and", "or") {
		op := p.next().text
		m, q2 := p.parseTermOrID(q)
		if op == "and" {
			n = and(n, m)
		} else {
			n = or(n, m)
		}
		q = q2
	}
	return n, q
}

var arithOps = []string{"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"}
var relOps = []string{">", "<", ">=", "<=", "=", "!="}

// parseTermOrID parses what may follow "and"/"or": a full term, or a bare
// address that inherits the qualifiers q of the previous primitive.
func (p *parser) parseTermOrID(q qual) (*node, qual) {
	t := p.peek()
	if p.isKey(t, "not") {
		p.next()
		n, q2 := p.parseTermOrID(q)
		return not(n), q2
	}
	switch t.kind {
	case tID, tHID, tHID6, tEID:
		return p.parseID(q), q
	case tNum:
		nx := p.peekAt(1)
		if p.isOp(nx, arithOps...) || p.isOp(nx, relOps...) {
			return p.parseTerm(q)
		}
		return p.parseID(q), q
	case tOp:
		if t.text == "(" {
			var n *node
			errID := p.attempt(func() {
				n = p.parseID(q)
				if nx := p.peek(); !(nx.kind == tEOF || p.isKey(nx, "and", "or") || p.isOp(nx, ")")) {
					p.fail(nx.pos, "unexpected %s", describe(nx))
				}
			})
			if errID == nil {
				return n, q
			}
			var q2 qual
			errTerm := p.attempt(func() { n, q2 = p.parseTerm(q) })
			if errTerm == nil {
				return n, q2
			}
			panic(furthest(errID, errTerm))
		}
	}
	return p.parseTerm(q)
}

func furthest(a, b *SyntaxError) *SyntaxError {
	if b.Pos > a.Pos {
		return b
	}
	return a
}

// protoNames are the protocol keywords that can qualify a primitive.
var protoNames = map[string]bool{
	"ether": true, "ip": true, "ip6": true, "arp": true, "rarp": true, "tcp": true,
	"udp": true, "sctp": true, "icmp": true, "icmp6": true, "igmp": true,
}

// unsupported keywords parse in libpcap but are not implemented here.
var unsupported = map[string]bool{
	"gateway": true, "protochain": true, "mpls": true, "pppoed": true, "pppoes": true,
	"geneve": true, "broadcast": true, "multicast": true, "inbound": true, "outbound": true,
	"ifname": true, "rnr": true, "reason": true, "rset": true, "srnr": true, "action": true,
	"wlan": true, "fddi": true, "tr": true, "ppp": true, "slip": true, "atalk": true,
	"aarp": true, "decnet": true, "lat": true, "sca": true, "moprc": true, "mopdl": true,
	"iso": true, "esis": true, "isis": true, "clnp": true, "stp": true, "ipx": true,
	"netbeui": true, "ah": true, "esp": true, "pim": true, "vrrp": true, "carp": true,
	"igrp": true, "radio": true, "type": true, "subtype": true, "dir": true,
	"addr1": true, "addr2": true, "addr3": true, "addr4": true, "ra": true, "ta": true,
}

// parseTerm parses one primitive, a negation, or a parenthesised expression.
// It returns the qualifiers a following bare address would inherit.
func (p *parser) parseTerm(q0 qual) (*node, qual) {
	t := p.peek()
	switch t.kind {
	case tEOF:
		p.fail(t.pos, "unexpected end of expression")
	case tNum:
		return p.parseRelation(), qerr
	case tOp:
		switch t.text {
		case "(":
			var n *node
			errExpr := p.attempt(func() {
				p.next()
				n, _ = p.parseExpr(q0)
				p.expectOp(")")
				// "(len) > 5": the parenthesis held arithmetic after all.
				if nx := p.peek(); p.isOp(nx, arithOps...) || p.isOp(nx, relOps...) {
					p.fail(nx.pos, "unexpected %s", describe(nx))
				}
			})
			if errExpr == nil {
				return n, q0
			}
			errRel := p.attempt(func() { n = p.parseRelation() })
			if errRel == nil {
				return n, qerr
			}
			panic(furthest(errExpr, errRel))
		case "-":
			return p.parseRelation(), qerr
		}
		p.fail(t.pos, "unexpected %s", describe(t))
	case tID, tHID, tHID6, tEID:
		p.fail(t.pos, "%s needs a qualifier such as host, net or port", describe(t))
	case tKey:
		switch {
		case t.text == "not":
			p.next()
			n, q := p.parseTerm(q0)
			return not(n), q
		case t.text == "len":
			return p.parseRelation(), qerr
		case protoNames[t.text]:
			nx := p.peekAt(1)
			if p.isOp(nx, "[") {
				return p.parseRelation(), qerr
			}
			if p.isKey(nx, "src", "dst", "host", "net", "port", "portrange", "proto", "gateway", "protochain", "broadcast", "multicast") {
				return p.parseHead()
			}
			p.next()
			return p.protoAbbrev(t), qerr
		case t.text == "src" || t.text == "dst" || t.text == "host" || t.text == "net" ||
			t.text == "port" || t.text == "portrange" || t.text == "proto":
			return p.parseHead()
		case t.text == "vlan":
			p.next()
			var vid *uint32
			if nx := p.peek(); nx.kind == tNum {
				p.next()
				if nx.num > 4095 {
					p.fail(nx.pos, "VLAN tag %d greater than maximum 4095", nx.num)
				}
				vid = &nx.num
			}
			return p.genVLAN(t, vid), qerr
		case t.text == "less" || t.text == "greater":
			p.next()
			nx := p.peek()
			if nx.kind != tNum {
				p.fail(nx.pos, "%s needs a length, found %s", t.text, describe(nx))
			}
			p.next()
			return p.genLen(t.text, nx.num), qerr
		case unsupported[t.text]:
			p.fail(t.pos, "%q is not supported by this filter compiler", t.text)
		}
		p.fail(t.pos, "unexpected %s", describe(t))
	}
	p.fail(t.pos, "unexpected %s", describe(t))
	return nil, qerr
}

// parseHead parses [proto] [dir] [addr-type] id, or [proto] proto id.
func (p *parser) parseHead() (*node, qual) {
	var q qual
	if t := p.peek(); t.kind == tKey && protoNames[t.text] {
		q.proto = p.next().text
	}
	t := p.peek()
	if p.isKey(t, "src", "dst") {
		p.next()
		q.dir = t.text
		// "src or dst" and "src and dst" are directions, not operators,
		// when the next word is the other direction.
		if nx, nn := p.peek(), p.peekAt(1); p.isKey(nx, "and", "or") && p.isKey(nn, "src", "dst") && nn.text != t.text {
			p.next()
			p.next()
			q.dir = nx.text
		}
	}
	t = p.peek()
	switch {
	case p.isKey(t, "host", "net", "port", "portrange"):
		q.addr = p.next().text
	case p.isKey(t, "proto"):
		if q.dir != "" {
			p.fail(t.pos, "'proto' cannot take a direction")
		}
		q.addr = p.next().text
	case t.kind == tKey && unsupported[t.text]:
		p.fail(t.pos, "%q is not supported by this filter compiler", t.text)
	}
	return p.parseID(q), q
}

// parseID parses an address, number, name, "not id" or "( id and|or id ... )"
// under qualifiers q.
func (p *parser) parseID(q qual) *node {
	t := p.peek()
	if q.err && t.kind != tEOF {
		p.fail(t.pos, "%s needs a qualifier such as host, net or port", describe(t))
	}
	switch t.kind {
	case tKey:
		if t.text == "not" {
			p.next()
			return not(p.parseID(q))
		}
		if q.addr == "proto" && q.proto == "ether" && etherNames[t.text] != 0 {
			p.next()
			return p.genProto(t, etherNames[t.text], q)
		}
		if q.addr == "proto" && q.proto != "ether" && protoNumbers[t.text] != 0 {
			p.next()
			return p.genProto(t, protoNumbers[t.text], q)
		}
	case tOp:
		if t.text == "(" {
			p.next()
			n := p.parseID(q)
			for p.isKey(p.peek(), "and", "or") {
				op := p.next().text
				m := p.parseID(q)
				if op == "and" {
					n = and(n, m)
				} else {
					n = or(n, m)
				}
			}
			p.expectOp(")")
			return n
		}
	case tNum:
		p.next()
		return p.genNum(t, q)
	case tHID:
		p.next()
		if p.isOp(p.peek(), "/") {
			p.next()
			l := p.peek()
			if l.kind != tNum {
				p.fail(l.pos, "expected a prefix length after '/', found %s", describe(l))
			}
			p.next()
			return p.genNet4(t, l.num, "", q)
		}
		if p.isKey(p.peek(), "mask") {
			p.next()
			m := p.peek()
			if m.kind != tHID {
				p.fail(m.pos, "expected a netmask after 'mask', found %s", describe(m))
			}
			p.next()
			return p.genNet4(t, 0, m.text, q)
		}
		return p.genDotted(t, q)
	case tHID6:
		p.next()
		bits := uint32(128)
		if p.isOp(p.peek(), "/") {
			p.next()
			l := p.peek()
			if l.kind != tNum {
				p.fail(l.pos, "expected a prefix length after '/', found %s", describe(l))
			}
			p.next()
			bits = l.num
		}
		return p.genHost6(t, bits, q)
	case tEID:
		p.next()
		return p.genEther(t, q)
	case tID:
		p.next()
		return p.genName(t, q)
	}
	p.fail(t.pos, "expected an address, number or name, found %s", describe(t))
	return nil
}

// protoNumbers maps protocol names usable after "proto" to IP protocol numbers.
var protoNumbers = map[string]uint32{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6": 41, "gre": 47, "esp": 50, "ah": 51,
	"icmp6": 58, "ipv6-icmp": 58, "ospf": 89, "pim": 103, "vrrp": 112, "sctp": 132,
}

// etherNames maps names usable after "ether proto" to EtherTypes.
var etherNames = map[string]uint32{
	"ip": etherIP, "ip6": etherIPv6, "arp": etherARP, "rarp": etherRARP,
}

// serviceNames are the port names accepted without a services database;
// each has the same number for TCP and UDP.
var serviceNames = map[string]uint32{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53,
	"bootps": 67, "bootpc": 68, "tftp": 69, "http": 80, "www": 80, "kerberos": 88,
	"pop3": 110, "ntp": 123, "imap": 143, "snmp": 161, "bgp": 179, "ldap": 389,
	"https": 443, "microsoft-ds": 445, "syslog": 514, "submission": 587, "ldaps": 636,
	"imaps": 993, "pop3s": 995, "mysql": 3306, "rdp": 3389, "ms-wbt-server": 3389,
}

func (p *parser) genName(t token, q qual) *node {
	switch q.addr {
	case "port":
		v, ok := serviceNames[t.text]
		if !ok {
			p.fail(t.pos, "unknown port name %q; use a number", t.text)
		}
		return p.genPort(t, v, v, q)
	case "portrange":
		lo, hi, ok := splitRange(t.text)
		if !ok {
			p.fail(t.pos, "invalid port range %q; use LOW-HIGH", t.text)
		}
		return p.genPort(t, lo, hi, q)
	case "proto":
		if q.proto == "ether" {
			if v, ok := etherNames[t.text]; ok {
				return p.genProto(t, v, q)
			}
		} else if v, ok := protoNumbers[t.text]; ok {
			return p.genProto(t, v, q)
		}
		p.fail(t.pos, "unknown protocol %q", t.text)
	}
	p.fail(t.pos, "%q: name resolution not supported; use an address", t.text)
	return nil
}

func splitRange(s string) (lo, hi uint32, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	port := func(x string) (uint32, bool) {
		if v, ok := parseNum(x); ok {
			return v, true
		}
		v, ok := serviceNames[x]
		return v, ok
	}
	lo, ok1 := port(a)
	hi, ok2 := port(b)
	return lo, hi, ok1 && ok2
}

// genNum handles a bare number: an IPv4 address as a 32-bit value for host,
// a classful network for net, a port, or a protocol number.
func (p *parser) genNum(t token, q qual) *node {
	switch q.addr {
	case "", "host", "net":
		v, mask := t.num, uint32(0xffffffff)
		if q.addr == "net" {
			// libpcap promotes a short network number: "net 10" is 10.0.0.0/8.
			for v != 0 && v&0xff000000 == 0 {
				v <<= 8
				mask <<= 8
			}
		}
		return p.genHost4(t, v, mask, q)
	case "port":
		return p.genPort(t, t.num, t.num, q)
	case "portrange":
		return p.genPort(t, t.num, t.num, q)
	case "proto":
		return p.genProto(t, t.num, q)
	}
	p.fail(t.pos, "unexpected number %q", t.text)
	return nil
}

// genDotted handles a dotted address; a short one ("10.1") means the
// network 10.1.0.0/16, as in libpcap.
func (p *parser) genDotted(t token, q qual) *node {
	if q.addr != "" && q.addr != "host" && q.addr != "net" {
		p.fail(t.pos, "illegal qualifier of '%s' for address %q", q.addr, t.text)
	}
	v, bits, ok := parseDotted(t.text)
	if !ok {
		p.fail(t.pos, "invalid IPv4 address %q", t.text)
	}
	mask := uint32(0xffffffff)
	v <<= 32 - bits
	mask <<= 32 - bits
	return p.genHost4(t, v, mask, q)
}

func (p *parser) genNet4(t token, bits uint32, maskText string, q qual) *node {
	if q.addr != "net" {
		p.fail(t.pos, "mask syntax for networks only; use net %s", t.text)
	}
	v, n, ok := parseDotted(t.text)
	if !ok {
		p.fail(t.pos, "invalid IPv4 address %q", t.text)
	}
	v <<= 32 - n
	var mask uint32
	shown := t.text
	if maskText != "" {
		m, mn, ok := parseDotted(maskText)
		if !ok {
			p.fail(t.pos, "invalid netmask %q", maskText)
		}
		mask = m << (32 - mn)
		shown += " mask " + maskText
	} else {
		if bits > 32 {
			p.fail(t.pos, "mask length must be <= 32")
		}
		if bits > 0 {
			mask = 0xffffffff << (32 - bits)
		}
		shown = fmt.Sprintf("%s/%d", t.text, bits)
	}
	if v&^mask != 0 {
		p.fail(t.pos, "non-network bits set in %q", shown)
	}
	return p.genHost4(t, v, mask, q)
}

func (p *parser) genHost4(t token, v, mask uint32, q qual) *node {
	what := q.addr
	if what == "" {
		what = "host"
	}
	nl := p.lay.offNL
	ip := func() *node { return and(p.lay.linkProto(etherIP), hostop(v, mask, q.dir, nl+12, nl+16)) }
	arp := func(proto uint16) *node {
		return and(p.lay.linkProto(proto), hostop(v, mask, q.dir, nl+14, nl+24))
	}
	switch q.proto {
	case "":
		return or(or(ip(), arp(etherARP)), arp(etherRARP))
	case "ip":
		return ip()
	case "arp":
		return arp(etherARP)
	case "rarp":
		return arp(etherRARP)
	case "ether":
		p.fail(t.pos, "illegal link layer address %q; use a MAC address", t.text)
	}
	p.fail(t.pos, "'%s' modifier applied to %s", q.proto, what)
	return nil
}

// hostop tests a 32-bit address field pair for the given direction.
func hostop(v, mask uint32, dir string, srcOff, dstOff uint32) *node {
	src := func() *node { return mcmp(srcOff, 4, v, mask) }
	dst := func() *node { return mcmp(dstOff, 4, v, mask) }
	switch dir {
	case "src":
		return src()
	case "dst":
		return dst()
	case "and":
		return and(src(), dst())
	}
	return or(src(), dst())
}

func (p *parser) genHost6(t token, bits uint32, q qual) *node {
	if q.addr != "" && q.addr != "host" && q.addr != "net" {
		p.fail(t.pos, "illegal qualifier of '%s' for address %q", q.addr, t.text)
	}
	if bits > 128 {
		p.fail(t.pos, "mask length must be <= 128")
	}
	if bits != 128 && q.addr != "net" {
		p.fail(t.pos, "mask syntax for networks only; use net %s/%d", t.text, bits)
	}
	if q.proto != "" && q.proto != "ip6" {
		p.fail(t.pos, "'%s' modifier applied to ip6 %s", q.proto, q.addr)
	}
	a, err := netip.ParseAddr(t.text)
	if err != nil {
		p.fail(t.pos, "invalid IPv6 address %q", t.text)
	}
	addr := a.As16()
	var mask [16]byte
	for i := 0; i < 16; i++ {
		switch {
		case bits >= uint32(8*(i+1)):
			mask[i] = 0xff
		case bits > uint32(8*i):
			mask[i] = byte(0xff << (8 - (bits - uint32(8*i))))
		}
		if addr[i]&^mask[i] != 0 {
			p.fail(t.pos, "non-network bits set in \"%s/%d\"", t.text, bits)
		}
	}
	nl := p.lay.offNL
	op := func(off uint32) *node {
		var n *node
		for w := 0; w < 4; w++ {
			m := be32(mask[4*w:])
			if m == 0 {
				continue
			}
			n = and(n, mcmp(off+uint32(4*w), 4, be32(addr[4*w:]), m))
		}
		if n == nil {
			return trueNode
		}
		return n
	}
	var h *node
	switch q.dir {
	case "src":
		h = op(nl + 8)
	case "dst":
		h = op(nl + 24)
	case "and":
		h = and(op(nl+8), op(nl+24))
	default:
		h = or(op(nl+8), op(nl+24))
	}
	return and(p.lay.linkProto(etherIPv6), h)
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (p *parser) genEther(t token, q qual) *node {
	if q.proto != "ether" || (q.addr != "" && q.addr != "host") {
		p.fail(t.pos, "ethernet address used in non-ether expression; use ether host %s", t.text)
	}
	if !p.lay.hasEther {
		p.fail(t.pos, "ethernet addresses are not available on %s captures", linkName(p.lay.linkType))
	}
	mac, _ := parseMAC(t.text)
	op := func(off uint32) *node {
		w := uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
		return and(cmp(off+2, 4, w), cmp(off, 2, uint32(mac[0])<<8|uint32(mac[1])))
	}
	switch q.dir {
	case "src":
		return op(6)
	case "dst":
		return op(0)
	case "and":
		return and(op(6), op(0))
	}
	return or(op(6), op(0))
}

// Transport protocols "port" applies to when no protocol is named.
const (
	ipprotoTCP  = 6
	ipprotoUDP  = 17
	ipprotoSCTP = 132
)

func (p *parser) genPort(t token, lo, hi uint32, q qual) *node {
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi > 65535 {
		p.fail(t.pos, "illegal port number %d > 65535", hi)
	}
	var protos []uint32
	switch q.proto {
	case "":
		protos = []uint32{ipprotoTCP, ipprotoUDP, ipprotoSCTP}
	case "tcp":
		protos = []uint32{ipprotoTCP}
	case "udp":
		protos = []uint32{ipprotoUDP}
	case "sctp":
		protos = []uint32{ipprotoSCTP}
	default:
		p.fail(t.pos, "illegal qualifier of '%s': %s", q.addr, q.proto)
	}
	nl := p.lay.offNL
	anyOf := func(off uint32) *node {
		var n *node
		for _, pr := range protos {
			c := cmp(off, 1, pr)
			if n == nil {
				n = c
			} else {
				n = or(n, c)
			}
		}
		return n
	}
	// atom tests the port field at off; indirect loads are relative to the
	// IPv4 header length in X.
	atom := func(off uint32, indirect bool) *node {
		load := func() []bpf0 {
			if indirect {
				return []bpf0{ldxIPHdrLen(nl), ldInd(off, 2)}
			}
			return []bpf0{ldAbs(off, 2)}
		}
		if lo == hi {
			return leaf(load(), cond{test: jeq, k: lo})
		}
		return and(leaf(load(), cond{test: jge, k: lo}), leaf(load(), cond{test: jgt, k: hi, neg: true}))
	}
	dirs := func(base uint32, indirect bool) *node {
		switch q.dir {
		case "src":
			return atom(base, indirect)
		case "dst":
			return atom(base+2, indirect)
		case "and":
			return and(atom(base, indirect), atom(base+2, indirect))
		}
		return or(atom(base, indirect), atom(base+2, indirect))
	}
	v4 := and(and(and(p.lay.linkProto(etherIP), anyOf(nl+9)), p.lay.ipFragZero()), dirs(nl, true))
	v6 := and(and(p.lay.linkProto(etherIPv6), anyOf(nl+6)), dirs(nl+40, false))
	return or(v4, v6)
}

// genProto handles "[ip|ip6|ether] proto N" and the protocol abbreviations.
func (p *parser) genProto(t token, v uint32, q qual) *node {
	switch q.proto {
	case "":
		p.checkByte(t, v)
		return or(p.protoV4(v), p.protoV6(v))
	case "ip":
		p.checkByte(t, v)
		return p.protoV4(v)
	case "ip6":
		p.checkByte(t, v)
		return p.protoV6(v)
	case "ether":
		if v <= 1500 || v > 0xffff {
			p.fail(t.pos, "ether proto %d is not supported; use an EtherType above 1500", v)
		}
		return p.lay.linkProto(uint16(v))
	}
	p.fail(t.pos, "'%s' modifier applied to proto", q.proto)
	return nil
}

func (p *parser) checkByte(t token, v uint32) {
	if v > 255 {
		p.fail(t.pos, "protocol number %d > 255", v)
	}
}

func (p *parser) protoV4(v uint32) *node {
	return and(p.lay.linkProto(etherIP), cmp(p.lay.offNL+9, 1, v))
}

// protoV6 looks at the next-header field and, like libpcap, also one
// fragment header; other extension headers are not walked.
func (p *parser) protoV6(v uint32) *node {
	nl := p.lay.offNL
	return and(p.lay.linkProto(etherIPv6), or(cmp(nl+6, 1, v), and(cmp(nl+6, 1, 44), cmp(nl+40, 1, v))))
}

func (p *parser) protoAbbrev(t token) *node {
	switch t.text {
	case "ip":
		return p.lay.linkProto(etherIP)
	case "ip6":
		return p.lay.linkProto(etherIPv6)
	case "arp":
		return p.lay.linkProto(etherARP)
	case "rarp":
		return p.lay.linkProto(etherRARP)
	case "tcp":
		return or(p.protoV4(ipprotoTCP), p.protoV6(ipprotoTCP))
	case "udp":
		return or(p.protoV4(ipprotoUDP), p.protoV6(ipprotoUDP))
	case "sctp":
		return or(p.protoV4(ipprotoSCTP), p.protoV6(ipprotoSCTP))
	case "icmp":
		return p.protoV4(1)
	case "igmp":
		return p.protoV4(2)
	case "icmp6":
		return p.protoV6(58)
	}
	p.fail(t.pos, "%q needs a qualifier such as host or proto", t.text)
	return nil
}

func (p *parser) genVLAN(t token, vid *uint32) *node {
	if !p.lay.canVLAN {
		p.fail(t.pos, "no VLAN support for %s", linkName(p.lay.linkType))
	}
	off := p.lay.offType
	n := or(or(cmp(off, 2, 0x8100), cmp(off, 2, 0x88a8)), cmp(off, 2, 0x9100))
	if vid != nil {
		n = and(n, mcmp(p.lay.offNL, 2, *vid, 0x0fff))
	}
	// Everything after this primitive looks 4 bytes further on.
	p.lay.offType += 4
	p.lay.offNL += 4
	return n
}

func (p *parser) genLen(which string, v uint32) *node {
	if which == "greater" {
		return leaf([]bpf0{ldLen()}, cond{test: jge, k: v})
	}
	return leaf([]bpf0{ldLen()}, cond{test: jgt, k: v, neg: true})
}
