package ops

import (
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// RuleCPU reports sustained CPU saturation and the processes behind it.
var RuleCPU = register(def{
	rule:     &detect.Rule{Name: "host.cpu", SID: 9000100, Category: "Host health", Severity: detect.SevMedium, Summary: "sustained CPU saturation"},
	newCheck: func(cfg *Config) check { return &cpuCheck{cfg: cfg} },
})

type cpuCheck struct {
	cfg   *Config
	since time.Time // start of the current saturation
}

func (c *cpuCheck) observe(s *hoststat.Snapshot, out *raiser) {
	if !(s.IntervalS > 0) {
		return // the first sample has no rates
	}
	busy := finiteRate(s.CPU.Total.Busy) // a corrupt sample neither fires nor breaks EVE
	since, fire := sustained(&c.since, busy >= c.cfg.CPUBusyPct, s.Time, c.cfg.CPUFor)
	if !fire {
		return
	}
	top := topBy(s.Processes, c.cfg.TopN, func(a, b *hoststat.Process) bool { return a.CPUPct > b.CPUPct })
	out.raise("host.cpu", s.Time, RuleCPU.Severity, busy, worseBy(5), func() *detect.Alert {
		who, facts := procList(top, func(p *hoststat.Process) string { return fmt.Sprintf("%.0f%%", finiteRate(p.CPUPct)) }, nil)
		a := &detect.Alert{
			Rule: RuleCPU,
			Signature: fmt.Sprintf("CPU %.0f%% busy for %s on %d cores; top: %s",
				busy, s.Time.Sub(since).Round(time.Second), s.CPU.Count, who),
			Evidence: map[string]any{
				"busy_pct": round1(busy), "threshold_pct": c.cfg.CPUBusyPct,
				"for_s": s.Time.Sub(since).Seconds(), "cores": s.CPU.Count,
				"iowait_pct": round1(finiteRate(s.CPU.Total.IOWait)), "steal_pct": round1(finiteRate(s.CPU.Total.Steal)),
				"load1": finiteRate(s.Load.Load1), "top_processes": facts,
			},
		}
		blame(a, top)
		return a
	})
}
