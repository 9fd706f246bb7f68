package eve

import (
	"math/bits"
	"net/netip"
	"slices"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// The appenders here write what strconv and netip would, in place: every
// record carries a dozen numbers, two addresses and up to three
// timestamps, and formatting into a scratch buffer and copying that was a
// third of a flow record's cost. TestAppenders holds them to strconv's and
// netip's output.

// pow10 are the powers of ten a uint64 holds.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// decimalLen is the number of decimal digits of v (1 for 0).
func decimalLen(v uint64) int {
	n := bits.Len64(v) * 1233 >> 12 // about log10(2) * bits
	if v >= pow10[n] {
		n++
	}
	return max(n, 1)
}

// appendUint appends v in decimal, as strconv.AppendUint(b, v, 10).
func appendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	n := decimalLen(v)
	b = slices.Grow(b, n)
	at := len(b)
	b = b[:at+n]
	d := b[at : at+n]
	i := n
	for v >= 100 {
		q := v / 100
		r := (v - q*100) * 2
		i -= 2
		d[i], d[i+1] = digits2[r], digits2[r+1]
		v = q
	}
	if v >= 10 {
		d[0], d[1] = digits2[2*v], digits2[2*v+1]
	} else {
		d[0] = byte('0' + v)
	}
	return b
}

// appendInt appends v in decimal, as strconv.AppendInt(b, v, 10).
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(b, '-'), uint64(-v))
	}
	return appendUint(b, uint64(v))
}

// octets are the decimal forms of a byte, each followed by a dot.
var octets = func() (t [256]struct {
	s [4]byte
	n uint8
}) {
	for i := range t {
		s := append(appendUint(nil, uint64(i)), '.')
		copy(t[i].s[:], s)
		t[i].n = uint8(len(s))
	}
	return t
}()

// appendAddr appends a as packet.AppendAddr does: IPv4 dotted, IPv6 in
// full (Suricata's form).
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.Is4() {
		return packet.AppendAddr(b, a)
	}
	v := a.As4()
	b = slices.Grow(b, 16)
	at := len(b)
	d := b[at : at+16]
	i := 0
	for _, o := range v {
		e := &octets[o]
		*(*[4]byte)(d[i : i+4]) = e.s
		i += int(e.n)
	}
	return b[:at+i-1] // the last octet's dot
}

// Fragments of records rendered once: the fields that are one of a few
// values each are appended as one string, not key by key.
var (
	// protoFields[p] is `,"proto":"NAME"` and, for all but ICMP (whose
	// type and code come between), `,"community_id":"`.
	protoFields [256]string
	// tcpFlagFields[flags] is `","` closing tcp_flags_tc, then a
	// `"name":true` member for each flag set, in Suricata's order.
	tcpFlagFields [256]string
	// tcpStateFields[s] is the tcp object's state and its end; the last
	// entry is what TCPState.String gives every state past the known.
	tcpStateFields [int(flow.TCPClosed) + 2]string
	// endFields[state][reason][alerted] is the flow object's state,
	// reason and alerted members and its end; the last entry of each is
	// what String gives every value past the known.
	endFields [int(flow.StateClosed) + 2][int(flow.EndForced) + 2][2]string
)

func init() {
	for p := range protoFields {
		protoFields[p] = `,"proto":"` + packet.ProtoName(uint8(p)) + `"`
		if uint8(p) != packet.ProtoICMP && uint8(p) != packet.ProtoICMPv6 {
			protoFields[p] += `,"community_id":"`
		}
	}
	names := [...]struct {
		bit  uint8
		name string
	}{{packet.TCPSyn, "syn"}, {packet.TCPFin, "fin"}, {packet.TCPRst, "rst"}, {packet.TCPPsh, "psh"}, {packet.TCPAck, "ack"}, {packet.TCPUrg, "urg"}, {packet.TCPEce, "ecn"}, {packet.TCPCwr, "cwr"}}
	for flags := range tcpFlagFields {
		s := `"`
		for _, n := range names {
			if uint8(flags)&n.bit != 0 {
				s += `,"` + n.name + `":true`
			}
		}
		tcpFlagFields[flags] = s
	}
	for st := range tcpStateFields {
		tcpStateFields[st] = `,"state":"` + flow.TCPState(st).String() + `"}`
	}
	for st := range endFields {
		for r := range endFields[st] {
			for a := range endFields[st][r] {
				endFields[st][r][a] = `,"state":"` + flow.State(st).String() + `","reason":"` + flow.EndReason(r).String() +
					`","alerted":` + strconv.FormatBool(a == 1) + `}`
			}
		}
	}
}

// flowEndFields is the end of a flow object: its state, reason and
// alerted members.
func flowEndFields(st flow.State, r flow.EndReason, alerted bool) string {
	a := 0
	if alerted {
		a = 1
	}
	return endFields[min(int(st), len(endFields)-1)][min(int(r), len(endFields[0])-1)][a]
}
