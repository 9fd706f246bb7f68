package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// The engine keeps the one history of the host every consumer draws: per
// core, per disk and per interface as well as CPU and memory; partial
// samples and repeats add no point; a device gone from the sample is
// forgotten; devices past the bound are counted, not kept; a snapshot's
// copy shares nothing with the engine.
func TestHostHistoryDevices(t *testing.T) {
	e := New(DefaultConfig(), nil)
	t0 := time.Unix(1000, 0)
	sample := func(i int, partial bool, disks ...string) {
		s := &hoststat.Snapshot{Time: t0.Add(time.Duration(i) * time.Second), IntervalS: 1, Partial: partial}
		s.CPU.PerCore = []hoststat.CPUTimes{{Busy: 10}, {Busy: float64(i)}}
		for _, d := range disks {
			s.Disks = append(s.Disks, hoststat.DiskIO{Name: d, ReadBytesPerS: float64(i)})
		}
		s.Interfaces = []hoststat.Interface{{Name: "eth0", RxBytesPerS: 100}}
		e.HandleHost(s)
	}
	sample(1, false, "sda", "sdb")
	sample(2, false, "sda", "sdb")
	sample(2, false, "sda", "sdb") // a repeat
	sample(3, true, "sda")         // partial: no point, nothing forgotten
	sample(4, false, "sda")        // sdb gone
	h := e.Snapshot(SnapshotOptions{}).Host
	if len(h.CPU) != 3 || len(h.Cores) != 2 || fmt.Sprint(h.Cores[1]) != "[1 2 4]" {
		t.Errorf("cpu %v cores %v", h.CPU, h.Cores)
	}
	if fmt.Sprint(h.Disks["sda"]) != "[1 2 4]" || h.Disks["sdb"] != nil || len(h.Ifaces["eth0"]) != 3 {
		t.Errorf("disks %v ifaces %v", h.Disks, h.Ifaces)
	}
	if h.Latest == nil || !h.Latest.Time.Equal(t0.Add(4*time.Second)) {
		t.Errorf("latest %v", h.Latest)
	}
	h.Disks["sda"][0] = -1
	h.Cores[0][0] = -1
	if again := e.Snapshot(SnapshotOptions{}).Host; again.Disks["sda"][0] != 1 || again.Cores[0][0] != 10 {
		t.Error("a snapshot's history is shared with the engine")
	}
	var many []string
	for i := range ioMaxDevices + 5 {
		many = append(many, fmt.Sprint("veth", i))
	}
	sample(5, false, many...)
	if h := e.Snapshot(SnapshotOptions{}).Host; len(h.Disks) != ioMaxDevices || h.IODropped != 5 {
		t.Errorf("%d disks kept, %d dropped; want %d and 5", len(h.Disks), h.IODropped, ioMaxDevices)
	}
}
