package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests drive the real binary's -o file through a full disk, a
// vanished directory, a huge --rotate-keep and paths planted by another
// user. lineFile's own tests are in linefile_test.go.

// outWatch is a running "opsdeck watch" whose stderr goes to a file, so
// the test can read it while the process runs.
type outWatch struct {
	cmd    *exec.Cmd
	errLog string
	done   chan error
}

func runWatchOut(t *testing.T, bin string, args ...string) *outWatch {
	t.Helper()
	errLog := filepath.Join(t.TempDir(), "stderr")
	ef, err := os.Create(errLog)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	cmd := exec.Command(bin, append([]string{"watch", "-i", "lo"}, args...)...)
	cmd.Stderr = ef
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &outWatch{cmd: cmd, errLog: errLog, done: make(chan error, 1)}
	go func() { w.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-w.done
		}
	})
	return w
}

func (w *outWatch) stderr() string {
	b, _ := os.ReadFile(w.errLog)
	return string(b)
}

// count returns how many lines of stderr contain s.
func (w *outWatch) count(s string) int {
	n := 0
	for _, l := range strings.Split(w.stderr(), "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// wait waits for the process to end by itself, or fails.
func (w *outWatch) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-w.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("watch did not end:\n%s", w.stderr())
		return nil
	}
}

func (w *outWatch) stop(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w.wait(t); err != nil {
		t.Fatalf("watch exited with %v after SIGTERM:\n%s", err, w.stderr())
	}
}

// lineCount is the number of newlines in path, 0 if it is missing.
func lineCount(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// TestWatchOutputFullDisk: watch -o on a 64 KiB tmpfs that fills up while
// host records are written. The file holds only whole JSON lines; the full
// disk is reported once, not once a second; records made while it is full
// wait in memory, and once space is freed they reach the file in order, the
// recovery is reported once, and the run ends with the final stats record.
func TestWatchOutputFullDisk(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	dir := tmpfs(t, 64<<10)
	out := filepath.Join(dir, "eve.json")
	fill(t, filepath.Join(dir, "filler"), 6000)
	w := runWatchOut(t, bin, "-o", out, "--host-interval", "20ms", "tcp port 1")
	waitFor(t, "the full disk to be reported", func() bool { return w.count("no space left on device") > 0 })
	full := time.Now()
	eveFiles(t, []string{out})
	// Several ticks with the disk full, each producing a host record.
	time.Sleep(3 * time.Second)
	freed := time.Now()
	os.Remove(filepath.Join(dir, "filler"))
	waitFor(t, "the recovery to be reported", func() bool { return w.count("written again") > 0 })
	w.stop(t)

	recs := eveFiles(t, []string{out})
	if len(recs) == 0 || recs[len(recs)-1]["event_type"] != "stats" {
		t.Fatalf("the last record is not the final stats record")
	}
	// The backlog took the whole outage: the stats record says nothing
	// was lost and nothing is still held.
	st := recs[len(recs)-1]
	for _, k := range []string{"lost_records", "lost_bytes", "held_bytes"} {
		if v := st.str("opsdeck.stats.output." + k); v != "0" {
			t.Errorf("stats.output.%s = %q, want 0", k, v)
		}
	}
	var last time.Time
	held := 0
	for _, r := range ofType(recs, "host") {
		ts, err := time.Parse("2006-01-02T15:04:05.999999-0700", r.str("timestamp"))
		if err != nil {
			t.Fatal(err)
		}
		if !ts.After(last) {
			t.Errorf("host record %s after %s: out of order or repeated", ts, last)
		}
		last = ts
		if ts.After(full) && ts.Before(freed) {
			held++
		}
	}
	if held == 0 {
		t.Errorf("no host record from the %s the disk was full: the held records were not written", freed.Sub(full).Round(time.Second))
	}
	if n, r := w.count("no space left on device"), w.count("written again; no record lost"); n != 1 || r != 1 {
		t.Errorf("want the full disk and the recovery reported once each, got %d and %d:\n%s", n, r, w.stderr())
	}
	t.Logf("%d records, %d of them held while the disk was full", len(recs), held)
}

// TestWatchOutputReopenRetried: the -o file's directory is moved away and
// SIGHUP sent, so the reopen fails. That is no longer the end of the
// output: the failure is reported once, and when the directory exists
// again the next tick opens the file there and writes the held records.
func TestWatchOutputReopenRetried(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	sub := filepath.Join(t.TempDir(), "sub")
	os.Mkdir(sub, 0o700)
	out := filepath.Join(sub, "eve.json")
	w := runWatchOut(t, bin, "-o", out, "--host-interval", "20ms", "tcp port 1")
	waitFor(t, "a first host record", func() bool { return lineCount(out) > 0 })
	if err := os.Rename(sub, sub+".away"); err != nil {
		t.Fatal(err)
	}
	w.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the failed reopen to be reported", func() bool { return w.count("open output") > 0 })
	time.Sleep(2 * time.Second) // ticks that retry and fail
	os.Mkdir(sub, 0o700)
	waitFor(t, "the output to come back", func() bool { return w.count("written again") > 0 })
	w.stop(t)

	eveFiles(t, []string{filepath.Join(sub+".away", "eve.json")})
	recs := eveFiles(t, []string{out})
	if len(ofType(recs, "host")) < 2 || recs[len(recs)-1]["event_type"] != "stats" {
		t.Errorf("%d records in the reopened file; want held host records, then the final stats", len(recs))
	}
	if n := w.count("open output"); n != 1 {
		t.Errorf("the failed reopen reported %d times, want once:\n%s", n, w.stderr())
	}
}

// TestWatchRotateKeepHuge: with --rotate-keep 1000000000 each rotation
// used to try a billion renames, pinning a core and making SIGTERM wait
// for ever. Now rotation costs the files that exist: the files rotate, and
// SIGTERM ends the run with the final stats record.
func TestWatchRotateKeepHuge(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "eve.json")
	base := 20000 + rand.IntN(20000)
	w := runWatchOut(t, bin, "-o", out, "--rotate-size", "1KiB", "--rotate-keep", "1000000000",
		"--host-interval", "20ms", fmt.Sprintf("tcp portrange %d-%d", base, base+99))
	connectScan(t, "127.0.0.1", base, 100)
	waitFor(t, "four rotations", func() bool { _, err := os.Stat(out + ".4"); return err == nil })
	w.stop(t)

	rotated, _ := filepath.Glob(out + ".*")
	var files []string
	for i := len(rotated); i >= 1; i-- {
		f := fmt.Sprintf("%s.%d", out, i)
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("rotated files %v are not %s.1 to .%d", rotated, out, len(rotated))
		}
		files = append(files, f)
	}
	recs := eveFiles(t, append(files, out))
	if len(recs) == 0 || recs[len(recs)-1]["event_type"] != "stats" {
		t.Errorf("the last record is not the final stats record")
	}
}

// sharedTempDir makes a directory with mode perm that user nobody can
// write to.
func sharedTempDir(t *testing.T, perm os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "opsdeck-shared")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}

// asNobody runs a command as user nobody, the hostile local user.
func asNobody(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("setpriv", append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as nobody: %v: %v: %s", args, err, out)
	}
}

// TestWatchOutputRefusesPlantedPaths: root's watch -o in a directory where
// user nobody planted a symbolic link to a file of root's, or a file of its
// own; in a world-writable directory without the sticky bit; onto a file
// with a second hard link. Each run ends at once with one line naming the
// problem and the fix, and the target is untouched. In a sticky shared
// directory where nothing was planted, watch runs and warns.
func TestWatchOutputRefusesPlantedPaths(t *testing.T) {
	needCapture(t)
	if os.Geteuid() != 0 {
		t.Skip("the checks are root's; run as root: skipped")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed, needed to act as nobody: skipped")
	}
	bin := buildOpsdeck(t)
	const precious = "root's file\n"
	for _, c := range []struct {
		name  string
		plant func(t *testing.T, target string) string // returns the -o path
		want  []string                                 // in the one error line; nil: runs
	}{
		{"symlink-by-nobody", func(t *testing.T, target string) string {
			p := filepath.Join(sharedTempDir(t, os.ModeSticky|0o777), "eve.json")
			asNobody(t, "ln", "-s", target, p)
			return p
		}, []string{"is a symbolic link", "remove the link"}},
		{"file-by-nobody", func(t *testing.T, target string) string {
			p := filepath.Join(sharedTempDir(t, os.ModeSticky|0o777), "eve.json")
			asNobody(t, "sh", "-c", `printf "nobody's file\n" > "$0"`, p)
			return p
		}, []string{"belongs to uid 65534", "remove it"}},
		{"world-writable-not-sticky", func(t *testing.T, target string) string {
			return filepath.Join(sharedTempDir(t, 0o777), "eve.json")
		}, []string{"writable by users other than root", "use a directory only root can write"}},
		{"hard-link", func(t *testing.T, target string) string {
			p := filepath.Join(t.TempDir(), "eve.json")
			if err := os.Link(target, p); err != nil {
				t.Fatal(err)
			}
			return p
		}, []string{"2 hard links", "choose another -o name"}},
		{"sticky-nothing-planted", func(t *testing.T, target string) string {
			return filepath.Join(sharedTempDir(t, os.ModeSticky|0o777), "eve.json")
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "precious")
			os.WriteFile(target, []byte(precious), 0o600)
			out := c.plant(t, target)
			before, _ := os.ReadFile(out)
			w := runWatchOut(t, bin, "-o", out, "--host-interval", "20ms", "tcp port 1")
			if c.want == nil {
				waitFor(t, "records in the shared directory", func() bool { return lineCount(out) > 0 })
				w.stop(t)
				if w.count("writable by every user") != 1 {
					t.Errorf("no warning about the shared directory:\n%s", w.stderr())
				}
				eveFiles(t, []string{out})
				return
			}
			err := w.wait(t)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("watch ended with %v, want a non-zero exit", err)
			}
			msg := strings.TrimSuffix(w.stderr(), "\n")
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "opsdeck: ") {
				t.Errorf("want one error line, got %q", msg)
			}
			for _, s := range c.want {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not say %q", msg, s)
				}
			}
			if b, _ := os.ReadFile(target); string(b) != precious {
				t.Errorf("the target was written: %q", b)
			}
			if after, _ := os.ReadFile(out); string(after) != string(before) {
				t.Errorf("%s changed from %q to %q", out, before, after)
			}
		})
	}
}
