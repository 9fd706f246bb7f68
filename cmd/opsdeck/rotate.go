package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// outputBacklog bounds the records lineFile holds in memory while its file
// cannot be written (full disk, missing directory, failed reopen).
const outputBacklog = 8 << 20

// writeChunk bounds one write, the EVE writer's buffer size.
const writeChunk = 64 << 10

// lineFile is the EVE output of watch. It writes only whole lines to the
// file (a partial line stays in memory until its newline arrives, and a
// short write is cut back to the last whole line), so the file never holds
// half a record. It rotates by size between lines and reopens its path when
// asked (SIGHUP, after logrotate moved the file away).
//
// When the file cannot be written, records wait in a bounded backlog and
// the write is retried at every Boundary (each tick), reopening the path so
// that a moved, deleted or recreated file is picked up; what the bound
// drops is counted (Lost). Failures and recoveries are reported once each
// through logf, not returned: an error returned to the EVE writer would
// stop it for good.
//
// The file is opened without following a symbolic link, and as root only
// in a directory other users cannot write to, or in a sticky one owned by
// root (like /tmp) where a file someone else made is refused.
//
// It is not safe for concurrent use, except RequestReopen, Lost, Held and
// Healthy, which any goroutine may call.
type lineFile struct {
	path    string // "" for standard output
	maxSize int64  // rotate when a write would pass this; 0 = never
	keep    int    // rotated files kept: path.1 ... path.keep
	mode    uint32 // permission of a file it creates (--file-mode)

	f        *os.File // nil while the path cannot be opened
	regular  bool     // f is a regular file, so a short write can be cut back
	prealloc bool     // reserve space before writing; cleared where unsupported
	size     int64
	pending  []byte // the start of a record whose newline has not come yet
	queue    []byte // whole records waiting for the file to be writable
	tail     []byte // the rest of a record cut short in f that could not be cut back
	queueMax int

	werr    error           // why the file is not being written; nil when it is
	rerr    error           // why the last rotation failed; nil when it did not
	serr    error           // why the last sync failed; nil when it did not
	said    map[string]bool // failures reported during this outage
	atStart [2]uint64       // Lost() when the outage began
	err     error           // standard output only: the first write error

	reopen  atomic.Bool
	dirty   atomic.Bool // written since the last Sync
	healthy atomic.Bool
	lostN   atomic.Uint64
	lostB   atomic.Uint64
	heldB   atomic.Uint64

	logf   func(format string, args ...any)
	rename func(oldpath, newpath string) error // os.Rename; tests count calls
}

// preallocate reserves n bytes at off in f without changing its size, so
// that the write that follows cannot run out of space halfway. Set where
// the system has it (rotate_linux.go).
var preallocate func(f *os.File, off, n int64) error

// openLineFile opens path ("" for standard output), rotated at maxSize
// bytes (0: never) with keep rotated files.
func openLineFile(path string, maxSize int64, keep int) (*lineFile, error) {
	return openLineFileMode(path, maxSize, keep, 0o600)
}

// openLineFileMode is openLineFile creating files with permission mode.
func openLineFileMode(path string, maxSize int64, keep int, mode os.FileMode) (*lineFile, error) {
	w := &lineFile{
		path: path, maxSize: maxSize, keep: keep, queueMax: outputBacklog, mode: uint32(mode.Perm()),
		logf: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "opsdeck: watch: "+format+"\n", args...)
		},
		rename: os.Rename,
	}
	w.healthy.Store(true)
	if path == "" {
		w.f = os.Stdout
		return w, nil
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	if dir, shared := sharedDir(path); shared {
		w.logf("output directory %q is writable by every user: links and files others plant there are refused, which stops the output; prefer a directory only root can write", dir)
	}
	return w, nil
}

// open opens the path for appending. It never follows a symbolic link in
// the last component (the classic way to make root append to a file of the
// attacker's choice), and as root it refuses a directory others may write
// to unless it is sticky and root's, and there a file that is not root's.
func (w *lineFile) open() error {
	root := os.Geteuid() == 0
	shared := false
	if root {
		var err error
		if shared, err = checkOutputDir(w.path); err != nil {
			return err
		}
	}
	// O_NONBLOCK: a FIFO planted or left without a reader must not block
	// the writer (it holds watch's lock); regular files ignore it.
	var fd int
	var err error
	for {
		fd, err = syscall.Open(w.path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_APPEND|
			syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, w.mode)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return w.openError(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("open output %q: %w", w.path, err)
	}
	regular := uint32(st.Mode)&syscall.S_IFMT == syscall.S_IFREG
	switch {
	case shared && st.Uid != 0:
		syscall.Close(fd)
		return fmt.Errorf("output %q belongs to uid %d, not root, in the shared directory %q: someone else created it; remove it or use a directory only root can write", w.path, st.Uid, filepath.Dir(w.path))
	case root && regular && uint64(st.Nlink) > 1:
		syscall.Close(fd)
		return fmt.Errorf("output %q has %d hard links, so root's writes could land in another file; remove it or choose another -o name", w.path, st.Nlink)
	}
	if regular {
		syscall.SetNonblock(fd, false)
	}
	w.f, w.size, w.regular, w.prealloc = os.NewFile(uintptr(fd), w.path), st.Size, regular, preallocate != nil
	return nil
}

func (w *lineFile) openError(err error) error {
	// O_NOFOLLOW on a link gives ELOOP, or EACCES for another user's link
	// in a sticky directory (may_create_in_sticky): name the link either way.
	if st, lerr := os.Lstat(w.path); lerr == nil && st.Mode()&fs.ModeSymlink != 0 {
		if strings.HasPrefix(w.path, "/dev/") || strings.HasPrefix(w.path, "/proc/") {
			return fmt.Errorf("output %q is a symbolic link, and opsdeck does not write through links: use -o - for standard output", w.path)
		}
		return fmt.Errorf("output %q is a symbolic link, and opsdeck does not write through links (one planted in a shared directory would redirect root's writes): remove the link or give -o the real path", w.path)
	}
	if err == syscall.ENXIO {
		return fmt.Errorf("open output %q: no process is reading this FIFO: start the reader first", w.path)
	}
	return fmt.Errorf("open output %q: %w", w.path, err)
}

// checkOutputDir refuses, for root, an output directory that a user other
// than root can write to, as logrotate and sshd do: that user could put a
// file of their own, or their choice, under the name root writes to. A
// sticky directory owned by root (like /tmp) is accepted as shared: there
// nobody can move root's file, and open refuses what others made.
func checkOutputDir(path string) (shared bool, err error) {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return false, nil // open says what is wrong with it
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false, nil
	}
	mode := uint32(sys.Mode)
	if mode&0o002 == 0 && (mode&0o020 == 0 || sys.Gid == 0) {
		return false, nil
	}
	if mode&syscall.S_ISVTX != 0 && sys.Uid == 0 {
		return true, nil
	}
	return false, fmt.Errorf("output directory %q (mode %04o, uid %d, gid %d) is writable by users other than root, who could swap the file root writes; use a directory only root can write (e.g. /var/log/opsdeck), or --user", dir, mode&0o7777, sys.Uid, sys.Gid)
}

// sharedDir says whether path's directory is a sticky one others can write.
func sharedDir(path string) (string, bool) {
	if os.Geteuid() != 0 {
		return "", false
	}
	shared, err := checkOutputDir(path)
	return filepath.Dir(path), shared && err == nil
}

// RequestReopen makes the next write boundary reopen the path.
func (w *lineFile) RequestReopen() { w.reopen.Store(true) }

// Lost returns the records and bytes dropped because the file could not be
// written for longer than the backlog lasts, or at Close.
func (w *lineFile) Lost() (records, bytes uint64) { return w.lostN.Load(), w.lostB.Load() }

// Held returns the bytes of records waiting in memory for the file.
func (w *lineFile) Held() uint64 { return w.heldB.Load() }

// Healthy says whether records reach the file, and its last sync worked.
func (w *lineFile) Healthy() bool { return w.healthy.Load() }

// Write implements io.Writer. For a file it never fails: what cannot be
// written now waits for the next Boundary.
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
		w.emit(w.pending)
		w.pending = w.pending[:0]
		complete = p[j+1 : i+1]
	}
	w.emit(complete)
	if w.err != nil {
		return 0, w.err
	}
	w.pending = append(w.pending, p[i+1:]...)
	return len(p), nil
}

// emit writes whole lines, or holds them while the file is unwritable.
func (w *lineFile) emit(b []byte) {
	if len(b) == 0 {
		return
	}
	if w.path == "" {
		if _, err := w.writeLines(b); err != nil {
			w.err = err
		}
		return
	}
	if w.werr == nil && len(w.queue) == 0 {
		n, err := w.writeLines(b)
		if err == nil {
			return
		}
		w.fail(err)
		b = b[n:]
	}
	w.hold(b)
}

// hold appends whole lines to the backlog. Past its bound the oldest
// records go, down to three quarters of it, so that a steady stream does
// not move the backlog at every write; the freshest records are the ones
// an on-call engineer needs when the file comes back.
func (w *lineFile) hold(b []byte) {
	w.queue = append(w.queue, b...)
	if len(w.queue) > w.queueMax {
		cut := len(w.queue) - w.queueMax*3/4
		if i := bytes.IndexByte(w.queue[cut-1:], '\n'); i >= 0 {
			cut += i
		} else {
			cut = len(w.queue)
		}
		w.lostN.Add(uint64(bytes.Count(w.queue[:cut], []byte{'\n'})))
		w.lostB.Add(uint64(cut))
		w.queue = w.queue[:copy(w.queue, w.queue[cut:])]
	}
	w.heldB.Store(uint64(len(w.queue) + len(w.tail)))
}

// consume removes n written bytes from the front of the backlog.
func (w *lineFile) consume(n int) {
	w.queue = w.queue[:copy(w.queue, w.queue[n:])]
	if len(w.queue) == 0 && cap(w.queue) > 64<<10 {
		w.queue = nil // give a large backlog's memory back
	}
	w.heldB.Store(uint64(len(w.queue) + len(w.tail)))
}

// writeLines writes whole lines, rotating or reopening between two lines
// when due, so each file stays under the size bound (a single line larger
// than the bound gets a file of its own). It returns how much of b was
// dealt with, always whole lines.
func (w *lineFile) writeLines(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		if w.path != "" && w.reopen.Swap(false) {
			if err := w.reopenFile(); err != nil {
				return done, err
			}
		}
		chunk := b[done:]
		n := len(chunk)
		if w.maxSize > 0 && w.path != "" && w.rerr == nil && w.size+int64(n) > w.maxSize {
			room := max(w.maxSize-w.size, 0)
			n = bytes.LastIndexByte(chunk[:min(int64(n), room)], '\n') + 1
			if n == 0 {
				if w.size > 0 {
					if err := w.rotate(); err != nil {
						return done, err
					}
					continue // rotated, or rotation failed and is off until the next tick
				}
				n = bytes.IndexByte(chunk, '\n') + 1 // one oversized line
			}
		}
		if n > writeChunk {
			// Bounded writes: a backlog larger than the free space still
			// goes out as far as it fits.
			if c := bytes.LastIndexByte(chunk[:writeChunk], '\n') + 1; c > 0 {
				n = c
			} else {
				n = bytes.IndexByte(chunk, '\n') + 1
			}
		}
		m, err := w.writeOut(chunk[:n])
		done += m
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// writeOut appends b, whole lines, to the file. It returns how much of b is
// dealt with: in the file, or, when a short write could not be cut back to
// its last whole line, the rest of that line kept in w.tail to complete it
// in the same file later.
func (w *lineFile) writeOut(b []byte) (int, error) {
	if w.f == nil {
		return 0, fmt.Errorf("output %q is not open", w.path)
	}
	off := w.size
	if w.regular {
		// The real end, in case someone truncated the file (copytruncate).
		if end, err := w.f.Seek(0, io.SeekEnd); err == nil {
			off = end
		}
		if w.prealloc {
			if err := preallocate(w.f, off, int64(len(b))); err != nil {
				if !refusesWrite(err) {
					w.prealloc = false // not supported here: cut back instead
				} else if half := bytes.LastIndexByte(b[:len(b)/2], '\n') + 1; half > 0 {
					return w.writeOut(b[:half]) // a nearly full disk still takes some
				} else {
					return 0, fmt.Errorf("write output %q: %w", w.path, err)
				}
			}
		}
	}
	n, err := w.f.Write(b)
	w.dirty.Store(true)
	if err == nil {
		w.size = off + int64(n)
		return n, nil
	}
	err = fmt.Errorf("write output %q: %w", w.path, bare(err))
	whole := bytes.LastIndexByte(b[:n], '\n') + 1
	if whole == n {
		w.size = off + int64(n)
		return n, err
	}
	if w.regular && w.f.Truncate(off+int64(whole)) == nil {
		w.size = off + int64(whole)
		return whole, err
	}
	end := n + bytes.IndexByte(b[n:], '\n') + 1
	w.tail = append(w.tail[:0], b[n:end]...)
	w.size = off + int64(n)
	return end, err
}

// refusesWrite says whether a failed preallocation means the write would
// fail too (no space, quota, size limit, I/O error), rather than that the
// file system cannot preallocate.
func refusesWrite(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EIO)
}

// bare drops the path from a *fs.PathError: the message names it already.
func bare(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// reopenFile closes the file and opens the path again.
func (w *lineFile) reopenFile() error {
	if w.f != nil {
		w.f.Close() // what was written is in the kernel's hands already
		w.f = nil
	}
	return w.open()
}

// service runs at a line boundary, once a tick: it completes a record cut
// short, reopens the path when asked or while failing, writes the backlog,
// and retries a rotation that failed.
func (w *lineFile) service() {
	if len(w.tail) > 0 {
		n, err := w.f.Write(w.tail)
		w.tail = w.tail[n:]
		if err != nil {
			w.fail(fmt.Errorf("write output %q: %w", w.path, bare(err)))
			return
		}
		w.tail = nil
	}
	if w.reopen.Swap(false) || w.werr != nil {
		if err := w.reopenFile(); err != nil {
			w.fail(err)
			return
		}
	}
	if len(w.queue) > 0 {
		n, err := w.writeLines(w.queue)
		w.consume(n)
		if err != nil {
			w.fail(err)
			return
		}
	}
	if w.werr != nil {
		w.recovered()
	}
	if w.maxSize > 0 && w.size > w.maxSize {
		if err := w.rotate(); err != nil {
			w.fail(err)
		}
	} else if w.rerr != nil {
		w.rerr = nil // rotated by someone else; nothing to retry
	}
}

// fail records that the file cannot be written. Each reason is reported
// once per outage, however often it recurs.
func (w *lineFile) fail(err error) {
	if w.werr == nil {
		w.said = map[string]bool{}
		w.atStart = [2]uint64{w.lostN.Load(), w.lostB.Load()}
	}
	w.werr = err
	w.healthy.Store(false)
	if msg := err.Error(); !w.said[msg] && len(w.said) < 8 {
		w.said[msg] = true
		w.logf("%v; holding up to %d MiB of records in memory and retrying", err, w.queueMax>>20)
	}
}

// recovered reports the end of an outage and what it cost.
func (w *lineFile) recovered() {
	n, b := w.lostN.Load()-w.atStart[0], w.lostB.Load()-w.atStart[1]
	if n == 0 {
		w.logf("output %q is written again; no record lost", w.path)
	} else {
		w.logf("output %q is written again; %d records (%d bytes) were dropped while it was not", w.path, n, b)
	}
	w.werr, w.said = nil, nil
	w.healthy.Store(w.serr == nil)
}

// Boundary services the file: a requested reopen, a retry of a failed write
// or reopen, a retry of a failed rotation. Call it after flushing the EVE
// writer, once a tick. For a file it returns nil: failures and recoveries
// are reported once each, on stderr.
func (w *lineFile) Boundary() error {
	if w.path == "" {
		return w.err
	}
	w.service()
	return nil
}

// rotate shifts path.N-1 -> path.N ... path -> path.1 and starts a new
// file. A rotation that fails leaves the current file open and growing (a
// larger file loses nothing), reported once and retried at the next tick.
// It returns an error only when no file is open afterwards.
func (w *lineFile) rotate() error {
	err := w.f.Sync()
	if err == nil {
		err = w.shift()
	} else {
		err = fmt.Errorf("rotate output %q: sync: %w", w.path, err)
	}
	if err != nil {
		if w.rerr == nil || w.rerr.Error() != err.Error() {
			w.logf("%v; writing on past --rotate-size and retrying", err)
		}
		w.rerr = err
		return nil
	}
	if w.rerr != nil {
		w.logf("output %q rotates again", w.path)
		w.rerr = nil
	}
	w.f.Close()
	w.f = nil
	return w.open()
}

// shift renames the rotated files that exist, from the highest index
// down, so its work is bounded by the files present, not by --rotate-keep.
// Renaming and removing never follow a symbolic link.
func (w *lineFile) shift() error {
	dir, base := filepath.Split(w.path)
	if dir == "" {
		dir = "."
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("rotate output %q: %w", w.path, err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("rotate output %q: %w", w.path, err)
	}
	var idx []int
	for _, name := range names {
		s, ok := strings.CutPrefix(name, base+".")
		if !ok {
			continue
		}
		if i, err := strconv.Atoi(s); err == nil && i >= 1 && i <= w.keep && strconv.Itoa(i) == s {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	name := func(i int) string { return w.path + "." + strconv.Itoa(i) }
	for _, i := range slices.Backward(idx) {
		if i == w.keep {
			err = os.Remove(name(i))
		} else {
			err = w.rename(name(i), name(i+1))
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate output: %w", err)
		}
	}
	if w.keep > 0 {
		err = w.rename(w.path, name(1))
	} else {
		err = os.Remove(w.path)
	}
	if err != nil {
		return fmt.Errorf("rotate output: %w", err)
	}
	return nil
}

// Sync flushes the file to disk if anything was written since the last
// call. Safe to call from another goroutine than Write's only when the
// caller holds the same lock as the writer (the file may be rotating). A
// failure is reported when it starts and when it ends, not at every call:
// what it lost cannot be known, so there is nothing to retry.
func (w *lineFile) Sync() error {
	if w.path == "" || w.f == nil || w.werr != nil || !w.dirty.Swap(false) {
		return nil
	}
	err := w.f.Sync()
	if unsyncable(err) {
		err = nil
	}
	switch {
	case err != nil && w.serr == nil:
		w.logf("sync output %q: %v; records written since the last sync may not be on disk", w.path, bare(err))
	case err == nil && w.serr != nil:
		w.logf("output %q syncs again", w.path)
	}
	w.serr = err
	w.healthy.Store(w.werr == nil && w.serr == nil)
	return nil
}

// Close makes a last attempt to write what is held, then closes the file.
// Records it still cannot write are counted as lost and named in the
// error; a pending partial line is dropped (the EVE writer only leaves one
// when it was itself cut off).
func (w *lineFile) Close() error {
	if w.path == "" {
		return w.err
	}
	w.service()
	var errs []error
	if held := len(w.queue) + len(w.tail); held > 0 {
		recs := bytes.Count(w.queue, []byte{'\n'})
		if len(w.tail) > 0 {
			recs++
		}
		w.lostN.Add(uint64(recs))
		w.lostB.Add(uint64(held))
		errs = append(errs, fmt.Errorf("output %q: %d records (%d bytes) could not be written: %v", w.path, recs, held, w.werr))
		w.queue, w.tail = nil, nil
		w.heldB.Store(0)
	}
	if w.f != nil {
		if err := w.f.Sync(); err != nil && w.werr == nil && !unsyncable(err) {
			errs = append(errs, fmt.Errorf("sync output %q: %w", w.path, bare(err)))
		}
		if err := w.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close output %q: %w", w.path, bare(err)))
		}
		w.f = nil
	}
	if len(w.pending) > 0 {
		errs = append(errs, fmt.Errorf("output %q: dropped %d bytes of an unfinished record", w.path, len(w.pending)))
	}
	return errors.Join(errs...)
}

// unsyncable reports fsync's answer for a file that has no disk to reach
// (/dev/null, a FIFO, a terminal): EINVAL, "does not support
// synchronization". Nothing is lost there, so it is no output failure.
func unsyncable(err error) bool { return errors.Is(err, syscall.EINVAL) }

var _ io.Writer = (*lineFile)(nil)
