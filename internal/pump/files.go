package pump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/filter"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// Files reads capture files (pcap or pcapng) one after the other; "-" is
// standard input. A file that cannot be opened or read to its end is
// reported and the next one is read: Run returns every file's error.
type Files struct {
	Names []string
	// Speed paces frames by their timestamps: 1 = as recorded, 2 = twice
	// as fast, 0 = as fast as possible.
	Speed float64
	// Stdin is what "-" reads (default os.Stdin).
	Stdin io.Reader
}

// Name is the first file's name ("stdin" for "-").
func (f *Files) Name() string {
	if len(f.Names) == 0 {
		return ""
	}
	return fileName(f.Names[0])
}

func fileName(n string) string {
	if n == "-" {
		return "stdin"
	}
	return n
}

// Open opens one capture file, or standard input for "-".
func (f *Files) open(name string) (capture.Source, error) {
	if name == "-" {
		in := f.Stdin
		if in == nil {
			in = os.Stdin
		}
		return capture.OpenReader("stdin", in)
	}
	return capture.OpenFile(name)
}

// Run reads every file into sink.
func (f *Files) Run(ctx context.Context, sink Sink) error {
	var errs []error
	for _, name := range f.Names {
		if ctx.Err() != nil {
			break
		}
		more, err := f.one(ctx, sink, name)
		if err != nil {
			errs = append(errs, err)
		}
		if !more {
			break
		}
	}
	return errors.Join(errs...)
}

// one reads one file; more is false when the sink wants no more frames.
func (f *Files) one(ctx context.Context, sink Sink, name string) (more bool, err error) {
	st := engine.SourceStatus{Name: fileName(name), Kind: "file", State: "running", Privilege: "none"}
	sink.Status(st)
	src, err := f.open(name)
	if err != nil {
		st.State, st.Err = "error", err.Error()
		st.Hint = "check the path; opsdeck reads pcap and pcapng files"
		sink.Status(st)
		return true, err
	}
	defer src.Close()
	more, err = f.pump(ctx, sink, src)
	if err != nil {
		st.Err = err.Error()
	}
	st.State = "finished"
	sink.Status(st)
	return more, err
}

func (f *Files) pump(ctx context.Context, sink Sink, src capture.Source) (more bool, err error) {
	var first time.Time
	start := time.Now()
	// One Frame for the whole file: handed to the sink through an
	// interface, it escapes, and one per frame would be an allocation each.
	var fr capture.Frame
	for ctx.Err() == nil {
		fr, err = src.Next()
		if err != nil {
			if err == io.EOF {
				return true, nil
			}
			return true, err
		}
		if f.Speed > 0 {
			if first.IsZero() {
				first = fr.TS
			}
			due := start.Add(time.Duration(float64(fr.TS.Sub(first)) / f.Speed))
			if wait := time.Until(due); wait > 2*time.Millisecond && !sleepCtx(ctx, wait) {
				return false, nil
			}
		}
		if !sink.Frame(&fr) {
			return false, nil
		}
	}
	return false, nil
}

// sleepCtx waits d or until ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Filter is a capture filter for inputs the kernel does not filter (files,
// standard input): compiled once per link type met. A nil *Filter, or one
// with an empty expression, accepts every frame.
type Filter struct {
	expr  string
	progs map[uint16]*filter.Program
	out   uint64
}

// NewFilter compiles expr for Ethernet now, so that a bad expression is an
// error before any input is read.
func NewFilter(expr string) (*Filter, error) {
	f := &Filter{expr: strings.TrimSpace(expr), progs: map[uint16]*filter.Program{}}
	if _, err := f.get(uint16(capture.LinkEthernet)); err != nil {
		return nil, fmt.Errorf("capture filter %q: %w", f.expr, err)
	}
	return f, nil
}

func (f *Filter) get(link uint16) (*filter.Program, error) {
	if f.expr == "" {
		return nil, nil
	}
	if p, ok := f.progs[link]; ok {
		return p, nil
	}
	p, err := filter.Compile(f.expr, link, capture.MaxRecordLen)
	if err != nil {
		return nil, err
	}
	f.progs[link] = p
	return p, nil
}

// Match reports whether fr passes; a link type the expression cannot be
// compiled for passes nothing. Not safe for concurrent use (the pump calls
// it under its lock).
func (f *Filter) Match(fr *capture.Frame) bool {
	if f == nil || f.expr == "" {
		return true
	}
	p, err := f.get(uint16(fr.Link))
	if err != nil || !p.Match(fr.Data, fr.WireLen) {
		f.out++
		return false
	}
	return true
}

// KernelFilter compiles the capture filter for each interface's link type,
// for capture.LiveOptions.Filter; nil when there is no filter.
func KernelFilter(expr string, snaplen int) func(capture.LinkType) ([]capture.BPFInstruction, error) {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	return func(link capture.LinkType) ([]capture.BPFInstruction, error) {
		p, err := filter.Compile(expr, uint16(link), snaplen)
		if err != nil {
			return nil, fmt.Errorf("compile capture filter %q for link type %d: %w", expr, link, err)
		}
		return p.Instructions(), nil
	}
}
