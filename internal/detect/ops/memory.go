package ops

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/units"
)

// RuleMemory reports memory running out: swap thrashing, OOM kills, and
// low available memory.
var RuleMemory = register(def{
	rule:     &detect.Rule{Name: "host.memory", SID: 9000101, Category: "Host health", Severity: detect.SevMedium, Summary: "low available memory, swap thrashing or OOM kills"},
	newCheck: func(cfg *Config) check { return &memoryCheck{cfg: cfg} },
})

type memoryCheck struct {
	cfg       *Config
	memSince  time.Time
	swapSince time.Time
	oomCount  uint64 // OOM kills reported in the current oom window
}

func (c *memoryCheck) observe(s *hoststat.Snapshot, out *raiser) {
	if s.IntervalS > 0 { // the first sample has no rates
		c.swap(s, out)
	}
	c.oom(s, out)
	c.available(s, out)
}

func (c *memoryCheck) oom(s *hoststat.Snapshot, out *raiser) {
	m := s.Memory
	if m.OOMKillsNew == 0 {
		return
	}
	const key = "host.memory/oom"
	if !out.open(key, s.Time) {
		c.oomCount = 0 // a new window counts afresh
	}
	c.oomCount += m.OOMKillsNew
	out.raise(key, s.Time, detect.SevHigh, float64(c.oomCount), worseBy(1), func() *detect.Alert {
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
		a := &detect.Alert{
			Rule:      RuleMemory,
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
	})
}

func (c *memoryCheck) available(s *hoststat.Snapshot, out *raiser) {
	m := s.Memory
	if m.Total == 0 {
		return
	}
	availPct := 100 * float64(m.Available) / float64(m.Total)
	since, fire := sustained(&c.memSince, availPct < c.cfg.MemAvailPct, s.Time, c.cfg.MemFor)
	if !fire {
		return
	}
	top := topBy(s.Processes, c.cfg.TopN, func(a, b *hoststat.Process) bool { return a.RSS > b.RSS })
	out.raise("host.memory/available", s.Time, RuleMemory.Severity, 100-availPct, worseBy(5), func() *detect.Alert {
		who, facts := procList(top, func(p *hoststat.Process) string { return units.Bytes(p.RSS) }, nil)
		a := &detect.Alert{
			Rule: RuleMemory,
			Signature: fmt.Sprintf("memory low: %.1f%% available (%s of %s) for %s; largest: %s",
				availPct, units.Bytes(m.Available), units.Bytes(m.Total), s.Time.Sub(since).Round(time.Second), who),
			Evidence: map[string]any{
				"available_pct": round1(availPct), "threshold_pct": c.cfg.MemAvailPct,
				"available": m.Available, "total": m.Total, "swap_used": m.SwapUsed,
				"for_s": s.Time.Sub(since).Seconds(), "top_processes": facts,
			},
		}
		blame(a, top)
		return a
	})
}

func (c *memoryCheck) swap(s *hoststat.Snapshot, out *raiser) {
	m := s.Memory
	r := finiteRate(m.SwapInPerS) + finiteRate(m.SwapOutPerS)
	since, fire := sustained(&c.swapSince, r > c.cfg.SwapPagesPerS, s.Time, c.cfg.SwapFor)
	if !fire {
		return
	}
	out.raise("host.memory/swap", s.Time, RuleMemory.Severity, r, doubled, func() *detect.Alert {
		return &detect.Alert{
			Rule: RuleMemory,
			Signature: fmt.Sprintf("swap thrashing: %.0f pages/s in+out for %s (%.1f%% memory available)",
				r, s.Time.Sub(since).Round(time.Second), 100*float64(m.Available)/math.Max(1, float64(m.Total))),
			Evidence: map[string]any{
				"swap_in_per_s": round1(finiteRate(m.SwapInPerS)), "swap_out_per_s": round1(finiteRate(m.SwapOutPerS)),
				"threshold_pages_per_s": c.cfg.SwapPagesPerS, "for_s": s.Time.Sub(since).Seconds(),
				"swap_used": m.SwapUsed, "swap_total": m.SwapTotal, "available": m.Available,
			},
		}
	})
}
