//go:build !(linux || darwin || freebsd)

package system

import (
	"fmt"

	"github.com/shirou/gopsutil/v3/disk"
)

func statfsPath(path string) (fsUsage, error) {
	u, err := disk.Usage(path)
	if err != nil {
		return fsUsage{}, fmt.Errorf("usage of %q: %w", path, err)
	}
	return fsUsage{total: u.Total, free: u.Free, avail: u.Free, files: u.InodesTotal, filesFree: u.InodesFree}, nil
}
