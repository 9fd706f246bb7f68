package pump

import (
	"context"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/gen"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// Demo is generated traffic paced so that packet time follows the wall
// clock: browsing with attack episodes, so every pane of the console is
// alive within seconds, with no capture and no privilege.
type Demo struct {
	PPS         float64 // packets a second
	AttackEvery int     // packets between attack episodes
	Clients     int
	Seed        uint64 // 0: seeded from the clock
}

// Name is "demo".
func (d *Demo) Name() string { return "demo" }

// WallClock: demo packet time follows the wall clock.
func (d *Demo) WallClock() bool { return true }

// Run generates frames until ctx ends or the sink wants no more.
func (d *Demo) Run(ctx context.Context, sink Sink) error {
	sink.Status(engine.SourceStatus{Name: "demo", Kind: "demo", State: "running", Privilege: "none"})
	start := time.Now()
	seed := d.Seed
	if seed == 0 {
		seed = uint64(start.UnixNano())
	}
	g := gen.New(gen.Options{Seed: seed, Start: start, PPS: d.PPS, Attacks: true, AttackEvery: d.AttackEvery, Clients: d.Clients})
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var n uint64
	var pending *gen.Frame
	var fr capture.Frame // one for the loop: it escapes (see Files.pump)
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			for {
				if pending == nil {
					f := g.Next()
					pending = &f
				}
				if pending.TS.After(now) {
					break
				}
				n++
				fr = capture.Frame{Data: pending.Data, TS: pending.TS, CapLen: len(pending.Data), WireLen: len(pending.Data),
					Link: capture.LinkEthernet, Index: n}
				pending = nil
				if !sink.Frame(&fr) {
					return nil
				}
			}
		}
	}
}
