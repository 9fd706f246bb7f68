package system

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// socketOwners maps socket inodes to the pid holding them.
type socketOwners struct {
	byInode  map[uint64]int32
	unowned  map[uint64]bool // not found by the last full scan: no rescan for them
	complete bool
}

// socketFiles are the /proc/net tables, relative to the proc root.
var socketFiles = []struct {
	name  string
	proto string
	v6    bool
}{
	{"net/tcp", "TCP", false}, {"net/tcp6", "TCP", true},
	{"net/udp", "UDP", false}, {"net/udp6", "UDP", true},
}

// tcpRecheck is how long the periodic socket sample may repeat its TCP
// list while the kernel's TCP counters stay the same (see tcpSig).
const tcpRecheck = 15 * time.Second

// sampleSockets reads the socket list. A periodic sample (not a refresh
// attribution asked for) repeats the last TCP list while the kernel's TCP
// counters say no socket came or went (tcpSig).
func (s *Sampler) sampleSockets(snap *hoststat.Snapshot, now time.Time, periodic bool) error {
	var errs []error
	_, local, err := s.ifaceAddrs(now)
	if err != nil {
		errs = append(errs, err)
	}
	snap.LocalAddrs = slices.Clone(local)
	// TCP through sock_diag when sampling the real system (see diag_linux.go);
	// the /proc tables otherwise, or when sock_diag is unavailable.
	tcpDone := false
	if s.ProcRoot == "/proc" {
		sig, sigErr := s.readTCPSig()
		if periodic && sigErr == nil && s.tcpSigOK && sig == s.tcpSig && now.Sub(s.tcpRead) < tcpRecheck {
			snap.Sockets = append(snap.Sockets, s.lastTCP...)
			tcpDone = true
		} else if all, err := diagTCPAll(); all != nil || err == nil {
			snap.Sockets = append(snap.Sockets, all...)
			tcpDone = true
			if err != nil {
				errs = append(errs, err)
			}
			s.lastTCP = all
			s.tcpSig, s.tcpSigOK, s.tcpRead = sig, sigErr == nil && err == nil, now
		}
	}
	for _, f := range socketFiles {
		if tcpDone && f.proto == "TCP" {
			continue
		}
		p := s.path(f.name)
		b, err := s.read(p)
		if err != nil {
			// No tcp6/udp6 when IPv6 is disabled: not an error.
			if !(f.v6 && errors.Is(err, fs.ErrNotExist)) {
				errs = append(errs, err)
			}
			continue
		}
		socks, err := parseNetTCP(b, f.proto, f.v6)
		if err != nil {
			errs = append(errs, fmt.Errorf("parse %s: %w", p, err))
		}
		snap.Sockets = append(snap.Sockets, socks...)
	}
	if err := s.resolveOwners(snap, now); err != nil {
		errs = append(errs, err)
	}
	sort.SliceStable(snap.Sockets, func(i, j int) bool {
		a, b := &snap.Sockets[i], &snap.Sockets[j]
		if a.Proto != b.Proto {
			return a.Proto > b.Proto // TCP first
		}
		return a.Local.Port() < b.Local.Port()
	})
	// Kept as sampled, as lastProcs is; repeatSockets hands out copies.
	s.lastSockets, s.lastLocal, s.lastComplete = snap.Sockets, snap.LocalAddrs, snap.SocketOwnersComplete
	if s.lastSockets == nil {
		s.lastSockets = []hoststat.Socket{} // sampled, and none: not "never sampled"
	}
	return errors.Join(errs...)
}

// resolveOwners fills Socket.PID. Inode owners are cached; the costly scan
// of every /proc/<pid>/fd runs only when a socket has an inode not seen
// before.
func (s *Sampler) resolveOwners(snap *hoststat.Snapshot, now time.Time) error {
	o := &s.owners
	need := false
	for i := range snap.Sockets {
		in := snap.Sockets[i].Inode
		if in == 0 {
			continue
		}
		if pid, ok := o.byInode[in]; ok && s.alive(pid) {
			continue
		}
		if !o.unowned[in] {
			need = true
			break
		}
	}
	var err error
	// Callers bound the rate: one full sample per tick, socket-only refreshes
	// at most every minSocketRefresh (Run).
	if need {
		err = s.scanFDs(snap.Sockets)
	}
	for i := range snap.Sockets {
		sk := &snap.Sockets[i]
		if sk.Inode == 0 {
			continue
		}
		if pid, ok := o.byInode[sk.Inode]; ok {
			sk.PID = pid
			if st := s.procs[pid]; st != nil {
				sk.Process = st.name
			}
		}
	}
	snap.SocketOwnersComplete = o.complete
	return err
}

// alive reports whether pid is still running.
func (s *Sampler) alive(pid int32) bool {
	if _, ok := s.procs[pid]; ok {
		return true
	}
	_, err := os.Stat(s.path(strconv.Itoa(int(pid))))
	return err == nil
}

// scanFDs reads every process's fd links (as bandwhich and nethogs do) and
// rebuilds the inode -> pid map for the given sockets.
func (s *Sampler) scanFDs(socks []hoststat.Socket) error {
	want := make(map[uint64]bool, len(socks))
	for i := range socks {
		if socks[i].Inode != 0 {
			want[socks[i].Inode] = true
		}
	}
	pids, err := s.listPIDs()
	if err != nil {
		return err
	}
	o := &s.owners
	owners := make(map[uint64]int32, len(want))
	complete := true
	link := make([]byte, 64)
	prefix := []byte("socket:[")
	for _, pid := range pids {
		st := s.procs[pid]
		if st != nil && (st.kernel || st.fdDenied) {
			if st.fdDenied {
				complete = false
			}
			continue
		}
		ps := strconv.Itoa(int(pid))
		dir := s.path(ps, "fd")
		d, err := os.Open(dir)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				complete = false
				if st != nil {
					st.fdDenied = true
				}
			}
			continue
		}
		names, _ := d.Readdirnames(-1)
		d.Close()
		if st == nil {
			// A process that started after the last full sample: learn its name.
			if b, err := s.read(s.path(ps, "stat")); err == nil {
				if ps, err := parseStat(b); err == nil {
					st = &procState{startTicks: ps.startTicks, name: ps.comm, cpuTicks: ps.utime + ps.stime}
					s.procs[pid] = st
				}
			}
		}
		for _, n := range names {
			m, err := syscall.Readlink(dir+"/"+n, link)
			if err == syscall.EACCES || err == syscall.EPERM {
				// The directory lists but the links are guarded (ptrace
				// access mode): as unreadable as a closed directory.
				complete = false
				if st != nil {
					st.fdDenied = true
				}
				break
			}
			if err != nil || m < len(prefix)+2 || !bytes.HasPrefix(link[:m], prefix) {
				continue
			}
			in, err := parseUint(link[len(prefix) : m-1])
			if err != nil || !want[in] {
				continue
			}
			// Shared sockets (forked workers): the lowest pid, usually the parent.
			if prev, ok := owners[in]; !ok || pid < prev {
				owners[in] = pid
			}
		}
	}
	o.byInode = owners
	o.unowned = map[uint64]bool{}
	for in := range want {
		if _, ok := owners[in]; !ok {
			o.unowned[in] = true
		}
	}
	o.complete = complete
	return nil
}

// readTCPSig reads the kernel's TCP counters (tcpSig).
func (s *Sampler) readTCPSig() (tcpSig, error) {
	var sig tcpSig
	b, err := s.read(s.path("net/snmp"))
	if err != nil {
		return sig, err
	}
	if err := sig.parseSNMP(b); err != nil { // before s.read reuses b
		return sig, err
	}
	if b, err = s.read(s.path("net/sockstat")); err != nil {
		return sig, err
	}
	return sig, sig.parseSockstat(b)
}
