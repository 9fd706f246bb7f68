package detect

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// traffic.surge compares each host's byte rate, and the total, with its own
// baseline: an exponentially weighted mean with a one-minute time constant,
// learned for SurgeWarmup before it may alert. Surging seconds feed the
// baseline at a tenth of the weight, so a long surge stays visible for
// minutes instead of becoming the new normal at once.

type rate struct {
	cur         float64 // bytes since the last tick
	mean        float64 // baseline bytes/s
	since, last time.Time
	streak      int
}

type surge struct {
	hosts    *table[netip.Addr, rate]
	total    rate
	lastTick time.Time
	cache    hostCache
	hostAdm  admitter
	flows    [256]flowRates
	// hostGen counts deletions from hosts: a flowRates entry filled in an
	// older generation may point to a recycled rate.
	hostGen uint64
}

// flowRates caches, per flow, the rates of its two hosts: a packet of a
// known flow then accounts its bytes without hashing or comparing
// addresses. A packet's addresses are always its flow's two hosts, in one
// order or the other, and both get the same bytes, so the order does not
// matter.
type flowRates struct {
	f      *flow.Flow
	gen    uint64
	r1, r2 *rate
}

// hostCache is a direct-mapped cache in front of the hosts table: the
// per-packet accounting of both endpoints is the one table access every
// packet makes, and most packets belong to a few busy hosts.
type hostCache struct {
	k [hostCacheSlots]netip.Addr
	v [hostCacheSlots]*rate
}

// hostCacheSlots is a few times the hosts of a busy segment, so that few
// of them share a slot.
const hostCacheSlots = 1024

func cacheSlot(a netip.Addr) uint16 {
	// Whole-word reads of the array: byte reads of it stall on the
	// store of the two halves As16 just made.
	b := a.As16()
	lo, hi := binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[:8])
	h := lo ^ lo>>29 ^ hi>>56
	h *= 0x9e3779b97f4a7c15
	return uint16(h >> (64 - 10))
}

func (c *hostCache) drop(a netip.Addr) {
	if i := cacheSlot(a); c.k[i] == a {
		c.k[i], c.v[i] = netip.Addr{}, nil
	}
}

func (d *Detector) initSurge() {
	d.hosts = newTable[netip.Addr, rate]("traffic.surge", d.cfg.MaxEntries, func(r *rate) time.Time { return r.last })
	d.hosts.onDelete = func(a netip.Addr) {
		d.cache.drop(a)
		d.hostGen++
	}
}

// surgeAccount charges a packet's bytes to both its hosts. f is its flow
// (nil without one); created says the packet made f.
func (d *Detector) surgeAccount(s *packet.Summary, f *flow.Flow, created bool) {
	n := float64(s.WireLen)
	d.total.cur += n
	if d.total.since.IsZero() {
		d.total.since = s.TS
	}
	if f == nil {
		d.account(s.Src, n, s.TS)
		d.account(s.Dst, n, s.TS)
		return
	}
	fr := &d.flows[uint8(f.ID>>1)] // the low bit of a flow id is always set
	if fr.f == f && fr.gen == d.hostGen && !created {
		fr.r1.cur += n
		fr.r1.last = s.TS
		fr.r2.cur += n
		fr.r2.last = s.TS
		return
	}
	r1 := d.account(s.Src, n, s.TS)
	r2 := d.account(s.Dst, n, s.TS)
	if r1 != nil && r2 != nil {
		*fr = flowRates{f: f, gen: d.hostGen, r1: r1, r2: r2}
	} else if fr.f == f {
		fr.f = nil
	}
}

// account charges n bytes to host a and returns its rate, or nil when the
// host is not tracked (yet).
func (d *Detector) account(a netip.Addr, n float64, ts time.Time) *rate {
	i := cacheSlot(a)
	r := d.cache.v[i]
	if r == nil || d.cache.k[i] != a {
		if r = d.hosts.get(a); r == nil {
			// A host seen once (a spoofed source) gets no baseline.
			if again, _ := d.hostAdm.check(mix64(uint64(hashAddr(a))), 0); !again {
				return nil
			}
			r, _ = d.hosts.upsert(a)
			r.since = ts
		}
		d.cache.k[i], d.cache.v[i] = a, r
	}
	r.cur += n
	r.last = ts
	return r
}

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
	d.lastTick = now
	secs := el.Seconds()
	alpha := 1 - math.Exp(-secs/surgeTau)
	d.surgeEval(&d.total, netip.Addr{}, secs, alpha, now, emit)
	for a, r := range d.hosts.m {
		d.surgeEval(r, a, secs, alpha, now, emit)
	}
}

func (d *Detector) surgeEval(r *rate, host netip.Addr, secs, alpha float64, now time.Time, emit func(*Alert)) {
	bps := r.cur / secs
	r.cur = 0
	warm := !r.since.IsZero() && now.Sub(r.since) >= d.cfg.SurgeWarmup
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
		a.Signature = fmt.Sprintf("traffic.surge: %s at %s/s, %.0fx its baseline of %s/s", who, humanBytes(bps), bps/math.Max(base, 1), humanBytes(base))
		a.Evidence["bytes_per_s"] = int64(bps)
		a.Evidence["baseline_bytes_per_s"] = int64(base)
		a.Evidence["seconds"] = r.streak
		if !warm {
			a.Evidence["baseline"] = "still learning: rate above the volumetric floor"
		}
		a.Evidence["last_seen"] = rfc3339(now)
	})
}

func humanBytes(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}

func (d *Detector) expireSurge(now time.Time) { d.hosts.expire(now.Add(-10 * time.Minute)) }

func (d *Detector) surgeStats(out map[string]uint64) { d.hosts.stats(out) }
