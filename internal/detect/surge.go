package detect

import (
	"fmt"
	"math"
	"net/netip"
	"time"

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
}

// hostCache is a direct-mapped cache in front of the hosts table: the
// per-packet accounting of both endpoints is the one table access every
// packet makes, and most packets belong to a few busy hosts.
type hostCache struct {
	k [256]netip.Addr
	v [256]*rate
}

func cacheSlot(a netip.Addr) uint8 {
	b := a.As16()
	return b[15] ^ b[14]*7 ^ b[13]*31 ^ b[12]*131 ^ b[7]
}

func (c *hostCache) drop(a netip.Addr) {
	if i := cacheSlot(a); c.k[i] == a {
		c.k[i], c.v[i] = netip.Addr{}, nil
	}
}

func (d *Detector) initSurge() {
	d.hosts = newTable[netip.Addr, rate]("traffic.surge", d.cfg.MaxEntries, func(r *rate) time.Time { return r.last })
	d.hosts.onDelete = d.cache.drop
}

func (d *Detector) surgeAccount(s *packet.Summary) {
	n := float64(s.WireLen)
	d.total.cur += n
	if d.total.since.IsZero() {
		d.total.since = s.TS
	}
	d.account(s.Src, n, s.TS)
	d.account(s.Dst, n, s.TS)
}

func (d *Detector) account(a netip.Addr, n float64, ts time.Time) {
	i := cacheSlot(a)
	r := d.cache.v[i]
	if r == nil || d.cache.k[i] != a {
		if r = d.hosts.get(a); r == nil {
			// A host seen once (a spoofed source) gets no baseline.
			if again, _ := d.hostAdm.check(mix64(uint64(hashAddr(a))), 0); !again {
				return
			}
			r, _ = d.hosts.upsert(a)
			r.since = ts
		}
		d.cache.k[i], d.cache.v[i] = a, r
	}
	r.cur += n
	r.last = ts
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
	if !warm || bps < d.cfg.SurgeMinBytes || bps < d.cfg.SurgeFactor*r.mean {
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
