package units

import (
	"math"
	"testing"
)

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"},
		{3 << 30, "3.0 GiB"}, {math.MaxUint64, "16.0 EiB"},
	} {
		if got := Bytes(c.n); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	for _, c := range []struct {
		bps  float64
		want string
	}{{2 << 20, "2.0 MiB/s"}, {-1, "0 B/s"}, {math.NaN(), "0 B/s"}, {math.Inf(1), "8.0 EiB/s"}} {
		if got := Rate(c.bps); got != c.want {
			t.Errorf("Rate(%v) = %q, want %q", c.bps, got, c.want)
		}
	}
}
