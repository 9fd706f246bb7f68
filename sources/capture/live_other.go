//go:build !linux && !darwin

package capture

import (
	"fmt"
	"runtime"
)

const permissionHint = "administrator rights"

// OpenLive is not available on this system; reading files with OpenFile works.
func OpenLive(iface string, opts LiveOptions) (Source, error) {
	return nil, fmt.Errorf("capture on %s: live capture is not supported on %s; read a capture file with -r instead", iface, runtime.GOOS)
}

// Interfaces lists no interfaces where live capture is not supported.
func Interfaces() ([]string, error) {
	return nil, fmt.Errorf("list capture interfaces: live capture is not supported on %s", runtime.GOOS)
}
