//go:build !linux

package system

import (
	"errors"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

func diagTCPAll() ([]hoststat.Socket, error) {
	return nil, errors.New("sock_diag is Linux only")
}
