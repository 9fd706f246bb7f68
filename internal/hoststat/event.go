package hoststat

import (
	"math"
	"sort"
)

// HostEvent returns the body of the EVE "host" event (the value under the
// "host" key) for one full snapshot: cpu, memory, load, disks, filesystems,
// interfaces, the topN processes by CPU (each with its nice value and
// its systemd unit or container when it has one), pressure stall, sensors
// (CPU frequency, temperatures, batteries) when the host has them, and a
// wall clock step when there was one. Keys are snake_case and stable;
// rates are per second and rounded to 0.1 to keep lines short. Each
// process's command line is at most MaxCmdlineBytes, with
// "cmdline_truncated": true when it was cut.
func HostEvent(s *Snapshot, topN int) map[string]any {
	if s == nil {
		return nil
	}
	cpu := map[string]any{
		"count":    s.CPU.Count,
		"busy_pct": r1(s.CPU.Total.Busy), "user_pct": r1(s.CPU.Total.User),
		"system_pct": r1(s.CPU.Total.System), "iowait_pct": r1(s.CPU.Total.IOWait),
		"steal_pct": r1(s.CPU.Total.Steal), "idle_pct": r1(s.CPU.Total.Idle),
	}
	if len(s.CPU.PerCore) > 0 {
		per := make([]float64, len(s.CPU.PerCore))
		for i, c := range s.CPU.PerCore {
			per[i] = r1(c.Busy)
		}
		cpu["per_core_busy_pct"] = per
	}
	m := s.Memory
	mem := map[string]any{
		"total": m.Total, "used": m.Used, "available": m.Available,
		"cached": m.Cached, "buffers": m.Buffers,
		"swap_total": m.SwapTotal, "swap_used": m.SwapUsed,
		"swap_in_per_s": r1(m.SwapInPerS), "swap_out_per_s": r1(m.SwapOutPerS),
		"oom_kills": m.OOMKills,
	}
	if m.Total > 0 {
		mem["available_pct"] = r1(100 * float64(m.Available) / float64(m.Total))
	}
	disks := make([]map[string]any, 0, len(s.Disks))
	for _, d := range s.Disks {
		disks = append(disks, map[string]any{
			"name": d.Name, "read_bytes_per_s": r1(d.ReadBytesPerS), "write_bytes_per_s": r1(d.WriteBytesPerS),
			"read_ops_per_s": r1(d.ReadOpsPerS), "write_ops_per_s": r1(d.WriteOpsPerS), "busy_pct": r1(d.BusyPct),
		})
	}
	fss := make([]map[string]any, 0, len(s.Filesystems))
	for _, f := range s.Filesystems {
		fss = append(fss, map[string]any{
			"mount": f.Mount, "device": f.Device, "fstype": f.FSType,
			"total": f.Total, "used": f.Used, "free": f.Free, "used_pct": r1(f.UsedPct),
			"inodes_used_pct": r1(f.InodesUsedPct),
		})
	}
	ifs := make([]map[string]any, 0, len(s.Interfaces))
	for _, i := range s.Interfaces {
		ifs = append(ifs, map[string]any{
			"name":           i.Name,
			"rx_bytes_per_s": r1(i.RxBytesPerS), "tx_bytes_per_s": r1(i.TxBytesPerS),
			"rx_packets_per_s": r1(i.RxPacketsPerS), "tx_packets_per_s": r1(i.TxPacketsPerS),
			"rx_errors": i.RxErrors, "tx_errors": i.TxErrors, "rx_drops": i.RxDrops, "tx_drops": i.TxDrops,
		})
	}
	body := map[string]any{
		"hostname":    s.Host.Hostname,
		"uptime_s":    math.Round(s.Host.UptimeS),
		"interval_s":  r1(s.IntervalS),
		"cpu":         cpu,
		"memory":      mem,
		"load":        map[string]any{"load1": s.Load.Load1, "load5": s.Load.Load5, "load15": s.Load.Load15},
		"disks":       disks,
		"filesystems": fss,
		"interfaces":  ifs,
		"processes":   topProcs(s.Processes, topN),
	}
	if s.Pressure != nil {
		body["pressure"] = pressureEvent(s.Pressure)
	}
	if s.Sensors != nil {
		body["sensors"] = sensorsEvent(s.Sensors)
	}
	if s.ClockStepS != 0 && !math.IsNaN(s.ClockStepS) && !math.IsInf(s.ClockStepS, 0) {
		body["clock_step_s"] = math.Round(s.ClockStepS*1000) / 1000
	}
	if s.SuspendedS > 0 && !math.IsInf(s.SuspendedS, 0) {
		body["suspended_s"] = math.Round(s.SuspendedS*1000) / 1000
	}
	if len(s.Errors) > 0 {
		errs := make(map[string]any, len(s.Errors))
		for k, v := range s.Errors {
			errs[k] = v
		}
		body["errors"] = errs
	}
	return body
}

// topProcs lists the n processes with the most CPU, highest first (ties by
// pid so the output is stable).
func topProcs(ps []Process, n int) []map[string]any {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		pa, pb := &ps[idx[a]], &ps[idx[b]]
		if pa.CPUPct != pb.CPUPct {
			return pa.CPUPct > pb.CPUPct
		}
		return pa.PID < pb.PID
	})
	if n < 0 {
		n = 0
	}
	if len(idx) > n {
		idx = idx[:n]
	}
	out := make([]map[string]any, 0, len(idx))
	for _, i := range idx {
		p := &ps[i]
		cmd := ClipCmdline(p.Cmdline)
		m := map[string]any{
			"pid": p.PID, "ppid": p.PPID, "user": p.User, "name": p.Name, "cmdline": cmd,
			"state": p.State, "cpu_pct": r1(p.CPUPct), "rss": p.RSS, "threads": p.Threads,
			"read_bytes_per_s": r1(p.ReadBytesPerS), "write_bytes_per_s": r1(p.WriteBytesPerS),
			"nice": p.Nice,
		}
		if p.Unit != "" {
			m["unit"] = p.Unit
		}
		if p.CmdlineTruncated || len(cmd) != len(p.Cmdline) {
			m["cmdline_truncated"] = true
		}
		out = append(out, m)
	}
	return out
}

// pressureEvent is the pressure stall information of the host event: per
// resource, the kernel's avg10 and avg60 and its total (µs) for "some" and
// "full", and the share of this interval stalled. A resource whose file was
// unreadable is left out.
func pressureEvent(p *Pressure) map[string]any {
	out := map[string]any{}
	for _, r := range []struct {
		name string
		v    *PressureResource
	}{{"cpu", &p.CPU}, {"memory", &p.Memory}, {"io", &p.IO}} {
		if !r.v.Readable {
			continue
		}
		line := func(l PressureLine) map[string]any {
			return map[string]any{"avg10": l.Avg10, "avg60": l.Avg60, "avg300": l.Avg300, "total_us": l.TotalUs, "stall_pct": r1(l.StallPct)}
		}
		m := map[string]any{"some": line(r.v.Some)}
		if r.v.HasFull {
			m["full"] = line(r.v.Full)
		}
		out[r.name] = m
	}
	return out
}

func r1(x float64) float64 { return math.Round(x*10) / 10 }

// sensorsEvent is the sensors part of the host event: per-CPU frequency in
// MHz, temperatures (°C) with their chip, label and the driver's limits,
// and batteries. Non-finite values (a corrupt sample) are left out rather
// than breaking the JSON encoder.
func sensorsEvent(se *Sensors) map[string]any {
	ok := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	out := map[string]any{}
	if len(se.CPUFreqMHz) > 0 {
		f := make([]float64, 0, len(se.CPUFreqMHz))
		for _, v := range se.CPUFreqMHz {
			if ok(v) {
				f = append(f, math.Round(v))
			}
		}
		out["cpu_freq_mhz"] = f
	}
	if len(se.Temps) > 0 {
		ts := make([]map[string]any, 0, len(se.Temps))
		for _, t := range se.Temps {
			if !ok(t.C) {
				continue
			}
			m := map[string]any{"chip": t.Chip, "label": t.Label, "c": r1(t.C)}
			if t.HighC > 0 && ok(t.HighC) {
				m["high_c"] = r1(t.HighC)
			}
			if t.CritC > 0 && ok(t.CritC) {
				m["crit_c"] = r1(t.CritC)
			}
			ts = append(ts, m)
		}
		out["temps"] = ts
	}
	if len(se.Batteries) > 0 {
		bs := make([]map[string]any, 0, len(se.Batteries))
		for _, b := range se.Batteries {
			m := map[string]any{"name": b.Name, "status": b.Status}
			for k, v := range map[string]float64{"capacity_pct": b.CapacityPct, "energy_wh": b.EnergyWh,
				"full_wh": b.FullWh, "power_w": b.PowerW, "time_left_s": b.TimeLeftS} {
				if ok(v) && (v != 0 || k == "capacity_pct") {
					m[k] = r1(v)
				}
			}
			bs = append(bs, m)
		}
		out["batteries"] = bs
	}
	if se.Dropped > 0 {
		out["dropped"] = se.Dropped
	}
	return out
}
