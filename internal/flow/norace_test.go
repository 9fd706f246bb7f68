//go:build !race

package flow

// raceEnabled: the race detector is on, and allocation counts are its.
const raceEnabled = false
