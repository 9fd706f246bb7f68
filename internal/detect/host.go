package detect

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// HostConfig holds the thresholds of the ops rules (host.cpu, host.memory,
// host.disk, host.listener, host.pressure, host.restart, host.clock). The
// zero value of a field means its default; DefaultHostConfig lists them.
type HostConfig struct {
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

// DefaultHostConfig returns the defaults documented on HostConfig.
func DefaultHostConfig() HostConfig {
	return HostConfig{
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

func (c *HostConfig) fill() {
	d := DefaultHostConfig()
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

// Bounds on the host rules' state.
const (
	hostMaxTargets   = 4096  // suppression entries (listeners can churn)
	hostMaxListeners = 65536 // known listening endpoints
	hostDiskKeep     = 10 * time.Second
)

// HostRules raises the ops alerts from host samples. It uses each sample's
// timestamp, never the wall clock. Not safe for concurrent use: feed it from
// the goroutine that receives the system source's snapshots.
type HostRules struct {
	cfg HostConfig

	cpuSince  time.Time
	memSince  time.Time
	swapSince time.Time
	oomCount  uint64 // OOM kills reported in the current oom window

	disk map[string][]hostDiskPoint

	listenBase bool
	listeners  map[hostListenKey]bool

	pressure hostPressure
	restart  hostRestart

	sup map[string]*hostSup
}

type hostDiskPoint struct {
	at   time.Time
	used uint64
}

type hostListenKey struct {
	proto string
	addr  netip.Addr
	port  uint16
}

// hostSup is the suppression state of one rule+target.
type hostSup struct {
	at         time.Time // when the alert of this window was raised
	suppressed uint64
	sev        Severity
	bad        float64 // how bad it was when last reported
}

// NewHostRules returns the ops rules with cfg (zero fields take defaults).
func NewHostRules(cfg HostConfig) *HostRules {
	cfg.fill()
	return &HostRules{
		cfg:       cfg,
		disk:      map[string][]hostDiskPoint{},
		listeners: map[hostListenKey]bool{},
		sup:       map[string]*hostSup{},
	}
}

// Observe runs the ops rules on one sample and emits the alerts it raises.
// Socket-only (partial) samples feed host.listener only.
func (h *HostRules) Observe(s *hoststat.Snapshot, emit func(*Alert)) {
	if s == nil {
		return
	}
	h.expire(s.Time)
	if _, failed := s.Errors["sockets"]; !failed || len(s.Sockets) > 0 {
		h.observeListeners(s, emit)
	}
	if s.Partial {
		return
	}
	if s.IntervalS > 0 { // the first sample has no rates
		h.observeCPU(s, emit)
		h.observeSwap(s, emit)
	}
	h.observeMemory(s, emit)
	h.observeDisks(s, emit)
	h.observePressure(s, emit)
	h.observeRestarts(s, emit)
	h.observeClock(s, emit)
}

// raise applies suppression: key names the incident (rule and target:
// "host.disk//var", "host.restart/unit nginx.service"), and is the
// alert's Incident, so the console keeps one row per incident, not per
// rule. The first alert for key in a window is emitted; later ones are counted, and re-emitted as an Update when the new
// severity is higher or worse(prev, cur) says the condition grew worse.
func (h *HostRules) raise(key string, ts time.Time, sev Severity, bad float64, worse func(prev, cur float64) bool, build func() *Alert, emit func(*Alert)) {
	st := h.sup[key]
	// A clock stepped back (NTP on a live host) starts a new window rather
	// than suppressing until it catches up.
	if st == nil || ts.Sub(st.at) >= h.cfg.Suppress || ts.Before(st.at) {
		if st == nil && len(h.sup) >= hostMaxTargets {
			return // bounded; expire() makes room as windows end
		}
		a := build()
		a.Severity, a.TS, a.Incident = sev, ts, key
		h.sup[key] = &hostSup{at: ts, sev: sev, bad: bad}
		emit(a)
		return
	}
	st.suppressed++
	if sev < st.sev || (worse != nil && worse(st.bad, bad)) {
		a := build()
		a.Severity, a.TS, a.Incident = sev, ts, key
		if st.sev < sev {
			a.Severity = st.sev // an update never lowers the severity
		}
		a.Update, a.Suppressed = true, st.suppressed
		if sev < st.sev {
			st.sev = sev
		}
		st.bad = bad
		emit(a)
	}
}

func (h *HostRules) expire(now time.Time) {
	for k, st := range h.sup {
		if now.Sub(st.at) >= h.cfg.Suppress {
			delete(h.sup, k)
		}
	}
}

func hostWorseBy(step float64) func(prev, cur float64) bool {
	return func(prev, cur float64) bool { return cur >= prev+step }
}

// sustained tracks how long cond has held; it returns the start time and
// whether the condition has lasted at least d.
func hostSustained(since *time.Time, cond bool, now time.Time, d time.Duration) (time.Time, bool) {
	if !cond {
		*since = time.Time{}
		return time.Time{}, false
	}
	if since.IsZero() {
		*since = now
	}
	return *since, now.Sub(*since) >= d
}

// hostProcFacts lists processes for evidence.
func hostProcFacts(ps []hoststat.Process) []map[string]any {
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		out = append(out, map[string]any{
			"pid": p.PID, "name": p.Name, "user": p.User,
			"cpu_pct": hostRound1(p.CPUPct), "rss": p.RSS,
		})
	}
	return out
}

func hostRound1(x float64) float64 { return math.Round(x*10) / 10 }

func hostTopBy(ps []hoststat.Process, n int, less func(a, b *hoststat.Process) bool) []hoststat.Process {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(&ps[idx[i]], &ps[idx[j]]) })
	if len(idx) > n {
		idx = idx[:n]
	}
	out := make([]hoststat.Process, len(idx))
	for i, k := range idx {
		out[i] = ps[k]
	}
	return out
}

func (h *HostRules) observeCPU(s *hoststat.Snapshot, emit func(*Alert)) {
	busy := s.CPU.Total.Busy
	since, fire := hostSustained(&h.cpuSince, busy >= h.cfg.CPUBusyPct, s.Time, h.cfg.CPUFor)
	if !fire {
		return
	}
	top := hostTopBy(s.Processes, h.cfg.TopN, func(a, b *hoststat.Process) bool { return a.CPUPct > b.CPUPct })
	h.raise("host.cpu", s.Time, RuleHostCPU.Severity, busy, hostWorseBy(5), func() *Alert {
		names := make([]string, len(top))
		for i, p := range top {
			names[i] = fmt.Sprintf("%s (pid %d) %.0f%%", p.Name, p.PID, p.CPUPct)
		}
		a := &Alert{
			Rule: RuleHostCPU,
			Signature: fmt.Sprintf("CPU %.0f%% busy for %s on %d cores; top: %s",
				busy, s.Time.Sub(since).Round(time.Second), s.CPU.Count, strings.Join(names, ", ")),
			Evidence: map[string]any{
				"busy_pct": hostRound1(busy), "threshold_pct": h.cfg.CPUBusyPct,
				"for_s": s.Time.Sub(since).Seconds(), "cores": s.CPU.Count,
				"iowait_pct": hostRound1(s.CPU.Total.IOWait), "steal_pct": hostRound1(s.CPU.Total.Steal),
				"load1": s.Load.Load1, "top_processes": hostProcFacts(top),
			},
		}
		if len(top) > 0 {
			a.PID, a.Process = top[0].PID, top[0].Name
		}
		return a
	}, emit)
}

func (h *HostRules) observeMemory(s *hoststat.Snapshot, emit func(*Alert)) {
	m := s.Memory
	if m.OOMKillsNew > 0 {
		if st := h.sup["host.memory/oom"]; st == nil || s.Time.Sub(st.at) >= h.cfg.Suppress {
			h.oomCount = 0 // a new window counts afresh
		}
		h.oomCount += m.OOMKillsNew
		count := h.oomCount
		h.raise("host.memory/oom", s.Time, SevHigh, float64(count), hostWorseBy(1), func() *Alert {
			var names []string
			var victims []map[string]any
			for _, v := range m.OOMVictims {
				names = append(names, fmt.Sprintf("%s (pid %d)", v.Name, v.PID))
				victims = append(victims, map[string]any{"pid": v.PID, "name": v.Name})
			}
			who := strings.Join(names, ", ")
			if who == "" {
				who = "unknown process"
				if m.OOMLogError != "" {
					who += " (" + m.OOMLogError + ")"
				}
			}
			a := &Alert{
				Rule:      RuleHostMemory,
				Signature: fmt.Sprintf("OOM killer killed %d process(es): %s", m.OOMKillsNew, who),
				Evidence: map[string]any{
					"oom_kills_new": m.OOMKillsNew, "oom_kills_total": m.OOMKills,
					"available": m.Available, "total": m.Total,
				},
			}
			if victims != nil {
				a.Evidence["victims"] = victims
				a.PID, a.Process = m.OOMVictims[0].PID, m.OOMVictims[0].Name
			}
			if m.OOMLogError != "" {
				a.Evidence["victims_unknown"] = m.OOMLogError
			}
			return a
		}, emit)
	}

	if m.Total == 0 {
		return
	}
	availPct := 100 * float64(m.Available) / float64(m.Total)
	since, fire := hostSustained(&h.memSince, availPct < h.cfg.MemAvailPct, s.Time, h.cfg.MemFor)
	if !fire {
		return
	}
	top := hostTopBy(s.Processes, h.cfg.TopN, func(a, b *hoststat.Process) bool { return a.RSS > b.RSS })
	h.raise("host.memory/available", s.Time, RuleHostMemory.Severity, 100-availPct, hostWorseBy(5), func() *Alert {
		names := make([]string, len(top))
		for i, p := range top {
			names[i] = fmt.Sprintf("%s (pid %d) %s", p.Name, p.PID, hostBytes(p.RSS))
		}
		a := &Alert{
			Rule: RuleHostMemory,
			Signature: fmt.Sprintf("memory low: %.1f%% available (%s of %s) for %s; largest: %s",
				availPct, hostBytes(m.Available), hostBytes(m.Total), s.Time.Sub(since).Round(time.Second), strings.Join(names, ", ")),
			Evidence: map[string]any{
				"available_pct": hostRound1(availPct), "threshold_pct": h.cfg.MemAvailPct,
				"available": m.Available, "total": m.Total, "swap_used": m.SwapUsed,
				"for_s": s.Time.Sub(since).Seconds(), "top_processes": hostProcFacts(top),
			},
		}
		if len(top) > 0 {
			a.PID, a.Process = top[0].PID, top[0].Name
		}
		return a
	}, emit)
}

func (h *HostRules) observeSwap(s *hoststat.Snapshot, emit func(*Alert)) {
	m := s.Memory
	r := m.SwapInPerS + m.SwapOutPerS
	since, fire := hostSustained(&h.swapSince, r > h.cfg.SwapPagesPerS, s.Time, h.cfg.SwapFor)
	if !fire {
		return
	}
	h.raise("host.memory/swap", s.Time, RuleHostMemory.Severity, r, func(prev, cur float64) bool { return cur >= 2*prev }, func() *Alert {
		return &Alert{
			Rule: RuleHostMemory,
			Signature: fmt.Sprintf("swap thrashing: %.0f pages/s in+out for %s (%.1f%% memory available)",
				r, s.Time.Sub(since).Round(time.Second), 100*float64(m.Available)/math.Max(1, float64(m.Total))),
			Evidence: map[string]any{
				"swap_in_per_s": hostRound1(m.SwapInPerS), "swap_out_per_s": hostRound1(m.SwapOutPerS),
				"threshold_pages_per_s": h.cfg.SwapPagesPerS, "for_s": s.Time.Sub(since).Seconds(),
				"swap_used": m.SwapUsed, "swap_total": m.SwapTotal, "available": m.Available,
			},
		}
	}, emit)
}

// diskFillRate returns the fill rate in bytes/s measured over the retained
// points, when they span at least half of DiskRateWindow.
func (h *HostRules) diskFillRate(mount string, now time.Time, used uint64) (float64, bool) {
	pts := h.disk[mount]
	// Keep one point per hostDiskKeep, dropping those older than the window.
	if len(pts) == 0 || now.Sub(pts[len(pts)-1].at) >= hostDiskKeep {
		pts = append(pts, hostDiskPoint{now, used})
	}
	cut := 0
	for cut < len(pts)-1 && now.Sub(pts[cut].at) > h.cfg.DiskRateWindow {
		cut++
	}
	pts = pts[cut:]
	h.disk[mount] = pts
	span := now.Sub(pts[0].at)
	if span < h.cfg.DiskRateWindow/2 {
		return 0, false
	}
	return (float64(used) - float64(pts[0].used)) / span.Seconds(), true
}

func (h *HostRules) observeDisks(s *hoststat.Snapshot, emit func(*Alert)) {
	seen := make(map[string]bool, len(s.Filesystems))
	for i := range s.Filesystems {
		fs := &s.Filesystems[i]
		seen[fs.Mount] = true
		fillRate, haveRate := h.diskFillRate(fs.Mount, s.Time, fs.Used)
		if fs.ReadOnly {
			continue // cannot fill; often full by design (images)
		}
		var ttf float64 = -1
		if haveRate && fillRate > 0 {
			ttf = float64(fs.Free) / fillRate
		}
		filling := ttf >= 0 && ttf <= h.cfg.DiskFullWithin.Seconds()
		if fs.UsedPct >= h.cfg.DiskUsedPct || filling {
			sev := SevMedium
			if fs.UsedPct >= h.cfg.DiskCriticalPct {
				sev = SevHigh
			}
			h.raise("host.disk/"+fs.Mount, s.Time, sev, fs.UsedPct, hostWorseBy(2), func() *Alert {
				sig := fmt.Sprintf("filesystem %s %.1f%% full (%s free of %s)", fs.Mount, fs.UsedPct, hostBytes(fs.Free), hostBytes(fs.Total))
				if ttf >= 0 {
					sig += fmt.Sprintf(", full in about %s at %s/s", time.Duration(ttf*float64(time.Second)).Round(time.Minute), hostBytes(uint64(fillRate)))
				}
				a := &Alert{
					Rule: RuleHostDisk, Signature: sig,
					Evidence: map[string]any{
						"mount": fs.Mount, "device": fs.Device, "fstype": fs.FSType,
						"used_pct": hostRound1(fs.UsedPct), "threshold_pct": h.cfg.DiskUsedPct,
						"total": fs.Total, "used": fs.Used, "free": fs.Free,
					},
				}
				if haveRate {
					a.Evidence["fill_rate_bytes_per_s"] = math.Round(fillRate)
				}
				if ttf >= 0 {
					a.Evidence["time_to_full_s"] = math.Round(ttf)
				}
				return a
			}, emit)
		}
		if fs.InodesTotal > 0 && fs.InodesUsedPct >= h.cfg.DiskUsedPct {
			sev := SevMedium
			if fs.InodesUsedPct >= h.cfg.DiskCriticalPct {
				sev = SevHigh
			}
			h.raise("host.disk/"+fs.Mount+"/inodes", s.Time, sev, fs.InodesUsedPct, hostWorseBy(2), func() *Alert {
				return &Alert{
					Rule: RuleHostDisk,
					Signature: fmt.Sprintf("filesystem %s out of inodes: %.1f%% used (%d free)",
						fs.Mount, fs.InodesUsedPct, fs.InodesFree),
					Evidence: map[string]any{
						"mount": fs.Mount, "device": fs.Device, "fstype": fs.FSType,
						"inodes_used_pct": hostRound1(fs.InodesUsedPct), "threshold_pct": h.cfg.DiskUsedPct,
						"inodes_total": fs.InodesTotal, "inodes_used": fs.InodesUsed, "inodes_free": fs.InodesFree,
					},
				}
			}, emit)
		}
	}
	for m := range h.disk {
		if !seen[m] {
			delete(h.disk, m) // unmounted
		}
	}
}

func (h *HostRules) observeListeners(s *hoststat.Snapshot, emit func(*Alert)) {
	procs := make(map[int32]*hoststat.Process, len(s.Processes))
	for i := range s.Processes {
		procs[s.Processes[i].PID] = &s.Processes[i]
	}
	baseline := !h.listenBase
	for i := range s.Sockets {
		sk := &s.Sockets[i]
		if !sk.Listening() {
			continue
		}
		k := hostListenKey{sk.Proto, sk.Local.Addr().Unmap(), sk.Local.Port()}
		if h.listeners[k] {
			continue
		}
		if len(h.listeners) >= hostMaxListeners {
			h.listeners = map[hostListenKey]bool{} // bounded: forget, may re-report
		}
		h.listeners[k] = true
		if baseline {
			continue
		}
		if sk.Proto == "UDP" && !h.cfg.ListenerEphemeralUDP && k.port >= h.cfg.EphemeralPortLow {
			continue
		}
		who := "unknown process (owner not readable)"
		if sk.PID != 0 {
			who = fmt.Sprintf("%s (pid %d)", sk.Process, sk.PID)
		}
		ep := netip.AddrPortFrom(k.addr, k.port)
		h.raise("host.listener/"+sk.Proto+"/"+ep.String(), s.Time, RuleHostListener.Severity, 0, nil, func() *Alert {
			a := &Alert{
				Rule:      RuleHostListener,
				Signature: fmt.Sprintf("new %s listener on %s by %s", sk.Proto, ep, who),
				Dst:       k.addr, DstPort: k.port, Proto: sk.Proto,
				PID: sk.PID, Process: sk.Process,
				Evidence: map[string]any{
					"proto": sk.Proto, "addr": k.addr.String(), "port": k.port,
					"uid": sk.UID, "inode": sk.Inode,
				},
			}
			if sk.PID != 0 {
				a.Evidence["pid"] = sk.PID
				a.Evidence["process"] = sk.Process
				if p := procs[sk.PID]; p != nil {
					a.Evidence["user"] = p.User
					a.Evidence["cmdline"] = hoststat.ClipCmdline(p.Cmdline) // MaxCmdlineBytes, whoever built the snapshot
				}
			}
			return a
		}, emit)
	}
	h.listenBase = true
}

// hostBytes formats a byte count with binary units for signatures.
func hostBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
