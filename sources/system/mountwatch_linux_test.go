//go:build linux

package system

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMountWatch: the watch reports a mount once, and nothing while the
// table stays the same. It mounts a tmpfs in a mount namespace of its own
// (on a thread that ends with the test's goroutine). Needs root.
func TestMountWatch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a mount namespace")
	}
	dir := t.TempDir()
	var got []bool
	err := func() error {
		done := make(chan error)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			done <- func() error {
				if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
					return err
				}
				if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
					return err
				}
				// thread-self: /proc/self is the process's first thread, in
				// the test binary's own namespace.
				w, err := openMountWatch("/proc/thread-self/mountinfo")
				if err != nil {
					return err
				}
				defer w.close()
				got = append(got, w.changed())
				if err := unix.Mount("opsdeck-test", dir, "tmpfs", 0, "size=1m"); err != nil {
					return err
				}
				got = append(got, w.changed(), w.changed())
				if err := unix.Unmount(dir, 0); err != nil {
					return err
				}
				got = append(got, w.changed())
				return nil
			}()
		}()
		return <-done
	}()
	if errors.Is(err, unix.EPERM) {
		t.Skipf("no mount namespace here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, true, false, true}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("changed() before, after mount (twice), after unmount = %v, want %v", got, want)
		}
	}
}
