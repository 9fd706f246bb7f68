package system

import (
	"math"
	"time"
)

// clockStep compares how far the wall clock moved between two samples with
// how much time passed: bootDT from CLOCK_BOOTTIME (which counts suspend)
// and monoDT from CLOCK_MONOTONIC (which does not). It returns the wall
// clock's step beyond elapsed time (positive forward, negative back) and
// how long the host was suspended, both in seconds. Steps under a
// millisecond are noise (two clocks read a few ns apart, NTP slewing at
// most 500 ppm) and give 0. bootDT < 0 means "no boot clock": suspend is
// then counted as a forward step, which is what it looks like.
func clockStep(prevWall, wall time.Time, monoDT, bootDT float64) (stepS, suspendS float64) {
	if prevWall.IsZero() || monoDT <= 0 {
		return 0, 0
	}
	elapsed := monoDT
	if bootDT >= monoDT {
		elapsed = bootDT
		suspendS = bootDT - monoDT
		if suspendS < 1e-3 {
			suspendS = 0
		}
	}
	// Round(0) strips the monotonic reading so Sub compares wall clocks.
	wallDT := wall.Round(0).Sub(prevWall.Round(0)).Seconds()
	stepS = wallDT - elapsed
	if math.Abs(stepS) < 1e-3 {
		stepS = 0
	}
	return math.Round(stepS*1e3) / 1e3, math.Round(suspendS*1e3) / 1e3
}
