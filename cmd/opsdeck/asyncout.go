package main

import (
	"bytes"
	"os"
	"sync"
	"sync/atomic"
)

// Sizes of asyncOut's queue: asyncBuffers buffers of asyncBufSize bytes
// each (4 MiB in all), one of them being filled while the others wait for
// the writer or are free.
const (
	asyncBuffers = 16
	asyncBufSize = 256 << 10
)

// asyncOut moves the output's write system calls off the engine's
// goroutine. Under a spoofed-source flood every packet ends a flow and
// writes a ~300-byte flow record: ~120 MB/s at 400k packets/s, and the
// writes into the page cache were a tenth to a quarter of the engine's
// time. Records are copied into a buffer; a filled buffer goes through a
// bounded queue to a writer goroutine, which writes it to the output (a
// lineFile or socketOut, which only that goroutine touches) and hands it
// back. The buffers are made once and swapped: nothing is allocated per
// record.
//
// When the writer cannot keep up (a disk slower than the record stream,
// a slow reader of standard output) and no buffer is free, the records in
// the buffer being filled are dropped and counted (Lost), and the failure
// is reported on stderr when it starts and when it ends, like the output's
// own failures; the capture goes on. Suricata blocks instead, which turns
// a slow disk into packets the kernel drops: blind detectors, and no
// count of what the records would have said. Alerts are the exception:
// a buffer holding one (Urgent) is never dropped; the engine waits for a
// free buffer, as it waited for every write before. So is the end of the
// run (Drain): once the capture has stopped, no packet is left to
// protect, and the flows still open and the last stats record wait for
// the writer.
//
// Write, Urgent, Boundary and Close are called by one goroutine (the
// engine's, under the pump's lock); RequestReopen, Lost, Held and Healthy
// by any.
type asyncOut struct {
	out  eveOutput
	cur  []byte      // being filled
	wait bool        // Drain ran: never drop
	full chan []byte // filled buffers, in order; nil is a boundary
	free chan []byte // buffers written and available again
	done chan struct{}

	queued  atomic.Int64 // bytes in full, not yet written
	lostN   atomic.Uint64
	lostB   atomic.Uint64
	losing  atomic.Bool // records dropped since the last boundary
	lossy   atomic.Bool // a drop report is out and its end is not (Healthy reads it)
	errMu   sync.Mutex  // guards err
	err     error       // the first error the output returned
	reportN uint64      // lostN when the last drop report was made
	logf    func(format string, args ...any)
	ops     atomic.Int64 // boundaries queued, so that they never block
	closeMu sync.Once
	closed  bool // Close ran: nothing more is queued
}

// newAsyncOut starts the writer goroutine of out.
func newAsyncOut(out eveOutput, logf func(format string, args ...any)) *asyncOut {
	a := &asyncOut{
		out:  out,
		cur:  make([]byte, 0, asyncBufSize),
		full: make(chan []byte, 2*asyncBuffers),
		free: make(chan []byte, asyncBuffers),
		done: make(chan struct{}),
		logf: logf,
	}
	for range asyncBuffers - 1 {
		a.free <- make([]byte, 0, asyncBufSize)
	}
	go a.run()
	return a
}

// run is the writer goroutine: it writes buffers in the order they came,
// services the output at each boundary, and gives buffers back.
func (a *asyncOut) run() {
	defer close(a.done)
	for b := range a.full {
		if b == nil {
			a.ops.Add(-1)
			err := a.out.Boundary()
			if err == nil {
				err = a.out.Sync()
			}
			a.setErr(err)
			continue
		}
		_, err := a.out.Write(b)
		a.setErr(err)
		a.queued.Add(-int64(len(b)))
		if cap(b) > 4*asyncBufSize {
			b = make([]byte, 0, asyncBufSize) // a huge record grew it
		}
		a.free <- b[:0]
	}
}

func (a *asyncOut) setErr(err error) {
	if err == nil {
		return
	}
	a.errMu.Lock()
	if a.err == nil {
		a.err = err
	}
	a.errMu.Unlock()
}

func (a *asyncOut) getErr() error {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	return a.err
}

// Write copies p, whole records, into the current buffer. An error the
// output returned before (standard output closed) is returned from then
// on, as the output itself would.
func (a *asyncOut) Write(p []byte) (int, error) {
	if err := a.getErr(); err != nil {
		return 0, err
	}
	if a.closed {
		return 0, os.ErrClosed
	}
	if len(a.cur) > 0 && len(a.cur)+len(p) > cap(a.cur) {
		a.handoff(false)
	}
	a.cur = append(a.cur, p...)
	return len(p), nil
}

// Urgent hands the current buffer to the writer now, waiting for a free
// one if need be: it holds an alert, which reaches the file at once and
// is never dropped.
func (a *asyncOut) Urgent() {
	a.handoff(true)
}

// Drain makes every later handoff wait for a free buffer instead of
// dropping: the capture has stopped, and what is written from now on (the
// open flows' records, the last stats) has no packet to yield to.
func (a *asyncOut) Drain() { a.wait = true }

// handoff queues the current buffer and takes a free one. With none free,
// it waits when wait is set (the buffer holds an alert: Urgent) or after
// Drain; otherwise the buffer's whole records are dropped and counted, and
// it is filled again.
func (a *asyncOut) handoff(wait bool) {
	if len(a.cur) == 0 || a.closed {
		return
	}
	var next []byte
	select {
	case next = <-a.free:
	default:
		if !wait && !a.wait {
			a.drop()
			return
		}
		next = <-a.free
	}
	a.queued.Add(int64(len(a.cur)))
	a.full <- a.cur
	a.cur = next
}

// drop discards the whole records of the current buffer; a partial one
// at its end (never from the EVE writer, which writes whole records) stays
// to be completed.
func (a *asyncOut) drop() {
	whole := bytes.LastIndexByte(a.cur, '\n') + 1
	a.lostN.Add(uint64(bytes.Count(a.cur[:whole], []byte{'\n'})))
	a.lostB.Add(uint64(whole))
	a.losing.Store(true)
	a.cur = a.cur[:copy(a.cur, a.cur[whole:])]
}

// Boundary (each tick) hands the current buffer to the writer and asks it
// to service and sync the output after it; it reports the start and end
// of drops. It returns the output's first error, as the output did.
func (a *asyncOut) Boundary() error {
	a.handoff(false)
	// At most two boundaries wait: a writer stuck on a slow disk
	// services the output when it comes back, once is enough.
	if !a.closed && a.ops.Load() < 2 {
		a.ops.Add(1)
		a.full <- nil
	}
	a.report()
	return a.getErr()
}

// report says on stderr when the queue starts dropping, and when it stops
// with what it cost, once each.
func (a *asyncOut) report() {
	n, losing := a.lostN.Load(), a.losing.Swap(false)
	switch {
	case losing && !a.lossy.Load():
		a.lossy.Store(true)
		a.logf("the output cannot keep up with the records: dropping records other than alerts (flows, protocol events, stats) while %d MiB wait for it (alerts wait instead); the stats record counts them (output.lost_records)", asyncBuffers*asyncBufSize>>20)
	case !losing && a.lossy.Load():
		a.lossy.Store(false)
		a.logf("the output keeps up again; %d records were dropped while it did not", n-a.reportN)
		a.reportN = n
	case !a.lossy.Load():
		a.reportN = n
	}
}

// Sync does nothing: the writer syncs the output at each boundary.
func (a *asyncOut) Sync() error { return nil }

// RequestReopen makes the output reopen its path at its next write
// boundary.
func (a *asyncOut) RequestReopen() { a.out.RequestReopen() }

// Lost counts what the queue dropped and what the output dropped.
func (a *asyncOut) Lost() (records, bytes uint64) {
	n, b := a.out.Lost()
	return n + a.lostN.Load(), b + a.lostB.Load()
}

// Held is what waits for the output: in the queue and in its backlog.
func (a *asyncOut) Held() uint64 { return uint64(max(a.queued.Load(), 0)) + a.out.Held() }

// Healthy says the output is healthy and the queue is not dropping: no
// drop since the last boundary, and none reported still going on.
func (a *asyncOut) Healthy() bool {
	return a.out.Healthy() && !a.losing.Load() && !a.lossy.Load()
}

// Close writes everything queued, waits for the writer, and closes the
// output. A record the writer could not take is counted lost, not waited
// for: the queue always drains, since the output never blocks for long.
func (a *asyncOut) Close() error {
	var err error
	a.closeMu.Do(func() {
		if len(a.cur) > 0 {
			a.queued.Add(int64(len(a.cur)))
			a.full <- a.cur // the writer returns buffers, so room is there
			a.cur = nil
		}
		a.closed = true
		close(a.full)
		<-a.done
		a.report()
		err = a.out.Close()
	})
	return err
}

var _ eveOutput = (*asyncOut)(nil)
