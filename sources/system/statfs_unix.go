//go:build linux || darwin || freebsd

package system

import (
	"fmt"
	"syscall"
)

func statfsPath(path string) (fsUsage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return fsUsage{}, fmt.Errorf("statfs %q: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return fsUsage{
		total: uint64(st.Blocks) * bs, free: uint64(st.Bfree) * bs, avail: uint64(st.Bavail) * bs,
		files: uint64(st.Files), filesFree: uint64(st.Ffree),
	}, nil
}
