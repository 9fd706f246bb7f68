package detect

import (
	"fmt"
	"math"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// RuleHostClock reports the wall clock stepping: logs out of order,
// certificates and tokens judged at the wrong time, cron jobs skipped or
// run twice.
var RuleHostClock = register(&Rule{Name: "host.clock", SID: 9000106, Category: "Host health", Severity: SevMedium, Summary: "the wall clock jumped forward or back between samples"})

// hostClockHigh is the step from which host.clock is severity 1: Kerberos'
// default maximum clock skew, beyond which logins fail.
const hostClockHigh = 5 * time.Minute

func (h *HostRules) observeClock(s *hoststat.Snapshot, emit func(*Alert)) {
	step := s.ClockStepS
	if !(s.IntervalS > 0) || math.IsNaN(step) || math.IsInf(step, 0) || math.Abs(step) < h.cfg.ClockJump.Seconds() {
		return
	}
	mag := math.Abs(step)
	sev := RuleHostClock.Severity
	if mag >= hostClockHigh.Seconds() {
		sev = SevHigh
	}
	dir := "forward"
	if step < 0 {
		dir = "back"
	}
	elapsed := finite0(s.IntervalS) + finite0(s.SuspendedS)
	h.raise("host.clock", s.Time, sev, mag, func(prev, cur float64) bool { return cur >= 2*prev }, func() *Alert {
		a := &Alert{
			Rule: RuleHostClock,
			Signature: fmt.Sprintf("wall clock stepped %s by %s between samples %.1f s apart",
				dir, hostSeconds(mag), elapsed),
			Evidence: map[string]any{
				"step_s": math.Round(step*1000) / 1000, "direction": dir,
				"threshold_s": h.cfg.ClockJump.Seconds(), "interval_s": math.Round(s.IntervalS*1000) / 1000,
				"wall_after": s.Time.UTC().Format(time.RFC3339Nano),
			},
		}
		if mag+elapsed < 1e9 { // a Duration holds 292 years
			// The previous sample's wall time, as the clock read it then.
			before := s.Time.Round(0).Add(-time.Duration((elapsed + step) * float64(time.Second)))
			a.Evidence["wall_before"] = before.UTC().Format(time.RFC3339Nano)
		}
		if sus := finite0(s.SuspendedS); sus > 0 {
			a.Evidence["suspended_s"] = math.Round(sus*1000) / 1000
		}
		return a
	}, emit)
}

// hostSeconds formats a span for a signature: "42s", "1h30m0s", or
// "3.2e+12 s" past what a Duration holds.
func hostSeconds(sec float64) string {
	if sec >= 1e9 {
		return fmt.Sprintf("%.3g s", sec)
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Millisecond).String()
}
