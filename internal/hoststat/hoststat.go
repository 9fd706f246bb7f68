// Package hoststat holds the data types of one host-health sample: CPU,
// memory, load, disks, filesystems, interfaces, processes and sockets. They are
// plain structs with JSON tags and no OS code, so the engine, the TUI and the
// EVE encoder can use them without importing the sources that fill them.
//
// Strings in these types (process names, command lines, user, interface and
// mount names) come from the outside world: pass them through textsafe before
// they reach a terminal.
package hoststat

import (
	"net/netip"
	"time"
)

// Snapshot is one sample of the host. Rates are per second over the interval
// since the previous full sample; they are zero in the first sample.
type Snapshot struct {
	Time time.Time `json:"time"`
	// Partial is true for a socket-only refresh: only Time, Sockets,
	// LocalAddrs, SocketOwnersComplete and Errors are new (the rest is
	// empty from the sampler, or the last full sample's after
	// MergeSockets). Consumers that need a new full sample skip it.
	Partial bool `json:"partial,omitempty"`
	// ProcessesRepeated and SocketsRepeated say that Processes or Sockets
	// are the last sample's, repeated (the sampler reads them less often
	// than every interval): a consumer that joins the two must not judge
	// the fresh list by the stale one.
	ProcessesRepeated bool `json:"-"`
	SocketsRepeated   bool `json:"-"`
	// IntervalS is the time in seconds since the previous full sample (0 in
	// the first one).
	IntervalS float64 `json:"interval_s"`
	// ClockStepS is how far the wall clock moved beyond the time that
	// passed since the previous full sample (positive: stepped forward,
	// negative: back), measured against CLOCK_BOOTTIME, which counts
	// suspend, so a laptop waking is not a step. 0 in the first sample and
	// when under a millisecond (NTP slewing moves it at most 0.5 ms/s).
	ClockStepS float64 `json:"clock_step_s,omitempty"`
	// SuspendedS is how long the host was suspended during the interval
	// (CLOCK_BOOTTIME minus CLOCK_MONOTONIC), 0 where the system has no
	// such clock.
	SuspendedS float64 `json:"suspended_s,omitempty"`

	Host        Host         `json:"host"`
	CPU         CPU          `json:"cpu"`
	Load        Load         `json:"load"`
	Memory      Memory       `json:"memory"`
	Disks       []DiskIO     `json:"disks,omitempty"`
	Filesystems []Filesystem `json:"filesystems,omitempty"`
	Interfaces  []Interface  `json:"interfaces,omitempty"`
	Processes   []Process    `json:"processes,omitempty"`
	// Pressure is the kernel's pressure stall information; nil when the
	// kernel has none (no CONFIG_PSI, or booted with psi=0).
	Pressure *Pressure `json:"pressure,omitempty"`
	// Sensors are CPU frequencies, temperatures and batteries; nil when
	// the host exposes none (most virtual machines and containers).
	Sensors *Sensors `json:"sensors,omitempty"`
	Sockets []Socket `json:"sockets,omitempty"`
	// LocalAddrs are the addresses of this network namespace's interfaces,
	// used to tell local flows from flows of other namespaces.
	LocalAddrs []netip.Addr `json:"local_addrs,omitempty"`
	// SocketOwnersComplete is true when every /proc/<pid>/fd directory could
	// be read, so a socket with no owner really has none in this PID
	// namespace (rather than belonging to a process we may not inspect).
	SocketOwnersComplete bool `json:"socket_owners_complete"`

	// Errors holds one entry per sub-sampler that failed (name -> message);
	// the other parts of the snapshot are still valid.
	Errors map[string]string `json:"errors,omitempty"`
}

// Host identifies the machine.
type Host struct {
	Hostname        string    `json:"hostname"`
	OS              string    `json:"os"`
	Platform        string    `json:"platform,omitempty"`
	PlatformVersion string    `json:"platform_version,omitempty"`
	Kernel          string    `json:"kernel,omitempty"`
	Arch            string    `json:"arch,omitempty"`
	BootTime        time.Time `json:"boot_time"`
	UptimeS         float64   `json:"uptime_s"`
	// Virtualization is gopsutil's system name ("kvm", "docker", ...) and
	// VirtRole its role ("guest" or "host").
	Virtualization string `json:"virtualization,omitempty"`
	VirtRole       string `json:"virt_role,omitempty"`
	Container      bool   `json:"container"`
	VM             bool   `json:"vm"`
}

// CPUTimes are the shares of one CPU (or of all CPUs) in percent over the
// sample interval. Busy is 100 minus Idle and IOWait.
type CPUTimes struct {
	User    float64 `json:"user"`
	Nice    float64 `json:"nice"`
	System  float64 `json:"system"`
	IOWait  float64 `json:"iowait"`
	IRQ     float64 `json:"irq"`
	SoftIRQ float64 `json:"softirq"`
	Steal   float64 `json:"steal"`
	Idle    float64 `json:"idle"`
	Busy    float64 `json:"busy"`
}

// CPU is the processor usage of the interval.
type CPU struct {
	Count   int        `json:"count"`
	Total   CPUTimes   `json:"total"`
	PerCore []CPUTimes `json:"per_core,omitempty"`
}

// Load is the run-queue load average.
type Load struct {
	Load1  float64 `json:"load1"`
	Load5  float64 `json:"load5"`
	Load15 float64 `json:"load15"`
}

// Memory is RAM and swap usage, in bytes unless named otherwise.
type Memory struct {
	Total     uint64 `json:"total"`
	Used      uint64 `json:"used"` // Total - Available, as procps-ng 4 free(1)
	Available uint64 `json:"available"`
	Free      uint64 `json:"free"`
	Cached    uint64 `json:"cached"`
	Buffers   uint64 `json:"buffers"`
	SwapTotal uint64 `json:"swap_total"`
	SwapUsed  uint64 `json:"swap_used"`
	// SwapInPerS and SwapOutPerS are pages per second (pswpin, pswpout).
	SwapInPerS  float64 `json:"swap_in_per_s"`
	SwapOutPerS float64 `json:"swap_out_per_s"`
	// OOMKills is the kernel's oom_kill counter since boot (/proc/vmstat);
	// OOMKillsNew how much it grew since the previous sample.
	OOMKills    uint64 `json:"oom_kills"`
	OOMKillsNew uint64 `json:"oom_kills_new"`
	// OOMVictims are the processes the kernel log names as killed in this
	// interval; OOMLogError says why they are unknown when it is unreadable.
	OOMVictims  []OOMVictim `json:"oom_victims,omitempty"`
	OOMLogError string      `json:"oom_log_error,omitempty"`
}

// OOMVictim is one process killed by the OOM killer.
type OOMVictim struct {
	PID  int32  `json:"pid"`
	Name string `json:"name"`
}

// DiskIO is the I/O of one block device over the interval.
type DiskIO struct {
	Name           string  `json:"name"`
	ReadBytesPerS  float64 `json:"read_bytes_per_s"`
	WriteBytesPerS float64 `json:"write_bytes_per_s"`
	ReadOpsPerS    float64 `json:"read_ops_per_s"`
	WriteOpsPerS   float64 `json:"write_ops_per_s"`
	// BusyPct is the share of the interval with I/O in flight (io_time).
	BusyPct    float64 `json:"busy_pct"`
	ReadBytes  uint64  `json:"read_bytes"`
	WriteBytes uint64  `json:"write_bytes"`
}

// Filesystem is the usage of one mounted filesystem. UsedPct is computed as
// df does: used / (used + available to unprivileged users).
type Filesystem struct {
	Mount         string  `json:"mount"`
	Device        string  `json:"device"`
	FSType        string  `json:"fstype"`
	ReadOnly      bool    `json:"read_only,omitempty"`
	Total         uint64  `json:"total"`
	Used          uint64  `json:"used"`
	Free          uint64  `json:"free"` // available to unprivileged users
	UsedPct       float64 `json:"used_pct"`
	InodesTotal   uint64  `json:"inodes_total"`
	InodesUsed    uint64  `json:"inodes_used"`
	InodesFree    uint64  `json:"inodes_free"`
	InodesUsedPct float64 `json:"inodes_used_pct"`
}

// Interface is the traffic of one network interface.
type Interface struct {
	Name          string   `json:"name"`
	Addrs         []string `json:"addrs,omitempty"` // CIDR notation
	RxBytesPerS   float64  `json:"rx_bytes_per_s"`
	TxBytesPerS   float64  `json:"tx_bytes_per_s"`
	RxPacketsPerS float64  `json:"rx_packets_per_s"`
	TxPacketsPerS float64  `json:"tx_packets_per_s"`
	RxErrorsPerS  float64  `json:"rx_errors_per_s"`
	TxErrorsPerS  float64  `json:"tx_errors_per_s"`
	RxDropsPerS   float64  `json:"rx_drops_per_s"`
	TxDropsPerS   float64  `json:"tx_drops_per_s"`
	RxBytes       uint64   `json:"rx_bytes"`
	TxBytes       uint64   `json:"tx_bytes"`
	RxPackets     uint64   `json:"rx_packets"`
	TxPackets     uint64   `json:"tx_packets"`
	RxErrors      uint64   `json:"rx_errors"`
	TxErrors      uint64   `json:"tx_errors"`
	RxDrops       uint64   `json:"rx_drops"`
	TxDrops       uint64   `json:"tx_drops"`
}

// Process is one process. Fields that could not be read (another user's
// /proc/<pid>/io as non-root) are zero and flagged, never fatal.
type Process struct {
	PID  int32  `json:"pid"`
	PPID int32  `json:"ppid"`
	UID  uint32 `json:"uid"`
	User string `json:"user"`
	Name string `json:"name"` // comm, at most 15 bytes
	// Cmdline is the arguments joined by spaces, at most MaxCmdlineBytes.
	Cmdline   string    `json:"cmdline,omitempty"`
	State     string    `json:"state"`   // R, S, D, Z, T, I, ...
	CPUPct    float64   `json:"cpu_pct"` // 100 = one full core
	RSS       uint64    `json:"rss"`     // bytes
	Threads   int32     `json:"threads"`
	StartTime time.Time `json:"start_time"`
	Nice      int32     `json:"nice"`
	VSize     uint64    `json:"vsize"`      // virtual memory, bytes
	CPUTimeS  float64   `json:"cpu_time_s"` // user+system since start
	// Kernel is true for a kernel thread (kthreadd and its children).
	Kernel bool `json:"kernel,omitempty"`
	// Unit is the systemd unit or container the process's cgroup names
	// ("nginx.service", "docker:3f2a9c1b7d4e", "pod:8b1f2c3d"), "" for
	// the root cgroup or when /proc/<pid>/cgroup was unreadable.
	Unit string `json:"unit,omitempty"`
	// IOReadable is false when /proc/<pid>/io could not be read (another
	// user's process as non-root); the I/O rates are then zero.
	IOReadable      bool    `json:"io_readable"`
	ReadBytesPerS   float64 `json:"read_bytes_per_s"`
	WriteBytesPerS  float64 `json:"write_bytes_per_s"`
	CmdlineReadable bool    `json:"cmdline_readable"`
	// CmdlineTruncated is true when the command line was longer than
	// MaxCmdlineBytes: Cmdline holds its start and ends in CmdlineCut.
	CmdlineTruncated bool `json:"cmdline_truncated,omitempty"`
}

// Socket states (the kernel's TCP state names; UDP uses ESTABLISHED for a
// connected socket and CLOSE for an unconnected one, as /proc/net/udp does).
const (
	StateEstablished = "ESTABLISHED"
	StateListen      = "LISTEN"
	StateClose       = "CLOSE"
	StateTimeWait    = "TIME_WAIT"
)

// Socket is one TCP or UDP socket of this network namespace.
type Socket struct {
	Proto  string         `json:"proto"` // "TCP" or "UDP", as EVE
	V6     bool           `json:"v6"`    // from tcp6/udp6 (may hold v4-mapped addresses)
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote"`
	State  string         `json:"state"`
	UID    uint32         `json:"uid"`
	// Inode is 0 for sockets no process holds any more (TIME_WAIT, orphans).
	Inode uint64 `json:"inode"`
	// PID and Process name the owner; PID is 0 when unknown.
	PID     int32  `json:"pid,omitempty"`
	Process string `json:"process,omitempty"`
}

// Listening reports whether the socket accepts traffic from any peer: a TCP
// socket in LISTEN or a bound, unconnected UDP socket.
func (s *Socket) Listening() bool {
	if s.Proto == "TCP" {
		return s.State == StateListen
	}
	return s.Proto == "UDP" && s.Remote.Port() == 0 && s.Local.Port() != 0
}

// Listeners returns the listening sockets of the snapshot.
func (s *Snapshot) Listeners() []Socket {
	var out []Socket
	for i := range s.Sockets {
		if s.Sockets[i].Listening() {
			out = append(out, s.Sockets[i])
		}
	}
	return out
}

// Pressure is Linux pressure stall information (/proc/pressure): the share
// of time in which some (or all non-idle) tasks waited for a resource.
type Pressure struct {
	CPU    PressureResource `json:"cpu"`
	Memory PressureResource `json:"memory"`
	IO     PressureResource `json:"io"`
}

// PressureResource is the stall of one resource. Full is absent for the CPU
// before Linux 5.13 (and always zero for it at the system level).
type PressureResource struct {
	Some    PressureLine `json:"some"`
	Full    PressureLine `json:"full"`
	HasFull bool         `json:"has_full"`
	// Readable is false when the file could not be read; the lines are zero.
	Readable bool `json:"readable"`
}

// PressureLine is one "some" or "full" line: the kernel's running averages
// (percent of wall time over 10, 60 and 300 s), its total stall time in
// microseconds, and StallPct, the share of this sample's interval stalled,
// from the total (0 in the first sample).
type PressureLine struct {
	Avg10    float64 `json:"avg10"`
	Avg60    float64 `json:"avg60"`
	Avg300   float64 `json:"avg300"`
	TotalUs  uint64  `json:"total_us"`
	StallPct float64 `json:"stall_pct"`
}

// Sensors are what /sys says about the hardware's state. Strings (chip,
// label, battery names) come from drivers and, on a fixture root, from
// anyone: pass them through textsafe before a terminal.
type Sensors struct {
	// CPUFreqMHz is each CPU's current frequency (cpufreq's
	// scaling_cur_freq), in CPU order; empty without cpufreq.
	CPUFreqMHz []float64 `json:"cpu_freq_mhz,omitempty"`
	// Temps are the temperature sensors: hwmon first, then thermal zones
	// that no hwmon chip already reports.
	Temps     []Temp    `json:"temps,omitempty"`
	Batteries []Battery `json:"batteries,omitempty"`
	// Dropped counts sensors left out because a list was full.
	Dropped int `json:"dropped,omitempty"`
}

// Temp is one temperature sensor.
type Temp struct {
	Chip  string  `json:"chip"`  // hwmon name ("coretemp", "nvme") or thermal zone type ("x86_pkg_temp")
	Label string  `json:"label"` // tempN_label ("Package id 0", "Composite"), else "tempN" or the zone
	C     float64 `json:"c"`     // degrees Celsius
	// HighC and CritC are the driver's limits (tempN_max, tempN_crit), 0
	// when it gives none.
	HighC float64 `json:"high_c,omitempty"`
	CritC float64 `json:"crit_c,omitempty"`
}

// Battery is one system battery (power_supply of type Battery; a mouse's or
// headset's, scope Device, is not one).
type Battery struct {
	Name        string  `json:"name"`
	CapacityPct float64 `json:"capacity_pct"`
	// Status is the kernel's: Charging, Discharging, Full, Not charging or
	// Unknown.
	Status   string  `json:"status"`
	EnergyWh float64 `json:"energy_wh,omitempty"` // energy_now (or charge_now x voltage)
	FullWh   float64 `json:"full_wh,omitempty"`   // energy_full
	PowerW   float64 `json:"power_w,omitempty"`   // power_now (or current_now x voltage)
	// TimeLeftS is the time to empty while discharging, to full while
	// charging, from energy and power; 0 when unknown.
	TimeLeftS float64 `json:"time_left_s,omitempty"`
}
