package detect

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// RuleHostPressure reads Linux pressure stall information: tasks waiting
// for memory or I/O instead of running, the most direct measure of a host
// struggling, whatever its thresholds say.
var RuleHostPressure = register(&Rule{Name: "host.pressure", SID: 9000104, Category: "Host health", Severity: SevMedium, Summary: "memory or I/O pressure stall sustained: tasks waiting instead of running"})

// hostPressureMaxRSS bounds the RSS baseline kept while memory pressure
// lasts (one entry per process).
const hostPressureMaxRSS = 65536

// hostPressure is the state of host.pressure: when each resource's stall
// began, and every process's RSS at the start of a memory stall, so the
// evidence can name the processes that grew during it.
type hostPressure struct {
	memSince, ioSince time.Time
	rssAt             map[int32]uint64 // nil outside a memory stall
}

// pressureMeasure is the "some" stall of one resource for this sample: the
// share of the sample's own interval when that is at least 10 s (the
// kernel's avg10 would forget its start), else avg10, so that one second's
// jitter does not break a sustained run. Non-finite values count as 0.
func pressureMeasure(l hoststat.PressureLine, intervalS float64) (float64, string) {
	if intervalS >= 10 {
		return finite(l.StallPct), "interval"
	}
	return finite(l.Avg10), "avg10"
}

func fullMeasure(r *hoststat.PressureResource, intervalS float64) float64 {
	if !r.HasFull {
		return 0
	}
	m, _ := pressureMeasure(r.Full, intervalS)
	return m
}

// finite maps NaN and infinities (a corrupt sample) to 0 and clamps to
// [0, 100], so they neither fire a rule nor break the EVE encoder.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return 0
	}
	return min(x, 100)
}

func (h *HostRules) observePressure(s *hoststat.Snapshot, emit func(*Alert)) {
	p := s.Pressure
	if p == nil {
		h.pressure = hostPressure{}
		return
	}
	h.observeMemPressure(s, &p.Memory, emit)
	h.observeIOPressure(s, &p.IO, emit)
}

func (h *HostRules) observeMemPressure(s *hoststat.Snapshot, r *hoststat.PressureResource, emit func(*Alert)) {
	some, how := pressureMeasure(r.Some, s.IntervalS)
	cond := r.Readable && some >= h.cfg.PressureMemPct
	since, fire := hostSustained(&h.pressure.memSince, cond, s.Time, h.cfg.PressureFor)
	switch {
	case !cond:
		h.pressure.rssAt = nil
		return
	case h.pressure.rssAt == nil:
		h.pressure.rssAt = make(map[int32]uint64, len(s.Processes))
		for i := range s.Processes {
			if len(h.pressure.rssAt) >= hostPressureMaxRSS {
				break
			}
			h.pressure.rssAt[s.Processes[i].PID] = s.Processes[i].RSS
		}
	}
	if !fire {
		return
	}
	full := fullMeasure(r, s.IntervalS)
	sev := RuleHostPressure.Severity
	if full >= h.cfg.PressureFullPct {
		sev = SevHigh
	}
	var gs []hoststat.Process
	grew := map[int32]uint64{}
	for i := range s.Processes {
		pr := &s.Processes[i]
		before, known := h.pressure.rssAt[pr.PID]
		if !known && len(h.pressure.rssAt) >= hostPressureMaxRSS {
			continue // not in the bounded baseline: growth unknown
		}
		if pr.RSS > before {
			grew[pr.PID] = pr.RSS - before
			gs = append(gs, *pr)
		}
	}
	top := hostTopBy(gs, h.cfg.TopN, func(a, b *hoststat.Process) bool { return grew[a.PID] > grew[b.PID] })
	m := s.Memory
	h.raise("host.pressure/memory", s.Time, sev, some, hostWorseBy(10), func() *Alert {
		names := make([]string, len(top))
		facts := hostProcFacts(top)
		for i, pr := range top {
			names[i] = fmt.Sprintf("%s (pid %d) +%s", pr.Name, pr.PID, hostBytes(grew[pr.PID]))
			facts[i]["grew_bytes"] = grew[pr.PID]
			if pr.Unit != "" {
				facts[i]["unit"] = pr.Unit
			}
		}
		who := strings.Join(names, ", ")
		if who == "" {
			who = "no process grew (page cache or kernel memory)"
		}
		sig := fmt.Sprintf("memory pressure: tasks stalled %.0f%% of the time for %s", some, s.Time.Sub(since).Round(time.Second))
		if r.HasFull {
			sig += fmt.Sprintf(" (all tasks %.0f%%)", full)
		}
		a := &Alert{
			Rule:      RuleHostPressure,
			Signature: sig + "; grew most: " + who,
			Evidence: map[string]any{
				"resource": "memory", "some_pct": hostRound1(some), "measure": how,
				"threshold_pct": h.cfg.PressureMemPct, "for_s": s.Time.Sub(since).Seconds(),
				"some_avg10": finite(r.Some.Avg10), "some_avg60": finite(r.Some.Avg60),
				"available": m.Available, "total": m.Total, "swap_used": m.SwapUsed,
				"swap_in_per_s": hostRound1(finite(m.SwapInPerS)), "swap_out_per_s": hostRound1(finite(m.SwapOutPerS)),
				"grew_processes": facts,
			},
		}
		if r.HasFull {
			a.Evidence["full_pct"] = hostRound1(full)
		}
		if len(top) > 0 {
			a.PID, a.Process = top[0].PID, top[0].Name
		}
		return a
	}, emit)
}

func (h *HostRules) observeIOPressure(s *hoststat.Snapshot, r *hoststat.PressureResource, emit func(*Alert)) {
	some, how := pressureMeasure(r.Some, s.IntervalS)
	since, fire := hostSustained(&h.pressure.ioSince, r.Readable && some >= h.cfg.PressureIOPct, s.Time, h.cfg.PressureFor)
	if !fire {
		return
	}
	full := fullMeasure(r, s.IntervalS)
	sev := RuleHostPressure.Severity
	if full >= h.cfg.PressureFullPct {
		sev = SevHigh
	}
	ioRate := func(p *hoststat.Process) float64 { return finite0(p.ReadBytesPerS) + finite0(p.WriteBytesPerS) }
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
	top := hostTopBy(busy, h.cfg.TopN, func(a, b *hoststat.Process) bool { return ioRate(a) > ioRate(b) })
	h.raise("host.pressure/io", s.Time, sev, some, hostWorseBy(10), func() *Alert {
		names := make([]string, len(top))
		facts := hostProcFacts(top)
		for i, pr := range top {
			names[i] = fmt.Sprintf("%s (pid %d) %s/s", pr.Name, pr.PID, hostBytes(uint64(ioRate(&pr))))
			facts[i]["read_bytes_per_s"] = math.Round(finite0(pr.ReadBytesPerS))
			facts[i]["write_bytes_per_s"] = math.Round(finite0(pr.WriteBytesPerS))
			if pr.Unit != "" {
				facts[i]["unit"] = pr.Unit
			}
		}
		who := strings.Join(names, ", ")
		if who == "" {
			who = "no readable process did I/O"
		}
		sig := fmt.Sprintf("I/O pressure: tasks stalled %.0f%% of the time for %s", some, s.Time.Sub(since).Round(time.Second))
		if r.HasFull {
			sig += fmt.Sprintf(" (all tasks %.0f%%)", full)
		}
		disks := make([]map[string]any, 0, len(s.Disks))
		for _, d := range s.Disks {
			disks = append(disks, map[string]any{"name": d.Name, "busy_pct": hostRound1(finite(d.BusyPct)),
				"read_bytes_per_s": math.Round(finite0(d.ReadBytesPerS)), "write_bytes_per_s": math.Round(finite0(d.WriteBytesPerS))})
		}
		a := &Alert{
			Rule:      RuleHostPressure,
			Signature: sig + "; top I/O: " + who,
			Evidence: map[string]any{
				"resource": "io", "some_pct": hostRound1(some), "measure": how,
				"threshold_pct": h.cfg.PressureIOPct, "for_s": s.Time.Sub(since).Seconds(),
				"some_avg10": finite(r.Some.Avg10), "some_avg60": finite(r.Some.Avg60),
				"iowait_pct":       hostRound1(finite(s.CPU.Total.IOWait)),
				"top_io_processes": facts, "disks": disks,
			},
		}
		if r.HasFull {
			a.Evidence["full_pct"] = hostRound1(full)
		}
		if unreadable > 0 {
			// As non-root, other users' /proc/<pid>/io is closed: the
			// process doing the I/O may be among these.
			a.Evidence["io_unreadable_processes"] = unreadable
		}
		if len(top) > 0 {
			a.PID, a.Process = top[0].PID, top[0].Name
		}
		return a
	}, emit)
}

// finite0 maps NaN, infinities and negatives (a corrupt sample) to 0,
// without finite's clamp to 100 (rates are not percentages).
func finite0(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return 0
	}
	return x
}
