package system

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// TestSampleFixtureRoot samples a hand-built /proc tree: vmstat and the
// IPv6 tables are missing, pid 77's stat is truncated and pid 4242 has an
// odd name and no io file. Each failure is recorded under its part and the
// rest of the snapshot is filled.
func TestSampleFixtureRoot(t *testing.T) {
	s := &Sampler{ProcRoot: "testdata/proc", SysRoot: "testdata/nosys", RootDir: "testdata/noroot",
		PasswdPath: "testdata/odd/passwd", KmsgPath: "testdata/nokmsg"}
	s.statfs = func(p string) (fsUsage, error) {
		if p == "/mnt/nfs" {
			return fsUsage{}, errors.New("statfs \"/mnt/nfs\": stale file handle")
		}
		return fsUsage{total: 1000, free: 100, avail: 50, files: 10, filesFree: 1}, nil
	}
	snap, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{PartVmstat, PartProcesses, PartFilesystems} {
		if snap.Errors[part] == "" {
			t.Errorf("no error recorded for %s; errors: %v", part, snap.Errors)
		}
	}
	for _, part := range []string{PartCPU, PartLoad, PartMemory, PartDisks, PartSockets} {
		if e := snap.Errors[part]; e != "" {
			t.Errorf("%s failed: %s", part, e)
		}
	}
	if snap.CPU.Count != 2 || snap.Memory.Total != 24684092<<10 || snap.Load.Load1 != 1.61 {
		t.Errorf("cpu %d, memory %d, load %v", snap.CPU.Count, snap.Memory.Total, snap.Load)
	}
	if len(snap.Processes) != 2 {
		t.Fatalf("%d processes, want 2 (77 is unparsable)", len(snap.Processes))
	}
	p1, odd := snap.Processes[0], snap.Processes[1]
	if p1.PID != 1 || !p1.IOReadable || p1.User != "root" || p1.Cmdline == "" {
		t.Errorf("pid 1 = %+v", p1)
	}
	if odd.PID != 4242 || odd.Name != "a) b (c" || odd.IOReadable || odd.CmdlineReadable {
		t.Errorf("pid 4242 = %+v", odd)
	}
	// Filesystems: the overlay root and the bind-mounted disk, statfs'd by
	// the fake; the NFS failure is an error, not a missing sample.
	if len(snap.Filesystems) != 3 || snap.Filesystems[0].Mount != "/" || snap.Filesystems[0].UsedPct != 100*900.0/950 {
		t.Errorf("filesystems = %+v", snap.Filesystems)
	}
	if !strings.Contains(snap.Errors[PartFilesystems], "stale file handle") {
		t.Errorf("filesystems error = %q", snap.Errors[PartFilesystems])
	}
	// Socket owners come from the fixture's fd links.
	var owned bool
	for _, sk := range snap.Sockets {
		if sk.Inode == 18219 {
			owned = sk.PID == 4242 && sk.Process == "a) b (c"
		}
	}
	if !owned {
		t.Errorf("socket inode 18219 not attributed to pid 4242: %+v", snap.Sockets)
	}
	// Only devices with I/O are kept without /sys (loop and zram are idle).
	if len(snap.Disks) != 1 || snap.Disks[0].Name != "vda" || snap.Disks[0].ReadBytes != 2726970*512 {
		t.Errorf("disks = %+v", snap.Disks)
	}
}

// TestPartRecoversPanic checks that a panicking part is an error, not a crash.
func TestPartRecoversPanic(t *testing.T) {
	snap := &hoststat.Snapshot{}
	part(snap, "boom", func() error { panic("bad input") })
	if !strings.Contains(snap.Errors["boom"], "panic: bad input") {
		t.Errorf("errors = %v", snap.Errors)
	}
}
