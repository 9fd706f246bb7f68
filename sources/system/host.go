package system

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/shirou/gopsutil/v3/common"
	"github.com/shirou/gopsutil/v3/host"
)

// containerSystems are gopsutil virtualization systems that mean a container.
var containerSystems = map[string]bool{"docker": true, "lxc": true, "podman": true, "openvz": true, "linux-vserver": true, "rkt": true, "systemd-nspawn": true}

// envCtx points gopsutil at the Sampler's roots.
func (s *Sampler) envCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, common.EnvKey, common.EnvMap{
		common.HostProcEnvKey: s.ProcRoot,
		common.HostSysEnvKey:  s.SysRoot,
		common.HostRootEnvKey: s.RootDir,
	})
}

// sampleHost fills the host identity. It is read once (gopsutil reads a dozen
// files for it); only the uptime changes between samples.
func (s *Sampler) sampleHost(ctx context.Context, snap *hoststat.Snapshot) error {
	var err error
	if !s.hostDone {
		s.hostDone = true
		err = s.readHost(ctx)
	}
	snap.Host = s.host
	if !s.host.BootTime.IsZero() {
		snap.Host.UptimeS = snap.Time.Sub(s.host.BootTime).Seconds()
	}
	return err
}

func (s *Sampler) readHost(ctx context.Context) error {
	h := hoststat.Host{OS: runtime.GOOS, Arch: runtime.GOARCH}
	h.Hostname, _ = os.Hostname()
	var errs []error
	info, err := host.InfoWithContext(s.envCtx(ctx))
	if err != nil {
		errs = append(errs, fmt.Errorf("host info: %w", err))
	}
	if info != nil {
		h.Platform, h.PlatformVersion = info.Platform, info.PlatformVersion
		h.Kernel = info.KernelVersion
		if info.KernelArch != "" {
			h.Arch = info.KernelArch
		}
		h.Virtualization, h.VirtRole = info.VirtualizationSystem, info.VirtualizationRole
		if info.BootTime > 0 {
			h.BootTime = time.Unix(int64(info.BootTime), 0)
		}
	}
	if h.BootTime.IsZero() && s.btime > 0 {
		h.BootTime = time.Unix(s.btime, 0)
	}
	if h.VirtRole == "guest" {
		if containerSystems[h.Virtualization] {
			h.Container = true
		} else if h.Virtualization != "" {
			h.VM = true
		}
	}
	// gopsutil names only the first thing it finds; a container in a VM is
	// both, so look for each separately.
	for _, p := range []string{".dockerenv", "run/.containerenv"} {
		if _, err := os.Stat(filepath.Join(s.RootDir, p)); err == nil {
			h.Container = true
		}
	}
	if b, err := s.read(s.path("1", "cgroup")); err == nil && containerHints(b) {
		h.Container = true
	}
	if b, err := s.read(s.path("cpuinfo")); err == nil && cpuinfoHypervisor(b) {
		h.VM = true
	}
	s.host = h
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// addrRecheck is how long listed addresses are reused while no change
// notification arrives: a backstop, as the notifications are reliable (a
// lost one shows as an overflow, which re-lists).
const addrRecheck = 30 * time.Second

// ifaceAddrs is the package's ifaceAddrs, listed again only when the kernel
// says a link or an address changed (addrEvents) or addrRecheck passed; without
// notifications, at every call. The map, its slices and the local
// addresses are shared until the next change: read them only, and copy the
// local addresses to keep them.
func (s *Sampler) ifaceAddrs(now time.Time) (map[string][]string, []netip.Addr, error) {
	if !s.addrTried {
		s.addrTried = true
		// Subscribed before the first listing, so no change falls between.
		if ev, err := openAddrEvents(); err == nil {
			s.addrEv = ev
			runtime.AddCleanup(s, func(ev *addrEvents) { ev.close() }, ev)
		}
	}
	if s.addrEv == nil || s.addrEv.changed() || !s.addrOK || now.Sub(s.addrRead) >= addrRecheck {
		byName, all, err := ifaceAddrs()
		if err != nil {
			s.addrOK = false
			return byName, all, err
		}
		s.addrByName, s.addrAll, s.addrRead, s.addrOK = byName, all, now, true
	}
	return s.addrByName, s.addrAll, nil
}

// ifaceAddrs lists each interface's addresses (CIDR) and all local addresses
// of this network namespace.
func ifaceAddrs() (map[string][]string, []netip.Addr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("list interfaces: %w", err)
	}
	byIndex, err := addrsByIndex(ifs)
	if err != nil {
		return nil, nil, fmt.Errorf("list interface addresses: %w", err)
	}
	byName := make(map[string][]string, len(ifs))
	var all []netip.Addr
	for _, ifi := range ifs {
		for _, p := range byIndex[ifi.Index] {
			byName[ifi.Name] = append(byName[ifi.Name], p.String())
			all = append(all, p.Addr().Unmap())
		}
	}
	return byName, all, nil
}
