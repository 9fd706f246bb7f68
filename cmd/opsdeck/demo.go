package main

import (
	"context"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/gen"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// Demo traffic: a few hundred packets a second of browsing with an attack
// episode (scan, brute force, DNS tunnel, cleartext FTP) every few seconds,
// so every pane of the console is alive within ten seconds.
const (
	demoPPS         = 400
	demoAttackEvery = 2000
)

// runDemo paces the generator so packet time follows the wall clock.
func runDemo(ctx context.Context, eng *engine.Engine) {
	start := time.Now()
	g := gen.New(gen.Options{Seed: uint64(start.UnixNano()), Start: start, PPS: demoPPS, Attacks: true, AttackEvery: demoAttackEvery, Clients: 20})
	var n uint64
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var pending *gen.Frame
	for {
		select {
		case <-ctx.Done():
			return
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
				eng.HandleFrame(uint16(capture.LinkEthernet), pending.Data, pending.TS, len(pending.Data), n)
				pending = nil
			}
			eng.Expire(now)
		}
	}
}
