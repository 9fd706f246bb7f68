package detect

import (
	"hash/maphash"
	"iter"
	"math"
	"math/bits"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/addrword"
)

// table is a bounded map of trackers. When full, it evicts the least
// recently seen of a sample of entries (five consecutive entries from a
// random place in its index, so this approximates LRU as Redis does) and
// recycles the evicted entry, so a flood of new keys costs no allocation
// once the table is full.
//
// Its index is open-addressed (linear probing, at most half full, deletes
// shift the run back so there are no tombstones) and keyed by a 64-bit
// hash of the key that the table's owner supplies (hashAddr and the like,
// made from the addresses' hashes): a cell holds 32 bits of the hash and
// the entry, so a lookup reads one cell (four to a cache line) and only
// the entry whose hash matches, where a Go map of these 24-56-byte keys
// read its directory, a control word and a group of keys, and hashed the
// whole key with the runtime's generic hasher.
//
// Expiry goes through a lazy timing wheel, so it costs the entries that come
// due, not the table: every entry sits in the bucket of the second it was
// last known to be seen (its age), placed there by the first expiry after
// its creation. An expiry visits the buckets before its cutoff only: an
// entry seen since moves to the bucket of its age then, one still idle is
// dropped. So an entry is looked at about once per time it could expire, a
// table of a million idle sources costs nothing until they are due, and the
// entries dropped are exactly those a walk of the whole table would drop.
// The wheel holds the entries themselves (with a generation that tells a
// deleted or recycled one), so it makes no index lookups but for the deletes.
type table[K comparable, V any] struct {
	name    string
	hash    func(K) uint64
	idx     []cell[K, V] // a power of two long
	n       int          // entries
	rnd     uint64       // evictOne's sampling position
	max     int
	evicted uint64
	spare   *slot[K, V]
	// free keeps slots of expired entries for the next inserts (at most
	// maxFree): trackers of a few hundred bytes come and go with every
	// new actor, and each would be an allocation for the collector.
	free []*slot[K, V]
	seen func(*V) time.Time
	// age is the time expire compares with its cutoff (seen unless set).
	age func(*V) time.Time
	// onDelete, when set, hears every entry removed (caches keyed by it)
	// with its hash, before the entry is recycled.
	onDelete func(K, *V, uint64)
	// gate, when set, counts the entries by key hash (gated): a lookup
	// of a key whose count is zero reads no index cell.
	gate gateCounter

	fresh   []wheelItem[K, V]           // entries created since the last expire
	buckets map[int64][]wheelItem[K, V] // entries by the second of their age (stale ones too)
	queued  int                         // items in fresh and buckets
	due     []int64                     // scratch: the buckets an expire visits
}

// cell is an index cell: the high 32 bits of the entry's hash beside the
// entry (nil: empty).
type cell[K comparable, V any] struct {
	tag uint32
	s   *slot[K, V]
}

// maxFree bounds a table's free list: the inserts of a few seconds of a
// busy link's new actors.
const maxFree = 256

// slot is a table entry with its key; gen changes each time the slot is
// removed, so wheel items of its earlier lives are known stale.
type slot[K comparable, V any] struct {
	v   V
	k   K
	h   uint64 // hash(k)
	gen uint32
}

type wheelItem[K comparable, V any] struct {
	s   *slot[K, V]
	gen uint32
}

// newTable makes a table holding at most max entries. Its keys are hashed
// with maphash until the owner sets hash (withHash), as every detector
// table does with a hash made from the addresses' hashAddr.
func newTable[K comparable, V any](name string, max int, seen func(*V) time.Time) *table[K, V] {
	seed := maphash.MakeSeed()
	return &table[K, V]{name: name, idx: make([]cell[K, V], 2*minTableCells), max: max, seen: seen, age: seen,
		hash:    func(k K) uint64 { return maphash.Comparable(seed, k) },
		rnd:     uint64(len(name)) * 0x9e3779b97f4a7c15,
		buckets: map[int64][]wheelItem[K, V]{}}
}

// minTableCells is the index's smallest half: a table starts with room
// for this many entries and doubles as it fills.
const minTableCells = 512

// withHash sets the table's key hash; it must be set before the first
// insert.
func (t *table[K, V]) withHash(h func(K) uint64) *table[K, V] {
	t.hash = h
	return t
}

// gated makes g count the table's entries by key hash (the table's
// hash), so that find asks it before the index: the common key under a
// flood or a scan, one the table does not hold, then costs the gate's
// cache line only. It must be set before the first insert.
func (t *table[K, V]) gated(g gateCounter) *table[K, V] {
	t.gate = g
	return t
}

// find returns the slot of k, of hash h, or nil.
func (t *table[K, V]) find(k K, h uint64) *slot[K, V] {
	if t.gate != nil && !t.gate.has(h) {
		return nil
	}
	mask := uint64(len(t.idx) - 1)
	tag := uint32(h >> 32)
	for i := h & mask; ; i = (i + 1) & mask {
		c := &t.idx[i]
		if c.s == nil {
			return nil
		}
		if c.tag == tag && c.s.k == k {
			return c.s
		}
	}
}

// get returns the entry for k or nil.
func (t *table[K, V]) get(k K) *V { return t.getH(k, t.hash(k)) }

// getH is get for a caller that has made k's hash h (the table's hash of
// k) already.
func (t *table[K, V]) getH(k K, h uint64) *V {
	if s := t.find(k, h); s != nil {
		return &s.v
	}
	return nil
}

// len is the number of entries.
func (t *table[K, V]) len() int { return t.n }

// all yields every entry, in no order. The table must not change while
// it runs.
func (t *table[K, V]) all() iter.Seq2[K, *V] {
	return func(yield func(K, *V) bool) {
		for i := range t.idx {
			if s := t.idx[i].s; s != nil && !yield(s.k, &s.v) {
				return
			}
		}
	}
}

// upsert returns the entry for k, creating it (zeroed) when missing; fresh
// reports creation.
func (t *table[K, V]) upsert(k K) (v *V, fresh bool) {
	s, fresh := t.upsertSlotH(k, t.hash(k))
	return &s.v, fresh
}

// upsertSlot is upsert returning the entry's slot.
func (t *table[K, V]) upsertSlot(k K) (_ *slot[K, V], fresh bool) { return t.upsertSlotH(k, t.hash(k)) }

// upsertSlotH is upsertSlot with k's hash h made already.
func (t *table[K, V]) upsertSlotH(k K, h uint64) (_ *slot[K, V], fresh bool) {
	if s := t.find(k, h); s != nil {
		return s, false
	}
	return t.create(k, h), true
}

// createH adds k, of hash h, which the table does not hold (a lookup
// just missed it), and returns its zeroed entry.
func (t *table[K, V]) createH(k K, h uint64) *V { return &t.create(k, h).v }

func (t *table[K, V]) create(k K, h uint64) *slot[K, V] {
	if t.n >= t.max {
		t.evictOne()
	}
	s := t.spare
	if s != nil {
		t.spare = nil
	} else if n := len(t.free); n > 0 {
		s, t.free = t.free[n-1], t.free[:n-1]
	}
	if s != nil {
		var zero V
		s.v = zero
	} else {
		s = new(slot[K, V])
	}
	s.k, s.h = k, h
	if 2*(t.n+1) > len(t.idx) {
		t.grow()
	}
	t.insert(s)
	t.n++
	if t.gate != nil {
		t.gate.add(h)
	}
	t.fresh = append(t.fresh, wheelItem[K, V]{s, s.gen})
	if t.queued++; t.queued > 4*max(t.max, 1024) {
		t.rebuild()
	}
	return s
}

// insert puts s, not in the index, in the first free cell of its run.
func (t *table[K, V]) insert(s *slot[K, V]) {
	mask := uint64(len(t.idx) - 1)
	i := s.h & mask
	for t.idx[i].s != nil {
		i = (i + 1) & mask
	}
	t.idx[i] = cell[K, V]{tag: uint32(s.h >> 32), s: s}
}

// grow doubles the index.
func (t *table[K, V]) grow() {
	old := t.idx
	t.idx = make([]cell[K, V], 2*len(old))
	for _, c := range old {
		if c.s != nil {
			t.insert(c.s)
		}
	}
}

// unlink takes s out of the index, shifting back the cells after it in
// its run that may move (their home is not between its cell and theirs).
func (t *table[K, V]) unlink(s *slot[K, V]) {
	mask := uint64(len(t.idx) - 1)
	i := s.h & mask
	for t.idx[i].s != s {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.idx[j].s != nil; j = (j + 1) & mask {
		home := t.idx[j].s.h & mask
		// The cell at j stays when its home lies cyclically in (i, j].
		if (j-home)&mask < (j-i)&mask {
			continue
		}
		t.idx[i] = t.idx[j]
		i = j
	}
	t.idx[i] = cell[K, V]{}
}

func (t *table[K, V]) evictOne() {
	var (
		victim *slot[K, V]
		oldest time.Time
		n      int
	)
	t.rnd = t.rnd*6364136223846793005 + 1442695040888963407
	mask := len(t.idx) - 1
	start := int(t.rnd>>33) & mask
	for k := range len(t.idx) {
		s := t.idx[(start+k)&mask].s
		if s == nil {
			continue
		}
		if ts := t.seen(&s.v); victim == nil || ts.Before(oldest) {
			victim, oldest = s, ts
		}
		if n++; n == 5 {
			break
		}
	}
	if victim == nil {
		return
	}
	t.remove(victim)
	t.spare = victim
	t.evicted++
}

// remove deletes s from the index and tells onDelete.
func (t *table[K, V]) remove(s *slot[K, V]) {
	t.unlink(s)
	t.n--
	if t.gate != nil {
		t.gate.del(s.h)
	}
	if t.onDelete != nil {
		t.onDelete(s.k, &s.v, s.h)
	}
	s.gen++
}

// expire drops the entries whose age is before the cutoff.
func (t *table[K, V]) expire(cutoff time.Time) {
	for _, it := range t.fresh {
		t.queued--
		if it.s.gen == it.gen {
			t.place(it, t.age(&it.s.v))
		}
	}
	clear(t.fresh)
	t.fresh = t.fresh[:0]
	last := cutoff.Unix() // the bucket that holds the cutoff; later ones are not due
	t.due = t.due[:0]
	for b := range t.buckets {
		if b <= last {
			t.due = append(t.due, b)
		}
	}
	for _, b := range t.due {
		items := t.buckets[b]
		delete(t.buckets, b)
		t.queued -= len(items)
		for _, it := range items {
			if it.s.gen != it.gen {
				continue // evicted or expired since it was placed
			}
			if a := t.age(&it.s.v); a.Before(cutoff) {
				t.remove(it.s)
				if len(t.free) < maxFree {
					t.free = append(t.free, it.s)
				}
			} else {
				t.place(it, a)
			}
		}
	}
}

// place puts item it, of age a, in its bucket: the second before a's, so
// an age that went back by up to a second since (a reordered packet's
// time) is still due in time.
func (t *table[K, V]) place(it wheelItem[K, V], a time.Time) {
	b := a.Unix() - 1
	t.buckets[b] = append(t.buckets[b], it)
	t.queued++
}

// rebuild places every live entry afresh, dropping the stale items that
// evictions left in the wheel: called when the wheel holds four times the
// table's bound, so after at least three bounds' worth of inserts, which
// pay for it.
func (t *table[K, V]) rebuild() {
	clear(t.buckets)
	clear(t.fresh)
	t.fresh = t.fresh[:0]
	t.queued = 0
	for _, c := range t.idx {
		if c.s != nil {
			t.place(wheelItem[K, V]{c.s, c.s.gen}, t.age(&c.s.v))
		}
	}
}

func (t *table[K, V]) stats(out map[string]uint64) {
	out[t.name+".entries"] = uint64(t.n)
	out[t.name+".evicted"] = t.evicted
}

// sketch counts distinct values in 4096 bits: exactly while values do not
// collide (ports below 4096 apart never do), and by linear counting
// (Whang et al. 1990) beyond, which stays within a few percent up to
// about 10000 distinct values.
//
// Most trackers see a handful of values (a client talks to one port of a
// server), so the first sketchInline bit numbers are kept in the struct and
// the 512-byte bitmap is allocated only for the next one. That keeps the
// trackers small enough to stay in cache; the counts are the same either
// way.
type sketch struct {
	n    int // bits set; first, so it shares a cache line with its owner's counters
	v    [sketchInline]uint16
	bits *[64]uint64 // nil until more than sketchInline bits are set
}

const sketchInline = 12

// add records h and reports whether it set a new bit.
func (s *sketch) add(h uint32) bool {
	k := uint16(h & 4095)
	if s.bits == nil {
		for _, x := range s.v[:s.n] {
			if x == k {
				return false
			}
		}
		if s.n < sketchInline {
			s.v[s.n] = k
			s.n++
			return true
		}
		s.bits = new([64]uint64)
		for _, x := range s.v {
			s.bits[x>>6] |= 1 << (x & 63)
		}
	}
	i, m := k>>6, uint64(1)<<(k&63)
	if s.bits[i]&m != 0 {
		return false
	}
	s.bits[i] |= m
	s.n++
	return true
}

// count estimates the number of distinct values added.
func (s *sketch) count() int { return linearCount(s.n, 4096, 128) }

// linearCount estimates the distinct values that set `set` of a sketch's m
// bits (linear counting: -m ln(zero bits / m)). Below `exact` set bits
// collisions are too rare to matter, and the count is taken as it is.
func linearCount(set, m, exact int) int {
	if set < exact {
		return set
	}
	zero := max(m-set, 1)
	return int(math.Round(-float64(m) * math.Log(float64(zero)/float64(m))))
}

// smallSketch is a 1024-bit linear counter for secondary counts (sources,
// payload sizes); 128 bytes.
type smallSketch struct {
	n int
	b [16]uint64
}

func (s *smallSketch) add(h uint32) bool {
	i, m := (h&1023)>>6, uint64(1)<<(h&63)
	if s.b[i]&m != 0 {
		return false
	}
	s.b[i] |= m
	s.n++
	return true
}

func (s *smallSketch) count() int { return linearCount(s.n, 1024, 32) }

// addrBits maps an address into sketch bits: the low 12 bits of an IPv4
// address, so the hosts of any /20 (a sweep's usual range) never collide
// and count exactly; a hash for IPv6.
func addrBits(a netip.Addr) uint32 {
	if a.Is4() || a.Is4In6() {
		_, lo := addrword.Of(a)
		return uint32(lo & 0xffff)
	}
	return hashAddr(a)
}

// addrKey is the table hash of an address key.
func addrKey(a netip.Addr) uint64 { return addrKeyH(hashAddr(a)) }

// addrKeyH is addrKey of an address already hashed by hashAddr.
func addrKeyH(h uint32) uint64 { return mix64(uint64(h)) }

// hashAddr mixes an address into 32 bits without allocating.
func hashAddr(a netip.Addr) uint32 {
	hi, lo := addrword.Of(a)
	return uint32(mix64(hi ^ bits.RotateLeft64(lo, 31)))
}

// hashString is FNV-1a, for names.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// hashBytes is FNV-1a over bytes.
func hashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func mix64(n uint64) uint64 {
	n ^= n >> 33
	n *= 0xff51afd7ed558ccd
	n ^= n >> 33
	n *= 0xc4ceb9fe1a85ec53
	n ^= n >> 33
	return n
}

// window is a tumbling window: it restarts when the first event after its
// span arrives (Zeek's SumStats epochs work the same way).
type window struct {
	start, first, last stamp
}

// roll restarts the window at now when it has run past span, and reports
// whether it did (the caller then clears its counters).
func (w *window) roll(now time.Time, span time.Duration) bool {
	n := stampOf(now)
	w.last = n
	if w.start == 0 || n.sub(w.start) >= span || n < w.start {
		w.start, w.first = n, n
		return true
	}
	return false
}

// firstAt and lastAt are the window's first and last events' times.
func (w *window) firstAt() time.Time { return w.first.time() }
func (w *window) lastAt() time.Time  { return w.last.time() }

// stamp is a packet time in nanoseconds since the epoch, 0 for none (the
// zero time.Time). Trackers keep their times as stamps: 8 bytes without a
// pointer, where a time.Time is 24 with one (its location) that every
// store into a tracker passes through the write barrier and the collector
// scans. Times outside int64 nanoseconds (before 1678, after 2262: only a
// forged capture has them) are clamped to its ends; the epoch's own
// nanosecond is kept as the one after it, so it is not mistaken for none.
type stamp int64

const (
	minStampSec = math.MinInt64/int64(time.Second) + 1
	maxStampSec = math.MaxInt64/int64(time.Second) - 1
)

func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	switch {
	case sec < minStampSec:
		sec = minStampSec
	case sec > maxStampSec:
		sec = maxStampSec
	}
	if n := stamp(sec*int64(time.Second) + int64(t.Nanosecond())); n != 0 {
		return n
	}
	return 1
}

// time is the stamp as a time.Time (in the local zone, as the capture
// readers' time.Unix makes packet times); none is the zero time.
func (s stamp) time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s))
}

// sub is s-o, saturated as time.Time.Sub saturates.
func (s stamp) sub(o stamp) time.Duration {
	d := s - o
	switch {
	case o > 0 && d > s:
		return math.MinInt64
	case o < 0 && d < s:
		return math.MaxInt64
	}
	return time.Duration(d)
}

// samples keeps up to maxSamples distinct small values (ports, sizes) for
// evidence, without allocating.
const maxSamples = 10

// samples keeps the first maxSamples distinct values seen. n comes first:
// a full sample is seen without touching v.
type samples[T comparable] struct {
	n uint8
	v [maxSamples]T
}

func (p *samples[T]) add(x T) {
	if int(p.n) >= maxSamples {
		return
	}
	for _, y := range p.v[:p.n] {
		if y == x {
			return
		}
	}
	p.v[p.n] = x
	p.n++
}

// portSamples lists ports as numbers in evidence.
type portSamples struct{ samples[uint16] }

func (p *portSamples) list() []int {
	out := make([]int, p.n)
	for i, v := range p.v[:p.n] {
		out[i] = int(v)
	}
	return out
}

// addrSamples lists addresses as strings in evidence.
type addrSamples struct{ samples[netip.Addr] }

func (p *addrSamples) list() []string {
	out := make([]string, p.n)
	for i, v := range p.v[:p.n] {
		out[i] = v.String()
	}
	return out
}

// stringSamples keeps up to maxSamples distinct strings for evidence; each
// is cut to maxSampleLen bytes. Only used off the packet hot path.
const maxSampleLen = 100

type stringSamples struct {
	v []string
}

func (p *stringSamples) add(x string) {
	if len(p.v) >= maxSamples {
		return
	}
	if len(x) > maxSampleLen {
		x = x[:maxSampleLen]
	}
	for _, y := range p.v {
		if y == x {
			return
		}
	}
	p.v = append(p.v, x)
}

func (p *stringSamples) list() []string { return append([]string(nil), p.v...) }

// gate is a table's gate and first-sighting admitter in one, per key
// hash (its low 16 bits pick the slot, the high 32 are the tag).
//
// As a gate it counts the entries of its table whose keys have hashes of
// that slot (table.gated): a zero count proves the table does not hold a
// key, so a key seen for the first time (every source of a spoofed flood,
// every port of a scan) skips the index lookup, a cache miss in a table
// of thousands. A count that reaches the maximum stays there: it no
// longer proves absence, and the lookups are made as before.
//
// As an admitter it keeps keys seen only once out of the table: a key
// gets a tracker on its second sighting (check), the first sighting's
// value kept in the slot so nothing is lost. A flood of spoofed sources,
// each seen once, then costs one write per packet instead of a table
// insert and eviction, while any real actor (a scanner's second probe, a
// host's second packet) is admitted. Colliding keys overwrite each other.
//
// The count, tag and value sit side by side, so a key the table does not
// hold costs one cache line, not one for a gate and one for an admitter.
// V is the value's width: 16 bits (a port, a sketch's 12 bits) makes a
// slot 8 bytes, 32 bits (a time in µs, a peer's hash) 12.
type gate[V uint16 | uint32] struct {
	slots [1 << 16]gateSlot[V]
}

type gateSlot[V uint16 | uint32] struct {
	tag uint32
	val V
	n   uint16 // entries held; saturates (then proves nothing)
}

// gateCounter is the gate as its table sees it.
type gateCounter interface {
	has(h uint64) bool
	add(h uint64)
	del(h uint64)
}

// slot returns the slot of key hash h.
func (g *gate[V]) slot(h uint64) *gateSlot[V] { return &g.slots[h&0xffff] }

// has reports whether the table may hold a key of hash h.
func (g *gate[V]) has(h uint64) bool { return g.slot(h).n != 0 }

func (g *gate[V]) add(h uint64) {
	if c := &g.slot(h).n; *c != math.MaxUint16 {
		*c++
	}
}

func (g *gate[V]) del(h uint64) {
	if c := &g.slot(h).n; *c != 0 && *c != math.MaxUint16 {
		*c--
	}
}

// check records key hash h with value v. It reports whether h was seen
// before (and the value recorded then), forgetting it then.
func (s *gateSlot[V]) check(h uint64, v V) (again bool, first V) {
	tag := uint32(h>>32) | 1
	if s.tag == tag {
		s.tag = 0
		return true, s.val
	}
	s.tag, s.val = tag, v
	return false, 0
}

// checkPeer records key hash h seen with a peer (hashed). It reports true
// at the key's first sighting with another peer than its first, or its
// third with the same one.
func (s *gateSlot[V]) checkPeer(h uint64, peer V) bool {
	tag, p := uint32(h>>32)|1, peer&^3
	if s.tag == tag {
		if s.val&^3 == p && s.val&3 < 2 {
			s.val++
			return false
		}
		s.tag = 0
		return true
	}
	s.tag, s.val = tag, p|1
	return false
}

func hashPair(a, b netip.Addr, x uint64) uint64 { return hashPairH(hashAddr(a), hashAddr(b), x) }

// hashPairH is hashPair of two addresses already hashed by hashAddr.
func hashPairH(a, b uint32, x uint64) uint64 { return mix64(uint64(a)<<32 ^ uint64(b) ^ x<<17) }

// zeroAddrHash is hashAddr(netip.Addr{}), the second address of a key
// with one.
var zeroAddrHash = hashAddr(netip.Addr{})
