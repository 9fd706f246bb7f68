package ops

import "time"

// Config holds the thresholds of the ops rules (host.cpu, host.memory,
// host.disk, host.listener, host.pressure, host.restart, host.clock): the
// [host] table of the configuration file. The zero value of a field means
// its default; DefaultConfig lists them.
type Config struct {
	// CPUBusyPct is the total CPU busy share (100 - idle - iowait, all cores)
	// at or above which host.cpu counts the host as saturated. Default 90,
	// atop's cpucritperc: above it, run queues grow and latency climbs.
	CPUBusyPct float64
	// CPUFor is how long saturation must last before host.cpu fires.
	// Default 30 s: builds, backups and GC pauses routinely peak for a few
	// seconds; half a minute of saturation is something a user feels.
	CPUFor time.Duration

	// MemAvailPct: host.memory fires when MemAvailable falls below this share
	// of MemTotal. Default 10, atop's memcritperc of 90 % used; below it the
	// kernel reclaims page cache hard and the OOM killer is near.
	MemAvailPct float64
	// MemFor is how long available memory must stay low. Default 30 s, so
	// a short allocation spike that the kernel absorbs does not page anyone.
	MemFor time.Duration
	// SwapPagesPerS: host.memory reports thrashing when swap-in plus
	// swap-out exceeds this many pages per second. Default 500 (about
	// 2 MB/s of 4 KiB pages), atop's swoutcritsec: a disk-backed swap at that
	// rate stalls interactive work.
	SwapPagesPerS float64
	// SwapFor is how long the swap rate must last. Default 30 s.
	SwapFor time.Duration

	// DiskUsedPct: host.disk fires (severity 2) when a filesystem's (or its
	// inodes') used share, computed as df does, reaches this. Default 90,
	// the usual Nagios/Icinga check_disk critical level.
	DiskUsedPct float64
	// DiskCriticalPct escalates host.disk to severity 1. Default 97: ext4
	// keeps 5 % for root by default, so at 97 % user writes fail within
	// minutes on a busy disk.
	DiskCriticalPct float64
	// DiskFullWithin: host.disk also fires when, at the fill rate measured
	// over the last DiskRateWindow, the filesystem is full within this time.
	// Default 1 h: enough time for a human to react.
	DiskFullWithin time.Duration
	// DiskRateWindow is the span over which the fill rate is measured (at
	// least half of it must be covered by samples). Default 10 min: long
	// enough to smooth a temporary file, short enough to catch a runaway log.
	DiskRateWindow time.Duration

	// ListenerEphemeralUDP also reports new UDP sockets bound to ephemeral
	// ports (at or above EphemeralPortLow). Default false: every DNS client
	// and QUIC connection binds one, and they are not services.
	ListenerEphemeralUDP bool
	// EphemeralPortLow is the start of the ephemeral port range. Default
	// 32768, Linux's net.ipv4.ip_local_port_range default.
	EphemeralPortLow uint16

	// PressureMemPct: host.pressure fires when memory pressure ("some": the
	// share of time in which at least one task waited for memory: reclaim,
	// swap-in, refaulting its page cache) stays at or above this for
	// PressureFor. Default 20: a healthy host is near 0; at a fifth of
	// wall time lost to reclaim, latency is visibly worse.
	PressureMemPct float64
	// PressureIOPct is the same level for I/O pressure. Default 50: I/O-bound
	// work (a backup, a build) waits on the disk a good part of the time
	// normally; half the time waiting means the disk is saturated.
	PressureIOPct float64
	// PressureFullPct escalates host.pressure to severity 1 when the "full"
	// stall (every non-idle task waiting at once: no progress at all)
	// reaches it. Default 60, systemd-oomd's DefaultMemoryPressureLimit, at
	// which it starts killing.
	PressureFullPct float64
	// PressureFor is how long pressure must last. Default 30 s,
	// systemd-oomd's DefaultMemoryPressureDurationSec.
	PressureFor time.Duration

	// RestartCount: host.restart fires when a systemd unit, container or
	// supervised process is seen restarting (all its processes replaced by
	// new PIDs) this many times within RestartWindow. Default 5, systemd's
	// DefaultStartLimitBurst.
	RestartCount int
	// RestartWindow is the span over which restarts are counted. Default
	// 10 min: a loop of one restart a minute is caught; an admin's one or
	// two restarts while editing a configuration are not.
	RestartWindow time.Duration
	// RestartGap is the longest a unit may be absent between its old and
	// its new processes for the change to count as a restart. Default 30 s:
	// longer than common RestartSec values and the first steps of Docker's
	// restart back-off, shorter than the one-minute period of the most
	// frequent timer jobs, which come and go by design.
	RestartGap time.Duration

	// ClockJump: host.clock fires when the wall clock moves this much more
	// or less than the time that passed between two samples (suspend does
	// not count). Default 1 s: NTP slewing moves it at most 0.5 ms per
	// second; a step of a second reorders logs and breaks time-based
	// tokens. From 5 min (Kerberos' default clock skew) the severity is 1.
	ClockJump time.Duration

	// Suppress is the suppression window: one alert per rule and target per
	// window, with a count of what it folded in; an Update record is sent
	// when the condition grows worse. Default 10 min, as the network rules.
	Suppress time.Duration
	// TopN is how many processes host.cpu and host.memory name. Default 3.
	TopN int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		CPUBusyPct: 90, CPUFor: 30 * time.Second,
		MemAvailPct: 10, MemFor: 30 * time.Second,
		SwapPagesPerS: 500, SwapFor: 30 * time.Second,
		DiskUsedPct: 90, DiskCriticalPct: 97,
		DiskFullWithin: time.Hour, DiskRateWindow: 10 * time.Minute,
		EphemeralPortLow: 32768,
		PressureMemPct:   20, PressureIOPct: 50, PressureFullPct: 60,
		PressureFor:  30 * time.Second,
		RestartCount: 5, RestartWindow: 10 * time.Minute, RestartGap: 30 * time.Second,
		ClockJump: time.Second,
		Suppress:  10 * time.Minute,
		TopN:      3,
	}
}

// fill replaces zero fields with defaults, so a partly set Config works.
func (c *Config) fill() {
	d := DefaultConfig()
	setF := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setF(&c.CPUBusyPct, d.CPUBusyPct)
	setD(&c.CPUFor, d.CPUFor)
	setF(&c.MemAvailPct, d.MemAvailPct)
	setD(&c.MemFor, d.MemFor)
	setF(&c.SwapPagesPerS, d.SwapPagesPerS)
	setD(&c.SwapFor, d.SwapFor)
	setF(&c.DiskUsedPct, d.DiskUsedPct)
	setF(&c.DiskCriticalPct, d.DiskCriticalPct)
	setD(&c.DiskFullWithin, d.DiskFullWithin)
	setD(&c.DiskRateWindow, d.DiskRateWindow)
	setF(&c.PressureMemPct, d.PressureMemPct)
	setF(&c.PressureIOPct, d.PressureIOPct)
	setF(&c.PressureFullPct, d.PressureFullPct)
	setD(&c.PressureFor, d.PressureFor)
	if c.RestartCount <= 0 {
		c.RestartCount = d.RestartCount
	}
	setD(&c.RestartWindow, d.RestartWindow)
	setD(&c.RestartGap, d.RestartGap)
	setD(&c.ClockJump, d.ClockJump)
	setD(&c.Suppress, d.Suppress)
	if c.EphemeralPortLow == 0 {
		c.EphemeralPortLow = d.EphemeralPortLow
	}
	if c.TopN == 0 {
		c.TopN = d.TopN
	}
}
