package pump

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// ReopenEvery is how often a lost capture is tried again.
const ReopenEvery = 2 * time.Second

// Live captures on interfaces. When they go away (a VPN or container link
// deleted) its status says so; it waits for them and resumes, and the
// engine's flows and detector windows stay. Any other capture error ends
// it, with the status saying why: no mode is left looking healthy with no
// input.
type Live struct {
	ifaces []string
	opts   capture.LiveOptions
	// Logf, when set, reports capture lost and resumed.
	Logf func(format string, args ...any)

	mu       sync.Mutex
	status   engine.SourceStatus
	src      capture.Source
	past     capture.Stats // counters of the sources closed before src
	noReopen string
	sink     Sink
}

// NewLive returns a live source on ifaces; Open opens them.
func NewLive(ifaces []string, opts capture.LiveOptions) *Live {
	return &Live{ifaces: ifaces, opts: opts,
		status: engine.SourceStatus{Name: strings.Join(ifaces, ","), Kind: "live", State: "starting", Privilege: CapturePrivilege()}}
}

// Name is the interface list.
func (l *Live) Name() string { return strings.Join(l.ifaces, ",") }

// WallClock: live packet time is the wall clock.
func (l *Live) WallClock() bool { return true }

// Open opens the interfaces now, before privileges are dropped. On failure
// the status says why and how to fix it; Run then tries once more.
func (l *Live) Open() error {
	src, err := capture.OpenLiveMulti(l.ifaces, l.opts)
	if err != nil {
		l.setState("unavailable", err.Error(), CaptureHint(err))
		return err
	}
	l.mu.Lock()
	l.src = src
	l.status.Name = src.Name()
	l.mu.Unlock()
	l.setState("running", "", "")
	return nil
}

// Close closes a capture that Run never took over (a failed start).
func (l *Live) Close() {
	l.mu.Lock()
	src := l.src
	l.src = nil
	l.mu.Unlock()
	if src != nil {
		src.Close()
	}
}

// DroppedTo records that the process dropped root to user after Open:
// capture that is lost cannot be reopened, and noReopen says what to do.
func (l *Live) DroppedTo(user, noReopen string) {
	l.mu.Lock()
	l.status.Privilege = "dropped to " + user
	l.noReopen = noReopen
	l.mu.Unlock()
	l.publish()
}

func (l *Live) setState(state, err, hint string) {
	l.mu.Lock()
	l.status.State, l.status.Err, l.status.Hint = state, err, hint
	l.mu.Unlock()
	l.publish()
}

// publish hands the status to the sink, once Run has one.
func (l *Live) publish() {
	l.mu.Lock()
	st, sink := l.status, l.sink
	l.mu.Unlock()
	if sink != nil {
		sink.Status(st)
	}
}

// Status is the source's status now.
func (l *Live) Status() engine.SourceStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Counters are the counters of every capture opened so far.
func (l *Live) Counters() capture.Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.past
	if l.src != nil {
		addStats(&st, l.src.Stats())
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

// Run captures until ctx ends (nil) or the capture is lost for good (the
// error). Open should have been called, successfully or not.
func (l *Live) Run(ctx context.Context, sink Sink) error {
	l.mu.Lock()
	l.sink = sink
	l.mu.Unlock()
	l.publish()
	for {
		l.mu.Lock()
		src := l.src
		l.mu.Unlock()
		if src == nil {
			var err error
			if src, err = l.reopen(ctx); src == nil {
				return err
			}
		}
		err := l.pump(ctx, sink, src)
		l.mu.Lock()
		addStats(&l.past, src.Stats())
		l.src = nil
		noReopen := l.noReopen
		l.mu.Unlock()
		src.Close()
		if ctx.Err() != nil || err == nil {
			return nil
		}
		if !errors.Is(err, capture.ErrInterfaceGone) {
			l.setState("error", err.Error(), "opsdeck -r FILE replays a capture instead")
			return err
		}
		if noReopen != "" {
			l.setState("error", err.Error(), noReopen)
			return fmt.Errorf("%w (%s)", err, noReopen)
		}
		l.setState("error", err.Error(), "waiting for the interface to come back")
		l.logf("capture on %s lost: %v; reopening every %s", l.Name(), err, ReopenEvery)
	}
}

func (l *Live) logf(format string, args ...any) {
	if l.Logf != nil {
		l.Logf(format, args...)
	}
}

// reopen opens the interfaces again, waiting while they do not exist. It
// returns nil and the reason when capture cannot come back (ctx ended: nil
// error).
func (l *Live) reopen(ctx context.Context) (capture.Source, error) {
	for {
		src, err := capture.OpenLiveMulti(l.ifaces, l.opts)
		if err == nil {
			l.mu.Lock()
			l.src = src
			l.status.Name = src.Name()
			l.mu.Unlock()
			l.setState("running", "", "")
			l.logf("capture on %s resumed", src.Name())
			return src, nil
		}
		gone := errors.Is(err, capture.ErrNoSuchInterface) || errors.Is(err, capture.ErrInterfaceGone)
		if !gone {
			// Permission and other errors will not fix themselves.
			l.setState("unavailable", err.Error(), CaptureHint(err))
			return nil, err
		}
		l.setState("error", err.Error(), "waiting for the interface to come back")
		if !sleepCtx(ctx, ReopenEvery) {
			return nil, nil
		}
	}
}

// pump moves frames from src to sink until ctx ends, the sink wants no
// more, or src fails.
func (l *Live) pump(ctx context.Context, sink Sink, src capture.Source) error {
	stop := context.AfterFunc(ctx, func() { src.Close() })
	defer stop()
	if br, ok := src.(capture.BatchReader); ok && runtime.GOMAXPROCS(0) > 1 {
		return pumpBatches(ctx, sink, src, br)
	}
	var fr capture.Frame // one for the loop: it escapes (see Files.pump)
	for {
		var err error
		fr, err = src.Next()
		if err != nil {
			if ctx.Err() != nil || err == io.EOF {
				return nil
			}
			return err
		}
		if !sink.Frame(&fr) {
			return nil
		}
	}
}

// Batches between the capture's reader and the engine: batchQueue of at
// most batchFrames frames (and capture.BatchBytes) each, 4 MiB in all.
const (
	batchFrames = 2048
	batchQueue  = 8
)

// readResult is one batch read, or the error that ended reading.
type readResult struct {
	b   *capture.Batch
	err error
}

// pumpBatches reads the capture in one goroutine and runs the engine on
// what it read in this one. Walking the kernel's ring and copying frames
// out of it then costs the engine's core nothing, and the ring's blocks go
// back to the kernel as soon as they are copied rather than when the
// engine reaches them, so the engine's once-a-second work or a slow output
// write is absorbed by the queue before the ring drops. When the queue is
// full the reader waits and the kernel's ring fills: drops stay where they
// are counted, in the kernel's counters.
func pumpBatches(ctx context.Context, sink Sink, src capture.Source, br capture.BatchReader) error {
	free := make(chan *capture.Batch, batchQueue)
	full := make(chan readResult, batchQueue)
	for range batchQueue {
		free <- new(capture.Batch)
	}
	quit := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var b *capture.Batch
			select {
			case b = <-free:
			case <-quit:
				return
			}
			b.Reset()
			err := br.ReadBatch(b, batchFrames)
			if len(b.Frames) > 0 {
				full <- readResult{b: b}
			}
			if err != nil {
				full <- readResult{err: err}
				return
			}
		}
	}()
	defer func() {
		// Stop the reader: closing the source wakes a ReadBatch that
		// waits; what it still sends is drained.
		close(quit)
		src.Close()
		for range full {
		}
	}()
	for r := range full {
		if r.err != nil {
			if ctx.Err() != nil || r.err == io.EOF {
				return nil
			}
			return r.err
		}
		if bs, ok := sink.(batchSink); ok {
			if !bs.Frames(r.b.Frames) {
				return nil
			}
		} else {
			for i := range r.b.Frames {
				if !sink.Frame(&r.b.Frames[i]) {
					return nil
				}
			}
		}
		free <- r.b
	}
	return nil
}

// CaptureHint says how to fix a capture error, in one line.
func CaptureHint(err error) string {
	switch {
	case errors.Is(err, capture.ErrPermission):
		return "run with sudo, or once: sudo setcap cap_net_raw,cap_net_admin=eip " + executable() + " — opsdeck -r FILE works without privileges"
	case errors.Is(err, capture.ErrNoSuchInterface):
		return "check the name with ip link; -i any captures on every interface"
	}
	return "opsdeck -r FILE replays a capture instead"
}

func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "opsdeck"
}

// CapturePrivilege says which privilege lets this process capture: root,
// the CAP_NET_RAW capability (setcap), or neither.
func CapturePrivilege() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	if HasCapNetRaw() {
		return "cap_net_raw"
	}
	return "none"
}

// HasCapNetRaw reads the effective capability set from /proc/self/status.
func HasCapNetRaw() bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			const capNetRaw = 13
			return err == nil && caps&(1<<capNetRaw) != 0
		}
	}
	return false
}
