package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync/atomic"
)

// lineFile is the EVE output of watch: it writes only whole lines to the
// file (a partial line stays in memory until its newline arrives), so the
// file never ends in half a record, whatever kills the process; it rotates
// by size between lines and reopens its path when asked (SIGHUP, after
// logrotate moved the file away). It is not safe for concurrent Write; Reopen
// may be requested from any goroutine.
type lineFile struct {
	path    string // "" for standard output
	maxSize int64  // rotate when a write would pass this; 0 = never
	keep    int    // rotated files kept: path.1 ... path.keep
	f       *os.File
	size    int64
	pending []byte
	reopen  atomic.Bool
	dirty   atomic.Bool // written since the last Sync
	err     error
}

func openLineFile(path string, maxSize int64, keep int) (*lineFile, error) {
	w := &lineFile{path: path, maxSize: maxSize, keep: keep}
	if path == "" {
		w.f = os.Stdout
		return w, nil
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *lineFile) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in the message
		}
		return fmt.Errorf("open output %q: %w", w.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open output %q: %w", w.path, err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// RequestReopen makes the next write boundary reopen the path.
func (w *lineFile) RequestReopen() { w.reopen.Store(true) }

// Write implements io.Writer.
func (w *lineFile) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	i := bytes.LastIndexByte(p, '\n')
	if i < 0 {
		w.pending = append(w.pending, p...)
		return len(p), nil
	}
	complete := p[:i+1]
	if len(w.pending) > 0 {
		j := bytes.IndexByte(p, '\n')
		w.pending = append(w.pending, p[:j+1]...)
		if err := w.writeLines(w.pending); err != nil {
			return 0, err
		}
		w.pending = w.pending[:0]
		complete = p[j+1 : i+1]
	}
	if err := w.writeLines(complete); err != nil {
		return 0, err
	}
	w.pending = append(w.pending, p[i+1:]...)
	return len(p), nil
}

// writeLines writes whole lines, rotating or reopening between two lines
// when due, so each file stays under the size bound (a single line larger
// than the bound gets a file of its own).
func (w *lineFile) writeLines(b []byte) error {
	for len(b) > 0 {
		if err := w.boundary(0); err != nil {
			w.err = err
			return err
		}
		n := len(b)
		if w.maxSize > 0 && w.path != "" && w.size+int64(n) > w.maxSize {
			room := max(w.maxSize-w.size, 0)
			n = bytes.LastIndexByte(b[:min(int64(len(b)), room)], '\n') + 1
			if n == 0 {
				if w.size > 0 {
					if err := w.rotate(); err != nil {
						w.err = err
						return err
					}
					continue
				}
				n = bytes.IndexByte(b, '\n') + 1 // one oversized line
			}
		}
		if err := w.write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (w *lineFile) write(b []byte) error {
	n, err := w.f.Write(b)
	w.size += int64(n)
	w.dirty.Store(true)
	if err != nil {
		w.err = fmt.Errorf("write output %q: %w", w.path, err)
	}
	return w.err
}

// boundary runs at a line boundary before n more bytes: the place where
// the file may be rotated or reopened without splitting a line.
func (w *lineFile) boundary(n int64) error {
	if w.path == "" {
		return nil
	}
	if w.reopen.Swap(false) {
		if err := w.f.Close(); err != nil {
			return fmt.Errorf("close output %q: %w", w.path, err)
		}
		if err := w.open(); err != nil {
			return err
		}
	}
	if w.maxSize > 0 && w.size > 0 && w.size+n > w.maxSize {
		return w.rotate()
	}
	return nil
}

// Boundary reopens the file now if asked, when no partial line is pending
// (call it after flushing the EVE writer).
func (w *lineFile) Boundary() error {
	if len(w.pending) > 0 || w.err != nil {
		return w.err
	}
	if err := w.boundary(0); err != nil {
		w.err = err
	}
	return w.err
}

// rotate shifts path.N-1 -> path.N ... path -> path.1 and starts a new file.
func (w *lineFile) rotate() error {
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync output %q: %w", w.path, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close output %q: %w", w.path, err)
	}
	name := func(i int) string { return w.path + "." + strconv.Itoa(i) }
	if err := os.Remove(name(w.keep)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate output: %w", err)
	}
	for i := w.keep - 1; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate output: %w", err)
		}
	}
	if w.keep > 0 {
		if err := os.Rename(w.path, name(1)); err != nil {
			return fmt.Errorf("rotate output: %w", err)
		}
	} else if err := os.Remove(w.path); err != nil {
		return fmt.Errorf("rotate output: %w", err)
	}
	return w.open()
}

// Sync flushes the file to disk if anything was written since the last
// call. Safe to call from another goroutine than Write's only when the
// caller holds the same lock as the writer (the file may be rotating).
func (w *lineFile) Sync() error {
	if w.path == "" || !w.dirty.Swap(false) {
		return nil
	}
	return w.f.Sync()
}

// Close writes nothing more: a pending partial line is dropped (the EVE
// writer only leaves one when it was itself cut off).
func (w *lineFile) Close() error {
	if w.path == "" {
		return w.err
	}
	err := errors.Join(w.err, w.f.Sync(), w.f.Close())
	if len(w.pending) > 0 {
		err = errors.Join(err, fmt.Errorf("output %q: dropped %d bytes of an unfinished record", w.path, len(w.pending)))
	}
	return err
}

var _ io.Writer = (*lineFile)(nil)
