package engine

import (
	"maps"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// hostHistory is how many host samples (one a second) each series keeps.
const hostHistory = 300

// ioMaxDevices bounds the disks and interfaces whose history is kept (a
// host with thousands of veths must not grow the engine); devices past it
// have no history and are counted in HostState.IODropped.
const ioMaxDevices = 64

// HostState is the latest view of the host from the system source and the
// one history of it every consumer draws (the console's graphs): one point
// per full sample, oldest first.
type HostState struct {
	Latest *hoststat.Snapshot
	CPU    []float64   // total busy %
	Mem    []float64   // used %
	Cores  [][]float64 // busy % per core
	// Disks and Ifaces are the byte rate (read+write, rx+tx) of each disk
	// and interface; devices gone from the newest sample are forgotten.
	Disks, Ifaces map[string][]float64
	IODropped     int // devices seen past ioMaxDevices, with no history

	lastFull time.Time // the newest full sample's time
}

func newHostState() *HostState { return &HostState{} }

// observe keeps s as the latest sample and adds its points to the
// histories. A partial sample, a repeat, or the first one (no rates yet)
// only becomes the latest.
func (h *HostState) observe(s *hoststat.Snapshot) {
	h.Latest = s
	if s.Partial || !s.Time.After(h.lastFull) {
		return
	}
	h.lastFull = s.Time
	if s.IntervalS == 0 && len(h.CPU) == 0 {
		return
	}
	h.CPU = appendBounded(h.CPU, s.CPU.Total.Busy)
	memPct := 0.0
	if s.Memory.Total > 0 {
		memPct = 100 * float64(s.Memory.Used) / float64(s.Memory.Total)
	}
	h.Mem = appendBounded(h.Mem, memPct)
	if len(h.Cores) != len(s.CPU.PerCore) {
		h.Cores = make([][]float64, len(s.CPU.PerCore)) // CPUs came or went
	}
	for i, c := range s.CPU.PerCore {
		h.Cores[i] = appendBounded(h.Cores[i], c.Busy)
	}
	if h.Disks == nil {
		h.Disks, h.Ifaces = map[string][]float64{}, map[string][]float64{}
	}
	// Devices gone from the sample are forgotten first, so that their
	// places under the bound go to the ones that are there.
	disks := make(map[string]bool, len(s.Disks))
	for _, d := range s.Disks {
		disks[d.Name] = true
	}
	maps.DeleteFunc(h.Disks, func(k string, _ []float64) bool { return !disks[k] })
	ifaces := make(map[string]bool, len(s.Interfaces))
	for _, i := range s.Interfaces {
		ifaces[i.Name] = true
	}
	maps.DeleteFunc(h.Ifaces, func(k string, _ []float64) bool { return !ifaces[k] })
	for _, d := range s.Disks {
		h.pushIO(h.Disks, d.Name, d.ReadBytesPerS+d.WriteBytesPerS)
	}
	for _, i := range s.Interfaces {
		h.pushIO(h.Ifaces, i.Name, i.RxBytesPerS+i.TxBytesPerS)
	}
}

func (h *HostState) pushIO(m map[string][]float64, name string, v float64) {
	if _, ok := m[name]; !ok && len(m) >= ioMaxDevices {
		h.IODropped++
		return
	}
	m[name] = appendBounded(m[name], v)
}

// clone is a copy a snapshot can hand out: no slice or map is shared with
// the engine's.
func (h *HostState) clone() HostState {
	c := HostState{Latest: h.Latest, CPU: slices.Clone(h.CPU), Mem: slices.Clone(h.Mem), IODropped: h.IODropped}
	if h.Cores != nil {
		c.Cores = make([][]float64, len(h.Cores))
		for i, s := range h.Cores {
			c.Cores[i] = slices.Clone(s)
		}
	}
	cloneMap := func(m map[string][]float64) map[string][]float64 {
		if m == nil {
			return nil
		}
		out := make(map[string][]float64, len(m))
		for k, v := range m {
			out[k] = slices.Clone(v)
		}
		return out
	}
	c.Disks, c.Ifaces = cloneMap(h.Disks), cloneMap(h.Ifaces)
	return c
}

func appendBounded(h []float64, v float64) []float64 {
	if len(h) >= hostHistory {
		copy(h, h[1:])
		h = h[:len(h)-1]
	}
	return append(h, v)
}
