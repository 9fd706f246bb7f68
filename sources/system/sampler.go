// Package system samples the host's health: CPU, memory, load, disk I/O,
// filesystems, interfaces, processes and sockets with their owning process.
//
// On Linux it reads /proc and /sys itself (gopsutil's per-process functions
// open many files per process and cannot hold the budget of one full sample
// of 300 processes in 10 ms of CPU); gopsutil supplies the host identity and
// virtualization, and is the fallback on other systems. Every path is relative
// to an injectable root so tests run on fixture trees.
//
// Each part of a sample is isolated: an error or panic in one is recorded in
// Snapshot.Errors under its name and the others go on.
//
// As non-root, /proc/<pid>/io and /proc/<pid>/fd of other users' processes
// cannot be read: their I/O rates are missing (Process.IOReadable false) and
// their sockets have no owner (Snapshot.SocketOwnersComplete false). The
// kernel log (/dev/kmsg) is usually unreadable too (kernel.dmesg_restrict),
// so OOM victims are reported as unknown with the reason.
package system

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// Sub-sampler names, the keys of Snapshot.Errors.
const (
	PartHost        = "host"
	PartCPU         = "cpu"
	PartLoad        = "load"
	PartMemory      = "memory"
	PartVmstat      = "vmstat"
	PartOOMLog      = "oom_log"
	PartDisks       = "disks"
	PartFilesystems = "filesystems"
	PartInterfaces  = "interfaces"
	PartProcesses   = "processes"
	PartSockets     = "sockets"
)

// minSocketRefresh bounds how often a socket-only refresh may run: attribution
// asks for one on every lookup miss, and a busy capture misses often.
const minSocketRefresh = 200 * time.Millisecond

// Sampler reads the host. The zero value samples the real system; set the
// roots to point it at a fixture tree. A Sampler keeps the previous readings
// to compute rates, so it must not be copied after first use. Its methods are
// safe for concurrent use.
type Sampler struct {
	ProcRoot   string // default "/proc"
	SysRoot    string // default "/sys"
	RootDir    string // default "/": where /.dockerenv is looked for
	PasswdPath string // default "/etc/passwd"
	KmsgPath   string // default "/dev/kmsg"
	// ProcessEvery samples processes every N-th Sample (0 or 1: every one)
	// and repeats the last list in between. Reading every process's /proc
	// files is most of a sample's cost; a console whose process table
	// refreshes every few seconds need not pay it every second.
	ProcessEvery int
	// SocketEvery samples sockets every N-th Sample (0 or 1: every one) and
	// repeats the last list in between. Attribution does not wait for it: a
	// lookup miss asks for a socket-only sample (RequestRefresh).
	SocketEvery int

	mu        sync.Mutex
	procTurn  int     // Sample calls since the last process sample
	sockTurn  int     // Sample calls since the last socket sample
	procDT    float64 // seconds since the last process sample
	lastProcs []hoststat.Process
	// The last socket sample (full or socket-only), repeated by Samples
	// that skip sockets (SocketEvery).
	lastSockets  []hoststat.Socket
	lastLocal    []netip.Addr
	lastComplete bool
	// The last TCP list read from the kernel, and its counters then (tcpSig).
	lastTCP   []hoststat.Socket
	tcpSig    tcpSig
	tcpSigOK  bool
	tcpRead   time.Time
	init      bool
	buf       []byte // read buffer reused for every /proc file
	prevMono  time.Time
	prevBoot  float64 // CLOCK_BOOTTIME at prevMono, seconds (-1: none)
	host      hoststat.Host
	hostDone  bool
	btime     int64
	prevCPU   procStat
	havePrev  bool
	prevVM    vmstat
	haveVM    bool
	kmsgSeq   uint64 // last kernel log record already reported
	prevDisk  map[string]diskCounters
	prevNet   map[string]ifCounters
	prevPSI   hoststat.Pressure
	sensors   sensorPaths
	havePSI   bool
	procs     map[int32]*procState
	kept      *keptCount // the processes' files kept open (keptFile)
	users     map[uint32]string
	usersRead time.Time
	owners    socketOwners
	hungFS    map[string]bool // network mounts whose statfs never returned
	// Interface addresses, listed again on a change notification (ifaceAddrs).
	addrEv     *addrEvents
	addrTried  bool
	addrOK     bool
	addrRead   time.Time
	addrByName map[string][]string
	addrAll    []netip.Addr
	// The real mounts, parsed again when the table changes (mounts).
	mountW     *mountWatch
	mountTried bool
	mountsOK   bool
	lastMounts []mount
	// /sys/block's disks, listed again when /proc/diskstats's devices change.
	wholeDisks map[string]bool
	diskNames  []string
	refresh    chan struct{}
	statfs     func(path string) (fsUsage, error) // tests replace statfs(2)
	pageSize   uint64
}

// New returns a Sampler of the real system.
func New() *Sampler { return &Sampler{} }

func (s *Sampler) setup() {
	if s.init {
		return
	}
	s.init = true
	if s.ProcRoot == "" {
		s.ProcRoot = "/proc"
	}
	if s.SysRoot == "" {
		s.SysRoot = "/sys"
	}
	if s.RootDir == "" {
		s.RootDir = "/"
	}
	if s.PasswdPath == "" {
		s.PasswdPath = "/etc/passwd"
	}
	if s.KmsgPath == "" {
		s.KmsgPath = "/dev/kmsg"
	}
	s.buf = make([]byte, 64<<10)
	s.prevDisk = map[string]diskCounters{}
	s.prevNet = map[string]ifCounters{}
	s.procs = map[int32]*procState{}
	s.kept = &keptCount{procs: s.procs, limit: keptLimit()}
	runtime.AddCleanup(s, func(c *keptCount) { c.closeAll() }, s.kept)
	s.hungFS = map[string]bool{}
	s.owners.byInode = map[uint64]int32{}
	s.owners.unowned = map[uint64]bool{}
	s.pageSize = uint64(os.Getpagesize())
	s.refreshChan()
}

func (s *Sampler) refreshChan() chan struct{} {
	if s.refresh == nil {
		s.refresh = make(chan struct{}, 1)
	}
	return s.refresh
}

// part runs one sub-sampler, recording its error or panic under name so the
// rest of the sample goes on.
func part(snap *hoststat.Snapshot, name string, fn func() error) {
	defer func() {
		if r := recover(); r != nil {
			setErr(snap, name, fmt.Errorf("panic: %v", r))
		}
	}()
	if err := fn(); err != nil {
		setErr(snap, name, err)
	}
}

func setErr(snap *hoststat.Snapshot, name string, err error) {
	if snap.Errors == nil {
		snap.Errors = map[string]string{}
	}
	if prev, ok := snap.Errors[name]; ok {
		snap.Errors[name] = prev + "; " + err.Error()
		return
	}
	snap.Errors[name] = err.Error()
}

// Sample takes one full sample. Rates cover the time since the previous call.
// The error is non-nil only when ctx is done; failures of parts are in
// Snapshot.Errors.
func (s *Sampler) Sample(ctx context.Context) (*hoststat.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setup()

	now := time.Now()
	boot := bootClock()
	snap := &hoststat.Snapshot{Time: now}
	var dt float64
	if !s.prevMono.IsZero() {
		dt = now.Sub(s.prevMono).Seconds() // monotonic reading
		bootDT := -1.0
		if boot >= 0 && s.prevBoot >= 0 {
			bootDT = boot - s.prevBoot
		}
		snap.ClockStepS, snap.SuspendedS = clockStep(s.prevMono, now, dt, bootDT)
	}
	s.prevMono, s.prevBoot = now, boot
	snap.IntervalS = dt

	if runtime.GOOS != "linux" {
		s.sampleOther(ctx, snap)
		return snap, nil
	}
	part(snap, PartHost, func() error { return s.sampleHost(ctx, snap) })
	part(snap, PartCPU, func() error { return s.sampleCPU(snap) })
	part(snap, PartLoad, func() error { return s.sampleLoad(snap) })
	part(snap, PartMemory, func() error { return s.sampleMemory(snap) })
	part(snap, PartVmstat, func() error { return s.sampleVmstat(snap, dt) })
	part(snap, PartPressure, func() error { return s.samplePressure(snap, dt) })
	part(snap, PartSensors, func() error { return s.sampleSensors(snap) })
	part(snap, PartDisks, func() error { return s.sampleDisks(snap, dt) })
	part(snap, PartFilesystems, func() error { return s.sampleFilesystems(snap) })
	part(snap, PartInterfaces, func() error { return s.sampleInterfaces(snap, dt) })
	s.procDT += dt
	if s.procTurn%max(s.ProcessEvery, 1) == 0 || s.lastProcs == nil {
		part(snap, PartProcesses, func() error { return s.sampleProcesses(snap, s.procDT) })
		s.lastProcs, s.procDT, s.procTurn = snap.Processes, 0, 0
	} else {
		// A copy: consumers may sort their snapshot's list.
		snap.Processes = slices.Clone(s.lastProcs)
		snap.ProcessesRepeated = true
	}
	s.procTurn++
	if s.sockTurn%max(s.SocketEvery, 1) == 0 || s.lastSockets == nil {
		part(snap, PartSockets, func() error { return s.sampleSockets(snap, now, true) })
		s.sockTurn = 0
	} else {
		s.repeatSockets(snap)
	}
	s.sockTurn++
	return snap, nil
}

// repeatSockets puts the last socket sample into snap. Copies: consumers
// may sort their snapshot's lists.
func (s *Sampler) repeatSockets(snap *hoststat.Snapshot) {
	snap.Sockets = slices.Clone(s.lastSockets)
	snap.LocalAddrs = slices.Clone(s.lastLocal)
	snap.SocketOwnersComplete = s.lastComplete
	snap.SocketsRepeated = true
}

// SampleSockets takes a socket-only sample (Snapshot.Partial) for
// attribution: sockets, their owners and the namespace's addresses.
func (s *Sampler) SampleSockets(ctx context.Context) (*hoststat.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setup()
	now := time.Now()
	snap := &hoststat.Snapshot{Time: now, Partial: true}
	if runtime.GOOS != "linux" {
		setErr(snap, PartSockets, fmt.Errorf("socket sampling not supported on %s", runtime.GOOS))
		return snap, nil
	}
	part(snap, PartSockets, func() error { return s.sampleSockets(snap, now, false) })
	// The refresh is as fresh as a periodic read: the next one is due
	// SocketEvery samples from now. Each read walks the kernel's whole
	// connection hash (about 2 ms here), and a busy link asks for
	// refreshes often.
	s.sockTurn = 1
	return snap, nil
}

// RequestRefresh asks Run for a socket-only sample soon (at most one per
// 200 ms). It never blocks; attribution calls it on a lookup miss.
func (s *Sampler) RequestRefresh() {
	s.mu.Lock()
	ch := s.refreshChan()
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run samples every interval (after the first sample, on the wall clock's
// beats: UntilBeat) and hands each snapshot to emit until ctx is
// done, and also emits socket-only snapshots when RequestRefresh asks. A
// panic in a sample is recovered, reported as an error snapshot, and
// sampling goes on. It returns ctx's error.
func (s *Sampler) Run(ctx context.Context, interval time.Duration, emit func(*hoststat.Snapshot)) error {
	if interval <= 0 {
		interval = time.Second
	}
	s.mu.Lock()
	refresh := s.refreshChan()
	s.mu.Unlock()

	safe := func(f func(context.Context) (*hoststat.Snapshot, error)) {
		var snap *hoststat.Snapshot
		func() {
			defer func() {
				if r := recover(); r != nil {
					snap = &hoststat.Snapshot{Time: time.Now(), Errors: map[string]string{
						"sampler": fmt.Sprintf("panic: %v\n%s", r, debug.Stack()),
					}}
				}
			}()
			snap, _ = f(ctx)
		}()
		if snap != nil && ctx.Err() == nil {
			emit(snap)
		}
	}

	safe(s.Sample)
	// On the beat (UntilBeat), so the sample falls with the other periodic
	// work of the run and just before the console draws.
	t := time.NewTimer(UntilBeat(time.Now(), interval))
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			safe(s.Sample)
			t.Reset(UntilBeat(time.Now(), interval))
		case <-refresh:
			if wait := minSocketRefresh - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
			}
			last = time.Now()
			safe(s.SampleSockets)
		}
	}
}

// rate turns a counter delta into a per-second rate; a counter that went
// back (device re-created, wrap) gives 0 rather than a huge number.
func rate(prev, cur uint64, dt float64) float64 {
	if dt <= 0 || cur < prev {
		return 0
	}
	return float64(cur-prev) / dt
}

func (s *Sampler) path(parts ...string) string {
	n := len(s.ProcRoot)
	for _, p := range parts {
		n += 1 + len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, s.ProcRoot...)
	for _, p := range parts {
		b = append(b, '/')
		b = append(b, p...)
	}
	return string(b)
}

func (s *Sampler) sampleCPU(snap *hoststat.Snapshot) error {
	b, err := s.read(s.path("stat"))
	if err != nil {
		return err
	}
	ps, err := parseProcStat(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", s.path("stat"), err)
	}
	s.btime = ps.btime
	snap.CPU.Count = len(ps.cores)
	if s.havePrev {
		snap.CPU.Total = cpuPercent(s.prevCPU.total, ps.total)
		snap.CPU.PerCore = make([]hoststat.CPUTimes, len(ps.cores))
		for i := range ps.cores {
			if i < len(s.prevCPU.cores) {
				snap.CPU.PerCore[i] = cpuPercent(s.prevCPU.cores[i], ps.cores[i])
			}
		}
	}
	s.prevCPU, s.havePrev = ps, true
	return nil
}

func (s *Sampler) sampleLoad(snap *hoststat.Snapshot) error {
	b, err := s.read(s.path("loadavg"))
	if err != nil {
		return err
	}
	l, err := parseLoadavg(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", s.path("loadavg"), err)
	}
	snap.Load = l
	return nil
}

func (s *Sampler) sampleMemory(snap *hoststat.Snapshot) error {
	b, err := s.read(s.path("meminfo"))
	if err != nil {
		return err
	}
	m, err := parseMeminfo(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", s.path("meminfo"), err)
	}
	// Keep what vmstat may already have filled.
	m.SwapInPerS, m.SwapOutPerS = snap.Memory.SwapInPerS, snap.Memory.SwapOutPerS
	m.OOMKills, m.OOMKillsNew = snap.Memory.OOMKills, snap.Memory.OOMKillsNew
	snap.Memory = m
	return nil
}

func (s *Sampler) sampleVmstat(snap *hoststat.Snapshot, dt float64) error {
	b, err := s.read(s.path("vmstat"))
	if err != nil {
		return err
	}
	v, err := parseVmstat(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", s.path("vmstat"), err)
	}
	snap.Memory.OOMKills = v.oomKill
	if s.haveVM {
		snap.Memory.SwapInPerS = rate(s.prevVM.pswpin, v.pswpin, dt)
		snap.Memory.SwapOutPerS = rate(s.prevVM.pswpout, v.pswpout, dt)
		if v.oomKill > s.prevVM.oomKill {
			snap.Memory.OOMKillsNew = v.oomKill - s.prevVM.oomKill
		}
	}
	s.prevVM, s.haveVM = v, true
	if !v.haveOOM {
		setErr(snap, PartVmstat, fmt.Errorf("%s has no oom_kill counter (kernel before 4.13): OOM kills are not detected", s.path("vmstat")))
	}
	if snap.Memory.OOMKillsNew > 0 {
		part(snap, PartOOMLog, func() error { return s.oomVictims(snap) })
	} else if s.kmsgSeq == 0 {
		// Remember where the kernel log ends now, so a later OOM kill is
		// matched only against records written after start-up.
		s.kmsgSeq = s.kmsgLastSeq()
	}
	return nil
}

func (s *Sampler) sampleDisks(snap *hoststat.Snapshot, dt float64) error {
	b, err := s.read(s.path("diskstats"))
	if err != nil {
		return err
	}
	ds, err := parseDiskstats(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", s.path("diskstats"), err)
	}
	// Whole disks are the directories of /sys/block; partitions would count
	// the same I/O twice. Without /sys, keep devices that saw any I/O.
	if !s.sameDisks(ds) {
		s.wholeDisks = map[string]bool{}
		if ents, err := os.ReadDir(s.SysRoot + "/block"); err == nil {
			for _, e := range ents {
				s.wholeDisks[e.Name()] = true
			}
		}
	}
	whole := s.wholeDisks
	seen := make(map[string]diskCounters, len(ds))
	for _, d := range ds {
		if len(whole) > 0 && !whole[d.name] {
			continue
		}
		if d.readOps == 0 && d.writeOps == 0 {
			continue // idle loop, ram and zram devices
		}
		seen[d.name] = d
		io := hoststat.DiskIO{Name: d.name, ReadBytes: d.readSectors * 512, WriteBytes: d.writeSectors * 512}
		if p, ok := s.prevDisk[d.name]; ok {
			io.ReadBytesPerS = rate(p.readSectors, d.readSectors, dt) * 512
			io.WriteBytesPerS = rate(p.writeSectors, d.writeSectors, dt) * 512
			io.ReadOpsPerS = rate(p.readOps, d.readOps, dt)
			io.WriteOpsPerS = rate(p.writeOps, d.writeOps, dt)
			// io_time is in ms; busy share of the interval.
			io.BusyPct = rate(p.ioTime, d.ioTime, dt) / 10
			if io.BusyPct > 100 {
				io.BusyPct = 100
			}
		}
		snap.Disks = append(snap.Disks, io)
	}
	s.prevDisk = seen
	sort.Slice(snap.Disks, func(i, j int) bool { return snap.Disks[i].Name < snap.Disks[j].Name })
	return nil
}

// sameDisks says whether ds lists the devices of the last call, in the same
// order, and remembers them: a disk that comes or goes shows in
// /proc/diskstats, so /sys/block is listed again only then.
func (s *Sampler) sameDisks(ds []diskCounters) bool {
	same := len(ds) == len(s.diskNames) && s.wholeDisks != nil
	for i := 0; same && i < len(ds); i++ {
		same = ds[i].name == s.diskNames[i]
	}
	if !same {
		s.diskNames = s.diskNames[:0]
		for _, d := range ds {
			s.diskNames = append(s.diskNames, d.name)
		}
	}
	return same
}

func (s *Sampler) sampleInterfaces(snap *hoststat.Snapshot, dt float64) error {
	b, err := s.read(s.path("net/dev"))
	if err != nil {
		return err
	}
	ifs, err := parseNetDev(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", s.path("net/dev"), err)
	}
	addrs, _, aerr := s.ifaceAddrs(snap.Time)
	seen := make(map[string]ifCounters, len(ifs))
	for _, c := range ifs {
		seen[c.name] = c
		it := hoststat.Interface{
			Name: c.name, Addrs: addrs[c.name],
			RxBytes: c.rxBytes, TxBytes: c.txBytes, RxPackets: c.rxPackets, TxPackets: c.txPackets,
			RxErrors: c.rxErrs, TxErrors: c.txErrs, RxDrops: c.rxDrop, TxDrops: c.txDrop,
		}
		if p, ok := s.prevNet[c.name]; ok {
			it.RxBytesPerS = rate(p.rxBytes, c.rxBytes, dt)
			it.TxBytesPerS = rate(p.txBytes, c.txBytes, dt)
			it.RxPacketsPerS = rate(p.rxPackets, c.rxPackets, dt)
			it.TxPacketsPerS = rate(p.txPackets, c.txPackets, dt)
			it.RxErrorsPerS = rate(p.rxErrs, c.rxErrs, dt)
			it.TxErrorsPerS = rate(p.txErrs, c.txErrs, dt)
			it.RxDropsPerS = rate(p.rxDrop, c.rxDrop, dt)
			it.TxDropsPerS = rate(p.txDrop, c.txDrop, dt)
		}
		snap.Interfaces = append(snap.Interfaces, it)
	}
	s.prevNet = seen
	sort.Slice(snap.Interfaces, func(i, j int) bool { return snap.Interfaces[i].Name < snap.Interfaces[j].Name })
	return aerr
}

// Name names the source for status lines and logs.
func (s *Sampler) Name() string { return "system" }
