package tui

import (
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// ioMaxDevices bounds the disks and interfaces whose history is kept (a
// host with thousands of veths must not grow the console); devices past it
// have no graph and are counted in dropped.
const ioMaxDevices = 64

// ioHistory keeps the recent byte rate (read+write, rx+tx) of each disk and
// interface, one point per host sample, for the system pane's graphs.
type ioHistory struct {
	last    time.Time
	disks   map[string][]float64
	ifaces  map[string][]float64
	dropped int
}

// observe adds one point per device from h, once per sample; devices gone
// from the sample are forgotten.
func (hi *ioHistory) observe(h *hoststat.Snapshot) {
	if h == nil || h.Partial || !h.Time.After(hi.last) {
		return
	}
	hi.last = h.Time
	if hi.disks == nil {
		hi.disks, hi.ifaces = map[string][]float64{}, map[string][]float64{}
	}
	seen := map[string]bool{}
	for _, d := range h.Disks {
		seen[d.Name] = true
		hi.push(hi.disks, d.Name, d.ReadBytesPerS+d.WriteBytesPerS)
	}
	forget(hi.disks, seen)
	seen = map[string]bool{}
	for _, i := range h.Interfaces {
		seen[i.Name] = true
		hi.push(hi.ifaces, i.Name, i.RxBytesPerS+i.TxBytesPerS)
	}
	forget(hi.ifaces, seen)
}

func (hi *ioHistory) push(m map[string][]float64, name string, v float64) {
	if _, ok := m[name]; !ok && len(m) >= ioMaxDevices {
		hi.dropped++
		return
	}
	m[name] = push(m[name], v)
}

func forget(m map[string][]float64, seen map[string]bool) {
	for k := range m {
		if !seen[k] {
			delete(m, k)
		}
	}
}
