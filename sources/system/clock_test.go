package system

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestClockStep(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name          string
		prev          time.Time
		wallDT        time.Duration // how far the wall clock moved
		monoDT        float64
		bootDT        float64
		step, suspend float64
	}{
		{"steady", t0, time.Second, 1, 1, 0, 0},
		{"slewing is no step", t0, time.Second + 400*time.Microsecond, 1, 1, 0, 0},
		{"stepped forward 42 s", t0, 43 * time.Second, 1, 1, 42, 0},
		{"stepped back 90 s", t0, -89 * time.Second, 1, 1, -90, 0},
		{"suspended 1 h is no step", t0, time.Hour + time.Second, 1, 3601, 0, 3600},
		{"suspended and stepped back", t0, time.Hour - 9*time.Second, 1, 3601, -10, 3600},
		{"no boot clock: suspend looks like a step", t0, 61 * time.Second, 1, -1, 60, 0},
		{"first sample", time.Time{}, time.Second, 0, 0, 0, 0},
		{"zero interval", t0, time.Second, 0, 0, 0, 0},
		{"boot clock behind monotonic (broken) is ignored", t0, time.Second, 1, 0.5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wall := t0.Add(tc.wallDT)
			step, sus := clockStep(tc.prev, wall, tc.monoDT, tc.bootDT)
			if math.Abs(step-tc.step) > 1e-9 || math.Abs(sus-tc.suspend) > 1e-9 {
				t.Errorf("step %v suspend %v, want %v %v", step, sus, tc.step, tc.suspend)
			}
		})
	}
	// A monotonic reading on the times must not hide a wall step: time.Now
	// carries one, and Sub would use it.
	now := time.Now()
	later := now.Add(time.Second)                       // same monotonic base
	stepped := time.Unix(0, later.UnixNano()+5e9).UTC() // wall 5 s further, no monotonic
	if step, _ := clockStep(now, stepped, 1, 1); math.Abs(step-5) > 1e-3 {
		t.Errorf("step across a monotonic reading = %v, want 5", step)
	}
}

// TestSampleClockSteady: two samples of a live clock show no step.
func TestSampleClockSteady(t *testing.T) {
	s := &Sampler{ProcRoot: "testdata/proc", SysRoot: "testdata/nosys", RootDir: "testdata/noroot",
		PasswdPath: "testdata/odd/passwd", KmsgPath: "testdata/nokmsg"}
	s.statfs = func(string) (fsUsage, error) { return fsUsage{}, nil }
	for i := range 2 {
		snap, err := s.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if snap.ClockStepS != 0 || snap.SuspendedS != 0 {
			t.Errorf("sample %d: clock step %v, suspended %v on a steady clock", i, snap.ClockStepS, snap.SuspendedS)
		}
	}
}
