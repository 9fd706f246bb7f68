//go:build linux

package system

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// mountWatch tells when the namespace's mount table changed: after a mount
// or unmount the kernel reports POLLPRI|POLLERR once on an open
// /proc/self/mountinfo (proc(5)), so the table is parsed again only then.
type mountWatch struct {
	fd  int
	pfd [1]unix.PollFd
}

func openMountWatch(path string) (*mountWatch, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s to watch mounts: %w", path, err)
	}
	return &mountWatch{fd: fd}, nil
}

// changed says whether the mount table changed since the last call (since
// the open, the first time). An error counts as a change.
func (w *mountWatch) changed() bool {
	w.pfd[0] = unix.PollFd{Fd: int32(w.fd), Events: unix.POLLPRI}
	for {
		n, err := unix.Poll(w.pfd[:], 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || (n > 0 && w.pfd[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0)
	}
}

func (w *mountWatch) close() { unix.Close(w.fd) }
