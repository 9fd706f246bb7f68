package system

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// TestSampleOtherOnThisHost runs the gopsutil path of systems without /proc
// on this machine (gopsutil reads Linux too): the host identity comes from
// the same code as on Linux (sampleHost), and what gopsutil read is kept.
func TestSampleOtherOnThisHost(t *testing.T) {
	s := New()
	s.setup()
	ctx := context.Background()
	snap := &hoststat.Snapshot{Time: time.Now()}
	s.sampleOther(ctx, snap)
	name, _ := os.Hostname()
	if snap.Host.Hostname != name || snap.Host.BootTime.IsZero() || snap.Host.UptimeS <= 0 {
		t.Errorf("host %+v, want hostname %q, a boot time and an uptime", snap.Host, name)
	}
	if _, ok := snap.Errors[PartHost]; ok {
		t.Errorf("host part failed: %v", snap.Errors[PartHost])
	}
	if snap.Memory.Total == 0 || (len(snap.Filesystems) == 0 && snap.Errors[PartFilesystems] == "") {
		t.Errorf("filesystems %d, memory %d: gopsutil read nothing and said nothing (errors %v)", len(snap.Filesystems), snap.Memory.Total, snap.Errors)
	}
	// A second sample keeps the identity read once.
	snap2 := &hoststat.Snapshot{Time: snap.Time.Add(time.Second)}
	s.sampleOther(ctx, snap2)
	if snap2.Host.Hostname != name || snap2.Host.UptimeS <= snap.Host.UptimeS {
		t.Errorf("second sample's host %+v", snap2.Host)
	}
}
