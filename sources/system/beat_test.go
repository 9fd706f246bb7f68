package system

import (
	"testing"
	"time"
)

func TestUntilBeat(t *testing.T) {
	base := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	for _, c := range []struct {
		now  time.Duration // after base
		d    time.Duration
		want time.Duration
	}{
		{0, time.Second, 950 * ms},
		{100 * ms, time.Second, 850 * ms},
		{949 * ms, time.Second, 1 * ms},
		{950 * ms, time.Second, time.Second}, // at the beat: the next one
		{970 * ms, time.Second, 980 * ms},
		{time.Second, time.Second, 950 * ms},
		{1500 * ms, 3 * time.Second, 1450 * ms},
		{100 * ms, 250 * ms, 150 * ms}, // short periods: on the multiple
		{250 * ms, 250 * ms, 250 * ms},
		{0, 0, 0},
	} {
		if got := UntilBeat(base.Add(c.now), c.d); got != c.want {
			t.Errorf("UntilBeat(+%v, %v) = %v, want %v", c.now, c.d, got, c.want)
		}
	}
}
