// Package evidence keeps the most recent packets in a bounded ring buffer and
// writes them out as proof: a pcap of one alert's packets or of the last
// seconds, and incident bundles (alerts, flows, host snapshot, pcap and a
// summary for the handoff).
package evidence

import (
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// Defaults of the ring buffer. 64 MiB holds about ten minutes of a busy
// 100 Mbit/s link at typical packet sizes, or hours of an idle server; ten
// minutes covers the windows of every detector (the longest, brute force and
// DGA, look back five minutes) with room for the engineer to react.
const (
	DefaultMaxBytes = 64 << 20
	DefaultMaxAge   = 10 * time.Minute
)

// chunkMax is the largest chunk of packet bytes allocated at once. Chunks
// are allocated as the ring fills, so an idle ring costs little memory, and
// are recycled so a full ring allocates nothing per packet.
const chunkMax = 1 << 20

// Options bounds the ring. Zero values take the defaults.
type Options struct {
	// MaxBytes bounds the packet bytes plus per-packet bookkeeping kept.
	MaxBytes int64
	// MaxAge drops packets older than this, measured from the newest
	// packet's timestamp (packet time, so a replay behaves like live).
	MaxAge time.Duration
}

func (o *Options) fill() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
}

// rec is one kept packet. It holds no pointers so the garbage collector
// never scans the record slices.
type rec struct {
	ts           int64 // unix nanoseconds
	off          uint32
	capLen       uint32
	wireLen      uint32
	link         uint16
	sport, dport uint16
	proto        uint8
	fam          uint8 // 0: no address, 4 or 6
	src, dst     [16]byte
}

// recOverhead is charged per packet against MaxBytes, so the bound covers
// the bookkeeping of many small packets too.
const recOverhead = int64(unsafe.Sizeof(rec{}))

type chunk struct {
	data []byte
	recs []rec
	head int // first record still kept
}

// Ring is a bounded buffer of recent packets. Add (or Hook) runs on the
// packet goroutine; exports may run concurrently from another goroutine.
type Ring struct {
	mu     sync.Mutex
	opts   Options
	chunks []*chunk // oldest first
	spare  *chunk
	used   int64
	count  int
	newest int64
	stats  RingStats
}

// RingStats counts what the ring holds and has dropped.
type RingStats struct {
	Packets    int       // packets held now
	Bytes      int64     // bytes charged now (packet bytes + bookkeeping)
	Oldest     time.Time // timestamp of the oldest packet held
	Newest     time.Time // timestamp of the newest packet held
	Added      uint64    // packets ever added
	EvictedAge uint64    // packets dropped for age
	EvictedMem uint64    // packets dropped for room
}

// NewRing returns an empty ring.
func NewRing(o Options) *Ring {
	o.fill()
	return &Ring{opts: o}
}

// Options returns the ring's bounds.
func (r *Ring) Options() Options { return r.opts }

// Hook has the signature of engine.Hooks.Frame: install it with
// eng.SetHooks(engine.Hooks{Frame: ring.Hook}). It copies the frame.
func (r *Ring) Hook(link uint16, data []byte, s *packet.Summary) {
	r.Add(link, data, s)
}

// Add copies one frame into the ring, keeping the timestamp, wire length,
// link type and the addresses the Summary decoded (for selection).
func (r *Ring) Add(link uint16, data []byte, s *packet.Summary) {
	need := int64(len(data)) + recOverhead
	if need > r.opts.MaxBytes {
		return
	}
	rc := rec{ts: s.TS.UnixNano(), capLen: uint32(len(data)), wireLen: uint32(s.WireLen), link: link}
	if s.WireLen < len(data) {
		rc.wireLen = uint32(len(data))
	}
	switch {
	case s.IPVersion != 0:
		rc.fam = s.IPVersion
		rc.src, rc.dst = s.Src.As16(), s.Dst.As16()
		rc.proto, rc.sport, rc.dport = s.Proto, s.SrcPort, s.DstPort
	case s.IsARP && s.ARPSenderIP.IsValid() && s.ARPTargetIP.IsValid():
		// ARP alerts name the claimed IP address: keep the ARP addresses so
		// an arp.spoof alert's export finds its frames.
		rc.fam = 4
		if s.ARPSenderIP.Is6() {
			rc.fam = 6
		}
		rc.src, rc.dst = s.ARPSenderIP.As16(), s.ARPTargetIP.As16()
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Added++
	if rc.ts > r.newest {
		r.newest = rc.ts
	}
	r.evict(need)
	c := r.tail(len(data))
	rc.off = uint32(len(c.data))
	c.data = append(c.data, data...)
	c.recs = append(c.recs, rc)
	r.used += need
	r.count++
}

// tail returns a chunk with room for n more bytes.
func (r *Ring) tail(n int) *chunk {
	if k := len(r.chunks); k > 0 {
		if c := r.chunks[k-1]; cap(c.data)-len(c.data) >= n {
			return c
		}
	}
	size := r.chunkSize()
	var c *chunk
	if r.spare != nil && cap(r.spare.data) >= n {
		c, r.spare = r.spare, nil
	} else {
		c = &chunk{data: make([]byte, 0, max(size, n))}
	}
	r.chunks = append(r.chunks, c)
	return c
}

func (r *Ring) chunkSize() int {
	// Sixteen chunks per ring at least, so freeing a chunk's memory never
	// waits on more than a sixteenth of the ring.
	return int(min(max(r.opts.MaxBytes/16, 64<<10), chunkMax))
}

// evict drops the oldest packets until need more bytes fit and nothing is
// older than MaxAge.
func (r *Ring) evict(need int64) {
	limit := r.newest - int64(r.opts.MaxAge)
	for len(r.chunks) > 0 {
		c := r.chunks[0]
		if c.head == len(c.recs) {
			r.dropChunk()
			continue
		}
		rc := &c.recs[c.head]
		switch {
		case rc.ts < limit:
			r.stats.EvictedAge++
		case r.used+need > r.opts.MaxBytes:
			r.stats.EvictedMem++
		default:
			return
		}
		c.head++
		r.used -= int64(rc.capLen) + recOverhead
		r.count--
	}
}

func (r *Ring) dropChunk() {
	c := r.chunks[0]
	r.chunks[0] = nil
	r.chunks = r.chunks[1:]
	if cap(c.data) == r.chunkSize() {
		c.data, c.recs, c.head = c.data[:0], c.recs[:0], 0
		r.spare = c
	}
}

// Stats returns the ring's counters.
func (r *Ring) Stats() RingStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats
	st.Packets, st.Bytes = r.count, r.used
	if r.count > 0 {
		for _, c := range r.chunks {
			if c.head < len(c.recs) {
				st.Oldest = time.Unix(0, c.recs[c.head].ts)
				break
			}
		}
		st.Newest = time.Unix(0, r.newest)
	}
	return st
}

// Selection chooses packets from the ring. The zero value selects all.
type Selection struct {
	// From and To bound the packet timestamps (inclusive); zero means open.
	From, To time.Time
	// A and B select packets between two hosts (either direction). With
	// only A valid, every packet to or from A is selected.
	A, B netip.Addr
}

// AlertWindow is how far around an alert's time its evidence reaches.
// Detectors raise an alert after a threshold is crossed, so most of the
// proof precedes it: before covers the longest detector window (five
// minutes); after catches the traffic that followed, when the export is
// made later.
var (
	AlertBefore = 5 * time.Minute
	AlertAfter  = time.Minute
)

// PairSelection selects the packets between src and dst from AlertBefore
// before ts to AlertAfter after it. When dst is not valid, every packet of
// src is selected.
func PairSelection(src, dst netip.Addr, ts time.Time) Selection {
	return Selection{From: ts.Add(-AlertBefore), To: ts.Add(AlertAfter), A: src.Unmap(), B: dst.Unmap()}
}

// LastSelection selects the last d of packets before the newest packet in
// the ring (packet time).
func (r *Ring) LastSelection(d time.Duration) Selection {
	r.mu.Lock()
	newest := r.newest
	r.mu.Unlock()
	if newest == 0 {
		return Selection{}
	}
	to := time.Unix(0, newest)
	return Selection{From: to.Add(-d), To: to}
}

// matcher is a Selection prepared for comparison with records.
type matcher struct {
	from, to   int64
	hasA, hasB bool
	a, b       [16]byte
	famA, famB uint8
}

func newMatcher(s Selection) matcher {
	m := matcher{from: -1 << 63, to: 1<<63 - 1}
	if !s.From.IsZero() {
		m.from = s.From.UnixNano()
	}
	if !s.To.IsZero() {
		m.to = s.To.UnixNano()
	}
	if s.A.IsValid() {
		m.hasA, m.a, m.famA = true, s.A.Unmap().As16(), family(s.A.Unmap())
	}
	if s.B.IsValid() {
		m.hasB, m.b, m.famB = true, s.B.Unmap().As16(), family(s.B.Unmap())
	}
	if !m.hasA && m.hasB {
		m.hasA, m.a, m.famA, m.hasB = true, m.b, m.famB, false
	}
	return m
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return 4
	}
	return 6
}

func (m *matcher) match(rc *rec) bool {
	if rc.ts < m.from || rc.ts > m.to {
		return false
	}
	if !m.hasA {
		return true
	}
	if rc.fam != m.famA {
		return false
	}
	if !m.hasB {
		return rc.src == m.a || rc.dst == m.a
	}
	return (rc.src == m.a && rc.dst == m.b) || (rc.src == m.b && rc.dst == m.a)
}

// Packet is one exported packet; Data is a copy owned by the caller.
type Packet struct {
	TS      time.Time
	Link    uint16
	WireLen int
	Data    []byte
}

// Select copies the packets the selection chooses, oldest first.
func (r *Ring) Select(s Selection) []Packet {
	m := newMatcher(s)
	r.mu.Lock()
	defer r.mu.Unlock()
	var n, size int
	for _, c := range r.chunks {
		for i := c.head; i < len(c.recs); i++ {
			if m.match(&c.recs[i]) {
				n++
				size += int(c.recs[i].capLen)
			}
		}
	}
	// One allocation for all the bytes: exports of a full ring stay cheap.
	buf := make([]byte, 0, size)
	out := make([]Packet, 0, n)
	for _, c := range r.chunks {
		for i := c.head; i < len(c.recs); i++ {
			rc := &c.recs[i]
			if !m.match(rc) {
				continue
			}
			start := len(buf)
			buf = append(buf, c.data[rc.off:rc.off+rc.capLen]...)
			out = append(out, Packet{TS: time.Unix(0, rc.ts), Link: rc.link, WireLen: int(rc.wireLen), Data: buf[start:len(buf):len(buf)]})
		}
	}
	return out
}
