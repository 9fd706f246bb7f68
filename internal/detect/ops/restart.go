package ops

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// RuleRestart finds a service that keeps dying and being started again:
// systemd (Restart=), Docker (--restart) and supervisors hide the crash, so
// the service looks up while it serves little.
var RuleRestart = register(def{
	rule:     &detect.Rule{Name: "host.restart", SID: 9000105, Category: "Host health", Severity: detect.SevMedium, Summary: "a systemd unit, container or supervised process restarting in a loop"},
	newCheck: func(cfg *Config) check { return &restartCheck{cfg: cfg, tracks: map[string]*restartTrack{}} },
	stats: func(c check, out map[string]uint64) {
		r := c.(*restartCheck)
		out["host.restart.entries"] = uint64(len(r.tracks))
		out["host.restart.dropped"] = r.dropped
	},
})

// Bounds on host.restart's state.
const (
	restartMaxTracks = 4096 // units and supervised commands followed
	restartKeepPIDs  = 10   // main PIDs of the latest restarts kept for evidence
)

// supervisors start and restart their children; a process without a unit
// counts as a service when its parent is one of these or PID 1. Anything
// else (a shell running sleep in a loop, a cron job's commands) comes and
// goes by design and is not followed.
var supervisors = map[string]bool{
	// Names as the kernel keeps them (comm, at most 15 bytes):
	// OpenRC's supervise-daemon, containerd-shim-runc-v2.
	"supervisord": true, "runsv": true, "s6-supervise": true, "supervise-daemo": true,
	"tini": true, "dumb-init": true, "monit": true, "circusd": true, "pm2": true,
	"containerd-shim": true, "conmon": true, "runit": true,
}

// restartCheck follows each unit (or supervised command) across samples.
type restartCheck struct {
	cfg     *Config
	tracks  map[string]*restartTrack
	dropped uint64 // units not followed because the table was full
}

type restartTrack struct {
	pids     []int32     // sorted, at the last sighting
	seen     time.Time   // last sighting
	restarts []time.Time // within RestartWindow
	mains    []int32     // main PIDs after the latest restarts (evidence)
}

// restartKey names what a process belongs to for host.restart: its unit or
// container, else its supervisor and name; "" when it is not followed.
func restartKey(p *hoststat.Process, byPID map[int32]*hoststat.Process) string {
	if p.Kernel {
		return ""
	}
	if p.Unit != "" {
		return "unit " + p.Unit
	}
	parent := byPID[p.PPID]
	if p.PPID == 1 || (parent != nil && supervisors[parent.Name]) {
		return fmt.Sprintf("process %s (parent pid %d)", p.Name, p.PPID)
	}
	return ""
}

func (c *restartCheck) observe(s *hoststat.Snapshot, out *raiser) {
	if s.ProcessesRepeated || len(s.Processes) == 0 {
		return // nothing new to compare
	}
	if _, failed := s.Errors["processes"]; failed {
		return // a partial list would look like every unit replaced
	}
	byPID := make(map[int32]*hoststat.Process, len(s.Processes))
	for i := range s.Processes {
		byPID[s.Processes[i].PID] = &s.Processes[i]
	}
	groups := map[string][]int32{}
	main := map[string]*hoststat.Process{} // the oldest process of each group
	for i := range s.Processes {
		p := &s.Processes[i]
		k := restartKey(p, byPID)
		if k == "" {
			continue
		}
		groups[k] = append(groups[k], p.PID)
		if m := main[k]; m == nil || p.StartTime.Before(m.StartTime) || (p.StartTime.Equal(m.StartTime) && p.PID < m.PID) {
			main[k] = p
		}
	}
	for k, pids := range groups {
		slices.Sort(pids)
		t := c.tracks[k]
		if t == nil {
			if len(c.tracks) >= restartMaxTracks {
				c.dropped++
				continue
			}
			c.tracks[k] = &restartTrack{pids: pids, seen: s.Time}
			continue
		}
		gap := s.Time.Sub(t.seen)
		replaced := !shareAny(t.pids, pids)
		t.pids, t.seen = pids, s.Time
		if !replaced || gap < 0 || gap > c.cfg.RestartGap {
			continue
		}
		t.restarts = append(t.restarts, s.Time)
		t.mains = append(t.mains, main[k].PID)
		if len(t.mains) > restartKeepPIDs {
			t.mains = t.mains[len(t.mains)-restartKeepPIDs:]
		}
		cut := 0
		for cut < len(t.restarts) && s.Time.Sub(t.restarts[cut]) > c.cfg.RestartWindow {
			cut++
		}
		t.restarts = t.restarts[cut:]
		if len(t.restarts) < c.cfg.RestartCount {
			continue
		}
		c.raise(s, k, t, main[k], out)
	}
	for k, t := range c.tracks {
		if s.Time.Sub(t.seen) > c.cfg.RestartWindow || s.Time.Before(t.seen) && t.seen.Sub(s.Time) > c.cfg.RestartWindow {
			delete(c.tracks, k) // gone for good (or the clock stepped far back)
		}
	}
}

func (c *restartCheck) raise(s *hoststat.Snapshot, key string, t *restartTrack, m *hoststat.Process, out *raiser) {
	n := len(t.restarts)
	span := t.restarts[n-1].Sub(t.restarts[0])
	gaps := make([]float64, 0, n-1)
	for i := 1; i < n; i++ {
		gaps = append(gaps, math.Round(t.restarts[i].Sub(t.restarts[i-1]).Seconds()*10)/10)
	}
	out.raise("host.restart/"+key, s.Time, RuleRestart.Severity, float64(n), doubled, func() *detect.Alert {
		a := &detect.Alert{
			Rule: RuleRestart,
			Signature: fmt.Sprintf("%s restarted %d times in %s; now %s (pid %d)",
				key, n, span.Round(time.Second), m.Name, m.PID),
			PID: m.PID, Process: m.Name,
			Evidence: map[string]any{
				"restarts": n, "window_s": c.cfg.RestartWindow.Seconds(), "threshold": c.cfg.RestartCount,
				"seconds_between": gaps, "pids": slices.Clone(t.mains),
				"pid": m.PID, "process": m.Name, "user": m.User,
				"cmdline": hoststat.ClipCmdline(m.Cmdline), "processes_now": len(t.pids),
			},
		}
		if unit, ok := strings.CutPrefix(key, "unit "); ok {
			a.Evidence["unit"] = unit
		} else {
			a.Evidence["parent_pid"] = m.PPID
		}
		return a
	})
}

// shareAny reports whether two sorted PID lists have one in common.
func shareAny(a, b []int32) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			return true
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return false
}
