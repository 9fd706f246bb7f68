package detect

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/units"
)

// traffic.surge compares each host's byte rate, and the total, with its own
// baseline: an exponentially weighted mean with a one-minute time constant,
// learned for SurgeWarmup before it may alert. Surging seconds feed the
// baseline at a tenth of the weight, so a long surge stays visible for
// minutes instead of becoming the new normal at once.

type rate struct {
	cur         float64 // bytes since the last tick
	mean        float64 // baseline bytes/s
	since, last stamp
	streak      int
	gen         uint64 // see surge.hostGen
	// evalAt is the tick that last evaluated the rate. A host is evaluated
	// only at ticks after it moved bytes; the idle ticks it skipped are
	// caught up at its next evaluation (each would have decayed the mean
	// by exp(-secs/tau) and reset the streak), so a tick costs the hosts
	// active in it, not every host tracked.
	evalAt stamp
	queued bool // in the active list for the next tick
}

type surge struct {
	hosts    *table[netip.Addr, rate]
	total    rate
	lastTick time.Time
	tickAt   stamp // lastTick as a stamp
	cache    hostCache
	// hostAdm is the hosts table's gate, and holds hosts seen with one
	// peer only.
	hostAdm *gate[uint32]
	flows   [256]flowRates
	// hostGen numbers the rates as they are created; a deleted rate's gen
	// is 0. A flowRates entry holds its rates' gens: a rate deleted or
	// recycled for another host since then no longer matches, and only
	// that entry misses (a global count of deletions made every cached
	// pair miss under a flood's churn).
	hostGen uint64
	// active lists the hosts that moved bytes since the last tick, at most
	// activeCap; past that the tick walks every host (activeAll).
	active    []netip.Addr
	activeAll bool
	walkAll   bool // tests: evaluate every host every tick, as before the active list
}

// flowRates caches, per flow, the rates of its two hosts: a packet of a
// known flow then accounts its bytes without hashing or comparing
// addresses. A packet's addresses are always its flow's two hosts, in one
// order or the other, and both get the same bytes, so the order does not
// matter.
type flowRates struct {
	f      *flow.Flow
	g1, g2 uint64 // the rates' gens when cached
	r1, r2 *rate
}

// hostCache is a direct-mapped cache in front of the hosts table: the
// per-packet accounting of both endpoints is the one table access every
// packet makes, and most packets belong to a few busy hosts.
type hostCache [hostCacheSlots]hostCacheSlot

// hostCacheSlot keeps a host beside its rate: one cache line per check
// (32 bytes, where separate arrays of hosts and rates were two lines).
type hostCacheSlot struct {
	k netip.Addr
	v *rate
}

// hostCacheSlots is a few times the hosts of a busy segment, so that few
// of them share a slot.
const hostCacheSlots = 1024

// cacheSlot picks a host's slot from its hashAddr.
func cacheSlot(h uint32) uint16 { return uint16(h>>16) & (hostCacheSlots - 1) }

func (c *hostCache) drop(a netip.Addr) {
	if sl := &c[cacheSlot(hashAddr(a))]; sl.k == a {
		*sl = hostCacheSlot{}
	}
}

func (d *Detector) initSurge() {
	d.hostAdm = new(gate[uint32])
	d.hosts = newTable[netip.Addr, rate]("traffic.surge", d.cfg.MaxEntries, func(r *rate) time.Time { return r.last.time() }).
		withHash(addrKey).gated(d.hostAdm)
	d.hosts.onDelete = func(a netip.Addr, r *rate, _ uint64) {
		d.cache.drop(a)
		r.gen = 0
	}
}

// surgeAccount charges a packet's bytes to both its hosts. f is its flow
// (nil without one); created says the packet made f.
func (d *Detector) surgeAccount(s *packet.Summary, f *flow.Flow, created bool) {
	n, ts := float64(s.WireLen), stampOf(s.TS)
	d.total.cur += n
	if d.total.since == 0 {
		d.total.since = ts
	}
	if f == nil {
		d.account(s.Src, d.hs, d.hd, n, ts)
		d.account(s.Dst, d.hd, d.hs, n, ts)
		return
	}
	fr := &d.flows[uint8(f.ID>>1)] // the low bit of a flow id is always set
	if fr.f == f && fr.g1 == fr.r1.gen && fr.g2 == fr.r2.gen && !created {
		fr.r1.cur += n
		fr.r1.last = ts
		fr.r2.cur += n
		fr.r2.last = ts
		if !fr.r1.queued || !fr.r2.queued {
			d.markActive(fr.r1, s.Src, s.Dst)
			d.markActive(fr.r2, s.Src, s.Dst)
		}
		return
	}
	r1 := d.account(s.Src, d.hs, d.hd, n, ts)
	r2 := d.account(s.Dst, d.hd, d.hs, n, ts)
	if r1 != nil && r2 != nil {
		*fr = flowRates{f: f, g1: r1.gen, g2: r2.gen, r1: r1, r2: r2}
	} else if fr.f == f {
		fr.f = nil
	}
}

// account charges n bytes to host a (hashAddr ha, talking with a peer of
// hashAddr hpeer) and returns its rate, or nil when the host is not tracked
// (yet).
func (d *Detector) account(a netip.Addr, ha, hpeer uint32, n float64, ts stamp) *rate {
	sl := &d.cache[cacheSlot(ha)]
	r := sl.v
	if r == nil || sl.k != a {
		hk := addrKeyH(ha) // the table's and the gate's hash
		r = d.hosts.getH(a, hk)
		if r == nil {
			// A host seen once (a spoofed source) gets no baseline, nor
			// does one seen twice with one peer: a spoofed source and the
			// victim's answer to it (a SYN-ACK, an ICMP error). A host
			// is tracked from its second peer or its third packet.
			if !d.hostAdm.slot(hk).checkPeer(hk, hpeer) {
				return nil
			}
			r = d.hosts.createH(a, hk)
			r.since = ts
			d.hostGen++
			r.gen = d.hostGen
		}
		*sl = hostCacheSlot{a, r}
	}
	r.cur += n
	r.last = ts
	if !r.queued {
		d.queueHost(r, a)
	}
	return r
}

// markActive queues r, the rate of src or of dst (a flow's cached pair
// does not say which).
func (d *Detector) markActive(r *rate, src, dst netip.Addr) {
	if r.queued {
		return
	}
	if d.hosts.getH(src, addrKeyH(d.hs)) == r {
		d.queueHost(r, src)
	} else {
		d.queueHost(r, dst)
	}
}

func (d *Detector) queueHost(r *rate, a netip.Addr) {
	r.queued = true
	if len(d.active) >= d.activeCap() {
		d.activeAll = true
		return
	}
	d.active = append(d.active, a)
}

// activeCap bounds the active list: a host evicted and admitted again
// within a tick is listed again, so churn can list more hosts than the
// table holds.
func (d *Detector) activeCap() int { return 2 * d.cfg.MaxEntries }

const surgeTau = 60.0 // seconds: the baseline's time constant

func (d *Detector) surgeTick(now time.Time, emit func(*Alert)) {
	if d.lastTick.IsZero() {
		d.lastTick = now
		return
	}
	el := now.Sub(d.lastTick)
	if el < time.Second {
		return
	}
	secs := el.Seconds()
	alpha := 1 - math.Exp(-secs/surgeTau)
	prev := stampOf(d.lastTick)
	d.lastTick, d.tickAt = now, stampOf(now)
	d.surgeEval(&d.total, netip.Addr{}, secs, alpha, now, emit)
	if d.activeAll || d.walkAll {
		for a, r := range d.hosts.all() {
			d.surgeCatchUp(r, prev)
			d.surgeEval(r, a, secs, alpha, now, emit)
		}
	} else {
		for _, a := range d.active {
			// A listed host may since have been evicted, or listed twice
			// (evicted and admitted again); its rate says which.
			if r := d.hosts.get(a); r != nil && r.queued {
				d.surgeCatchUp(r, prev)
				d.surgeEval(r, a, secs, alpha, now, emit)
			}
		}
	}
	clear(d.active)
	d.active, d.activeAll = d.active[:0], false
}

// surgeCatchUp applies the ticks before prev that r skipped while idle:
// each had decayed its mean by exp(-secs/tau) and reset its streak, and
// those products compose to one decay over the whole idle span.
func (d *Detector) surgeCatchUp(r *rate, prev stamp) {
	r.queued = false
	if r.evalAt != 0 && r.evalAt < prev {
		r.mean *= math.Exp(-prev.sub(r.evalAt).Seconds() / surgeTau)
		r.streak = 0
	}
}

func (d *Detector) surgeEval(r *rate, host netip.Addr, secs, alpha float64, now time.Time, emit func(*Alert)) {
	n := d.tickAt
	r.evalAt = n
	bps := r.cur / secs
	r.cur = 0
	warm := r.since != 0 && n.sub(r.since) >= d.cfg.SurgeWarmup
	// Without a baseline yet, a volumetric flood still counts: a rate
	// SurgeFactor times the floor (10 MB/s by default) far above what was
	// learned so far. A flood at start-up is then not silent.
	cold := !warm && bps >= d.cfg.SurgeFactor*d.cfg.SurgeMinBytes
	if !(warm || cold) || bps < d.cfg.SurgeMinBytes || bps < d.cfg.SurgeFactor*r.mean {
		r.streak = 0
		r.mean += alpha * (bps - r.mean)
		return
	}
	r.mean += alpha / 10 * (bps - r.mean)
	r.streak++
	if r.streak < d.cfg.SurgeSeconds {
		return
	}
	base := r.mean
	k := supKey{actor: host}
	if !host.IsValid() {
		k.extra = 1
	}
	d.fire(emit, RuleTrafficSurge, k, bps, now, func(a *Alert) {
		a.Src = host
		who := host.String()
		if !host.IsValid() {
			who = "total traffic"
		}
		a.Signature = fmt.Sprintf("traffic.surge: %s at %s, %.0fx its baseline of %s", who, units.Rate(bps), bps/math.Max(base, 1), units.Rate(base))
		a.Evidence["bytes_per_s"] = int64(bps)
		a.Evidence["baseline_bytes_per_s"] = int64(base)
		a.Evidence["seconds"] = r.streak
		if !warm {
			a.Evidence["baseline"] = "still learning: rate above the volumetric floor"
		}
		a.Evidence["last_seen"] = rfc3339(now)
	})
}

func (d *Detector) expireSurge(now time.Time) { d.hosts.expire(now.Add(-10 * time.Minute)) }

func (d *Detector) surgeStats(out map[string]uint64) { d.hosts.stats(out) }

func init() {
	registerFamily(family{name: "traffic.surge", init: (*Detector).initSurge, expire: (*Detector).expireSurge, stats: (*Detector).surgeStats})
}
