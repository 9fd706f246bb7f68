package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// These tests drive asyncOut, the queue between the engine and watch's
// output, over a real lineFile on a real file.

// gatedOut holds the writer goroutine in Write until the gate opens: a
// disk slower than the records.
type gatedOut struct {
	eveOutput
	gate chan struct{}
}

func (g *gatedOut) Write(p []byte) (int, error) {
	<-g.gate
	return g.eveOutput.Write(p)
}

func testAsyncOut(t *testing.T, out eveOutput) (*asyncOut, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var log []string
	a := newAsyncOut(out, func(format string, args ...any) {
		mu.Lock()
		log = append(log, fmt.Sprintf(format, args...))
		mu.Unlock()
	})
	return a, &log
}

// TestAsyncOutOrderAndFlush: records of many sizes, some larger than a
// queue buffer, written as the EVE writer does (runs of whole records,
// boundaries between), all reach the file in order once Close returns,
// and the file ends in a whole line.
func TestAsyncOutOrderAndFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	lf, _ := testLineFile(t, path, 0, 0)
	a, log := testAsyncOut(t, lf)
	// Waiting, not dropping, when the writer falls behind (a loaded
	// machine may not run it in time): drops are TestAsyncOutDropsCounted's.
	a.Drain()
	const n = 20000
	var run []byte
	for i := range n {
		size := 40 + (i*7919)%900
		if i%5000 == 17 {
			size = asyncBufSize + 1000 // longer than a buffer
		}
		run = append(run, seqRecord(i, size)...)
		if len(run) > 64<<10 || i%97 == 0 {
			if _, err := a.Write(run); err != nil {
				t.Fatal(err)
			}
			run = run[:0]
		}
		if i%3000 == 0 {
			if err := a.Boundary(); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.Write(run)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := wholeLines(t, path)
	if len(got) != n {
		t.Fatalf("%d records in the file, want %d", len(got), n)
	}
	for i, s := range got {
		if s != i {
			t.Fatalf("record %d is seq %d: order not kept", i, s)
		}
	}
	if rn, _ := a.Lost(); rn != 0 || a.Held() != 0 {
		t.Errorf("Lost %d records, Held %d bytes after a clean run", rn, a.Held())
	}
	if len(*log) != 0 {
		t.Errorf("reports after a clean run: %q", *log)
	}
}

// TestAsyncOutDropsCounted: while the writer is stuck, the queue fills,
// then the records of the buffer being filled are dropped, never half a
// record; every record is either in the file, in order, or counted lost;
// the start and the end of the drops are reported once each; an alert
// (Urgent) waits for room and is never dropped.
func TestAsyncOutDropsCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	lf, _ := testLineFile(t, path, 0, 0)
	g := &gatedOut{eveOutput: lf, gate: make(chan struct{})}
	a, log := testAsyncOut(t, g)
	const size = 300
	n := 0
	// Enough for every buffer, then as much again: half must go.
	for n*size < 2*asyncBuffers*asyncBufSize {
		a.Write(seqRecord(n, size))
		n++
	}
	lost, lostB := a.Lost()
	if lost == 0 || lostB != lost*size {
		t.Fatalf("Lost = %d records, %d bytes with the writer stuck; want some, %d bytes each", lost, lostB, size)
	}
	if a.Healthy() {
		t.Error("Healthy while dropping")
	}
	a.Boundary()
	if len(*log) != 1 || !strings.Contains((*log)[0], "cannot keep up") {
		t.Fatalf("reports when drops start: %q", *log)
	}
	alert := n
	a.Write(seqRecord(alert, size))
	n++
	urgent := make(chan struct{})
	go func() { a.Urgent(); close(urgent) }()
	close(g.gate)
	<-urgent
	a.Write(seqRecord(n, size))
	n++
	a.Boundary() // nothing dropped since the last: the end is reported
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := wholeLines(t, path)
	if !slices.IsSorted(got) {
		t.Error("records out of order")
	}
	if !slices.Contains(got, alert) {
		t.Error("the alert was dropped")
	}
	if lost, _ = a.Lost(); len(got)+int(lost) != n {
		t.Errorf("%d records written + %d lost, want %d", len(got), lost, n)
	}
	if len(*log) != 2 || !strings.Contains((*log)[1], fmt.Sprintf("%d records were dropped", lost)) {
		t.Errorf("reports: %q", *log)
	}
}

// TestAsyncOutError: an output that fails (standard output whose reader
// went away) makes Write and Boundary return its error, as the output did
// without the queue, and Close returns it too.
func TestAsyncOutError(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	lf := &lineFile{f: w, logf: t.Logf}
	lf.healthy.Store(true)
	a, _ := testAsyncOut(t, lf)
	a.Write(seqRecord(1, 100))
	if err := a.Boundary(); err != nil {
		// The writer may have met the error already; either way it is EPIPE.
		if !strings.Contains(err.Error(), syscall.EPIPE.Error()) {
			t.Fatal(err)
		}
	}
	// The boundary queued after the write runs after it: once the writer
	// has done both, the error is sticky.
	a.Close()
	if _, err := a.Write(seqRecord(2, 100)); err == nil || !strings.Contains(err.Error(), syscall.EPIPE.Error()) {
		t.Errorf("Write after the output failed: %v, want EPIPE", err)
	}
	if err := a.Boundary(); err == nil {
		t.Error("Boundary after the output failed: nil error")
	}
}

// TestAsyncOutDrainLosesNothing: after Drain (the capture has stopped),
// records wait for a stuck writer instead of being dropped; every one
// reaches the file, in order.
func TestAsyncOutDrainLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	lf, _ := testLineFile(t, path, 0, 0)
	g := &gatedOut{eveOutput: lf, gate: make(chan struct{})}
	a, _ := testAsyncOut(t, g)
	a.Drain()
	const size = 300
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Twice what the queue holds: with the writer stuck, this waits.
		for n*size < 2*asyncBuffers*asyncBufSize {
			a.Write(seqRecord(n, size))
			n++
		}
	}()
	close(g.gate)
	<-done
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := wholeLines(t, path)
	if lost, _ := a.Lost(); lost != 0 || len(got) != n || !slices.IsSorted(got) {
		t.Fatalf("%d of %d records written (sorted %v), %d lost after Drain", len(got), n, slices.IsSorted(got), lost)
	}
}
