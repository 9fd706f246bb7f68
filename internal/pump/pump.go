// Package pump runs opsdeck's inputs and drives the engine with what they
// produce. Every input — a capture file, standard input, live interfaces,
// the generated demo traffic, the system sampler — is a Source with one
// contract (a name, Run with a context and a Sink, a status the console and
// metrics read). One Pump feeds the engine from all of them under one lock,
// keeps the engine's clock moving while the link is idle, refreshes kernel
// counters, and turns a panic in a source into that source's status.
//
// The name: "runtime" would shadow the standard library's package and
// "run" would collide with main's run; a pump is what this is, the one
// place that moves frames and samples from the sources into the engine.
//
// It is the one internal package that imports sources/: it is where
// sources and the engine meet, so that cmd/opsdeck only wires flags to it.
package pump

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/sources/capture"
	"github.com/opsdeck/opsdeck/sources/system"
)

// Source is one input. Run produces into sink until ctx ends (it then
// returns nil), the input ends (nil), sink.Frame returns false (nil), or
// the input fails for good (the error). Run is called once.
type Source interface {
	Name() string
	Run(ctx context.Context, sink Sink) error
}

// Sink receives what a source produces. Its methods are safe to call from
// the source's goroutine while other sources call theirs.
type Sink interface {
	// Frame hands one frame to the engine; fr.Data is read only during the
	// call. It returns false once the pump wants no more frames (the -c
	// count was reached, or the run is ending): the source should return.
	Frame(fr *capture.Frame) bool
	// Host hands one host sample (full or socket-only) to the engine.
	Host(s *hoststat.Snapshot)
	// Status publishes the source's state; the pump adds kernel counters.
	Status(st engine.SourceStatus)
}

// WallClock is implemented by sources whose packet time is the wall clock
// (live capture, the demo): the pump then moves the engine's clock once a
// second while no packet arrives, so idle flows end and detector windows
// close. A replayed file's time is its own and is never moved this way.
type WallClock interface {
	WallClock() bool
}

// Counted is implemented by sources with kernel counters (live capture);
// the pump copies them into the status once a second.
type Counted interface {
	Counters() capture.Stats
}

// Options say what the pump does around the engine. Every hook runs under
// the pump's lock, so a hook may use whatever the engine writes to (the
// EVE writer) without a lock of its own.
type Options struct {
	// Input is the packet source: its status is the engine's source status
	// (the console's header), and its frames go through Filter and Count.
	Input Source
	// Beside run alongside Input until the run ends (the system sampler).
	Beside []Source
	// Linger keeps the run going after Input ends (the console keeps its
	// screen and host panes). Without it the run ends with Input.
	Linger bool
	// Settle moves packet time one second on when an input that does not
	// follow the wall clock (a file) ends by itself: the detectors' open
	// windows close without ending the flows (the console shows them).
	Settle bool
	// Exclusive says nothing else reads the engine while frames flow
	// (analyze): the engine's lock is taken once for a run of frames
	// instead of once per frame. It requires no Beside and no WallClock input.
	Exclusive bool
	// Filter, when not nil, is the capture filter for inputs the kernel
	// does not filter (files); frames it rejects are read but not analysed.
	Filter *Filter
	// Count stops the input after this many frames passed the filter, as
	// tcpdump -c; later frames are neither counted nor analysed. 0: no limit.
	Count uint64
	// Frame runs for each frame that passed Filter and Count, before the
	// engine sees it (watch: the frame's interface, -w).
	Frame func(fr *capture.Frame)
	// Idle runs before the engine works on anything but a frame (the clock
	// tick, a host sample): watch marks the records that follow as caused
	// by no single frame.
	Idle func()
	// Tick runs once a second after the clock moved (watch: flush the
	// output, write stats records).
	Tick func(now time.Time)
	// Host runs after the engine took a host sample s (s as the source
	// produced it: socket-only samples have s.Partial set).
	Host func(s *hoststat.Snapshot)
	// Logf reports what an operator should know: a source's panic with its
	// stack, capture lost and resumed. nil: nothing is reported.
	Logf func(format string, args ...any)
}

// Pump runs sources into one engine.
type Pump struct {
	eng *engine.Engine
	o   Options

	// mu serializes everything that enters the engine (frames, host
	// samples, the clock tick) and every hook: one writer at a time. The
	// engine's own lock then only guards it against readers (snapshots,
	// metrics scrapes), and in Exclusive mode it is held across frames.
	mu       sync.Mutex
	held     bool               // the engine's lock is held (Exclusive), under mu
	taken    uint64             // frames past Filter, for Count (under mu)
	host     *hoststat.Snapshot // the last full host sample (under mu)
	stopIn   context.CancelFunc // ends Input's context
	read     atomic.Uint64      // frames read from Input
	started  time.Time
	inName   string // Input's name when Run began: its key in status
	statusMu sync.Mutex
	status   map[string]engine.SourceStatus
}

// New returns a pump for eng; call Run to start it.
func New(eng *engine.Engine, o Options) *Pump {
	return &Pump{eng: eng, o: o, status: map[string]engine.SourceStatus{}}
}

// errExclusive is a wiring mistake: Exclusive with something that would
// need the engine while frames hold its lock.
var errExclusive = errors.New("pump: Exclusive needs a single input that does not follow the wall clock")

// Run runs the sources until ctx ends or, without Linger, Input ends. It
// returns Input's error; a panic in Input is returned as one too. A panic in
// a source beside it ends that source only, with its status saying why.
func (p *Pump) Run(ctx context.Context) error {
	if p.o.Input == nil {
		return errors.New("pump: no input")
	}
	clocked := wallClock(p.o.Input)
	if p.o.Exclusive && (len(p.o.Beside) > 0 || clocked || p.o.Tick != nil) {
		return errExclusive
	}
	p.started = time.Now()
	p.inName = p.o.Input.Name()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inCtx, stopIn := context.WithCancel(ctx)
	defer stopIn()
	p.mu.Lock()
	p.stopIn = stopIn
	p.mu.Unlock()

	var wg sync.WaitGroup
	for _, s := range p.o.Beside {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.runSource(ctx, s, &sink{p: p, name: s.Name()})
		}()
	}
	if !p.o.Exclusive {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.clock(ctx, clocked)
		}()
	}
	inDone := make(chan error, 1)
	go func() {
		err := p.runSource(inCtx, p.o.Input, &sink{p: p, name: p.inName, input: true})
		p.publishCounters() // the final ones, whenever the last tick was
		if p.o.Settle && !clocked && inCtx.Err() == nil {
			p.settle()
		}
		p.mu.Lock()
		p.release()
		p.mu.Unlock()
		inDone <- err
	}()
	var err error
	select {
	case err = <-inDone:
		if p.o.Linger {
			<-ctx.Done()
		}
	case <-ctx.Done():
		err = <-inDone
	}
	cancel()
	wg.Wait()
	return err
}

// runSource runs s, turning a panic into its error and its status.
func (p *Pump) runSource(ctx context.Context, s Source, sk *sink) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s source stopped: %v", s.Name(), r)
			p.logf("%v\n%s", err, debug.Stack())
			st := p.Status(sk.name)
			if st.Name == "" {
				st.Name = s.Name()
			}
			st.State, st.Err, st.Hint = "error", err.Error(), "restart opsdeck; the error is on stderr"
			sk.Status(st)
		}
	}()
	err = s.Run(ctx, sk)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil
	}
	return err
}

// clock runs once a second: kernel counters into the status, the engine's
// clock moved (wall-clock inputs), then the Tick hook. It ticks on the
// system sampler's beat (system.UntilBeat), so the process wakes once for
// both.
func (p *Pump) clock(ctx context.Context, clocked bool) {
	t := time.NewTimer(system.UntilBeat(time.Now(), time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			t.Reset(system.UntilBeat(time.Now(), time.Second))
			p.publishCounters()
			p.mu.Lock()
			p.idle()
			if clocked {
				p.eng.Expire(now)
			}
			if p.o.Tick != nil {
				p.o.Tick(now)
			}
			p.mu.Unlock()
		}
	}
}

// settle moves packet time one second on after a replay ended.
func (p *Pump) settle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle()
	if now := p.eng.Now(); !now.IsZero() {
		p.eng.Expire(now.Add(time.Second))
	}
}

// idle releases the engine's lock and runs the Idle hook (mu held).
func (p *Pump) idle() {
	p.release()
	if p.o.Idle != nil {
		p.o.Idle()
	}
}

// release gives back the engine's lock held across frames (mu held).
func (p *Pump) release() {
	if p.held {
		p.held = false
		p.eng.Unlock()
	}
}

func (p *Pump) logf(format string, args ...any) {
	if p.o.Logf != nil {
		p.o.Logf(format, args...)
	}
}

// Read is the number of frames read from the input, including those the
// filter rejected (packets_read in stats records).
func (p *Pump) Read() uint64 { return p.read.Load() }

// Started is when Run began.
func (p *Pump) Started() time.Time { return p.started }

// Capture returns the input's capture counters (zero for inputs without
// kernel counters).
func (p *Pump) Capture() capture.Stats {
	if c, ok := p.o.Input.(Counted); ok {
		return c.Counters()
	}
	return capture.Stats{}
}

// Status returns the last status the named source published.
func (p *Pump) Status(name string) engine.SourceStatus {
	p.statusMu.Lock()
	defer p.statusMu.Unlock()
	return p.status[name]
}

// Statuses are every source's last status, ordered by name: the input's
// (as the engine has it) and those beside it (metrics: opsdeck_source_up).
func (p *Pump) Statuses() []engine.SourceStatus {
	p.statusMu.Lock()
	defer p.statusMu.Unlock()
	out := make([]engine.SourceStatus, 0, len(p.status))
	for _, name := range slices.Sorted(maps.Keys(p.status)) {
		out = append(out, p.status[name])
	}
	return out
}

// InputStatus returns the input's last status.
func (p *Pump) InputStatus() engine.SourceStatus { return p.Status(p.inName) }

// publishCounters copies the input's kernel counters into its status.
func (p *Pump) publishCounters() {
	c, ok := p.o.Input.(Counted)
	if !ok {
		return
	}
	name := p.inName
	p.statusMu.Lock()
	st, ok := p.status[name]
	p.statusMu.Unlock()
	if !ok {
		return
	}
	cs := c.Counters()
	st.KernelPackets, st.KernelDrops = cs.KernelPackets, cs.KernelDrops
	p.setStatus(name, true, st)
}

// setStatus records st and, for the input, hands it to the engine.
func (p *Pump) setStatus(name string, input bool, st engine.SourceStatus) {
	p.statusMu.Lock()
	p.status[name] = st
	p.statusMu.Unlock()
	if !input {
		return
	}
	// SetSource takes the engine's lock: give it back if frames hold it.
	p.mu.Lock()
	p.release()
	p.eng.SetSource(st)
	p.mu.Unlock()
}

// sink is the Sink one source writes to.
type sink struct {
	p     *Pump
	name  string
	input bool
}

func (s *sink) Frame(fr *capture.Frame) bool {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.o.Count > 0 && p.taken >= p.o.Count {
		return false
	}
	p.read.Add(1)
	if !p.o.Filter.Match(fr) {
		return true
	}
	p.taken++
	if p.o.Frame != nil {
		p.o.Frame(fr)
	}
	if p.o.Exclusive {
		if !p.held {
			p.eng.Lock()
			p.held = true
		}
		p.eng.HandleFrameLocked(uint16(fr.Link), fr.Data, fr.TS, fr.WireLen, fr.Index)
	} else {
		p.eng.HandleFrame(uint16(fr.Link), fr.Data, fr.TS, fr.WireLen, fr.Index)
	}
	if p.o.Count > 0 && p.taken >= p.o.Count {
		// Stop a live input now rather than at its next frame.
		p.stopIn()
		return false
	}
	return true
}

// batchSink is a Sink that takes a run of frames at once.
type batchSink interface {
	// Frames hands frames to the engine in order, as Frame does each,
	// and returns what the last Frame would have.
	Frames(frs []capture.Frame) bool
}

// Frames is Frame for a run of frames (a live capture's batch): the
// pump's lock and the engine's are taken once for the run, not once per
// frame. Readers of the engine (the console's snapshot, a metrics scrape)
// wait at most for one batch.
func (s *sink) Frames(frs []capture.Frame) bool {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.held {
		p.eng.Lock()
		defer p.eng.Unlock() // deferred: a panic in a frame must not leave it locked
	}
	read := 0
	defer func() { p.read.Add(uint64(read)) }()
	for i := range frs {
		fr := &frs[i]
		if p.o.Count > 0 && p.taken >= p.o.Count {
			return false
		}
		read++
		if !p.o.Filter.Match(fr) {
			continue
		}
		p.taken++
		if p.o.Frame != nil {
			p.o.Frame(fr)
		}
		p.eng.HandleFrameLocked(uint16(fr.Link), fr.Data, fr.TS, fr.WireLen, fr.Index)
		if p.o.Count > 0 && p.taken >= p.o.Count {
			p.stopIn()
			return false
		}
	}
	return true
}

// Host passes full samples to the engine and a socket-only refresh laid
// over the last full one (hoststat.MergeSockets), so the engine always sees
// a whole host; the refresh stays Partial, so it adds nothing to histories.
func (s *sink) Host(h *hoststat.Snapshot) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle()
	if !h.Partial {
		p.host = h
	}
	merged := hoststat.MergeSockets(p.host, h)
	if merged == nil {
		return
	}
	p.eng.HandleHost(merged)
	if p.o.Host != nil {
		p.o.Host(h)
	}
}

func (s *sink) Status(st engine.SourceStatus) {
	if c, ok := s.p.o.Input.(Counted); ok && s.input {
		cs := c.Counters()
		st.KernelPackets, st.KernelDrops = cs.KernelPackets, cs.KernelDrops
	}
	s.p.setStatus(s.name, s.input, st)
}

func wallClock(s Source) bool {
	w, ok := s.(WallClock)
	return ok && w.WallClock()
}
