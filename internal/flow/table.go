package flow

import (
	"cmp"
	"hash/maphash"
	"math/bits"
	"net/netip"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/addrword"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// Config bounds the table. Zero values take the defaults below.
type Config struct {
	// MaxFlows caps the table; when full, a flow is evicted (and counted)
	// to make room, preferably a torn-down or never-answered one (see
	// full). Default 65536, Suricata's default flow hash size: a Flow is
	// 192 bytes and an index slot 8, so the flows' slab and the table's
	// index hold at most 13 MB (at 384 bytes and 131072 flows they held
	// 48 MB, most of analyze's 175 MB under a spoofed-source flood), three
	// times the ~21,000 flows the busiest generated capture keeps open at
	// once. At most 1<<30.
	MaxFlows int
	// NewTimeout ends a flow that never saw both directions (Suricata: 30 s).
	NewTimeout time.Duration
	// EstablishedTimeout ends an idle flow that saw both directions (Suricata: 300 s).
	EstablishedTimeout time.Duration
	// ClosedTimeout ends a TCP flow after FIN/RST. Suricata waits 60 s so
	// retransmitted FINs and late RSTs land in the flow they belong to
	// instead of starting a phantom reverse flow.
	ClosedTimeout time.Duration
	// TerminatedTimeout ends a TCP flow that is fully torn down (an RST, or
	// both FINs acknowledged): nothing legitimate follows, so it need not
	// hold memory as long as a half-closed one.
	TerminatedTimeout time.Duration
	// DNSTimeout ends an idle UDP DNS flow that saw both directions. Most
	// lookups use a fresh source port, so on a busy host these are most of
	// the table; Zeek ends DNS sessions after 10 s (dns_session_timeout).
	DNSTimeout time.Duration
	// ActiveTimeout ends a long flow so its record is not held back for
	// hours (as NetFlow exporters do); the next packet starts a new flow. 0 disables.
	ActiveTimeout time.Duration
	// Emergency timeouts replace the new, established and closed ones
	// while the table is in emergency mode (Suricata's flow-timeouts
	// emergency-new, emergency-established and emergency-closed for TCP:
	// 5 s, 100 s, 10 s). A flood of spoofed SYNs then ends in seconds, not
	// after 30, and a conversation idle for minutes makes room sooner.
	EmergencyNewTimeout         time.Duration
	EmergencyEstablishedTimeout time.Duration
	EmergencyClosedTimeout      time.Duration
	// EmergencyRecovery is the share of MaxFlows, in percent, that must be
	// free again before emergency mode ends (Suricata's
	// flow.emergency-recovery, 30): the table leaves it at 70% full, so it
	// does not flap in and out at the bound.
	EmergencyRecovery int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{MaxFlows: 65536, NewTimeout: 30 * time.Second, EstablishedTimeout: 300 * time.Second, ClosedTimeout: 60 * time.Second, TerminatedTimeout: 5 * time.Second, DNSTimeout: 10 * time.Second, ActiveTimeout: 30 * time.Minute,
		EmergencyNewTimeout: 5 * time.Second, EmergencyEstablishedTimeout: 100 * time.Second, EmergencyClosedTimeout: 10 * time.Second,
		EmergencyRecovery: 30}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.MaxFlows <= 0 {
		c.MaxFlows = d.MaxFlows
	}
	// The index names a flow by a 32-bit number and its slots' positions
	// by a 32-bit hash tag.
	c.MaxFlows = min(c.MaxFlows, maxMaxFlows)
	if c.NewTimeout <= 0 {
		c.NewTimeout = d.NewTimeout
	}
	if c.EstablishedTimeout <= 0 {
		c.EstablishedTimeout = d.EstablishedTimeout
	}
	if c.ClosedTimeout <= 0 {
		c.ClosedTimeout = d.ClosedTimeout
	}
	if c.TerminatedTimeout <= 0 {
		c.TerminatedTimeout = d.TerminatedTimeout
	}
	if c.DNSTimeout <= 0 {
		c.DNSTimeout = d.DNSTimeout
	}
	// An emergency timeout never lengthens the normal one it replaces.
	c.EmergencyNewTimeout = shorter(c.EmergencyNewTimeout, d.EmergencyNewTimeout, c.NewTimeout)
	c.EmergencyEstablishedTimeout = shorter(c.EmergencyEstablishedTimeout, d.EmergencyEstablishedTimeout, c.EstablishedTimeout)
	c.EmergencyClosedTimeout = shorter(c.EmergencyClosedTimeout, d.EmergencyClosedTimeout, c.ClosedTimeout)
	if c.EmergencyRecovery <= 0 || c.EmergencyRecovery >= 100 {
		c.EmergencyRecovery = d.EmergencyRecovery
	}
}

// shorter is v (or def when v is unset), at most normal.
func shorter(v, def, normal time.Duration) time.Duration {
	if v <= 0 {
		v = def
	}
	return min(v, normal)
}

// Stats counts the table's life.
type Stats struct {
	Active    int    // flows in the table now
	MaxActive int    // high-water mark
	Created   uint64 // flows ever created
	Ended     uint64 // flows ended by timeout, shutdown or eviction
	Evicted   uint64 // flows ended early because the table was full
	// Emergency is set while the table is in emergency mode (it filled
	// up and has not yet emptied to 100-EmergencyRecovery percent);
	// Emergencies counts the times it entered it (Suricata's
	// flow.emerg_mode_entered).
	Emergency   bool
	Emergencies uint64
}

// Table is a bounded flow table. It is not safe for concurrent use: the
// packet pipeline owns it; the UI sees copies in snapshots.
type Table struct {
	cfg Config
	// slots index the flows by keyHash with open addressing (linear
	// probing, backward-shift deletion: no tombstones). A slot is 8 bytes:
	// the low 32 bits of the flow's hash (its tag, which holds the home
	// position) beside the flow's number in the slab, so a probe reads one
	// line of the slot array and touches a flow only when the tags match:
	// a new flow's lookup, an insert and a removal touch no other (cold)
	// flow, where a chain through the flows cost one cache miss per link.
	// The array doubles while more than half full, up to twice MaxFlows
	// rounded to a power of two (1 MB at the default, half what a hash
	// beside a pointer took, so it stays in a core's L2), and never
	// shrinks.
	slots []slot
	n     int
	seed  [5]uint64 // random: chains cannot be lengthened by chosen addresses
	// chunks are the slab that holds every flow: flow number i is
	// chunks[i/chunkFlows][i%chunkFlows]. A chunk is allocated when every
	// flow of the ones before is in use, and the slab never holds more
	// than MaxFlows (the table never holds more live flows than that, and
	// an ended flow is reused before a new one is taken).
	chunks [][]Flow
	// used is the number of flows ever taken from the slab.
	used int
	// free holds the numbers of ended flows (zeroed) for reuse, last
	// ended first: under a flood every new flow replaces one that ends,
	// and reusing it allocates nothing.
	free []uint32
	// freeOwners are ended flows' Owner records, for reuse (at most
	// maxFree): under a flood on a live interface every new flow is
	// attributed.
	freeOwners []*Owner
	// lists hold the flows of each timeout class, least recently seen
	// first, so expiry looks only at the heads and costs nothing for
	// flows that are not due.
	lists [numClasses]lruList
	seq   uint64
	stats Stats
	onEnd func(*Flow, EndReason)
	// emergency: the table filled up; shorter timeouts apply until it
	// holds at most recoverAt flows.
	emergency bool
	recoverAt int
}

// NewTable makes a table; onEnd is called once for every flow that ends, with
// the flow still intact (it must not keep the pointer).
func NewTable(cfg Config, onEnd func(*Flow, EndReason)) *Table {
	cfg.fill()
	t := &Table{cfg: cfg, slots: make([]slot, min(slotsFor(cfg.MaxFlows), 8192)), onEnd: onEnd,
		recoverAt: cfg.MaxFlows * (100 - cfg.EmergencyRecovery) / 100}
	for i := range t.seed {
		t.seed[i] = new(maphash.Hash).Sum64() | 1
	}
	return t
}

// maxFree bounds the reusable Owner records kept after their flows end.
const maxFree = 4096

// maxMaxFlows caps Config.MaxFlows: a flow's number and a slot's
// position fit in 32 bits.
const maxMaxFlows = 1 << 30

// chunkFlows is the number of flows in a chunk of the slab (48 KB: a
// large allocation, page-aligned, so every Flow starts on a cache line).
const (
	chunkShift = 8
	chunkFlows = 1 << chunkShift
)

// slot is one entry of the table's index: tag is the low 32 bits of the
// flow's keyHash, ref its number plus one (0: the slot is empty).
type slot struct {
	tag, ref uint32
}

// flowAt is the flow of slab number n.
func (t *Table) flowAt(n uint32) *Flow {
	return &t.chunks[n>>chunkShift][n&(chunkFlows-1)]
}

// alloc takes a zeroed flow, an ended one or the next of the slab, and
// returns it with its number plus one (its index ref).
func (t *Table) alloc() (*Flow, uint32) {
	if i := len(t.free) - 1; i >= 0 {
		n := t.free[i]
		t.free = t.free[:i]
		return t.flowAt(n), n + 1
	}
	n := t.used
	if n>>chunkShift == len(t.chunks) {
		t.chunks = append(t.chunks, make([]Flow, min(chunkFlows, t.cfg.MaxFlows-n)))
	}
	t.used++
	return &t.chunks[n>>chunkShift][n&(chunkFlows-1)], uint32(n) + 1
}

// slotsFor is the most slots a table of n flows uses: a power of two at
// least twice n, so a full table's index is at most half full.
func slotsFor(n int) int { return 1 << bits.Len(uint(2*max(n, 2)-1)) }

// keyHash mixes a key and the table's seeds into 64 bits. Each address's
// two words (read in place: addrword.Of) are multiplied together, each
// xored with a seed, so no choice of addresses collides whatever the
// seeds (folding the words by xor first did: an IPv6 sender could pick
// any number of addresses with one fold), and the two products are
// independent, so they run side by side; a third multiplication mixes
// them with the ports, protocol, tags and depth.
func (t *Table) keyHash(k *Key) uint64 {
	ahi, alo := addrword.Of(k.A)
	bhi, blo := addrword.Of(k.B)
	return t.hashWords(ahi, alo, bhi, blo,
		uint64(k.APort)|uint64(k.BPort)<<16|uint64(k.Proto)<<32|uint64(k.Depth)<<40|uint64(k.VLAN)<<48,
		uint64(k.VLANInner[0])|uint64(k.VLANInner[1])<<16)
}

// flowHash is keyHash(f.Key()) without building the key: a flow's end
// finds its index slot by it.
func (t *Table) flowHash(f *Flow) uint64 {
	cp, sp := keyPorts(f.Proto, f.ICMPType, f.CPort, f.SPort)
	a, b, ap, bp := &f.Server, &f.Client, sp, cp
	if f.clientIsA() {
		a, b, ap, bp = &f.Client, &f.Server, cp, sp
	}
	ahi, alo := addrword.Of(*a)
	bhi, blo := addrword.Of(*b)
	return t.hashWords(ahi, alo, bhi, blo,
		uint64(ap)|uint64(bp)<<16|uint64(f.Proto)<<32|uint64(f.depth)<<40|uint64(f.VLAN[0])<<48,
		uint64(f.VLAN[1])|uint64(f.vlan3)<<16)
}

// hashWords is keyHash of the key's address words, ports, protocol,
// depth and outer tag (p) and inner tags (v).
func (t *Table) hashWords(ahi, alo, bhi, blo, p, v uint64) uint64 {
	x := mum(ahi^t.seed[0], alo^t.seed[1])
	y := mum(bhi^t.seed[2], blo^t.seed[3])
	return mum(x^p^t.seed[4], y^v)
}

// mum folds the 128-bit product of x and y into 64 bits (wyhash's mum).
func mum(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

func (t *Table) lookup(k *Key, h uint64) *Flow {
	m := uint32(len(t.slots) - 1)
	tag := uint32(h)
	for i := tag & m; ; i = (i + 1) & m {
		e := t.slots[i]
		if e.ref == 0 {
			return nil
		}
		if e.tag == tag {
			if f := t.flowAt(e.ref - 1); f.hasKey(k) {
				return f
			}
		}
	}
}

func (t *Table) insert(ref uint32, h uint64) {
	if 2*(t.n+1) > len(t.slots) && len(t.slots) < slotsFor(t.cfg.MaxFlows) {
		old := t.slots
		t.slots = make([]slot, 2*len(old))
		for _, e := range old {
			if e.ref != 0 {
				t.put(e)
			}
		}
	}
	t.put(slot{uint32(h), ref})
	t.n++
}

// put stores e in the first empty slot from its home (its tag's).
func (t *Table) put(e slot) {
	m := uint32(len(t.slots) - 1)
	i := e.tag & m
	for t.slots[i].ref != 0 {
		i = (i + 1) & m
	}
	t.slots[i] = e
}

// remove takes f out of the index and returns its number (-1 when it is
// not there). The entries after it in its run that may move back (their
// home slot is not between the hole and them) do, so every entry stays
// reachable from its home without tombstones.
func (t *Table) remove(f *Flow) int {
	m := uint32(len(t.slots) - 1)
	tag := uint32(t.flowHash(f))
	i := tag & m
	for {
		e := t.slots[i]
		if e.ref == 0 {
			return -1
		}
		if e.tag == tag && t.flowAt(e.ref-1) == f {
			break
		}
		i = (i + 1) & m
	}
	n := int(t.slots[i].ref - 1)
	t.n--
	for j := (i + 1) & m; ; j = (j + 1) & m {
		e := t.slots[j]
		if e.ref == 0 {
			break
		}
		if (j-e.tag)&m >= (j-i)&m {
			t.slots[i] = e
			i = j
		}
	}
	t.slots[i] = slot{}
	return n
}

// Config returns the effective configuration.
func (t *Table) Config() Config { return t.cfg }

// protoIGMP is IGMP's IP protocol number.
const protoIGMP = 2

// Update accounts packet s to its flow, creating the flow if needed. It
// returns the flow, whether s travels client to server, and whether the flow
// was created by this packet. Packets without an IP header are not flows:
// Update returns nil for them.
func (t *Table) Update(s *packet.Summary) (f *Flow, toServer, created bool) {
	if s.IPVersion == 0 || s.Proto == protoIGMP {
		// IGMP is decoded but makes no flow, as in Suricata.
		return nil, false, false
	}
	if s.Proto == packet.ProtoICMP && icmp4Error(s.ICMPType) {
		return t.updateICMPError(s) // icmp.go: errors join the quoted packet's flow
	}
	k, srcIsA := KeyOf(s)
	h := t.keyHash(&k)
	f = t.lookup(&k, h)
	if f != nil && t.cfg.ActiveTimeout > 0 && since(unixNano(s.TS), f.FirstNS) > t.cfg.ActiveTimeout {
		t.end(f, EndActiveTimeout)
		f = nil
	}
	if f == nil {
		if t.n >= t.cfg.MaxFlows {
			t.full()
		}
		f = t.create(k, h, s, srcIsA)
		created = true
	}
	toServer = srcIsA == f.clientIsA()
	f.count(s, toServer)
	if !toServer && (s.Proto == packet.ProtoICMP || s.Proto == packet.ProtoICMPv6) {
		f.RespICMPType, f.RespICMPCode = s.ICMPType, s.ICMPCode
	}
	if s.Proto == packet.ProtoTCP && s.HasL4 {
		d := 1
		if toServer {
			f.FlagsTS |= s.TCPFlags
			d = 0
		} else {
			f.FlagsTC |= s.TCPFlags
		}
		if s.TCPFlags&packet.TCPSyn != 0 {
			f.NextSeq[d] = s.Seq + 1
			f.SynSeen |= 1 << d
		}
		f.updateTCP(toServer, s.TCPFlags)
	} else if f.State == StateNew && f.PktsToServer > 0 && f.PktsToClient > 0 {
		f.State = StateEstablished
	}
	t.place(f)
	return f, toServer, created
}

func (t *Table) create(k Key, h uint64, s *packet.Summary, srcIsA bool) *Flow {
	t.seq++
	// f is zero (a new chunk's, or cleared when it ended): only the fields
	// a new flow sets are written.
	f, ref := t.alloc()
	f.ID, f.Proto, f.VLAN, f.vlan3, f.depth = FlowID(k, s.TS), s.Proto, s.VLAN, s.VLAN3, s.TunnelDepth
	f.FirstNS = unixNano(s.TS)
	f.LastNS = f.FirstNS
	f.Client, f.Server, f.CPort, f.SPort = s.Src, s.Dst, s.SrcPort, s.DstPort
	clientIsA := srcIsA
	// A capture that starts at the SYN-ACK: the sender is the server.
	if s.Proto == packet.ProtoTCP && s.TCPFlags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn|packet.TCPAck {
		f.Client, f.Server, f.CPort, f.SPort = s.Dst, s.Src, s.DstPort, s.SrcPort
		clientIsA = !srcIsA
	}
	// A UDP flow whose first datagram is a DNS response: the sender is the
	// server. Suricata swaps such a flow once its DNS probe (on port 53)
	// reads the QR bit.
	if s.Proto == packet.ProtoUDP && s.SrcPort == 53 && s.DstPort != 53 && len(s.Payload) >= 12 && s.Payload[2]&0x80 != 0 {
		f.Client, f.Server, f.CPort, f.SPort = s.Dst, s.Src, s.DstPort, s.SrcPort
		clientIsA = !srcIsA
	}
	if s.Proto == packet.ProtoICMP || s.Proto == packet.ProtoICMPv6 {
		f.ICMPType, f.ICMPCode = s.ICMPType, s.ICMPCode
		f.CPort, f.SPort = 0, 0
	}
	t.insert(ref, h)
	f.class = noClass
	if clientIsA {
		f.class |= clientIsABit
	}
	t.stats.Created++
	if t.n > t.stats.MaxActive {
		t.stats.MaxActive = t.n
	}
	return f
}

// FlowID derives a flow's EVE flow_id as Suricata does, from the flow's
// hash and start time, never from a per-process counter: the same flow in
// the same capture gets the same id in every run, and flows of different
// runs (or hosts) do not share ids. The key is hashed with FNV-1a, which,
// unlike maphash, is the same in every process; a splitmix64 finalizer
// spreads it over 51 bits (JSON consumers read integers as doubles), and
// the low bit is always set.
func FlowID(k Key, start time.Time) uint64 {
	// FNV-1a, byte by byte as the comment above says, but a zero byte only
	// multiplies by the prime ((h^0)*p), so a run of n zeros is one
	// multiplication by p^n (fnvPow): an IPv4 address's ten leading zeros
	// and the six or seven high zero bytes of the ports, protocol and VLAN
	// cost one multiplication each instead of one per byte. The result is
	// the byte-by-byte one (TestFlowIDAsBytewise).
	h := uint64(fnvOffset)
	h = fnvAddr(h, k.A)
	h = fnvAddr(h, k.B)
	h = fnvByte(fnvByte(h, byte(k.APort)), byte(k.APort>>8)) * fnvPow[6]
	h = fnvByte(fnvByte(h, byte(k.BPort)), byte(k.BPort>>8)) * fnvPow[6]
	h = fnvByte(h, k.Proto) * fnvPow[7]
	h = fnvByte(fnvByte(h, byte(k.VLAN)), byte(k.VLAN>>8)) * fnvPow[6]
	us := uint64(start.UnixMicro())
	for i := 0; i < 64; i += 8 {
		h = fnvByte(h, byte(us>>i))
	}
	// The inner tags and the tunnel depth are in the key too: a carrier and
	// the flow it carries, started in the same microsecond, get two ids.
	// Mixed only when set, so untunnelled flows keep the ids they had.
	if k.Depth != 0 || k.VLANInner != [2]uint16{} {
		for _, v := range [...]uint16{k.VLANInner[0], k.VLANInner[1], uint16(k.Depth)} {
			h = fnvByte(fnvByte(h, byte(v)), byte(v>>8))
		}
	}
	h += 0x9e3779b97f4a7c15
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
	h = (h ^ (h >> 27)) * 0x94d049bb133111eb
	h ^= h >> 31
	return h&(1<<51-1) | 1
}

// FNV-1a's 64-bit offset basis and prime.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvPow[n] is fnvPrime to the n-th power (mod 2^64): n zero bytes.
var fnvPow = func() (p [11]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * fnvPrime
	}
	return p
}()

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// fnvAddr mixes the 16 bytes of a's As16 form, read as words in place
// (addrword.Of).
func fnvAddr(h uint64, a netip.Addr) uint64 {
	hi, lo := addrword.Of(a)
	if a.Is4() {
		// ::ffff:a.b.c.d
		h = fnvByte(fnvByte(h*fnvPow[10], 0xff), 0xff)
		return fnvByte(fnvByte(fnvByte(fnvByte(h, byte(lo>>24)), byte(lo>>16)), byte(lo>>8)), byte(lo))
	}
	for i := 56; i >= 0; i -= 8 {
		h = fnvByte(h, byte(hi>>i))
	}
	for i := 56; i >= 0; i -= 8 {
		h = fnvByte(h, byte(lo>>i))
	}
	return h
}

// Timeout classes: each has its own list, ordered by last packet time.
const (
	classNew = iota
	classEstablished
	classClosed
	classTerminated
	classDNS
	numClasses
	noClass = 0x7f // clientIsABit is not part of it
)

type lruList struct{ head, tail *Flow }

func classOf(f *Flow) uint8 {
	switch f.State {
	case StateClosed:
		if f.TCPState == TCPClosed {
			return classTerminated
		}
		return classClosed
	case StateEstablished:
		if f.Proto == packet.ProtoUDP && f.AppProto == "dns" {
			return classDNS
		}
		return classEstablished
	}
	return classNew
}

// full makes room for one flow in a full table and puts the table in
// emergency mode. The victim is the least recently seen of the flows that
// are cheap to lose: fully torn down (an RST, both FINs acknowledged:
// nothing legitimate follows) or never answered (under a spoofed-source
// flood, a SYN that never will be); only when there are none, the least
// recently seen of all. A flood then evicts its own flows and a scan's
// reset ones, not the conversations a detector is following (a login, a
// tunnel, a transfer), and a fresh SYN is not evicted while older
// torn-down flows remain.
func (t *Table) full() {
	if !t.emergency {
		t.emergency = true
		t.stats.Emergencies++
	}
	v := t.lists[classTerminated].head
	if h := t.lists[classNew].head; h != nil && (v == nil || h.LastNS < v.LastNS) {
		v = h
	}
	if v == nil {
		v = t.oldest()
	}
	t.stats.Evicted++
	t.end(v, EndEvicted)
}

func (t *Table) timeoutOf(class uint8) time.Duration {
	switch class {
	case classNew:
		if t.emergency {
			return t.cfg.EmergencyNewTimeout
		}
	case classEstablished:
		if t.emergency {
			return t.cfg.EmergencyEstablishedTimeout
		}
		return t.cfg.EstablishedTimeout
	case classClosed:
		if t.emergency {
			return t.cfg.EmergencyClosedTimeout
		}
		return t.cfg.ClosedTimeout
	case classTerminated:
		return t.cfg.TerminatedTimeout
	case classDNS:
		return t.cfg.DNSTimeout
	}
	return t.cfg.NewTimeout
}

// Expire ends the flows idle past their timeout at packet time now. Each
// timeout class is walked from its least recently seen flow and the walk
// stops at the first flow not yet due, so the cost is proportional to the
// flows that end. In emergency mode the shorter timeouts apply; the mode
// ends once the table has emptied to its recovery mark.
func (t *Table) Expire(now time.Time) {
	n := unixNano(now)
	for c := range t.lists {
		limit := t.timeoutOf(uint8(c))
		for f := t.lists[c].head; f != nil && since(n, f.LastNS) > limit; f = t.lists[c].head {
			t.end(f, EndTimeout)
		}
	}
	if t.emergency && t.n <= t.recoverAt {
		t.emergency = false
	}
}

// oldest is the least recently seen flow of all classes.
func (t *Table) oldest() *Flow {
	var o *Flow
	for c := range t.lists {
		if h := t.lists[c].head; h != nil && (o == nil || h.LastNS < o.LastNS) {
			o = h
		}
	}
	return o
}

// Flush ends every flow with the given reason (end of input, shutdown).
func (t *Table) Flush(reason EndReason) {
	for f := t.oldest(); f != nil; f = t.oldest() {
		t.end(f, reason)
	}
}

func (t *Table) end(f *Flow, reason EndReason) {
	t.unlink(f)
	n := t.remove(f)
	t.stats.Ended++
	if t.onEnd != nil {
		t.onEnd(f, reason)
	}
	if o := f.Owner; o != nil && len(t.freeOwners) < maxFree {
		*o = Owner{}
		t.freeOwners = append(t.freeOwners, o)
	}
	// Cleared, so nothing it referred to is kept and a stale pointer to it
	// (which onEnd's callers must not keep) sees ID 0, never another flow's.
	*f = Flow{}
	if n >= 0 {
		t.free = append(t.free, uint32(n))
	}
}

// Owner returns f's Owner, making it (from an ended flow's when one is
// kept) when f has none yet.
func (t *Table) Owner(f *Flow) *Owner {
	if f.Owner == nil {
		if n := len(t.freeOwners); n > 0 {
			f.Owner = t.freeOwners[n-1]
			t.freeOwners = t.freeOwners[:n-1]
		} else {
			f.Owner = new(Owner)
		}
	}
	return f.Owner
}

// Len is the number of flows in the table.
func (t *Table) Len() int { return t.n }

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Active = t.n
	s.Emergency = t.emergency
	return s
}

// Each calls fn for every flow until fn returns false. Within a timeout
// class the most recently seen come first; classes come in no set order.
func (t *Table) Each(fn func(*Flow) bool) {
	for c := range t.lists {
		for f := t.lists[c].tail; f != nil; f = f.prev {
			if !fn(f) {
				return
			}
		}
	}
}

// Talker is one host's share of the traffic in the table.
type Talker struct {
	Addr              netip.Addr
	BytesOut, BytesIn uint64
	PktsOut, PktsIn   uint64
	Flows             int
}

// Bytes is the host's total.
func (t Talker) Bytes() uint64 { return t.BytesOut + t.BytesIn }

// Pkts is the host's total.
func (t Talker) Pkts() uint64 { return t.PktsOut + t.PktsIn }

// TopTalkers returns up to n hosts with the most bytes (or packets when
// byPackets) over the flows in the table.
func (t *Table) TopTalkers(n int, byPackets bool) []Talker {
	hosts := make(map[netip.Addr]*Talker)
	get := func(a netip.Addr) *Talker {
		h := hosts[a]
		if h == nil {
			h = &Talker{Addr: a}
			hosts[a] = h
		}
		return h
	}
	t.Each(func(f *Flow) bool {
		c, s := get(f.Client), get(f.Server)
		c.BytesOut += f.BytesToServer
		c.PktsOut += f.PktsToServer
		c.BytesIn += f.BytesToClient
		c.PktsIn += f.PktsToClient
		s.BytesIn += f.BytesToServer
		s.PktsIn += f.PktsToServer
		s.BytesOut += f.BytesToClient
		s.PktsOut += f.PktsToClient
		c.Flows++
		s.Flows++
		return true
	})
	out := make([]Talker, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b Talker) int {
		if byPackets {
			if c := cmp.Compare(b.Pkts(), a.Pkts()); c != 0 {
				return c
			}
		} else if c := cmp.Compare(b.Bytes(), a.Bytes()); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// place moves f to the tail of its class's list (it was just seen).
func (t *Table) place(f *Flow) {
	c := classOf(f)
	l := &t.lists[c]
	if f.listClass() == c && l.tail == f {
		return
	}
	t.unlink(f)
	f.class = f.class&clientIsABit | c
	f.prev, f.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (t *Table) unlink(f *Flow) {
	if f.listClass() == noClass {
		return
	}
	l := &t.lists[f.listClass()]
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = nil, nil
	f.class = f.class&clientIsABit | noClass
}
