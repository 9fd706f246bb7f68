package system

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// fsUsage is what statfs(2) says of one mounted filesystem.
type fsUsage struct {
	total, free, avail uint64 // bytes; avail is what unprivileged users may use
	files, filesFree   uint64
}

// pseudoFS are filesystem types that hold no user data, or are always full
// by design (squashfs, iso9660): df -x would drop them and a "disk nearly
// full" alert on them would be noise. overlay is skipped except at "/", where
// it is a container's root filesystem and can fill up like a disk.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "tmpfs": true, "devtmpfs": true, "devpts": true,
	"cgroup": true, "cgroup2": true, "securityfs": true, "debugfs": true, "tracefs": true,
	"mqueue": true, "hugetlbfs": true, "pstore": true, "bpf": true, "configfs": true,
	"fusectl": true, "binfmt_misc": true, "autofs": true, "rpc_pipefs": true, "nsfs": true,
	"ramfs": true, "squashfs": true, "iso9660": true, "efivarfs": true, "selinuxfs": true,
	"overlay": true, "fuse.lxcfs": true, "fuse.gvfsd-fuse": true, "fuse.portal": true,
	"nfsd": true, "sockfs": true, "pipefs": true, "none": true,
}

// networkFS may hang statfs when the server is gone (as df does); they are
// statted with a timeout and skipped while a call is stuck.
var networkFS = map[string]bool{"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true,
	"ceph": true, "glusterfs": true, "fuse.sshfs": true, "9p": true, "afs": true, "lustre": true}

// statfsTimeout bounds a statfs on a network filesystem.
const statfsTimeout = 500 * time.Millisecond

// realMounts keeps the mounts df -x tmpfs would show, one per device (bind
// mounts of the same device, like a container's /etc/hosts, keep the
// shortest mount point).
func realMounts(ms []mount) []mount {
	byDev := map[string]int{}
	var out []mount
	for _, m := range ms {
		if pseudoFS[m.fstype] && !(m.fstype == "overlay" && m.point == "/") {
			continue
		}
		if i, ok := byDev[m.devID]; ok {
			if len(m.point) < len(out[i].point) {
				out[i] = m
			}
			continue
		}
		byDev[m.devID] = len(out)
		out = append(out, m)
	}
	return out
}

func (s *Sampler) sampleFilesystems(snap *hoststat.Snapshot) error {
	ms, err := s.mounts()
	if err != nil {
		return err
	}
	statfs := s.statfs
	if statfs == nil {
		statfs = statfsPath
	}
	var errs []string
	for _, m := range ms {
		var u fsUsage
		if networkFS[m.fstype] {
			if s.hungFS[m.point] {
				errs = append(errs, fmt.Sprintf("statfs %q: still hung", m.point))
				continue
			}
			u, err = s.statfsTimeout(statfs, m.point)
		} else {
			u, err = statfs(m.point)
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if u.total == 0 {
			continue // nothing to fill (some FUSE mounts report zeros)
		}
		fs := hoststat.Filesystem{
			Mount: m.point, Device: m.source, FSType: m.fstype, ReadOnly: m.readOnly,
			Total: u.total, Free: u.avail,
			InodesTotal: u.files, InodesFree: u.filesFree,
		}
		if u.free <= u.total {
			fs.Used = u.total - u.free
		}
		if d := fs.Used + u.avail; d > 0 {
			fs.UsedPct = 100 * float64(fs.Used) / float64(d)
		}
		if u.filesFree <= u.files {
			fs.InodesUsed = u.files - u.filesFree
		}
		if u.files > 0 {
			fs.InodesUsedPct = 100 * float64(fs.InodesUsed) / float64(u.files)
		}
		snap.Filesystems = append(snap.Filesystems, fs)
	}
	sort.Slice(snap.Filesystems, func(i, j int) bool { return snap.Filesystems[i].Mount < snap.Filesystems[j].Mount })
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// mounts returns the real mounts (realMounts) of the mount table, parsed
// again only when the kernel says the table changed (mountWatch): the
// filesystems' usage is read every sample, the table rarely changes. Fixture
// roots are parsed every time.
func (s *Sampler) mounts() ([]mount, error) {
	p := s.path("self", "mountinfo")
	if !s.mountTried && s.ProcRoot == "/proc" {
		s.mountTried = true
		// Opened before the first read, so no change falls between.
		if w, err := openMountWatch(p); err == nil {
			s.mountW = w
			runtime.AddCleanup(s, func(w *mountWatch) { w.close() }, w)
		}
	}
	if s.mountW != nil && s.mountsOK && !s.mountW.changed() {
		return s.lastMounts, nil
	}
	s.mountsOK = false
	b, err := s.read(p)
	if err != nil {
		return nil, err
	}
	ms, err := parseMountinfo(b)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", p, err)
	}
	s.lastMounts, s.mountsOK = realMounts(ms), true
	return s.lastMounts, nil
}

// statfsTimeout runs statfs in a goroutine; when it does not return in time
// the mount is marked hung until the call comes back.
func (s *Sampler) statfsTimeout(statfs func(string) (fsUsage, error), point string) (fsUsage, error) {
	type res struct {
		u   fsUsage
		err error
	}
	ch := make(chan res, 1)
	go func() {
		u, err := statfs(point)
		ch <- res{u, err}
	}()
	select {
	case r := <-ch:
		return r.u, r.err
	case <-time.After(statfsTimeout):
		s.hungFS[point] = true
		go func() {
			<-ch
			s.mu.Lock()
			delete(s.hungFS, point)
			s.mu.Unlock()
		}()
		return fsUsage{}, fmt.Errorf("statfs %q: no answer in %v", point, statfsTimeout)
	}
}
