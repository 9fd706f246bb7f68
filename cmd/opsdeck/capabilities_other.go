//go:build !linux

package main

// keptCapNames: other systems have no capabilities to keep; capture uses
// /dev/bpf, opened before the drop.
const keptCapNames = "nothing (no Linux capabilities on this system)"

type capKeeper struct{}

func beforeSetuid() (*capKeeper, error) { return &capKeeper{}, nil }

func (k *capKeeper) afterSetuid() error { return nil }
