package detect

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// host.new reports a hardware address (or, on links without one, an IP
// address) of the local segment not seen before, once the segment has been
// learned for HostNewWarmup. It is information (severity 3), rate-limited
// so a spoofed flood does not become an alert per source.

type hostKey struct {
	mac packet.MAC
	ip  netip.Addr // only when there is no MAC
}

type hostSeen struct {
	first, last stamp
}

type newHost struct {
	known *table[hostKey, hostSeen]
	// learned is how much traffic time the segment has been watched: the
	// sum of the gaps between packets, each counted up to learnStep. A
	// capture spliced from recordings years apart, or a sensor that was
	// off for an hour, has not been learning meanwhile; a gap longer than
	// the learning period starts it again.
	learned     time.Duration
	rlStart     time.Time
	rlCount     int
	ratelimited uint64
}

func (d *Detector) initNewHost() {
	d.known = newTable[hostKey, hostSeen]("host.new", d.cfg.MaxEntries, func(h *hostSeen) time.Time { return h.last.time() }).
		withHash(func(k hostKey) uint64 { return macHash(k.mac) ^ addrKey(k.ip) })
}

func (d *Detector) newHostPacket(s *packet.Summary, emit func(*Alert)) {
	if !d.isLocal(s.Src) || isBroadcastish(s.Src) {
		return
	}
	d.hostSeen(s.SrcMAC, s.Src, s.TS, emit)
}

func (d *Detector) newHostARP(s *packet.Summary, emit func(*Alert)) {
	ip := s.ARPSenderIP
	if !ip.IsValid() || ip.IsUnspecified() || !d.isLocal(ip) {
		return
	}
	d.hostSeen(s.ARPSenderMAC, ip, s.TS, emit)
}

func (d *Detector) hostSeen(mac packet.MAC, ip netip.Addr, ts time.Time, emit func(*Alert)) {
	k := hostKey{mac: mac}
	if mac == (packet.MAC{}) {
		k.ip = ip
	}
	h, fresh := d.known.upsert(k)
	h.last = stampOf(ts)
	if !fresh {
		return
	}
	h.first = h.last
	if d.learned < d.cfg.HostNewWarmup {
		return
	}
	if ts.Sub(d.rlStart) >= time.Minute {
		d.rlStart, d.rlCount = ts, 0
	}
	if d.rlCount >= d.cfg.HostNewPerMinute {
		d.ratelimited++
		return
	}
	d.rlCount++
	d.fire(emit, RuleHostNew, supKey{actor: ip, extra: macKey(mac)}, 0, ts, func(a *Alert) {
		a.Src = ip
		if mac != (packet.MAC{}) {
			a.Signature = fmt.Sprintf("host.new: %s (%s) appeared on the local segment", ip, mac)
			a.Evidence["mac"] = mac.String()
		} else {
			a.Signature = fmt.Sprintf("host.new: %s appeared on the local segment", ip)
		}
		a.Evidence["ip"] = ip.String()
		a.Evidence["first_seen"] = rfc3339(ts)
	})
}

// learnStep is the most one gap between packets adds to the learning
// time: a quiet segment at night still learns, a jump does not.
const learnStep = 10 * time.Second

// learnClock advances the learning time by a gap in packet time.
func (d *Detector) learnClock(gap time.Duration) {
	if gap > d.cfg.HostNewWarmup {
		d.learned = 0
		return
	}
	d.learned += min(gap, learnStep)
}

func (d *Detector) newHostStats(out map[string]uint64) {
	d.known.stats(out)
	out["host.new.ratelimited"] = d.ratelimited
}

func init() {
	registerFamily(family{name: "host.new", init: (*Detector).initNewHost, stats: (*Detector).newHostStats})
}
