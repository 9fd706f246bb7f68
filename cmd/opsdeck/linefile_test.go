package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// These tests drive lineFile, watch's EVE output, on real files: a tmpfs
// that fills up, directories that vanish, links planted by another user.
// The tests through the binary are in watch_output_test.go.

// testLineFile opens a lineFile whose reports go to *log instead of stderr.
func testLineFile(t *testing.T, path string, maxSize int64, keep int) (*lineFile, *[]string) {
	t.Helper()
	w, err := openLineFile(path, maxSize, keep)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	w.logf = func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }
	t.Cleanup(func() { w.Close() })
	return w, &log
}

// seqRecord is one EVE-like line of exactly size bytes carrying seq.
func seqRecord(seq, size int) []byte {
	head := fmt.Sprintf(`{"seq":%d,"pad":"`, seq)
	return []byte(head + strings.Repeat("x", size-len(head)-3) + "\"}\n")
}

// wholeLines fails unless every line of path is a complete JSON record and
// returns their seq values.
func wholeLines(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s ends in a partial line: %q", path, b[max(0, len(b)-60):])
	}
	var seqs []int
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r struct{ Seq int }
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s line %d is not whole JSON: %v: %.60q", path, i+1, err, line)
		}
		seqs = append(seqs, r.Seq)
	}
	return seqs
}

// TestLineFileRotateKeepHuge: --rotate-keep 1000000000 used to cost a
// billion rename calls per rotation. Rotation must only rename the files
// that exist: the k-th rotation renames k files (k-1 rotated ones and the
// live one), whatever the bound. With a small bound, the oldest file goes.
// Names that only look like rotated files are left alone.
func TestLineFileRotateKeepHuge(t *testing.T) {
	const recSize, perFile, rotations = 100, 2, 12
	for _, keep := range []int{1_000_000_000, 3} {
		t.Run(fmt.Sprint(keep), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "eve.json")
			strangers := []string{"eve.json.007", "eve.json.+2", "eve.json.x", "eve.json.0", "eve.json.1000000001"}
			for _, s := range strangers {
				os.WriteFile(filepath.Join(dir, s), []byte("not ours\n"), 0o600)
			}
			w, _ := testLineFile(t, path, recSize*perFile, keep)
			renames := 0
			w.rename = func(a, b string) error { renames++; return os.Rename(a, b) }
			var want []int
			for k := 1; k <= rotations; k++ {
				before := renames
				for range perFile {
					seq := len(want)
					want = append(want, seq)
					w.Write(seqRecord(seq, recSize))
				}
				if k == 1 {
					continue // the first file fills without a rotation
				}
				// This write does not fit: the file rotates first.
				if got, wantN := renames-before, min(k-1, keep); got != wantN {
					t.Fatalf("rotation %d: %d renames, want %d (one per existing file)", k-1, got, wantN)
				}
			}
			w.Close()
			var got []int
			for i := min(rotations-1, keep); i >= 1; i-- {
				got = append(got, wholeLines(t, fmt.Sprintf("%s.%d", path, i))...)
			}
			got = append(got, wholeLines(t, path)...)
			if keep < rotations {
				want = want[len(want)-(keep+1)*perFile:]
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("records across the files %v, want %v", got, want)
			}
			for _, s := range strangers {
				if b, err := os.ReadFile(filepath.Join(dir, s)); err != nil || string(b) != "not ours\n" {
					t.Errorf("%s was touched by rotation: %q %v", s, b, err)
				}
			}
			if _, err := os.Stat(fmt.Sprintf("%s.%d", path, min(rotations, keep+1))); err == nil {
				t.Errorf("more rotated files than --rotate-keep %d", keep)
			}
		})
	}
}

// TestLineFileRotatesLinksNotTargets: symbolic links planted under the
// rotated names are renamed or removed as links; their target is never
// written, moved or removed.
func TestLineFileRotatesLinksNotTargets(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(target, []byte("precious\n"), 0o600)
	path := filepath.Join(dir, "eve.json")
	for _, n := range []string{".1", ".2"} {
		if err := os.Symlink(target, path+n); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := testLineFile(t, path, 100, 2)
	for seq := range 3 {
		w.Write(seqRecord(seq, 100)) // each record rotates the previous one
	}
	w.Close()
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the links' target changed: %q", b)
	}
	for _, n := range []string{".1", ".2"} {
		if st, err := os.Lstat(path + n); err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s: want one of our rotated files, got %v %v", n, st, err)
		}
	}
}

// TestLineFileRefusesSymlink: the output path itself is a link, at open and
// at a reopen (the file moved away and a link put in its place). Neither
// writes through it; the reopen is retried, and once the link is gone the
// held records reach a new file.
func TestLineFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(target, []byte("precious\n"), 0o600)
	path := filepath.Join(dir, "eve.json")
	os.Symlink(target, path)
	_, err := openLineFile(path, 0, 0)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), "remove the link") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("open of a link: want one line naming the link and the fix, got %v", err)
	}
	os.Remove(path)

	w, log := testLineFile(t, path, 0, 0)
	w.Write(seqRecord(0, 80))
	os.Rename(path, path+".moved")
	os.Symlink(target, path)
	w.RequestReopen()
	w.Write(seqRecord(1, 80))
	for range 3 {
		w.Boundary()
	}
	if w.Healthy() || w.Held() != 80 {
		t.Errorf("after a refused reopen: healthy %v, %d bytes held; want false, 80", w.Healthy(), w.Held())
	}
	if len(*log) != 1 || !strings.Contains((*log)[0], "symbolic link") {
		t.Errorf("want the refusal reported once, got %q", *log)
	}
	os.Remove(path)
	w.Boundary()
	w.Close()
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the link's target changed: %q", b)
	}
	if got := fmt.Sprint(wholeLines(t, path+".moved"), wholeLines(t, path)); got != "[0] [1]" {
		t.Errorf("records %s, want [0] [1]", got)
	}
	if !w.Healthy() || len(*log) != 2 || !strings.Contains((*log)[1], "written again; no record lost") {
		t.Errorf("want one recovery report, got %q", *log)
	}
}

// TestLineFileOutage: the output's directory disappears and SIGHUP asks
// for a reopen, which fails; records keep coming. The failure is reported
// once, however many ticks it lasts; records wait in the backlog, the
// oldest dropped past its bound and counted; when the directory returns,
// the next tick writes what is held, whole lines in order, and the
// recovery is reported with the loss.
func TestLineFileOutage(t *testing.T) {
	const recSize, total = 100, 60
	for _, bound := range []int{1 << 20, 1000} {
		t.Run(fmt.Sprint(bound), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sub")
			os.Mkdir(dir, 0o700)
			path := filepath.Join(dir, "eve.json")
			w, log := testLineFile(t, path, 0, 0)
			w.queueMax = bound
			w.Write(seqRecord(0, recSize))
			os.Rename(dir, dir+".away")
			w.RequestReopen()
			// Records arrive in pieces that split lines anywhere.
			var stream []byte
			for seq := 1; seq < total; seq++ {
				stream = append(stream, seqRecord(seq, recSize)...)
			}
			for len(stream) > 0 {
				n := min(len(stream), 37)
				w.Write(stream[:n])
				stream = stream[n:]
				w.Boundary()
			}
			if w.Healthy() {
				t.Fatal("healthy while the directory is gone")
			}
			if len(*log) != 1 || !strings.Contains((*log)[0], "open output") {
				t.Fatalf("want the failed reopen reported once, got %q", *log)
			}
			lostN, lostB := w.Lost()
			held := w.Held()
			if held > uint64(bound) || lostB+held != (total-1)*recSize || lostN*recSize != lostB {
				t.Fatalf("held %d (bound %d), lost %d records / %d bytes: they must add up to the %d bytes written", held, bound, lostN, lostB, (total-1)*recSize)
			}
			if bound < (total-1)*recSize && lostN == 0 {
				t.Fatal("nothing dropped although more than the bound was held")
			}
			os.Mkdir(dir, 0o700)
			w.Boundary()
			if !w.Healthy() || w.Held() != 0 {
				t.Fatalf("after the directory returned: healthy %v, %d held", w.Healthy(), w.Held())
			}
			w.Write(seqRecord(total, recSize))
			w.Close()
			got := wholeLines(t, path)
			var want []int
			for seq := 1 + int(lostN); seq <= total; seq++ {
				want = append(want, seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("records after the outage %v, want the newest %v", got, want)
			}
			wantLog := "no record lost"
			if lostN > 0 {
				wantLog = fmt.Sprintf("%d records (%d bytes) were dropped", lostN, lostB)
			}
			if len(*log) != 2 || !strings.Contains((*log)[1], wantLog) {
				t.Errorf("want one recovery report saying %q, got %q", wantLog, *log)
			}
		})
	}
}

// tmpfs mounts a tmpfs of size bytes on a new directory, for a real full
// disk; it skips when mounting is not permitted.
func tmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs for a full disk needs root: skipped")
	}
	dir, err := os.MkdirTemp("", "opsdeck-full")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("mount -t tmpfs not permitted here (%v: %s): skipped", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		exec.Command("umount", dir).Run()
		os.Remove(dir)
	})
	return dir
}

// fill writes a filler file until the file system is full, then gives
// back free bytes of it.
func fill(t *testing.T, path string, free int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for {
		if _, err := f.Write(make([]byte, 512)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(max(st.Size()-free, 0)); err != nil {
		t.Fatal(err)
	}
}

// TestLineFileFullDisk fills a real tmpfs while records are written in
// pieces that split lines anywhere: after every write the file holds only
// whole JSON lines. With the disk full, records are held up to the bound,
// the rest dropped and counted. Once space is freed, the next tick writes
// the held records. Every record written is in the file or counted lost,
// exactly. It runs with space reserved before each write (fallocate) and
// without, where a short write is cut back to its last whole line.
func TestLineFileFullDisk(t *testing.T) {
	for _, mode := range []string{"fallocate", "cut-back"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "cut-back" {
				saved := preallocate
				preallocate = nil
				t.Cleanup(func() { preallocate = saved })
			} else if preallocate == nil {
				t.Skip("no preallocation on this system: skipped")
			}
			dir := tmpfs(t, 64<<10)
			path := filepath.Join(dir, "eve.json")
			w, log := testLineFile(t, path, 0, 0)
			w.queueMax = 16 << 10
			fill(t, filepath.Join(dir, "filler"), 20000)

			seq, sizes := 0, []int{150, 333, 1000, 90, 4097}
			var stream []byte
			for w.Healthy() || w.Held() < 12<<10 || func() bool { n, _ := w.Lost(); return n == 0 }() {
				for range 4 {
					stream = append(stream, seqRecord(seq, sizes[seq%len(sizes)])...)
					seq++
				}
				n := min(len(stream), 1+seq*7919%6000)
				w.Write(stream[:n])
				stream = stream[n:]
				wholeLines(t, path)
				w.Boundary()
				wholeLines(t, path)
				if seq > 10000 {
					t.Fatal("the disk never filled")
				}
			}
			if w.Held() > uint64(w.queueMax) {
				t.Errorf("%d bytes held, over the %d bound", w.Held(), w.queueMax)
			}
			if len(*log) != 1 || !strings.Contains((*log)[0], "no space left on device") {
				t.Errorf("want the full disk reported once, got %q", *log)
			}
			// Free a little space: the next tick writes what fits of the
			// backlog, whole records, and stays in the failed state.
			held := w.Held()
			if err := os.Truncate(filepath.Join(dir, "filler"), 0); err != nil {
				t.Fatal(err)
			}
			fill(t, filepath.Join(dir, "filler2"), 6000)
			w.Boundary()
			if w.Healthy() || w.Held() >= held {
				t.Errorf("with 6000 bytes freed: healthy %v, held %d -> %d; want some of the backlog written", w.Healthy(), held, w.Held())
			}
			wholeLines(t, path)
			// Free the space; the next tick resumes.
			os.Remove(filepath.Join(dir, "filler2"))
			w.Boundary()
			if !w.Healthy() {
				t.Fatal("not healthy after space was freed")
			}
			w.Write(stream) // the end of the last record
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := wholeLines(t, path)
			lostN, lostB := w.Lost()
			var missingB uint64
			next := 0
			for _, s := range got {
				if s < next {
					t.Fatalf("record %d out of order", s)
				}
				for ; next < s; next++ {
					missingB += uint64(len(seqRecord(next, sizes[next%len(sizes)])))
				}
				next = s + 1
			}
			if next != seq || uint64(seq-len(got)) != lostN || missingB != lostB {
				t.Errorf("%d records written, %d in the file, last %d: %d missing (%d bytes), Lost says %d (%d bytes)",
					seq, len(got), next-1, seq-len(got), missingB, lostN, lostB)
			}
			if len(*log) != 2 || !strings.Contains((*log)[1], fmt.Sprintf("%d records (%d bytes) were dropped", lostN, lostB)) {
				t.Errorf("want one recovery report with the loss, got %q", *log)
			}
			t.Logf("%d records, %d in the file, %d lost (%d bytes)", seq, len(got), lostN, lostB)
		})
	}
}
