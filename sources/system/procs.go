package system

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// slowEvery is how many samples pass between re-reads of a process's status
// (for its uid, which changes when a daemon drops privileges) and cmdline
// (which setproctitle rewrites). Both are read when a process first appears;
// re-reading them every second would double the cost of a sample.
const slowEvery = 10

// procState is what the Sampler remembers of a process between samples.
type procState struct {
	gen        uint64
	startTicks uint64 // with the pid, identifies the process across pid reuse
	cpuTicks   uint64
	name       string
	uid        uint32
	cmdline    string
	cmdlineOK  bool
	cmdlineCut bool // longer than hoststat.MaxCmdlineBytes
	age        int
	ioRead     uint64
	ioWrite    uint64
	ioOK       bool
	ioDenied   bool // never retried: permissions do not change for a pid
	fdDenied   bool
	kernel     bool // kernel thread: no fds, no cmdline
	unit       string
	// The stat and io files, kept open between samples (keptFile).
	statFile, ioFile keptFile
}

// listPIDs returns the numeric entries of the proc root.
func (s *Sampler) listPIDs() ([]int32, error) {
	d, err := os.Open(s.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list processes in %s: %w", s.ProcRoot, err)
	}
	pids := make([]int32, 0, len(names))
	for _, n := range names {
		if n == "" || n[0] < '0' || n[0] > '9' {
			continue
		}
		p, err := strconv.ParseInt(n, 10, 32)
		if err != nil {
			continue
		}
		pids = append(pids, int32(p))
	}
	return pids, nil
}

var procGen uint64

func (s *Sampler) userName(uid uint32, now time.Time) string {
	if u, ok := s.users[uid]; ok {
		return u
	}
	// Re-read /etc/passwd for an unknown uid, at most once a minute.
	if s.users == nil || now.Sub(s.usersRead) > time.Minute {
		s.usersRead = now
		if b, err := os.ReadFile(s.PasswdPath); err == nil {
			s.users = parsePasswd(b)
		} else if s.users == nil {
			s.users = map[uint32]string{}
		}
		if u, ok := s.users[uid]; ok {
			return u
		}
	}
	return strconv.FormatUint(uint64(uid), 10)
}

func (s *Sampler) sampleProcesses(snap *hoststat.Snapshot, dt float64) error {
	pids, err := s.listPIDs()
	if err != nil {
		return err
	}
	procGen++
	gen := procGen
	snap.Processes = make([]hoststat.Process, 0, len(pids))
	var pidBuf [12]byte
	var firstErr error
	for _, pid := range pids {
		ps := string(strconv.AppendInt(pidBuf[:0], int64(pid), 10))
		state := s.procs[pid]
		// The stat file is kept in the pid's state; a pid met for the first
		// time keeps it in newFile until its state is made.
		var newFile keptFile
		kf := &newFile
		if state != nil {
			kf = &state.statFile
		}
		b, err := s.readKept(kf, s.path(ps, "stat"))
		if err != nil {
			s.closeKept(&newFile)
			continue // exited between listing and reading
		}
		st, err := parseStat(b)
		if err != nil {
			s.closeKept(&newFile)
			if firstErr == nil {
				firstErr = fmt.Errorf("parse %s: %w", s.path(ps, "stat"), err)
			}
			continue
		}
		// gen 0: first met by the socket-owner scan, without a CPU baseline.
		fresh := state == nil || state.startTicks != st.startTicks || state.gen == 0
		if fresh {
			statFile := *kf
			if state != nil { // the pid is a new process's: the file just read is its
				state.statFile = 0
				s.closeKept(&state.ioFile)
			}
			state = &procState{startTicks: st.startTicks, cpuTicks: st.utime + st.stime, statFile: statFile}
			state.kernel = pid == 2 || st.ppid == 2
			s.procs[pid] = state
		}
		state.gen = gen
		state.name = st.comm
		p := hoststat.Process{
			PID: pid, PPID: st.ppid, Name: st.comm, State: string(st.state),
			Threads: st.threads, Nice: st.nice, VSize: st.vsize, Kernel: state.kernel,
			CPUTimeS: float64(st.utime+st.stime) / userHZ,
		}
		if st.rssPages > 0 {
			p.RSS = uint64(st.rssPages) * s.pageSize
		}
		if s.btime > 0 {
			p.StartTime = time.Unix(s.btime, 0).Add(time.Duration(st.startTicks) * (time.Second / userHZ))
		}
		ticks := st.utime + st.stime
		if !fresh && dt > 0 && ticks >= state.cpuTicks {
			p.CPUPct = 100 * float64(ticks-state.cpuTicks) / userHZ / dt
		}
		state.cpuTicks = ticks

		if fresh || state.age%slowEvery == 0 {
			if b, err := s.read(s.path(ps, "status")); err == nil {
				if sts, err := parseStatus(b); err == nil {
					state.uid = sts.uid
				}
			}
			if !state.kernel {
				b, more, err := s.readPrefix(s.path(ps, "cmdline"), hoststat.MaxCmdlineBytes)
				state.cmdlineOK = err == nil
				if err == nil {
					state.cmdline, state.cmdlineCut = parseCmdline(b, more)
				}
				// Units change only when a process is moved (systemd-run,
				// a container's exec); cgroup is readable by anyone.
				if b, err := s.read(s.path(ps, "cgroup")); err == nil {
					state.unit = parseCgroup(b)
				}
			} else {
				state.cmdlineOK = true
			}
		}
		state.age++
		p.UID, p.Unit = state.uid, state.unit
		p.User = s.userName(state.uid, snap.Time)
		p.Cmdline, p.CmdlineReadable, p.CmdlineTruncated = state.cmdline, state.cmdlineOK, state.cmdlineCut

		if !state.ioDenied && !state.kernel {
			b, err := s.readKept(&state.ioFile, s.path(ps, "io"))
			switch {
			case err == nil:
				if v, err := parseIO(b); err == nil {
					if state.ioOK && !fresh {
						p.ReadBytesPerS = rate(state.ioRead, v.readBytes, dt)
						p.WriteBytesPerS = rate(state.ioWrite, v.writeBytes, dt)
					}
					state.ioRead, state.ioWrite, state.ioOK = v.readBytes, v.writeBytes, true
					p.IOReadable = true
				}
			case errors.Is(err, fs.ErrPermission):
				state.ioDenied = true
			}
		}
		snap.Processes = append(snap.Processes, p)
	}
	for pid, st := range s.procs {
		if st.gen != gen {
			s.closeKept(&st.statFile)
			s.closeKept(&st.ioFile)
			delete(s.procs, pid)
		}
	}
	sort.Slice(snap.Processes, func(i, j int) bool { return snap.Processes[i].PID < snap.Processes[j].PID })
	return firstErr
}
