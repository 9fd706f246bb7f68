package ops

import (
	"fmt"
	"math"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/units"
)

// RulePressure reads Linux pressure stall information: tasks waiting for
// memory or I/O instead of running, the most direct measure of a host
// struggling, whatever its thresholds say.
var RulePressure = register(def{
	rule:     &detect.Rule{Name: "host.pressure", SID: 9000104, Category: "Host health", Severity: detect.SevMedium, Summary: "memory or I/O pressure stall sustained: tasks waiting instead of running"},
	newCheck: func(cfg *Config) check { return &pressureCheck{cfg: cfg} },
})

// pressureMaxRSS bounds the RSS baseline kept while memory pressure lasts
// (one entry per process).
const pressureMaxRSS = 65536

// pressureCheck is the state of host.pressure: when each resource's stall
// began, and every process's RSS at the start of a memory stall, so the
// evidence can name the processes that grew during it.
type pressureCheck struct {
	cfg               *Config
	memSince, ioSince time.Time
	rssAt             map[int32]uint64 // nil outside a memory stall
}

// stall is one resource's stall in one sample, as both resources report
// it.
type stall struct {
	resource string // "memory" or "io", the evidence's resource
	title    string // "memory pressure", "I/O pressure"
	r        *hoststat.PressureResource
	some     float64 // the "some" share measured (pressureMeasure)
	how      string  // how it was measured: "interval" or "avg10"
	level    float64 // the configured level it was compared with
	cond     bool    // readable and at or above level
	since    time.Time
	fire     bool // cond has held for PressureFor
}

// measure reads r for this sample, with since tracking how long the stall
// has lasted.
func (c *pressureCheck) measure(s *hoststat.Snapshot, resource, title string, r *hoststat.PressureResource, level float64, since *time.Time) stall {
	st := stall{resource: resource, title: title, r: r, level: level}
	st.some, st.how = pressureMeasure(r.Some, s.IntervalS)
	st.cond = r.Readable && st.some >= level
	st.since, st.fire = sustained(since, st.cond, s.Time, c.cfg.PressureFor)
	return st
}

// pressureMeasure is the "some" stall of one resource for this sample: the
// share of the sample's own interval when that is at least 10 s (the
// kernel's avg10 would forget its start), else avg10, so that one second's
// jitter does not break a sustained run. Non-finite values count as 0.
func pressureMeasure(l hoststat.PressureLine, intervalS float64) (float64, string) {
	if intervalS >= 10 {
		return finitePct(l.StallPct), "interval"
	}
	return finitePct(l.Avg10), "avg10"
}

// full is the "full" stall (every non-idle task waiting), 0 when the
// kernel does not report one.
func (st *stall) full(intervalS float64) float64 {
	if !st.r.HasFull {
		return 0
	}
	m, _ := pressureMeasure(st.r.Full, intervalS)
	return m
}

// severity is 2, 1 when the full stall reaches PressureFullPct.
func (c *pressureCheck) severity(full float64) detect.Severity {
	if full >= c.cfg.PressureFullPct {
		return detect.SevHigh
	}
	return RulePressure.Severity
}

// alert builds what the memory and the I/O alerts share: the signature
// (the stall, then blamed, the processes top names with what), the
// evidence common to both (under list, the blamed processes' facts with
// more added), full_pct and the alert's process. Each resource adds its
// own evidence.
func (st *stall) alert(s *hoststat.Snapshot, full float64, blamed, nobody, list string, top []hoststat.Process,
	what func(*hoststat.Process) string, more func(*hoststat.Process, map[string]any)) *detect.Alert {
	who, facts := procList(top, what, func(p *hoststat.Process, f map[string]any) {
		if more != nil {
			more(p, f)
		}
		if p.Unit != "" {
			f["unit"] = p.Unit
		}
	})
	if who == "" {
		who = nobody
	}
	lasted := s.Time.Sub(st.since)
	sig := fmt.Sprintf("%s: tasks stalled %.0f%% of the time for %s", st.title, st.some, lasted.Round(time.Second))
	if st.r.HasFull {
		sig += fmt.Sprintf(" (all tasks %.0f%%)", full)
	}
	a := &detect.Alert{
		Rule:      RulePressure,
		Signature: sig + "; " + blamed + ": " + who,
		Evidence: map[string]any{
			"resource": st.resource, "some_pct": round1(st.some), "measure": st.how,
			"threshold_pct": st.level, "for_s": lasted.Seconds(),
			"some_avg10": finitePct(st.r.Some.Avg10), "some_avg60": finitePct(st.r.Some.Avg60),
			list: facts,
		},
	}
	if st.r.HasFull {
		a.Evidence["full_pct"] = round1(full)
	}
	blame(a, top)
	return a
}

func (c *pressureCheck) observe(s *hoststat.Snapshot, out *raiser) {
	p := s.Pressure
	if p == nil {
		c.memSince, c.ioSince, c.rssAt = time.Time{}, time.Time{}, nil
		return
	}
	c.memory(s, &p.Memory, out)
	c.io(s, &p.IO, out)
}

func (c *pressureCheck) memory(s *hoststat.Snapshot, r *hoststat.PressureResource, out *raiser) {
	st := c.measure(s, "memory", "memory pressure", r, c.cfg.PressureMemPct, &c.memSince)
	switch {
	case !st.cond:
		c.rssAt = nil
		return
	case c.rssAt == nil:
		c.rssAt = make(map[int32]uint64, len(s.Processes))
		for i := range s.Processes {
			if len(c.rssAt) >= pressureMaxRSS {
				break
			}
			c.rssAt[s.Processes[i].PID] = s.Processes[i].RSS
		}
	}
	if !st.fire {
		return
	}
	full := st.full(s.IntervalS)
	var gs []hoststat.Process
	grew := map[int32]uint64{}
	for i := range s.Processes {
		pr := &s.Processes[i]
		before, known := c.rssAt[pr.PID]
		if !known && len(c.rssAt) >= pressureMaxRSS {
			continue // not in the bounded baseline: growth unknown
		}
		if pr.RSS > before {
			grew[pr.PID] = pr.RSS - before
			gs = append(gs, *pr)
		}
	}
	top := topBy(gs, c.cfg.TopN, func(a, b *hoststat.Process) bool { return grew[a.PID] > grew[b.PID] })
	m := s.Memory
	out.raise("host.pressure/memory", s.Time, c.severity(full), st.some, worseBy(10), func() *detect.Alert {
		a := st.alert(s, full, "grew most", "no process grew (page cache or kernel memory)", "grew_processes", top,
			func(p *hoststat.Process) string { return "+" + units.Bytes(grew[p.PID]) },
			func(p *hoststat.Process, f map[string]any) { f["grew_bytes"] = grew[p.PID] })
		a.Evidence["available"], a.Evidence["total"], a.Evidence["swap_used"] = m.Available, m.Total, m.SwapUsed
		a.Evidence["swap_in_per_s"] = round1(finiteRate(m.SwapInPerS))
		a.Evidence["swap_out_per_s"] = round1(finiteRate(m.SwapOutPerS))
		return a
	})
}

func (c *pressureCheck) io(s *hoststat.Snapshot, r *hoststat.PressureResource, out *raiser) {
	st := c.measure(s, "io", "I/O pressure", r, c.cfg.PressureIOPct, &c.ioSince)
	if !st.fire {
		return
	}
	full := st.full(s.IntervalS)
	ioRate := func(p *hoststat.Process) float64 { return finiteRate(p.ReadBytesPerS) + finiteRate(p.WriteBytesPerS) }
	var busy []hoststat.Process
	unreadable := 0
	for i := range s.Processes {
		pr := &s.Processes[i]
		if !pr.IOReadable {
			unreadable++
		}
		if ioRate(pr) > 0 {
			busy = append(busy, *pr)
		}
	}
	top := topBy(busy, c.cfg.TopN, func(a, b *hoststat.Process) bool { return ioRate(a) > ioRate(b) })
	out.raise("host.pressure/io", s.Time, c.severity(full), st.some, worseBy(10), func() *detect.Alert {
		a := st.alert(s, full, "top I/O", "no readable process did I/O", "top_io_processes", top,
			func(p *hoststat.Process) string { return units.Bytes(uint64(ioRate(p))) + "/s" },
			func(p *hoststat.Process, f map[string]any) {
				f["read_bytes_per_s"] = math.Round(finiteRate(p.ReadBytesPerS))
				f["write_bytes_per_s"] = math.Round(finiteRate(p.WriteBytesPerS))
			})
		disks := make([]map[string]any, 0, len(s.Disks))
		for _, d := range s.Disks {
			disks = append(disks, map[string]any{"name": d.Name, "busy_pct": round1(finitePct(d.BusyPct)),
				"read_bytes_per_s": math.Round(finiteRate(d.ReadBytesPerS)), "write_bytes_per_s": math.Round(finiteRate(d.WriteBytesPerS))})
		}
		a.Evidence["iowait_pct"] = round1(finitePct(s.CPU.Total.IOWait))
		a.Evidence["disks"] = disks
		if unreadable > 0 {
			// As non-root, other users' /proc/<pid>/io is closed: the
			// process doing the I/O may be among these.
			a.Evidence["io_unreadable_processes"] = unreadable
		}
		return a
	})
}
