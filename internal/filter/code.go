package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// maxInsns is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const maxInsns = 4096

// memWords is the number of scratch slots classic BPF has (BPF_MEMWORDS).
const memWords = 16

type nodeKind int

const (
	nLeaf nodeKind = iota
	nAnd
	nOr
	nNot
	nTrue
	nFalse
)

// cond is the conditional jump that ends a leaf: compare A against K (or X).
type cond struct {
	test bpf.JumpTest // only JumpEqual, JumpGreaterThan, JumpGreaterOrEqual, JumpBitsSet
	useX bool
	k    uint32
	neg  bool // swap the outcomes
}

// node is a boolean expression over straight-line tests. Leaves are built
// while parsing, in source order, so the offset shifts made by "vlan" land
// exactly where libpcap puts them.
type node struct {
	kind  nodeKind
	l, r  *node
	stmts []bpf.Instruction
	jmp   cond
}

var (
	trueNode  = &node{kind: nTrue}
	falseNode = &node{kind: nFalse}
)

func and(a, b *node) *node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return &node{kind: nAnd, l: a, r: b}
}

func or(a, b *node) *node { return &node{kind: nOr, l: a, r: b} }

func not(a *node) *node { return &node{kind: nNot, l: a} }

func leaf(stmts []bpf.Instruction, j cond) *node {
	return &node{kind: nLeaf, stmts: stmts, jmp: j}
}

// cmp tests size bytes at off against v.
func cmp(off uint32, size int, v uint32) *node {
	return leaf([]bpf.Instruction{bpf.LoadAbsolute{Off: off, Size: size}}, cond{test: bpf.JumpEqual, k: v})
}

// mcmp tests (size bytes at off) & mask against v.
func mcmp(off uint32, size int, v, mask uint32) *node {
	if mask == 0xffffffff || size == 2 && mask == 0xffff || size == 1 && mask == 0xff {
		return cmp(off, size, v)
	}
	return leaf([]bpf.Instruction{
		bpf.LoadAbsolute{Off: off, Size: size},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask},
	}, cond{test: bpf.JumpEqual, k: v})
}

// entry is one slot of the program being laid out: an instruction, a
// conditional or unconditional jump to labels, or a label definition.
type entry struct {
	ins       bpf.Instruction // plain instruction when non-nil
	isJump    bool
	isLabel   bool
	label     int // label defined here, or target of an unconditional jump
	jc        cond
	jt, jf    int
	uncondJmp bool
}

type emitter struct {
	entries []entry
	labels  int
}

func (e *emitter) newLabel() int { e.labels++; return e.labels }

func (e *emitter) place(l int) { e.entries = append(e.entries, entry{isLabel: true, label: l}) }

func (e *emitter) jumpTo(l int) {
	e.entries = append(e.entries, entry{isJump: true, uncondJmp: true, label: l})
}

// gen emits n so that control reaches label t when n holds and f otherwise.
// Every jump is forward, as classic BPF requires.
func (e *emitter) gen(n *node, t, f int) {
	switch n.kind {
	case nTrue:
		e.jumpTo(t)
	case nFalse:
		e.jumpTo(f)
	case nNot:
		e.gen(n.l, f, t)
	case nAnd:
		m := e.newLabel()
		e.gen(n.l, m, f)
		e.place(m)
		e.gen(n.r, t, f)
	case nOr:
		m := e.newLabel()
		e.gen(n.l, t, m)
		e.place(m)
		e.gen(n.r, t, f)
	case nLeaf:
		for _, s := range n.stmts {
			e.entries = append(e.entries, entry{ins: s})
		}
		jt, jf := t, f
		if n.jmp.neg {
			jt, jf = f, t
		}
		e.entries = append(e.entries, entry{isJump: true, jc: n.jmp, jt: jt, jf: jf})
	}
}

// assemble resolves labels, inserting "ja" trampolines where a conditional
// jump would need to skip more than 255 instructions.
func (e *emitter) assemble() ([]bpf.RawInstruction, error) {
	for {
		pos := make(map[int]int, e.labels)
		pcs := make([]int, len(e.entries))
		pc := 0
		for i, en := range e.entries {
			pcs[i] = pc
			if en.isLabel {
				pos[en.label] = pc
				continue
			}
			pc++
		}
		if pc > maxInsns {
			return nil, fmt.Errorf("program has %d instructions, more than the kernel's limit of %d", pc, maxInsns)
		}
		var out []entry
		relaxed := false
		for i, en := range e.entries {
			if !en.isJump || en.uncondJmp {
				out = append(out, en)
				continue
			}
			far := func(l int) bool { return pos[l]-pcs[i]-1 > 255 }
			if !far(en.jt) && !far(en.jf) {
				out = append(out, en)
				continue
			}
			relaxed = true
			var tail []entry
			if far(en.jt) {
				l := e.newLabel()
				tail = append(tail, entry{isLabel: true, label: l}, entry{isJump: true, uncondJmp: true, label: en.jt})
				en.jt = l
			}
			if far(en.jf) {
				l := e.newLabel()
				tail = append(tail, entry{isLabel: true, label: l}, entry{isJump: true, uncondJmp: true, label: en.jf})
				en.jf = l
			}
			out = append(out, en)
			out = append(out, tail...)
		}
		e.entries = out
		if relaxed {
			continue
		}
		prog := make([]bpf.RawInstruction, 0, pc)
		for i, en := range e.entries {
			var ins bpf.Instruction
			switch {
			case en.isLabel:
				continue
			case en.uncondJmp:
				ins = bpf.Jump{Skip: uint32(pos[en.label] - pcs[i] - 1)}
			case en.isJump:
				st, sf := uint8(pos[en.jt]-pcs[i]-1), uint8(pos[en.jf]-pcs[i]-1)
				if en.jc.useX {
					ins = bpf.JumpIfX{Cond: en.jc.test, SkipTrue: st, SkipFalse: sf}
				} else {
					ins = bpf.JumpIf{Cond: en.jc.test, Val: en.jc.k, SkipTrue: st, SkipFalse: sf}
				}
			default:
				ins = en.ins
			}
			raw, err := ins.Assemble()
			if err != nil {
				return nil, fmt.Errorf("assemble %v: %w", ins, err)
			}
			prog = append(prog, raw)
		}
		return prog, nil
	}
}
