//go:build !linux

package system

// bootClock is unavailable here: suspend cannot be told from a clock step.
func bootClock() float64 { return -1 }
