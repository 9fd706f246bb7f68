package system

import (
	"context"
	"fmt"
	"runtime"

	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/disk"
	"github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/load"
	"github.com/shirou/gopsutil/v3/mem"
	psnet "github.com/shirou/gopsutil/v3/net"
)

// sampleOther fills what gopsutil offers on systems without /proc (macOS,
// the BSDs): host, CPU, load, memory, filesystems and interface counters.
// Processes and sockets are not sampled there yet.
func (s *Sampler) sampleOther(ctx context.Context, snap *hoststat.Snapshot) {
	dt := snap.IntervalS
	// The host identity as on Linux (sampleHost): gopsutil's info is kept
	// when it comes back with an error, with the error reported.
	part(snap, PartHost, func() error { return s.sampleHost(ctx, snap) })
	part(snap, PartCPU, func() error {
		tot, err := cpu.TimesWithContext(ctx, false)
		if err != nil || len(tot) == 0 {
			return fmt.Errorf("cpu times: %w", err)
		}
		per, _ := cpu.TimesWithContext(ctx, true)
		conv := func(t cpu.TimesStat) cpuTicks {
			// gopsutil reports seconds; keep centiseconds for cpuPercent.
			c := func(x float64) uint64 { return uint64(x * userHZ) }
			return cpuTicks{c(t.User), c(t.Nice), c(t.System), c(t.Idle), c(t.Iowait), c(t.Irq), c(t.Softirq), c(t.Steal)}
		}
		ps := procStat{total: conv(tot[0])}
		for _, t := range per {
			ps.cores = append(ps.cores, conv(t))
		}
		snap.CPU.Count = runtime.NumCPU()
		if s.havePrev {
			snap.CPU.Total = cpuPercent(s.prevCPU.total, ps.total)
			for i := range ps.cores {
				if i < len(s.prevCPU.cores) {
					snap.CPU.PerCore = append(snap.CPU.PerCore, cpuPercent(s.prevCPU.cores[i], ps.cores[i]))
				}
			}
		}
		s.prevCPU, s.havePrev = ps, true
		return nil
	})
	part(snap, PartLoad, func() error {
		l, err := load.AvgWithContext(ctx)
		if err != nil {
			return fmt.Errorf("load average: %w", err)
		}
		snap.Load = hoststat.Load{Load1: l.Load1, Load5: l.Load5, Load15: l.Load15}
		return nil
	})
	part(snap, PartMemory, func() error {
		v, err := mem.VirtualMemoryWithContext(ctx)
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		snap.Memory = hoststat.Memory{Total: v.Total, Used: v.Total - v.Available, Available: v.Available,
			Free: v.Free, Cached: v.Cached, Buffers: v.Buffers}
		if sw, err := mem.SwapMemoryWithContext(ctx); err == nil {
			snap.Memory.SwapTotal, snap.Memory.SwapUsed = sw.Total, sw.Used
		}
		return nil
	})
	part(snap, PartFilesystems, func() error {
		// gopsutil returns the partitions it could read with the error of
		// those it could not: keep them, and report the error.
		parts, err := disk.PartitionsWithContext(ctx, false)
		for _, p := range parts {
			u, err := disk.UsageWithContext(ctx, p.Mountpoint)
			if err != nil || u.Total == 0 {
				continue
			}
			snap.Filesystems = append(snap.Filesystems, hoststat.Filesystem{Mount: p.Mountpoint, Device: p.Device,
				FSType: p.Fstype, Total: u.Total, Used: u.Used, Free: u.Free, UsedPct: u.UsedPercent,
				InodesTotal: u.InodesTotal, InodesUsed: u.InodesUsed, InodesFree: u.InodesFree, InodesUsedPct: u.InodesUsedPercent})
		}
		if err != nil {
			return fmt.Errorf("partitions: %w", err)
		}
		return nil
	})
	part(snap, PartInterfaces, func() error {
		cs, err := psnet.IOCountersWithContext(ctx, true)
		if err != nil {
			return fmt.Errorf("interface counters: %w", err)
		}
		addrs, local, _ := ifaceAddrs()
		snap.LocalAddrs = local
		seen := map[string]ifCounters{}
		for _, c := range cs {
			ic := ifCounters{name: c.Name, rxBytes: c.BytesRecv, rxPackets: c.PacketsRecv, rxErrs: c.Errin, rxDrop: c.Dropin,
				txBytes: c.BytesSent, txPackets: c.PacketsSent, txErrs: c.Errout, txDrop: c.Dropout}
			seen[c.Name] = ic
			it := hoststat.Interface{Name: c.Name, Addrs: addrs[c.Name], RxBytes: ic.rxBytes, TxBytes: ic.txBytes,
				RxPackets: ic.rxPackets, TxPackets: ic.txPackets, RxErrors: ic.rxErrs, TxErrors: ic.txErrs, RxDrops: ic.rxDrop, TxDrops: ic.txDrop}
			if p, ok := s.prevNet[c.Name]; ok {
				it.RxBytesPerS, it.TxBytesPerS = rate(p.rxBytes, ic.rxBytes, dt), rate(p.txBytes, ic.txBytes, dt)
				it.RxPacketsPerS, it.TxPacketsPerS = rate(p.rxPackets, ic.rxPackets, dt), rate(p.txPackets, ic.txPackets, dt)
			}
			snap.Interfaces = append(snap.Interfaces, it)
		}
		s.prevNet = seen
		return nil
	})
	part(snap, PartSensors, func() error {
		ts, err := host.SensorsTemperaturesWithContext(ctx)
		se := sensorsFromGopsutil(ts)
		if se != nil {
			snap.Sensors = se
		}
		if err != nil && se == nil {
			return fmt.Errorf("temperatures: %w", err)
		}
		return nil // some sensors read: the others' failures are noise (gopsutil reports each)
	})
	setErr(snap, PartProcesses, fmt.Errorf("process sampling not supported on %s", runtime.GOOS))
	setErr(snap, PartSockets, fmt.Errorf("socket sampling not supported on %s", runtime.GOOS))
}

// sensorsFromGopsutil turns gopsutil's temperatures (macOS SMC keys, BSD
// sysctls) into Sensors, bounded as on Linux; nil when there are none.
// Values out of range (absent sensors report 0 or nonsense) are left out.
func sensorsFromGopsutil(ts []host.TemperatureStat) *hoststat.Sensors {
	var se hoststat.Sensors
	for _, t := range ts {
		if t.Temperature <= -273.15 || t.Temperature > 1000 || t.Temperature != t.Temperature {
			continue
		}
		if len(se.Temps) >= maxTemps {
			se.Dropped++
			continue
		}
		key := t.SensorKey
		if len(key) > maxSensorText {
			key = key[:maxSensorText]
		}
		v := hoststat.Temp{Chip: key, Label: key, C: t.Temperature}
		if t.High > 0 && t.High <= 1000 {
			v.HighC = t.High
		}
		if t.Critical > 0 && t.Critical <= 1000 {
			v.CritC = t.Critical
		}
		se.Temps = append(se.Temps, v)
	}
	if len(se.Temps) == 0 {
		return nil
	}
	return &se
}
