package ops

import (
	"fmt"
	"math"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/units"
)

// RuleDisk reports a filesystem (or its inodes) nearly full, or filling so
// fast that it is full within DiskFullWithin.
var RuleDisk = register(def{
	rule:     &detect.Rule{Name: "host.disk", SID: 9000102, Category: "Host health", Severity: detect.SevMedium, Summary: "a filesystem nearly full or filling fast"},
	newCheck: func(cfg *Config) check { return &diskCheck{cfg: cfg, used: map[string][]diskPoint{}} },
})

// diskKeep is the spacing of the used-space points kept per filesystem.
const diskKeep = 10 * time.Second

type diskCheck struct {
	cfg  *Config
	used map[string][]diskPoint // by mount point; unmounted ones dropped
}

type diskPoint struct {
	at   time.Time
	used uint64
}

// fillRate returns the fill rate in bytes/s measured over the retained
// points, when they span at least half of DiskRateWindow.
func (c *diskCheck) fillRate(mount string, now time.Time, used uint64) (float64, bool) {
	pts := c.used[mount]
	// Keep one point per diskKeep, dropping those older than the window.
	if len(pts) == 0 || now.Sub(pts[len(pts)-1].at) >= diskKeep {
		pts = append(pts, diskPoint{now, used})
	}
	cut := 0
	for cut < len(pts)-1 && now.Sub(pts[cut].at) > c.cfg.DiskRateWindow {
		cut++
	}
	pts = pts[cut:]
	c.used[mount] = pts
	span := now.Sub(pts[0].at)
	if span < c.cfg.DiskRateWindow/2 {
		return 0, false
	}
	return (float64(used) - float64(pts[0].used)) / span.Seconds(), true
}

// severity is 2 from DiskUsedPct, 1 from DiskCriticalPct.
func (c *diskCheck) severity(pct float64) detect.Severity {
	if pct >= c.cfg.DiskCriticalPct {
		return detect.SevHigh
	}
	return detect.SevMedium
}

func (c *diskCheck) observe(s *hoststat.Snapshot, out *raiser) {
	seen := make(map[string]bool, len(s.Filesystems))
	for i := range s.Filesystems {
		fs := &s.Filesystems[i]
		// A corrupt share neither fires nor breaks EVE.
		usedPct, inodesPct := finiteRate(fs.UsedPct), finiteRate(fs.InodesUsedPct)
		seen[fs.Mount] = true
		fillRate, haveRate := c.fillRate(fs.Mount, s.Time, fs.Used)
		if fs.ReadOnly {
			continue // cannot fill; often full by design (images)
		}
		var ttf float64 = -1
		if haveRate && fillRate > 0 {
			ttf = float64(fs.Free) / fillRate
		}
		filling := ttf >= 0 && ttf <= c.cfg.DiskFullWithin.Seconds()
		if usedPct >= c.cfg.DiskUsedPct || filling {
			out.raise("host.disk/"+fs.Mount, s.Time, c.severity(usedPct), usedPct, worseBy(2), func() *detect.Alert {
				sig := fmt.Sprintf("filesystem %s %.1f%% full (%s free of %s)", fs.Mount, usedPct, units.Bytes(fs.Free), units.Bytes(fs.Total))
				if ttf >= 0 {
					sig += fmt.Sprintf(", full in about %s at %s/s", time.Duration(ttf*float64(time.Second)).Round(time.Minute), units.Bytes(uint64(fillRate)))
				}
				a := &detect.Alert{
					Rule: RuleDisk, Signature: sig,
					Evidence: map[string]any{
						"mount": fs.Mount, "device": fs.Device, "fstype": fs.FSType,
						"used_pct": round1(usedPct), "threshold_pct": c.cfg.DiskUsedPct,
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
			})
		}
		if fs.InodesTotal > 0 && inodesPct >= c.cfg.DiskUsedPct {
			out.raise("host.disk/"+fs.Mount+"/inodes", s.Time, c.severity(inodesPct), inodesPct, worseBy(2), func() *detect.Alert {
				return &detect.Alert{
					Rule: RuleDisk,
					Signature: fmt.Sprintf("filesystem %s out of inodes: %.1f%% used (%d free)",
						fs.Mount, inodesPct, fs.InodesFree),
					Evidence: map[string]any{
						"mount": fs.Mount, "device": fs.Device, "fstype": fs.FSType,
						"inodes_used_pct": round1(inodesPct), "threshold_pct": c.cfg.DiskUsedPct,
						"inodes_total": fs.InodesTotal, "inodes_used": fs.InodesUsed, "inodes_free": fs.InodesFree,
					},
				}
			})
		}
	}
	for m := range c.used {
		if !seen[m] {
			delete(c.used, m) // unmounted
		}
	}
}
