package detect

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// RuleHostRestart finds a service that keeps dying and being started again:
// systemd (Restart=), Docker (--restart) and supervisors hide the crash, so
// the service looks up while it serves little.
var RuleHostRestart = register(&Rule{Name: "host.restart", SID: 9000105, Category: "Host health", Severity: SevMedium, Summary: "a systemd unit, container or supervised process restarting in a loop"})

// Bounds on host.restart's state.
const (
	hostRestartMaxTracks = 4096 // units and supervised commands followed
	hostRestartKeepPIDs  = 10   // main PIDs of the latest restarts kept for evidence
)

// hostSupervisors start and restart their children; a process without a
// unit counts as a service when its parent is one of these or PID 1.
// Anything else (a shell running sleep in a loop, a cron job's commands)
// comes and goes by design and is not followed.
var hostSupervisors = map[string]bool{
	// Names as the kernel keeps them (comm, at most 15 bytes):
	// OpenRC's supervise-daemon, containerd-shim-runc-v2.
	"supervisord": true, "runsv": true, "s6-supervise": true, "supervise-daemo": true,
	"tini": true, "dumb-init": true, "monit": true, "circusd": true, "pm2": true,
	"containerd-shim": true, "conmon": true, "runit": true,
}

// hostRestart follows each unit (or supervised command) across samples.
type hostRestart struct {
	tracks  map[string]*hostRestartTrack
	dropped uint64 // units not followed because the table was full
}

type hostRestartTrack struct {
	pids     []int32     // sorted, at the last sighting
	seen     time.Time   // last sighting
	restarts []time.Time // within RestartWindow
	mains    []int32     // main PIDs after the latest restarts (evidence)
}

// hostRestartKey names what a process belongs to for host.restart: its unit
// or container, else its supervisor and name; "" when it is not followed.
func hostRestartKey(p *hoststat.Process, byPID map[int32]*hoststat.Process) string {
	if p.Kernel {
		return ""
	}
	if p.Unit != "" {
		return "unit " + p.Unit
	}
	parent := byPID[p.PPID]
	if p.PPID == 1 || (parent != nil && hostSupervisors[parent.Name]) {
		return fmt.Sprintf("process %s (parent pid %d)", p.Name, p.PPID)
	}
	return ""
}

func (h *HostRules) observeRestarts(s *hoststat.Snapshot, emit func(*Alert)) {
	if s.ProcessesRepeated || len(s.Processes) == 0 {
		return // nothing new to compare
	}
	if _, failed := s.Errors["processes"]; failed {
		return // a partial list would look like every unit replaced
	}
	st := &h.restart
	if st.tracks == nil {
		st.tracks = map[string]*hostRestartTrack{}
	}
	byPID := make(map[int32]*hoststat.Process, len(s.Processes))
	for i := range s.Processes {
		byPID[s.Processes[i].PID] = &s.Processes[i]
	}
	groups := map[string][]int32{}
	main := map[string]*hoststat.Process{} // the oldest process of each group
	for i := range s.Processes {
		p := &s.Processes[i]
		k := hostRestartKey(p, byPID)
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
		t := st.tracks[k]
		if t == nil {
			if len(st.tracks) >= hostRestartMaxTracks {
				st.dropped++
				continue
			}
			st.tracks[k] = &hostRestartTrack{pids: pids, seen: s.Time}
			continue
		}
		gap := s.Time.Sub(t.seen)
		replaced := !hostShareAny(t.pids, pids)
		t.pids, t.seen = pids, s.Time
		if !replaced || gap < 0 || gap > h.cfg.RestartGap {
			continue
		}
		t.restarts = append(t.restarts, s.Time)
		t.mains = append(t.mains, main[k].PID)
		if len(t.mains) > hostRestartKeepPIDs {
			t.mains = t.mains[len(t.mains)-hostRestartKeepPIDs:]
		}
		cut := 0
		for cut < len(t.restarts) && s.Time.Sub(t.restarts[cut]) > h.cfg.RestartWindow {
			cut++
		}
		t.restarts = t.restarts[cut:]
		if len(t.restarts) < h.cfg.RestartCount {
			continue
		}
		h.raiseRestart(s, k, t, main[k], emit)
	}
	for k, t := range st.tracks {
		if s.Time.Sub(t.seen) > h.cfg.RestartWindow || s.Time.Before(t.seen) && t.seen.Sub(s.Time) > h.cfg.RestartWindow {
			delete(st.tracks, k) // gone for good (or the clock stepped far back)
		}
	}
}

func (h *HostRules) raiseRestart(s *hoststat.Snapshot, key string, t *hostRestartTrack, m *hoststat.Process, emit func(*Alert)) {
	n := len(t.restarts)
	span := t.restarts[n-1].Sub(t.restarts[0])
	gaps := make([]float64, 0, n-1)
	for i := 1; i < n; i++ {
		gaps = append(gaps, math.Round(t.restarts[i].Sub(t.restarts[i-1]).Seconds()*10)/10)
	}
	h.raise("host.restart/"+key, s.Time, RuleHostRestart.Severity, float64(n), func(prev, cur float64) bool { return cur >= 2*prev }, func() *Alert {
		a := &Alert{
			Rule: RuleHostRestart,
			Signature: fmt.Sprintf("%s restarted %d times in %s; now %s (pid %d)",
				key, n, span.Round(time.Second), m.Name, m.PID),
			PID: m.PID, Process: m.Name,
			Evidence: map[string]any{
				"restarts": n, "window_s": h.cfg.RestartWindow.Seconds(), "threshold": h.cfg.RestartCount,
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
	}, emit)
}

// hostShareAny reports whether two sorted PID lists have one in common.
func hostShareAny(a, b []int32) bool {
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
