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
	reported    float64 // the measure when last reported
}

type verdict uint8

const (
	vSuppress verdict = iota
	vNew
	vUpdate
)

// suppressor folds repeats of an alert stream into one alert per window and
// re-reports (Update) when the measure at least doubled since the last
// report, so a long flood shows as a handful of lines whose counts grow.
type suppressor struct {
	win time.Duration
	t   *table[supKey, supEntry]
}

func newSuppressor(win time.Duration, max int) *suppressor {
	return &suppressor{win: win, t: newTable[supKey, supEntry]("suppress", max, func(e *supEntry) time.Time { return e.last })}
}

// check decides whether an occurrence at now is reported. measure is the
// detector's size of the event (ports probed, SYNs, ...); 0 means "count
// occurrences". It returns the verdict and how many occurrences were folded
// since the stream's alert was raised.
func (s *suppressor) check(k supKey, now time.Time, measure float64) (verdict, uint64) {
	e, fresh := s.t.upsert(k)
	e.last = now
	if fresh || now.Sub(e.start) >= s.win || now.Before(e.start) {
		e.start, e.suppressed = now, 0
		if measure == 0 {
			measure = 1
		}
		e.reported = measure
		return vNew, 0
	}
	e.suppressed++
	if measure == 0 {
		measure = float64(e.suppressed + 1)
	}
	if measure >= 2*e.reported {
		e.reported = measure
		return vUpdate, e.suppressed
	}
	return vSuppress, e.suppressed
}

func (s *suppressor) expire(now time.Time) {
	s.t.expireFunc(func(e *supEntry) bool { return now.Sub(e.start) >= s.win })
}
