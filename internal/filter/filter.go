package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/bpf"
)

// defaultSnaplen is used when Compile is given a snaplen of zero or less.
const defaultSnaplen = 262144

// Program is a compiled capture filter.
type Program struct {
	expr  string
	raw   []bpf.RawInstruction
	insns []vmInsn
}

// SyntaxError reports where parsing failed. Pos is the 0-based byte offset
// into Expr.
type SyntaxError struct {
	Expr string
	Pos  int
	Msg  string
}

// Error formats the error as one line naming the problem and the position,
// then the expression with a caret under that position.
func (e *SyntaxError) Error() string {
	pos := min(max(e.Pos, 0), len(e.Expr))
	shown := []rune(e.Expr)
	for i, r := range shown {
		// Keep the caret line aligned and the terminal safe.
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			shown[i] = '?'
		}
	}
	col := utf8.RuneCountInString(e.Expr[:pos])
	return fmt.Sprintf("capture filter: %s at position %d: %q\n  %s\n  %s^",
		e.Msg, e.Pos, e.Expr, string(shown), strings.Repeat(" ", col))
}

// Compile parses expr for the given pcap link type (1 Ethernet, 113 Linux SLL,
// 276 Linux SLL2, 101/12/14/228/229 raw IP, 0/108 BSD loopback) with the given
// snaplen and returns a program. Parse errors are *SyntaxError.
func Compile(expr string, linkType uint16, snaplen int) (prog *Program, err error) {
	if snaplen <= 0 {
		snaplen = defaultSnaplen
	}
	lay, err := newLayout(linkType)
	if err != nil {
		return nil, err
	}
	p := &Program{expr: expr}
	if strings.TrimSpace(expr) == "" {
		p.raw = []bpf.RawInstruction{mustAssemble(bpf.RetConstant{Val: uint32(snaplen)})}
		p.insns = decode(p.raw)
		return p, nil
	}
	toks, serr := lex(expr)
	if serr != nil {
		return nil, serr
	}
	ps := &parser{expr: expr, toks: toks, lay: lay}
	var root *node
	if serr := ps.attempt(func() { root = ps.parseTop() }); serr != nil {
		return nil, serr
	}
	e := &emitter{}
	t, f := e.newLabel(), e.newLabel()
	e.gen(root, t, f)
	e.place(t)
	e.entries = append(e.entries, entry{ins: bpf.RetConstant{Val: uint32(snaplen)}})
	e.place(f)
	e.entries = append(e.entries, entry{ins: bpf.RetConstant{Val: 0}})
	raw, err := e.assemble()
	if err != nil {
		return nil, fmt.Errorf("compile capture filter %q: %w", expr, err)
	}
	p.raw = raw
	p.insns = decode(raw)
	return p, nil
}

func mustAssemble(i bpf.Instruction) bpf.RawInstruction {
	r, err := i.Assemble()
	if err != nil {
		panic(err)
	}
	return r
}

// Instructions returns the program for SO_ATTACH_FILTER.
func (p *Program) Instructions() []bpf.RawInstruction {
	return append([]bpf.RawInstruction(nil), p.raw...)
}

// String returns the filter expression.
func (p *Program) String() string { return p.expr }

// Match runs the program on frame, whose original length on the wire was
// wireLen, and reports whether the filter accepts it. Like the kernel and
// libpcap, a load past the end of frame rejects the packet, and "len" is
// wireLen.
func (p *Program) Match(frame []byte, wireLen int) bool {
	if wireLen <= 0 {
		wireLen = len(frame)
	}
	return run(p.insns, frame, uint32(wireLen)) != 0
}
