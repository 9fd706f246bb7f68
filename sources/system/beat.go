package system

import "time"

// BeatLead is how far before each whole interval of the wall clock the
// periodic work of a run falls: the system sample and the pump's clock
// (internal/pump). The console draws on whole seconds (tui ticks with
// tea.Every), so a screen shows the sample of the same second; and timers
// that fall together wake the process once, where timers started at
// unrelated moments woke it at each of them, every second.
const BeatLead = 50 * time.Millisecond

// UntilBeat returns how long after now the next beat of period d falls:
// BeatLead before a whole multiple of d on the wall clock (on it, for a d
// under ten times BeatLead), and never at now itself. A Timer reset to it
// after each beat keeps to the wall clock without drifting.
func UntilBeat(now time.Time, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	lead := BeatLead
	if d < 10*lead {
		lead = 0
	}
	next := now.Truncate(d).Add(d - lead)
	for !next.After(now) {
		next = next.Add(d)
	}
	return next.Sub(now)
}
