package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// reopenEvery is how often a lost capture is tried again.
const reopenEvery = 2 * time.Second

// liveCapture keeps a live capture going for the console and watch alike.
// It feeds every frame to handle and keeps the engine's source status true.
// When the captured interfaces go away (a VPN or container link deleted)
// it says so, waits for them and resumes; the flows and the detectors'
// windows stay. Any other capture error ends it, with the status saying
// why: no mode is left looking healthy with no input.
type liveCapture struct {
	ifaces []string
	opts   capture.LiveOptions
	eng    *engine.Engine
	handle func(*capture.Frame)
	// logf, when set, reports state changes (watch writes them to stderr).
	logf func(format string, args ...any)
	// noReopen says why a lost capture cannot be reopened ("" = it can):
	// after --user the process no longer has the privilege.
	noReopen string

	mu     sync.Mutex
	status engine.SourceStatus
	src    capture.Source
	past   capture.Stats // counters of the sources closed before src
}

func newLiveCapture(eng *engine.Engine, ifaces []string, opts capture.LiveOptions, handle func(*capture.Frame)) *liveCapture {
	name := strings.Join(ifaces, ",")
	return &liveCapture{ifaces: ifaces, opts: opts, eng: eng, handle: handle,
		status: engine.SourceStatus{Name: name, Kind: "live", State: "starting", Privilege: capturePrivilege()}}
}

// open opens the interfaces now (before privileges are dropped).
func (lc *liveCapture) open() error {
	src, err := capture.OpenLiveMulti(lc.ifaces, lc.opts)
	if err != nil {
		lc.setState("unavailable", err.Error(), captureHint(err))
		return err
	}
	lc.mu.Lock()
	lc.src = src
	lc.status.Name = src.Name()
	lc.mu.Unlock()
	lc.setState("running", "", "")
	return nil
}

// setPrivilege records the privilege capture runs with ("dropped to USER").
func (lc *liveCapture) setPrivilege(p string) {
	lc.mu.Lock()
	lc.status.Privilege = p
	lc.mu.Unlock()
	lc.publish()
}

func (lc *liveCapture) setState(state, err, hint string) {
	lc.mu.Lock()
	lc.status.State, lc.status.Err, lc.status.Hint = state, err, hint
	lc.mu.Unlock()
	lc.publish()
}

// publish copies the status, with current kernel counters, to the engine.
func (lc *liveCapture) publish() {
	st := lc.Stats()
	lc.mu.Lock()
	lc.status.KernelPackets, lc.status.KernelDrops = st.KernelPackets, st.KernelDrops
	s := lc.status
	lc.mu.Unlock()
	lc.eng.SetSource(s)
}

// Stats are the counters of every source opened so far.
func (lc *liveCapture) Stats() capture.Stats {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	st := lc.past
	if lc.src != nil {
		addStats(&st, lc.src.Stats())
	}
	return st
}

func addStats(to *capture.Stats, s capture.Stats) {
	to.Packets += s.Packets
	to.Bytes += s.Bytes
	to.KernelPackets += s.KernelPackets
	to.KernelDrops += s.KernelDrops
	to.IfDrops += s.IfDrops
}

// run captures until ctx ends (nil) or the capture is lost for good (the
// error). open must have been called, successfully or not.
func (lc *liveCapture) run(ctx context.Context) error {
	for {
		lc.mu.Lock()
		src := lc.src
		lc.mu.Unlock()
		if src == nil {
			var err error
			if src, err = lc.reopen(ctx); src == nil {
				return err
			}
		}
		err := lc.pump(ctx, src)
		lc.mu.Lock()
		addStats(&lc.past, src.Stats())
		lc.src = nil
		lc.mu.Unlock()
		src.Close()
		if ctx.Err() != nil || err == nil {
			return nil
		}
		if !errors.Is(err, capture.ErrInterfaceGone) {
			lc.setState("error", err.Error(), "opsdeck -r FILE replays a capture instead")
			return err
		}
		if lc.noReopen != "" {
			lc.setState("error", err.Error(), lc.noReopen)
			return fmt.Errorf("%w (%s)", err, lc.noReopen)
		}
		lc.setState("error", err.Error(), "waiting for the interface to come back")
		if lc.logf != nil {
			lc.logf("capture on %s lost: %v; reopening every %s", strings.Join(lc.ifaces, ","), err, reopenEvery)
		}
	}
}

// reopen opens the interfaces again, waiting while they do not exist. It
// returns nil and the reason when capture cannot come back (ctx ended: nil
// error).
func (lc *liveCapture) reopen(ctx context.Context) (capture.Source, error) {
	for {
		src, err := capture.OpenLiveMulti(lc.ifaces, lc.opts)
		if err == nil {
			lc.mu.Lock()
			lc.src = src
			lc.mu.Unlock()
			lc.setState("running", "", "")
			if lc.logf != nil {
				lc.logf("capture on %s resumed", src.Name())
			}
			return src, nil
		}
		gone := errors.Is(err, capture.ErrNoSuchInterface) || errors.Is(err, capture.ErrInterfaceGone)
		if !gone {
			// Permission and other errors will not fix themselves.
			lc.setState("unavailable", err.Error(), captureHint(err))
			return nil, err
		}
		lc.setState("error", err.Error(), "waiting for the interface to come back")
		if !sleepCtx(ctx, reopenEvery) {
			return nil, nil
		}
	}
}

// pump moves frames from src to handle until ctx ends or src fails,
// refreshing the kernel counters in the status once a second.
func (lc *liveCapture) pump(ctx context.Context, src capture.Source) error {
	stop := context.AfterFunc(ctx, func() { src.Close() })
	defer stop()
	var lastStats time.Time
	for {
		fr, err := src.Next()
		if err != nil {
			if ctx.Err() != nil || err == io.EOF {
				return nil
			}
			return err
		}
		lc.handle(&fr)
		if time.Since(lastStats) > time.Second {
			lastStats = time.Now()
			lc.publish()
		}
	}
}
