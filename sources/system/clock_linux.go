package system

import "golang.org/x/sys/unix"

// bootClock reads CLOCK_BOOTTIME in seconds, or -1 when it cannot.
func bootClock() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return -1
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}
