package filter

import (
	"golang.org/x/net/bpf"
)

// bpf0 is shorthand for an instruction in generator code.
type bpf0 = bpf.Instruction

const (
	jeq  = bpf.JumpEqual
	jgt  = bpf.JumpGreaterThan
	jge  = bpf.JumpGreaterOrEqual
	jset = bpf.JumpBitsSet
)

func ldAbs(off uint32, size int) bpf0 { return bpf.LoadAbsolute{Off: off, Size: size} }
func ldInd(off uint32, size int) bpf0 { return bpf.LoadIndirect{Off: off, Size: size} }
func ldLen() bpf0                     { return bpf.LoadExtension{Num: bpf.ExtLen} }

// ldxIPHdrLen loads X with the IPv4 header length (4*IHL) of the header at nl.
func ldxIPHdrLen(nl uint32) bpf0 { return bpf.LoadMemShift{Off: nl} }

// maxOffset keeps packet offsets below the range the kernel reserves for
// ancillary data (SKF_AD_OFF is negative as an int32), so the kernel and
// Match read the same bytes.
const maxOffset = 0x7fffffff

// aexpr is an arithmetic expression from a relation such as
// "tcp[tcpflags] & tcp-syn != 0". Loads capture their offsets when parsed.
type aexpr struct {
	op        string // const, len, load, neg, or an operator
	k         uint32
	l, r      *aexpr
	size      int
	base      uint32 // offset the index is relative to
	transport bool   // base is the IPv4 header start; add its length (X)
}

var aluOps = map[string]bpf.ALUOp{
	"+": bpf.ALUOpAdd, "-": bpf.ALUOpSub, "*": bpf.ALUOpMul, "/": bpf.ALUOpDiv,
	"%": bpf.ALUOpMod, "&": bpf.ALUOpAnd, "|": bpf.ALUOpOr, "^": bpf.ALUOpXor,
	"<<": bpf.ALUOpShiftLeft, ">>": bpf.ALUOpShiftRight,
}

// precedence of binary operators, loosest first (C-like, as libpcap's grammar).
var precLevels = [][]string{{"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"}}

// relState collects, in source order, the protocol tests the loads of one
// relation need; they run before any load, as in libpcap.
type relState struct {
	checks *node
}

// parseRelation parses arith relop arith.
func (p *parser) parseRelation() *node {
	var rs relState
	a := p.parseArith(&rs, 0)
	t := p.peek()
	if !p.isOp(t, relOps...) {
		p.fail(t.pos, "expected a comparison (=, !=, <, >, <=, >=), found %s", describe(t))
	}
	p.next()
	b := p.parseArith(&rs, 0)
	var test bpf.JumpTest
	neg := false
	switch t.text {
	case "=":
		test = jeq
	case "!=":
		test, neg = jeq, true
	case ">":
		test = jgt
	case ">=":
		test = jge
	case "<":
		test, neg = jge, true
	case "<=":
		test, neg = jgt, true
	}
	if a.op == "const" && b.op == "const" {
		var r bool
		switch test {
		case jeq:
			r = a.k == b.k
		case jgt:
			r = a.k > b.k
		case jge:
			r = a.k >= b.k
		}
		if r != neg {
			return and(rs.checks, trueNode)
		}
		return and(rs.checks, falseNode)
	}
	var stmts []bpf0
	c := cond{test: test, neg: neg}
	if b.op == "const" {
		stmts = p.evalA(t, a, 0, stmts)
		c.k = b.k
	} else {
		stmts = p.evalA(t, b, 0, stmts)
		stmts = append(stmts, bpf.StoreScratch{Src: bpf.RegA, N: 0})
		stmts = p.evalA(t, a, 1, stmts)
		stmts = append(stmts, bpf.LoadScratch{Dst: bpf.RegX, N: 0})
		c.useX = true
	}
	return and(rs.checks, leaf(stmts, c))
}

func (p *parser) parseArith(rs *relState, level int) *aexpr {
	if level == len(precLevels) {
		return p.parseUnary(rs)
	}
	l := p.parseArith(rs, level+1)
	for {
		t := p.peek()
		if !p.isOp(t, precLevels[level]...) {
			return l
		}
		p.next()
		r := p.parseArith(rs, level+1)
		l = p.fold(t, &aexpr{op: t.text, l: l, r: r})
	}
}

// fold evaluates operators on constants and rejects the constant operands
// the kernel would refuse (division by zero, shifts of 32 or more).
func (p *parser) fold(t token, e *aexpr) *aexpr {
	if e.r.op == "const" {
		switch {
		case (e.op == "/" || e.op == "%") && e.r.k == 0:
			p.fail(t.pos, "division by zero")
		case (e.op == "<<" || e.op == ">>") && e.r.k > 31:
			p.fail(t.pos, "shift by more than 31 bits")
		}
	}
	if e.l.op != "const" || e.r.op != "const" {
		return e
	}
	a, b := e.l.k, e.r.k
	var v uint32
	switch e.op {
	case "+":
		v = a + b
	case "-":
		v = a - b
	case "*":
		v = a * b
	case "/":
		v = a / b
	case "%":
		v = a % b
	case "&":
		v = a & b
	case "|":
		v = a | b
	case "^":
		v = a ^ b
	case "<<":
		v = a << b
	case ">>":
		v = a >> b
	}
	return &aexpr{op: "const", k: v}
}

func (p *parser) parseUnary(rs *relState) *aexpr {
	t := p.peek()
	switch {
	case p.isOp(t, "-"):
		p.next()
		e := p.parseUnary(rs)
		if e.op == "const" {
			return &aexpr{op: "const", k: -e.k}
		}
		return &aexpr{op: "neg", l: e}
	case p.isOp(t, "("):
		p.next()
		e := p.parseArith(rs, 0)
		p.expectOp(")")
		return e
	case t.kind == tNum:
		p.next()
		return &aexpr{op: "const", k: t.num}
	case p.isKey(t, "len"):
		p.next()
		return &aexpr{op: "len"}
	case t.kind == tKey && protoNames[t.text]:
		return p.parseLoad(rs)
	}
	p.fail(t.pos, "expected a number, len or proto[offset], found %s", describe(t))
	return nil
}

// parseLoad parses proto[expr] or proto[expr:size].
func (p *parser) parseLoad(rs *relState) *aexpr {
	t := p.next()
	p.expectOp("[")
	idx := p.parseArith(rs, 0)
	size := 1
	if p.isOp(p.peek(), ":") {
		p.next()
		s := p.peek()
		if s.kind != tNum || (s.num != 1 && s.num != 2 && s.num != 4) {
			p.fail(s.pos, "data size must be 1, 2, or 4")
		}
		p.next()
		size = int(s.num)
	}
	p.expectOp("]")
	e := &aexpr{op: "load", l: idx, size: size}
	nl := p.lay.offNL
	var check *node
	switch t.text {
	case "ether":
		// Relative to the start of the link-layer header, whatever it is.
		e.base = 0
	case "ip":
		check, e.base = p.lay.linkProto(etherIP), nl
	case "ip6":
		check, e.base = p.lay.linkProto(etherIPv6), nl
	case "arp":
		check, e.base = p.lay.linkProto(etherARP), nl
	case "rarp":
		check, e.base = p.lay.linkProto(etherRARP), nl
	case "tcp", "udp", "sctp", "icmp", "igmp":
		// libpcap computes transport offsets from the IPv4 header only.
		num := map[string]uint32{"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "igmp": 2}[t.text]
		check = and(p.protoV4(num), p.lay.ipFragZero())
		e.base, e.transport = nl, true
	case "icmp6":
		check = and(p.lay.linkProto(etherIPv6), cmp(nl+6, 1, 58))
		e.base = nl + 40
	}
	if idx.op == "const" && uint64(e.base)+uint64(idx.k) > maxOffset {
		p.fail(t.pos, "offset %d is too large", idx.k)
	}
	rs.checks = and(rs.checks, check)
	return e
}

// evalA appends code that leaves the value of e in A, using scratch slots
// from slot upwards for intermediate values.
func (p *parser) evalA(t token, e *aexpr, slot int, out []bpf0) []bpf0 {
	if slot >= memWords {
		p.fail(t.pos, "expression too complex: more than %d scratch registers needed", memWords)
	}
	switch e.op {
	case "const":
		return append(out, bpf.LoadConstant{Dst: bpf.RegA, Val: e.k})
	case "len":
		return append(out, ldLen())
	case "neg":
		out = p.evalA(t, e.l, slot, out)
		return append(out, bpf.NegateA{})
	case "load":
		idx := e.l
		switch {
		case idx.op == "const" && !e.transport:
			return append(out, ldAbs(e.base+idx.k, e.size))
		case idx.op == "const":
			return append(out, ldxIPHdrLen(e.base), ldInd(e.base+idx.k, e.size))
		case !e.transport:
			out = p.evalA(t, idx, slot, out)
			return append(out, bpf.TAX{}, ldInd(e.base, e.size))
		default:
			out = p.evalA(t, idx, slot, out)
			return append(out,
				bpf.StoreScratch{Src: bpf.RegA, N: slot},
				ldxIPHdrLen(e.base),
				bpf.LoadScratch{Dst: bpf.RegA, N: slot},
				bpf.ALUOpX{Op: bpf.ALUOpAdd},
				bpf.TAX{},
				ldInd(e.base, e.size))
		}
	}
	op := aluOps[e.op]
	if e.r.op == "const" {
		out = p.evalA(t, e.l, slot, out)
		return append(out, bpf.ALUOpConstant{Op: op, Val: e.r.k})
	}
	out = p.evalA(t, e.r, slot, out)
	out = append(out, bpf.StoreScratch{Src: bpf.RegA, N: slot})
	out = p.evalA(t, e.l, slot+1, out)
	return append(out, bpf.LoadScratch{Dst: bpf.RegX, N: slot}, bpf.ALUOpX{Op: op})
}
