// Package flow keeps a bounded table of bidirectional flows keyed by 5-tuple
// and VLAN, with per-direction counters, TCP state and Community ID.
package flow

import (
	"math"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// Key identifies a flow regardless of direction: the endpoints are stored in
// a canonical order so A->B and B->A find the same entry.
type Key struct {
	A, B         netip.Addr
	APort, BPort uint16
	Proto        uint8
	VLAN         uint16
	// VLANInner are the second and third tags: Suricata keys a flow on
	// every tag, so triple-tagged traffic is not the double-tagged flow.
	VLANInner [2]uint16
	// Depth is the packet's tunnel depth: Suricata keys flows on it, so
	// a tunnelled packet is never the same flow as the tunnel's carrier.
	Depth uint8
}

// KeyOf returns the canonical key of a packet and whether the packet's source
// is the key's A side.
func KeyOf(s *packet.Summary) (Key, bool) {
	sp, dp := keyPorts(s.Proto, s.ICMPType, s.SrcPort, s.DstPort)
	k := Key{Proto: s.Proto, VLAN: s.VLAN[0], VLANInner: [2]uint16{s.VLAN[1], s.VLAN3}, Depth: s.TunnelDepth}
	if c := s.Src.Compare(s.Dst); c < 0 || (c == 0 && sp <= dp) {
		k.A, k.B, k.APort, k.BPort = s.Src, s.Dst, sp, dp
		return k, true
	}
	k.A, k.B, k.APort, k.BPort = s.Dst, s.Src, dp, sp
	return k, false
}

// keyPorts are the ports a key holds for a packet or flow of protocol proto
// sent from port sp to dp.
func keyPorts(proto, icmpType uint8, sp, dp uint16) (uint16, uint16) {
	switch proto {
	case packet.ProtoICMP:
		// Suricata matches ICMPv4 to a flow by the message type and its
		// counterpart (flow-hash.c CmpFlowICMPPacket), never by the echo
		// id: a ping's requests and replies are one flow, whatever their
		// ids, and B's pings to A are another flow than A's to B. The
		// oriented pair (type, counterpart) stands in for the ports.
		return uint16(icmpType), uint16(icmp4Counterpart(icmpType))
	case packet.ProtoICMPv6:
		// Suricata's ICMPv6 packets have no ports and are compared like
		// any protocol: all ICMPv6 between two hosts is one flow.
		return 0, 0
	}
	return sp, dp
}

// icmp4Counterpart is the type that answers an ICMPv4 type or is answered
// by it (echo and echo reply, timestamp, information, router solicitation
// and advertisement, address mask), 0 for the others, as Suricata's
// ICMPv4GetCounterpart leaves the packet's.
func icmp4Counterpart(t uint8) uint8 {
	for _, p := range [...][2]uint8{{8, 0}, {13, 14}, {15, 16}, {10, 9}, {17, 18}} {
		switch t {
		case p[0]:
			return p[1]
		case p[1]:
			return p[0]
		}
	}
	return 0
}

// State is the flow's life stage in Suricata's terms.
type State uint8

// Flow states.
const (
	StateNew State = iota
	StateEstablished
	StateClosed
)

// String is the EVE flow.state value.
func (s State) String() string {
	switch s {
	case StateEstablished:
		return "established"
	case StateClosed:
		return "closed"
	}
	return "new"
}

// TCPState follows the server-side TCP state machine Suricata reports.
type TCPState uint8

// TCP states, in the order a connection normally passes through them.
const (
	TCPNone TCPState = iota
	TCPSynSent
	TCPSynRecv
	TCPEstablished
	TCPFinWait1
	TCPFinWait2
	TCPTimeWait
	TCPCloseWait
	TCPLastAck
	TCPClosing
	TCPClosed
)

var tcpStateNames = [...]string{"none", "syn_sent", "syn_recv", "established", "fin_wait1", "fin_wait2", "time_wait", "close_wait", "last_ack", "closing", "closed"}

// String is the EVE tcp.state value.
func (t TCPState) String() string {
	if int(t) < len(tcpStateNames) {
		return tcpStateNames[t]
	}
	return "unknown"
}

// EndReason says why a flow record was written.
type EndReason uint8

// End reasons (EVE flow.reason).
const (
	EndTimeout EndReason = iota
	EndActiveTimeout
	EndShutdown // end of input
	EndEvicted  // the table was full
	EndForced
)

// String is the EVE flow.reason value.
func (r EndReason) String() string {
	switch r {
	case EndTimeout:
		return "timeout"
	case EndActiveTimeout:
		return "active_timeout"
	case EndShutdown:
		return "shutdown"
	case EndEvicted:
		return "evicted"
	}
	return "forced"
}

// Flow is one bidirectional conversation. The client is the side that sent the
// first packet (or the SYN, when the capture starts at a SYN-ACK).
type Flow struct {
	// The fields are ordered by cache line (64 bytes; a Flow is 192 bytes,
	// a size class of whole lines, so it starts on one): line 0 holds what
	// every packet updates, line 1 what every packet reads and every record
	// writes, line 2 the endpoints (the table's lookup compares them) and
	// the rest of a record's header. A flow is often cold when its next
	// packet or record comes, and each line touched is then a cache miss.
	// Nothing is stored twice: the key is the endpoints' (Key), the
	// Community ID is computed when a record asks for it, and the table's
	// index keeps the hash. What only some flows need (the local process
	// that owns a live flow) is kept beside the flow (Owner), not in every
	// one. TestFlowLayout holds this.

	// Line 0.
	// FirstNS and LastNS are the times of the first and last packet in
	// Unix nanoseconds (First and Last give them as time.Time): two
	// time.Time took 48 bytes of every flow.
	FirstNS, LastNS              int64
	PktsToServer, PktsToClient   uint64
	BytesToServer, BytesToClient uint64
	// NextSeq holds, per direction (0 to server, 1 to client), the sequence
	// number after the SYN, when SynSeen has that direction's bit: parsers
	// created at the first payload start the stream there.
	NextSeq          [2]uint32
	FlagsTS, FlagsTC uint8 // TCP flags seen from client and from server
	SynSeen          uint8
	TCPState         TCPState
	State            State
	// class is the list (timeout class) that holds the flow, with
	// clientIsABit set when the client is the key's A side.
	class uint8
	Proto uint8
	// AppDone is set once App had nothing more to extract and was released,
	// so a long flow keeps no parser memory.
	AppDone bool

	// Line 1.
	// App holds the engine's per-flow application state (protocol parsers).
	App        any
	prev, next *Flow // the class's LRU list, by last packet time
	// AppProto is the application protocol found by content ("" unknown).
	AppProto string
	ID       uint64 // EVE flow_id
	CPort    uint16
	SPort    uint16
	// VLAN are the outer two tags; vlan3 is the third and depth the tunnel
	// depth, the rest of the key.
	VLAN [2]uint16

	// Line 2.
	Client, Server netip.Addr
	// Owner is attribution's record of the local process behind the flow,
	// nil until attribution looked (it runs on live capture only: a
	// capture file's flows have none). Table.Owner makes it.
	Owner *Owner
	vlan3 uint16
	depth uint8
	// ICMP type and code of the first packet, for Community ID.
	ICMPType, ICMPCode uint8
	// Alerted is set once any alert names this flow.
	Alerted bool
	// RespICMPType and RespICMPCode are those of the last ICMP message
	// towards the client (Suricata's response_icmp_type and _code); they
	// mean something only when PktsToClient > 0.
	RespICMPType, RespICMPCode uint8
}

// First is the time of the flow's first packet.
func (f *Flow) First() time.Time { return time.Unix(0, f.FirstNS) }

// Last is the time of the flow's last packet.
func (f *Flow) Last() time.Time { return time.Unix(0, f.LastNS) }

// unixNano is t in Unix nanoseconds, as a Flow keeps its times, held to
// the years an int64 of them spans (1678 to 2262): a clock outside them
// (a corrupt capture's) stops at the edge instead of wrapping.
func unixNano(t time.Time) int64 {
	switch s := t.Unix(); {
	case s >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case s <= math.MinInt64/int64(time.Second):
		return math.MinInt64
	}
	return t.UnixNano()
}

// since is now-then as time.Time.Sub gives it, saturated at the ends.
func since(now, then int64) time.Duration {
	d := now - then
	if (now >= 0) != (then >= 0) && (d >= 0) != (now >= 0) {
		if now >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return time.Duration(d)
}

// unixSec is the whole seconds of ns (rounded down, as time.Time.Unix).
func unixSec(ns int64) int64 {
	s := ns / 1e9
	if ns%1e9 < 0 {
		s--
	}
	return s
}

// Owner is what attribution found out about a flow's local process.
type Owner struct {
	// PID and Process name the local owner, when attribution found one.
	PID     int32
	Process string
	// State is attrib's verdict on the local owner (0 unknown) and Tries
	// how many lookups were made, so a miss is retried a few times, not
	// per packet.
	State uint8
	Tries uint8
	// LocalIsClient is set when attribution found the client side local.
	LocalIsClient bool
	// Accounted are the byte counts already charged to the owning process.
	AccountedToServer, AccountedToClient uint64
}

// PID is the flow's local owner's process id, 0 when none is known.
func (f *Flow) PID() int32 {
	if f.Owner == nil {
		return 0
	}
	return f.Owner.PID
}

// Process is the flow's local owner's name, "" when none is known.
func (f *Flow) Process() string {
	if f.Owner == nil {
		return ""
	}
	return f.Owner.Process
}

// clientIsABit marks, in Flow.class, a flow whose client is its key's A
// side; the class is the rest.
const clientIsABit = 0x80

func (f *Flow) clientIsA() bool { return f.class&clientIsABit != 0 }

// listClass is the timeout class whose list holds f (noClass: none).
func (f *Flow) listClass() uint8 { return f.class &^ clientIsABit }

// Key is the flow's key in the table: its endpoints in canonical order,
// with the ports KeyOf gives them (for ICMPv4 the first message's type and
// its counterpart, for ICMPv6 none), its VLAN tags and tunnel depth. It is
// what KeyOf returns for the flow's packets when the flow came from a
// Table.
func (f *Flow) Key() Key {
	cp, sp := keyPorts(f.Proto, f.ICMPType, f.CPort, f.SPort)
	k := Key{Proto: f.Proto, VLAN: f.VLAN[0], VLANInner: [2]uint16{f.VLAN[1], f.vlan3}, Depth: f.depth}
	if f.clientIsA() {
		k.A, k.B, k.APort, k.BPort = f.Client, f.Server, cp, sp
	} else {
		k.A, k.B, k.APort, k.BPort = f.Server, f.Client, sp, cp
	}
	return k
}

// hasKey is f.Key() == *k, without building the key: the table's lookup
// asks it of every flow whose hash matches.
func (f *Flow) hasKey(k *Key) bool {
	if f.Proto != k.Proto || f.VLAN[0] != k.VLAN || f.VLAN[1] != k.VLANInner[0] || f.vlan3 != k.VLANInner[1] || f.depth != k.Depth {
		return false
	}
	cp, sp := keyPorts(f.Proto, f.ICMPType, f.CPort, f.SPort)
	if f.clientIsA() {
		return cp == k.APort && sp == k.BPort && f.Client == k.A && f.Server == k.B
	}
	return sp == k.APort && cp == k.BPort && f.Server == k.A && f.Client == k.B
}

// CommunityID returns the flow's Community ID v1 (seed 0).
func (f *Flow) CommunityID() string {
	var buf [communityIDLen]byte
	return string(f.AppendCommunityID(buf[:0], 0))
}

// AppendCommunityID appends the flow's Community ID v1 with the given seed
// to b. It is computed each time (a SHA-1 of 40 bytes at most, allocating
// nothing when b has room): most flows write one record, and keeping it
// cost 30 bytes in every flow.
func (f *Flow) AppendCommunityID(b []byte, seed uint16) []byte {
	sp, dp := f.icmpPorts()
	return appendCommunityID(b, nil, seed, f.Proto, f.Client, f.Server, sp, dp)
}

// icmpPorts are the flow's ports as Community ID takes them: for ICMP
// the first message's type and code.
func (f *Flow) icmpPorts() (uint16, uint16) {
	if f.Proto == packet.ProtoICMP || f.Proto == packet.ProtoICMPv6 {
		return uint16(f.ICMPType), uint16(f.ICMPCode)
	}
	return f.CPort, f.SPort
}

// Age is the flow's age as Suricata computes it (EVE flow.age): the
// difference of the whole seconds of its last and first packet times, so a
// flow from 10.9 s to 36.1 s is 26, not 25.
func (f *Flow) Age() int64 { return unixSec(f.LastNS) - unixSec(f.FirstNS) }

// Pkts is the total packet count of both directions.
func (f *Flow) Pkts() uint64 { return f.PktsToServer + f.PktsToClient }

// Bytes is the total byte count of both directions.
func (f *Flow) Bytes() uint64 { return f.BytesToServer + f.BytesToClient }

// count adds packet s to the flow's counters in its direction and moves
// the flow's last-seen time.
func (f *Flow) count(s *packet.Summary, toServer bool) {
	if toServer {
		f.PktsToServer++
		f.BytesToServer += uint64(s.CapLen)
	} else {
		f.PktsToClient++
		f.BytesToClient += uint64(s.CapLen)
	}
	if ns := unixNano(s.TS); ns > f.LastNS {
		f.LastNS = ns
	}
}

// updateTCP advances the TCP state machine with one segment.
func (f *Flow) updateTCP(toServer bool, flags uint8) {
	if flags&packet.TCPRst != 0 {
		f.TCPState = TCPClosed
		f.State = StateClosed
		return
	}
	syn, ack, fin := flags&packet.TCPSyn != 0, flags&packet.TCPAck != 0, flags&packet.TCPFin != 0
	switch f.TCPState {
	case TCPNone:
		switch {
		case syn && !ack && toServer:
			f.TCPState = TCPSynSent
		case syn && ack:
			f.TCPState = TCPSynRecv
		default:
			// Picked up mid-stream: treat as established once both sides speak.
			if f.PktsToClient > 0 && f.PktsToServer > 0 {
				f.TCPState = TCPEstablished
			}
		}
	case TCPSynSent:
		if syn && ack && !toServer {
			f.TCPState = TCPSynRecv
		}
	case TCPSynRecv:
		if ack && !syn && toServer {
			f.TCPState = TCPEstablished
		}
	}
	// States are named from the server's side, as Suricata reports them: a
	// FIN from the client puts the server in close_wait, the server's own
	// FIN then leaves it in last_ack, and the client's ACK closes it. When
	// the server closes first (fin_wait1), the client's FIN/ACK moves it to
	// time_wait and the last ACK closes it: Suricata's stream-tcp.c without
	// its sequence checks.
	if fin {
		switch f.TCPState {
		case TCPEstablished, TCPSynRecv:
			if toServer {
				f.TCPState = TCPCloseWait
			} else {
				f.TCPState = TCPFinWait1
			}
		case TCPCloseWait:
			if !toServer {
				f.TCPState = TCPLastAck
			}
		case TCPFinWait1:
			if toServer {
				if ack {
					f.TCPState = TCPTimeWait
				} else {
					f.TCPState = TCPClosing
				}
			}
		case TCPFinWait2:
			if toServer {
				f.TCPState = TCPTimeWait
			}
		}
	} else if ack {
		switch f.TCPState {
		case TCPFinWait1:
			if toServer {
				f.TCPState = TCPFinWait2
			}
		case TCPLastAck:
			if toServer {
				f.TCPState = TCPClosed
			}
		case TCPClosing:
			f.TCPState = TCPTimeWait
		case TCPTimeWait:
			f.TCPState = TCPClosed
		}
	}
	switch f.TCPState {
	case TCPEstablished, TCPFinWait1, TCPFinWait2, TCPCloseWait:
		f.State = StateEstablished
	case TCPTimeWait, TCPLastAck, TCPClosing, TCPClosed:
		f.State = StateClosed
	}
}
