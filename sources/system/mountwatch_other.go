//go:build !linux

package system

import "errors"

// mountWatch: mount change notifications are Linux's.
type mountWatch struct{}

func openMountWatch(string) (*mountWatch, error) {
	return nil, errors.New("no mount change notifications")
}

func (w *mountWatch) changed() bool { return true }

func (w *mountWatch) close() {}
