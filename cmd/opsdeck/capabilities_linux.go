package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// keptCaps are the capabilities --user keeps: capture (CAP_NET_RAW, and
// CAP_NET_ADMIN for promiscuous mode and socket options) and naming the
// process behind a flow when it belongs to another user (CAP_SYS_PTRACE
// to read /proc/PID/fd, CAP_DAC_READ_SEARCH to get into /proc/PID at all).
// Without them, flows of other users' processes are "unknown process".
var keptCaps = []uintptr{unix.CAP_NET_RAW, unix.CAP_NET_ADMIN, unix.CAP_SYS_PTRACE, unix.CAP_DAC_READ_SEARCH}

const keptCapNames = "CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"

func keptMask() uint64 {
	var m uint64
	for _, c := range keptCaps {
		m |= 1 << c
	}
	return m
}

// capKeeper carries capabilities across the uid change of dropPrivileges.
// Every step applies to every thread of the process: capabilities are per
// thread in Linux, and any Go thread may read /proc for attribution.
// syscall.AllThreadsSyscall does that in a binary built without cgo (as
// make build and releases are); with cgo it cannot, and the drop then
// keeps nothing (said once on stderr).
type capKeeper struct{ ok bool }

// beforeSetuid (as root) narrows the bounding set to keptCaps, so no
// later exec can regain more, and asks the kernel to keep the permitted
// set across setuid (PR_SET_KEEPCAPS).
func beforeSetuid() (*capKeeper, error) {
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); e != 0 {
		if e == unix.ENOTSUP {
			fmt.Fprintf(os.Stderr, "opsdeck: --user: this binary was built with cgo, which cannot keep capabilities on every thread; after the drop, flows of other users' processes stay unattributed (build with CGO_ENABLED=0, as make build does)\n")
			return &capKeeper{}, nil
		}
		return nil, fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", e)
	}
	last := lastCap()
	keep := keptMask()
	for c := uintptr(0); c <= last; c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0); e != 0 && e != unix.EINVAL {
			return nil, fmt.Errorf("prctl(PR_CAPBSET_DROP, %d): %w", c, e)
		}
	}
	return &capKeeper{ok: true}, nil
}

// afterSetuid sets the permitted, effective and inheritable sets of every
// thread to exactly keptCaps (setuid with PR_SET_KEEPCAPS kept the
// permitted set and emptied the effective one), and checks every thread.
func (k *capKeeper) afterSetuid() error {
	if !k.ok {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	m := keptMask()
	data[0].Effective, data[0].Permitted, data[0].Inheritable = uint32(m), uint32(m), uint32(m)
	data[1].Effective, data[1].Permitted, data[1].Inheritable = uint32(m>>32), uint32(m>>32), uint32(m>>32)
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 0, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS, 0): %w", e)
	}
	return checkThreadCaps(m)
}

// checkThreadCaps reads every thread's CapEff and CapPrm.
func checkThreadCaps(want uint64) error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("list threads: %v", err)
	}
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the thread ended
			}
			return err
		}
		for _, key := range []string{"CapEff:", "CapPrm:"} {
			if got, ok := statusHex(string(b), key); !ok || got != want {
				return fmt.Errorf("thread %s: %s %016x, want %016x (%s)", filepath.Base(filepath.Dir(path)), key, got, want, keptCapNames)
			}
		}
	}
	return nil
}

func statusHex(status, key string) (uint64, bool) {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// lastCap is the highest capability the kernel knows.
func lastCap() uintptr {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 && n < 64 {
			return uintptr(n)
		}
	}
	return unix.CAP_LAST_CAP
}
