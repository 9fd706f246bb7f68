package ops

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
)

func TestHostClock(t *testing.T) {
	tests := []struct {
		name     string
		steps    []float64 // ClockStepS of samples 1..n (sample 0 is the first)
		alerts   int
		sev      detect.Severity
		dir      string
		contains string
	}{
		{"forward 42 s", []float64{42}, 1, detect.SevMedium, "forward", "stepped forward by 42s"},
		{"back 10 min", []float64{-600}, 1, detect.SevHigh, "back", "stepped back by 10m0s"},
		{"under the level", []float64{0.9, -0.9, 0.5}, 0, 0, "", ""},
		{"repeats fold; a doubled step updates", []float64{2, 2, 2, 5}, 2, detect.SevMedium, "forward", "by 2s"},
		{"NaN and Inf are no step", []float64{math.NaN(), math.Inf(1), math.Inf(-1)}, 0, 0, "", ""},
		{"a step of a million years", []float64{-3.2e13}, 1, detect.SevHigh, "back", "3.2e+13 s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(Config{})
			first := hostSnap(0)
			first.IntervalS, first.ClockStepS = 0, 1e6 // the first sample has no interval
			r.observe(first)
			for i, st := range tc.steps {
				s := hostSnap(i + 1)
				s.ClockStepS = st
				r.observe(s)
			}
			got := r.rule("host.clock")
			if len(got) != tc.alerts {
				t.Fatalf("%d alerts, want %d", len(got), tc.alerts)
			}
			if tc.alerts == 0 {
				return
			}
			a := got[0]
			mustJSON(t, a)
			if a.Severity != tc.sev || a.Evidence["direction"] != tc.dir || !strings.Contains(a.Signature, tc.contains) {
				t.Errorf("sev %v evidence %v signature %q", a.Severity, a.Evidence, a.Signature)
			}
			if len(got) > 1 && (!got[1].Update || got[1].Suppressed != 3) {
				t.Errorf("second alert update=%v suppressed=%d", got[1].Update, got[1].Suppressed)
			}
		})
	}
	// The previous sample's wall time is in the evidence, as the clock
	// read it then: 1 s of interval and a 42 s step before t0+1 s.
	r := newHostRun(Config{})
	r.observe(hostSnap(0))
	s := hostSnap(1)
	s.ClockStepS = 42
	r.observe(s)
	if got := r.rule("host.clock"); len(got) != 1 || got[0].Evidence["wall_before"] != hostT0.Add(-42*time.Second).Format(time.RFC3339Nano) {
		t.Errorf("wall_before = %v", got[0].Evidence["wall_before"])
	}
}
