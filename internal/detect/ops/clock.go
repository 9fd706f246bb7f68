package ops

import (
	"fmt"
	"math"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// RuleClock reports the wall clock stepping: logs out of order,
// certificates and tokens judged at the wrong time, cron jobs skipped or
// run twice.
var RuleClock = register(def{
	rule:     &detect.Rule{Name: "host.clock", SID: 9000106, Category: "Host health", Severity: detect.SevMedium, Summary: "the wall clock jumped forward or back between samples"},
	newCheck: func(cfg *Config) check { return &clockCheck{cfg: cfg} },
})

// clockHigh is the step from which host.clock is severity 1: Kerberos'
// default maximum clock skew, beyond which logins fail.
const clockHigh = 5 * time.Minute

type clockCheck struct{ cfg *Config }

func (c *clockCheck) observe(s *hoststat.Snapshot, out *raiser) {
	step, interval := s.ClockStepS, finiteRate(s.IntervalS)
	if !(interval > 0) || math.IsNaN(step) || math.IsInf(step, 0) || math.Abs(step) < c.cfg.ClockJump.Seconds() {
		return
	}
	mag := math.Abs(step)
	sev := RuleClock.Severity
	if mag >= clockHigh.Seconds() {
		sev = detect.SevHigh
	}
	dir := "forward"
	if step < 0 {
		dir = "back"
	}
	elapsed := interval + finiteRate(s.SuspendedS)
	out.raise("host.clock", s.Time, sev, mag, doubled, func() *detect.Alert {
		a := &detect.Alert{
			Rule: RuleClock,
			Signature: fmt.Sprintf("wall clock stepped %s by %s between samples %.1f s apart",
				dir, formatSeconds(mag), elapsed),
			Evidence: map[string]any{
				"step_s": math.Round(step*1000) / 1000, "direction": dir,
				"threshold_s": c.cfg.ClockJump.Seconds(), "interval_s": math.Round(interval*1000) / 1000,
				"wall_after": s.Time.UTC().Format(time.RFC3339Nano),
			},
		}
		if mag+elapsed < 1e9 { // a Duration holds 292 years
			// The previous sample's wall time, as the clock read it then.
			before := s.Time.Round(0).Add(-time.Duration((elapsed + step) * float64(time.Second)))
			a.Evidence["wall_before"] = before.UTC().Format(time.RFC3339Nano)
		}
		if sus := finiteRate(s.SuspendedS); sus > 0 {
			a.Evidence["suspended_s"] = math.Round(sus*1000) / 1000
		}
		return a
	})
}
