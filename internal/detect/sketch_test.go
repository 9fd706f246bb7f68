package detect

import (
	"math/rand/v2"
	"testing"
)

// TestSketchMatchesBitmap holds the sketch, which keeps its first values
// inline, to the plain 4096-bit counter it stands for: same answers from
// add and the same count, before and after the bitmap is allocated.
func TestSketchMatchesBitmap(t *testing.T) {
	tests := []struct {
		name   string
		n      int    // values added
		spread uint32 // values drawn from [0, spread)
	}{
		{"one value", 50, 1},
		{"inline only", 200, sketchInline},
		{"just past inline", 200, sketchInline + 1},
		{"ports", 3000, 65536},
		{"colliding mod 4096", 500, 3 * 4096},
		{"saturated", 50000, 1<<32 - 1},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tt := range tests {
		var s sketch
		var ref [64]uint64
		refN := 0
		for i := 0; i < tt.n; i++ {
			h := uint32(rng.Uint64N(uint64(tt.spread)))
			k := h & 4095
			want := ref[k>>6]&(1<<(k&63)) == 0
			if want {
				ref[k>>6] |= 1 << (k & 63)
				refN++
			}
			if got := s.add(h); got != want {
				t.Fatalf("%s: add #%d (%d) = %v, want %v", tt.name, i, h, got, want)
			}
		}
		if s.n != refN {
			t.Errorf("%s: %d bits set, want %d", tt.name, s.n, refN)
		}
		if want := (&sketch{n: refN}).count(); s.count() != want {
			t.Errorf("%s: count %d, want %d", tt.name, s.count(), want)
		}
		if inline := refN <= sketchInline; inline != (s.bits == nil) {
			t.Errorf("%s: %d distinct values, bitmap allocated = %v", tt.name, refN, s.bits != nil)
		}
	}
}
