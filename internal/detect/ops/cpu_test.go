package ops

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
)

func TestHostCPU(t *testing.T) {
	tests := []struct {
		name  string
		busy  float64
		secs  int // samples at t0..t0+secs, one per second
		fires bool
	}{
		{"at threshold for exactly 30 s", 90, 30, true},
		{"just below threshold", 89.9, 120, false},
		{"above threshold for 29 s", 99, 29, false},
		{"above threshold for 31 s", 90.1, 31, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHostRun(Config{})
			for i := 0; i <= tc.secs; i++ {
				s := hostSnap(i)
				s.CPU.Total.Busy = tc.busy
				r.observe(s)
			}
			got := r.rule("host.cpu")
			if (len(got) == 1) != tc.fires || len(got) > 1 {
				t.Fatalf("%d host.cpu alerts, want fires=%v", len(got), tc.fires)
			}
			if !tc.fires {
				return
			}
			a := got[0]
			if !strings.Contains(a.Signature, "top: stress (pid 11) 190%, java (pid 12) 120%, gzip (pid 13) 60%") {
				t.Errorf("signature %q does not name the top 3 in order", a.Signature)
			}
			if top := a.Evidence["top_processes"].([]map[string]any); len(top) != 3 || top[0]["pid"] != int32(11) {
				t.Errorf("evidence top_processes = %v", top)
			}
			if a.PID != 11 || a.Process != "stress" || a.Severity != detect.SevMedium || !a.TS.Equal(hostT0.Add(30*time.Second)) {
				t.Errorf("alert = pid %d %q sev %v ts %v", a.PID, a.Process, a.Severity, a.TS)
			}
		})
	}
}

func TestHostCPUSuppression(t *testing.T) {
	r := newHostRun(Config{})
	busyAt := func(sec int) float64 {
		switch {
		case sec < 100:
			return 92
		case sec < 200:
			return 97.5 // worse by 5 points: one Update
		default:
			return 95
		}
	}
	for i := 0; i <= 700; i++ {
		s := hostSnap(i)
		s.CPU.Total.Busy = busyAt(i)
		r.observe(s)
	}
	got := r.rule("host.cpu")
	if len(got) != 3 {
		for _, a := range got {
			t.Logf("%v update=%v suppressed=%d %s", a.TS.Sub(hostT0), a.Update, a.Suppressed, a.Signature)
		}
		t.Fatalf("%d alerts, want first, update, and one after the 10 min window", len(got))
	}
	if got[0].Update || got[0].TS != hostT0.Add(30*time.Second) {
		t.Errorf("first = update %v at %v", got[0].Update, got[0].TS.Sub(hostT0))
	}
	if !got[1].Update || got[1].Suppressed != 70 || got[1].TS != hostT0.Add(100*time.Second) {
		t.Errorf("update = update %v suppressed %d at %v", got[1].Update, got[1].Suppressed, got[1].TS.Sub(hostT0))
	}
	if got[2].Update || got[2].TS != hostT0.Add(630*time.Second) {
		t.Errorf("re-raise = update %v at %v", got[2].Update, got[2].TS.Sub(hostT0))
	}
	// The first sample has no rates: a 100% reading there is not trusted.
	r = newHostRun(Config{CPUFor: time.Second})
	s := hostSnap(0)
	s.IntervalS, s.CPU.Total.Busy = 0, 100
	if a := r.observe(s); len(a) != 0 {
		t.Errorf("first sample raised %v", a[0].Signature)
	}
}
