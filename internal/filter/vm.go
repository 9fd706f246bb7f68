package filter

import "golang.org/x/net/bpf"

// Classic BPF opcode fields (linux/filter.h). x/net/bpf does not export them.
const (
	clsLD   = 0x00
	clsLDX  = 0x01
	clsST   = 0x02
	clsSTX  = 0x03
	clsALU  = 0x04
	clsJMP  = 0x05
	clsRET  = 0x06
	clsMISC = 0x07

	szW = 0x00
	szH = 0x08
	szB = 0x10

	mdIMM = 0x00
	mdABS = 0x20
	mdIND = 0x40
	mdMEM = 0x60
	mdLEN = 0x80
	mdMSH = 0xa0

	srcX = 0x08
)

// vmInsn is a decoded instruction; kept small and flat for a fast loop.
type vmInsn struct {
	op     uint16
	jt, jf uint8
	k      uint32
}

func decode(raw []bpf.RawInstruction) []vmInsn {
	out := make([]vmInsn, len(raw))
	for i, r := range raw {
		out[i] = vmInsn{op: r.Op, jt: r.Jt, jf: r.Jf, k: r.K}
	}
	return out
}

// run interprets a validated classic BPF program with the kernel's
// semantics: out-of-bounds loads and division by zero return 0, shift
// counts are taken modulo 32, and the packet length is wireLen (x/net/bpf's
// VM would use len(pkt), which differs for truncated captures).
func run(prog []vmInsn, pkt []byte, wireLen uint32) uint32 {
	var a, x uint32
	var mem [memWords]uint32
	n := uint32(len(pkt))
	for pc := 0; pc < len(prog); pc++ {
		in := &prog[pc]
		switch in.op {
		case clsLD | szW | mdABS:
			k := in.k
			if k > n || n-k < 4 {
				return 0
			}
			a = uint32(pkt[k])<<24 | uint32(pkt[k+1])<<16 | uint32(pkt[k+2])<<8 | uint32(pkt[k+3])
		case clsLD | szH | mdABS:
			k := in.k
			if k > n || n-k < 2 {
				return 0
			}
			a = uint32(pkt[k])<<8 | uint32(pkt[k+1])
		case clsLD | szB | mdABS:
			if in.k >= n {
				return 0
			}
			a = uint32(pkt[in.k])
		case clsLD | szW | mdIND:
			k := uint64(x) + uint64(in.k)
			if k+4 > uint64(n) {
				return 0
			}
			a = uint32(pkt[k])<<24 | uint32(pkt[k+1])<<16 | uint32(pkt[k+2])<<8 | uint32(pkt[k+3])
		case clsLD | szH | mdIND:
			k := uint64(x) + uint64(in.k)
			if k+2 > uint64(n) {
				return 0
			}
			a = uint32(pkt[k])<<8 | uint32(pkt[k+1])
		case clsLD | szB | mdIND:
			k := uint64(x) + uint64(in.k)
			if k >= uint64(n) {
				return 0
			}
			a = uint32(pkt[k])
		case clsLD | szW | mdLEN:
			a = wireLen
		case clsLD | mdIMM:
			a = in.k
		case clsLD | mdMEM:
			a = mem[in.k&(memWords-1)]
		case clsLDX | szW | mdLEN:
			x = wireLen
		case clsLDX | mdIMM:
			x = in.k
		case clsLDX | mdMEM:
			x = mem[in.k&(memWords-1)]
		case clsLDX | szB | mdMSH:
			if in.k >= n {
				return 0
			}
			x = uint32(pkt[in.k]&0xf) << 2
		case clsST:
			mem[in.k&(memWords-1)] = a
		case clsSTX:
			mem[in.k&(memWords-1)] = x
		case clsALU | 0x00:
			a += in.k
		case clsALU | 0x10:
			a -= in.k
		case clsALU | 0x20:
			a *= in.k
		case clsALU | 0x30:
			if in.k == 0 {
				return 0
			}
			a /= in.k
		case clsALU | 0x90:
			if in.k == 0 {
				return 0
			}
			a %= in.k
		case clsALU | 0x40:
			a |= in.k
		case clsALU | 0x50:
			a &= in.k
		case clsALU | 0xa0:
			a ^= in.k
		case clsALU | 0x60:
			a <<= in.k & 31
		case clsALU | 0x70:
			a >>= in.k & 31
		case clsALU | 0x80:
			a = -a
		case clsALU | srcX | 0x00:
			a += x
		case clsALU | srcX | 0x10:
			a -= x
		case clsALU | srcX | 0x20:
			a *= x
		case clsALU | srcX | 0x30:
			if x == 0 {
				return 0
			}
			a /= x
		case clsALU | srcX | 0x90:
			if x == 0 {
				return 0
			}
			a %= x
		case clsALU | srcX | 0x40:
			a |= x
		case clsALU | srcX | 0x50:
			a &= x
		case clsALU | srcX | 0xa0:
			a ^= x
		case clsALU | srcX | 0x60:
			a <<= x & 31
		case clsALU | srcX | 0x70:
			a >>= x & 31
		case clsJMP | 0x00:
			pc += int(in.k)
		case clsJMP | 0x10:
			pc += jump(a == in.k, in)
		case clsJMP | 0x20:
			pc += jump(a > in.k, in)
		case clsJMP | 0x30:
			pc += jump(a >= in.k, in)
		case clsJMP | 0x40:
			pc += jump(a&in.k != 0, in)
		case clsJMP | srcX | 0x10:
			pc += jump(a == x, in)
		case clsJMP | srcX | 0x20:
			pc += jump(a > x, in)
		case clsJMP | srcX | 0x30:
			pc += jump(a >= x, in)
		case clsJMP | srcX | 0x40:
			pc += jump(a&x != 0, in)
		case clsRET | 0x00: // ret #k
			return in.k
		case clsRET | 0x10: // ret a
			return a
		case clsMISC | 0x00: // tax
			x = a
		case clsMISC | 0x80: // txa
			a = x
		default:
			// Compile never emits anything else.
			return 0
		}
	}
	return 0
}

func jump(ok bool, in *vmInsn) int {
	if ok {
		return int(in.jt)
	}
	return int(in.jf)
}
