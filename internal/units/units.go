// Package units writes byte counts for people: alert signatures, evidence
// and the incident bundle all say "1.5 MiB" the same way. (The console has
// its own fixed-width form for table cells, tui.humanBytes.)
package units

import "strconv"

// Bytes formats n with a binary unit and one decimal: "512 B", "1.5 KiB",
// "3.0 GiB".
func Bytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i:i+1] + "iB"
}

// Rate is Bytes of a per-second rate, rounded down to whole bytes, with
// "/s": "2.0 MiB/s". Negative or not-a-number rates are 0.
func Rate(bps float64) string {
	if !(bps > 0) {
		bps = 0
	}
	if bps > 1<<63 {
		bps = 1 << 63
	}
	return Bytes(uint64(bps)) + "/s"
}
