package filter

import (
	"testing"

	"golang.org/x/net/bpf"
)

// FuzzCompile checks that no expression panics the compiler and that every
// program it produces passes x/net/bpf's validation, ends in a return, keeps
// jumps inside the program, and runs identically on both interpreters.
func FuzzCompile(f *testing.F) {
	for _, e := range equivFilters {
		f.Add(e, uint16(linkEthernet))
	}
	for _, e := range acceptCases {
		f.Add(e, uint16(linkRaw))
	}
	f.Add("vlan and vlan and tcp port 80", uint16(linkSLL))
	f.Add("ip6 net fe80::/10 or host ::1", uint16(linkNull))
	fr := frames(f)
	f.Fuzz(func(t *testing.T, expr string, lt uint16) {
		p, err := Compile(expr, lt, 65535)
		if err != nil {
			return
		}
		raw := p.Instructions()
		if len(raw) == 0 || len(raw) > maxInsns {
			t.Fatalf("%q: %d instructions", expr, len(raw))
		}
		for i, r := range raw {
			switch r.Op & 0x07 {
			case clsJMP:
				if r.Op == clsJMP {
					if uint64(i)+1+uint64(r.K) >= uint64(len(raw)) {
						t.Fatalf("%q: ja at %d jumps out of the program", expr, i)
					}
				} else if i+1+int(r.Jt) >= len(raw) || i+1+int(r.Jf) >= len(raw) {
					t.Fatalf("%q: jump at %d leaves the program", expr, i)
				}
			case clsLD, clsLDX:
				if r.Op&0xe0 == mdABS && r.K > maxOffset {
					t.Fatalf("%q: load at %d reaches the kernel's ancillary range", expr, i)
				}
			case clsST, clsSTX:
				if r.K >= memWords {
					t.Fatalf("%q: scratch slot %d", expr, r.K)
				}
			}
		}
		if last := raw[len(raw)-1]; last.Op&0x07 != clsRET {
			t.Fatalf("%q: last instruction %v is not a return", expr, last)
		}
		ins := make([]bpf.Instruction, len(raw))
		for i, r := range raw {
			ins[i] = r.Disassemble()
		}
		vm, err := bpf.NewVM(ins)
		if err != nil {
			t.Fatalf("%q: bpf.NewVM: %v", expr, err)
		}
		if !xvmComparable(raw) {
			return
		}
		for _, b := range fr {
			got := p.Match(b, len(b))
			n, _ := vm.Run(b)
			if got != (n != 0) {
				t.Fatalf("%q: Match=%v, x/net/bpf VM returned %d", expr, got, n)
			}
		}
	})
}

// xvmComparable reports whether x/net/bpf's VM can judge raw like the
// kernel: its VM lacks "neg" and shifts by X >= 32 to zero where the kernel
// takes the count modulo 32.
func xvmComparable(raw []bpf.RawInstruction) bool {
	for _, r := range raw {
		switch r.Op {
		case clsALU | 0x80, clsALU | srcX | 0x60, clsALU | srcX | 0x70:
			return false
		}
	}
	return true
}
