package detect

import (
	"fmt"
	"net/netip"
	"time"
)

// supKey names one alert stream: a rule, its actor and target, and an
// optional discriminator (a port, a hashed name, a MAC).
type supKey struct {
	sid           uint32
	actor, target netip.Addr
	port          uint16
	extra         uint64
}

// String names the incident a key stands for (Alert.Incident).
func (k supKey) String() string {
	return fmt.Sprintf("%d|%s|%s|%d|%d", k.sid, k.actor, k.target, k.port, k.extra)
}

type supEntry struct {
	start, last time.Time
	suppressed  uint64
	reported    float64  // the measure when last reported
	sev         Severity // the most severe reported in the window
}

// Verdict is what a Suppressor decides about one occurrence.
type Verdict uint8

// Verdicts.
const (
	VerdictFold   Verdict = iota // folded into the open alert: emit nothing
	VerdictNew                   // the first of a window: emit an alert
	VerdictUpdate                // the open alert grew worse: emit an update record
)

// Suppressor folds repeats of an alert stream (one key: a rule and its
// target) into one alert per window and re-reports (Update) when the
// stream grows worse, so a long flood or a lasting host condition shows as
// a handful of records whose counts grow. The network rules (key supKey)
// and the ops rules in internal/detect/ops (key: the incident name) share
// it. Its table is bounded: when full, the least recently seen of a sample
// of entries is evicted and counted.
type Suppressor[K comparable] struct {
	win time.Duration
	t   *table[K, supEntry]
}

// NewSuppressor returns a suppressor with window win and at most max
// streams; name prefixes its Stats.
func NewSuppressor[K comparable](name string, win time.Duration, max int) *Suppressor[K] {
	t := newTable[K, supEntry](name, max, func(e *supEntry) time.Time { return e.last })
	t.age = func(e *supEntry) time.Time { return e.start } // a window ends win after it opened
	return &Suppressor[K]{win: win, t: t}
}

// newSupKeySuppressor is NewSuppressor for the network rules' keys,
// hashed from their addresses' hashAddr.
func newSupKeySuppressor(name string, win time.Duration, max int) *Suppressor[supKey] {
	s := NewSuppressor[supKey](name, win, max)
	s.t.withHash(func(k supKey) uint64 {
		return hashPairH(hashAddr(k.actor), hashAddr(k.target), uint64(k.sid)<<16|uint64(k.port)) ^ mix64(k.extra)
	})
	return s
}

// Check decides whether an occurrence of stream k at now is reported.
// measure is the rule's size of the event (ports probed, SYNs, a disk's
// used share); 0 means "count occurrences". sev is the occurrence's
// severity. A later occurrence in the window is an update when sev is more
// severe than any reported in it, or when worse(reported, measure) holds;
// worse nil means the measure at least doubled. It returns the verdict,
// how many occurrences were folded since the window opened, and the
// severity to report (an update never lowers it).
func (s *Suppressor[K]) Check(k K, now time.Time, measure float64, sev Severity, worse func(prev, cur float64) bool) (Verdict, uint64, Severity) {
	return s.checkRef(nil, k, now, measure, sev, worse)
}

// supRef remembers, in a rule's tracker, the suppressor entry of the
// tracker's alert stream: a stream that fires at every packet past its
// threshold (a flood, each new port of a scan) then folds without a map
// lookup. The entry's generation tells when it was evicted or expired
// since.
type supRef[K comparable] struct {
	s   *slot[K, supEntry]
	gen uint32
}

// checkRef is Check through ref (nil: none).
func (s *Suppressor[K]) checkRef(ref *supRef[K], k K, now time.Time, measure float64, sev Severity, worse func(prev, cur float64) bool) (Verdict, uint64, Severity) {
	var (
		sl    *slot[K, supEntry]
		fresh bool
	)
	if ref != nil && ref.s != nil && ref.s.gen == ref.gen && ref.s.k == k {
		sl = ref.s
	} else {
		sl, fresh = s.t.upsertSlot(k)
		if ref != nil {
			ref.s, ref.gen = sl, sl.gen
		}
	}
	e := &sl.v
	e.last = now
	// A clock stepped back (NTP on a live host) starts a new window rather
	// than suppressing until it catches up.
	if fresh || now.Sub(e.start) >= s.win || now.Before(e.start) {
		e.start, e.suppressed, e.sev = now, 0, sev
		if measure == 0 {
			measure = 1
		}
		e.reported = measure
		return VerdictNew, 0, sev
	}
	e.suppressed++
	if measure == 0 {
		measure = float64(e.suppressed + 1)
	}
	graver := sev != 0 && sev < e.sev
	if graver || (worse == nil && measure >= 2*e.reported) || (worse != nil && worse(e.reported, measure)) {
		e.reported = measure
		if graver {
			e.sev = sev
		}
		return VerdictUpdate, e.suppressed, e.sev
	}
	return VerdictFold, e.suppressed, e.sev
}

// Open reports whether k has a window open at now: an occurrence now
// would be folded or an update, not a new alert.
func (s *Suppressor[K]) Open(k K, now time.Time) bool {
	e := s.t.get(k)
	return e != nil && now.Sub(e.start) < s.win && !now.Before(e.start)
}

// Expire drops the streams whose window has ended.
func (s *Suppressor[K]) Expire(now time.Time) {
	// now-start >= win: a start before the cutoff, or at it (hence +1ns).
	s.t.expire(now.Add(-s.win + 1))
}

// Stats adds the table's size and evictions to out.
func (s *Suppressor[K]) Stats(out map[string]uint64) { s.t.stats(out) }
