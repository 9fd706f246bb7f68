package system

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// keptTargets checks that every file the sampler keeps is open on its own
// process's stat or io file and that the count matches, and returns the
// descriptors with what they are open on.
func keptTargets(t *testing.T, s *Sampler) map[int]string {
	t.Helper()
	got := map[int]string{}
	for pid, st := range s.procs {
		for name, k := range map[string]keptFile{"stat": st.statFile, "io": st.ioFile} {
			if k == 0 {
				continue
			}
			fd := int(k) - 1
			want := "/proc/" + strconv.Itoa(int(pid)) + "/" + name
			l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			if err != nil || l != want {
				t.Fatalf("kept %s of %d: descriptor %d is open on %q (%v)", name, pid, fd, l, err)
			}
			got[fd] = want
		}
	}
	if len(got) != s.kept.n {
		t.Fatalf("%d files kept, %d counted", len(got), s.kept.n)
	}
	return got
}

// TestKeptProcFiles: a process's stat and io files stay open between
// samples and read what opening them reads; when the process exits its
// descriptors are closed and its pid forgotten; closeAll closes the rest.
func TestKeptProcFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	c := exec.Command("sleep", "600")
	if err := c.Start(); err != nil {
		t.Skipf("start a helper process: %v", err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	pid := int32(c.Process.Pid)
	stat := "/proc/" + strconv.Itoa(int(pid)) + "/stat"

	s := New()
	ctx := context.Background()
	if _, err := s.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	keptTargets(t, s)
	st := s.procs[pid]
	if st == nil || st.statFile == 0 {
		t.Fatalf("sleep's stat file not kept: %+v", st)
	}
	if st.ioFile == 0 && !st.ioDenied {
		t.Fatal("sleep's io file not kept")
	}
	kept, err := s.readKept(&st.statFile, stat)
	if err != nil {
		t.Fatal(err)
	}
	keptStat := string(kept)
	fresh, err := s.read(stat)
	if err != nil {
		t.Fatal(err)
	}
	if keptStat != string(fresh) { // a sleeping process's stat holds still
		t.Fatalf("kept stat read %q, fresh %q", keptStat, fresh)
	}
	snap, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !hasPID(snap.Processes, pid) {
		t.Fatal("second sample lost sleep")
	}

	c.Process.Kill()
	c.Wait()
	// An exited process's kept descriptor fails, and its path is gone.
	if _, err := s.readFD(int(s.procs[pid].statFile)-1, stat, true); err == nil {
		t.Fatal("an exited process's kept stat file still reads")
	}
	snap, err = s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hasPID(snap.Processes, pid) || s.procs[pid] != nil {
		t.Fatal("exited process still listed")
	}
	open := keptTargets(t, s)
	s.kept.closeAll()
	for fd, was := range open {
		if l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && l == was {
			t.Fatalf("closeAll left descriptor %d open on %s", fd, was)
		}
	}
}

func hasPID(ps []hoststat.Process, pid int32) bool {
	for _, p := range ps {
		if p.PID == pid {
			return true
		}
	}
	return false
}

// TestKeptProcFilesBound: past its bound the sampler opens files per
// sample as before, and every process is still sampled.
func TestKeptProcFilesBound(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	s := New()
	s.setup()
	s.kept.limit = 3
	ctx := context.Background()
	for range 2 {
		snap, err := s.Sample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Processes) < 4 {
			t.Skipf("only %d processes", len(snap.Processes))
		}
		if n := len(keptTargets(t, s)); n != 3 {
			t.Fatalf("%d files kept, bound 3", n)
		}
	}
	s.kept.closeAll()
}
