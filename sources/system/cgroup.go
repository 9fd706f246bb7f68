package system

import (
	"bytes"
	"strings"
)

// maxUnitLen bounds a unit name taken from a cgroup path (systemd caps unit
// names at 255 bytes; any user can create cgroups under its own slice).
const maxUnitLen = 64

// parseCgroup names the systemd unit or container of a process from
// /proc/<pid>/cgroup. The unified (v2, "0::") path is preferred, then the
// v1 name=systemd hierarchy, then any other v1 path. Containers win over
// the scope that holds them:
//
//	docker-<id>.scope, /docker/<id>         docker:<12 hex>
//	cri-containerd-<id>.scope               containerd:<12 hex>
//	crio-<id>.scope                         crio:<12 hex>
//	libpod-<id>.scope                       podman:<12 hex>
//	kubepods...pod<uid>.slice, /pod<uid>/   pod:<8 hex of the uid>
//	/lxc/<name>, lxc.payload.<name>         lxc:<name>
//
// and otherwise the innermost .service, else .scope, else .slice segment.
// The root cgroup ("/") gives "".
func parseCgroup(b []byte) string {
	var v2, named, other string
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		// hierarchy-ID:controllers:path; the path may itself hold colons.
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		j := bytes.IndexByte(line[i+1:], ':')
		if j < 0 {
			continue
		}
		id, ctl, path := line[:i], line[i+1:i+1+j], line[i+2+j:]
		switch {
		case string(id) == "0" && len(ctl) == 0:
			v2 = string(path)
		case string(ctl) == "name=systemd":
			named = string(path)
		case other == "" || other == "/":
			other = string(path)
		}
	}
	for _, p := range []string{v2, named, other} {
		if p != "" && p != "/" {
			return unitOf(p)
		}
	}
	return ""
}

// unitOf names the unit or container of one cgroup path.
func unitOf(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "docker-") && strings.HasSuffix(s, ".scope"):
			return "docker:" + shortID(s[len("docker-"):len(s)-len(".scope")])
		case s == "docker" && i+1 < len(segs):
			return "docker:" + shortID(segs[i+1])
		case strings.HasPrefix(s, "cri-containerd-") && strings.HasSuffix(s, ".scope"):
			return "containerd:" + shortID(s[len("cri-containerd-"):len(s)-len(".scope")])
		case strings.HasPrefix(s, "crio-") && strings.HasSuffix(s, ".scope"):
			return "crio:" + shortID(s[len("crio-"):len(s)-len(".scope")])
		case strings.HasPrefix(s, "libpod-") && strings.HasSuffix(s, ".scope"):
			return "podman:" + shortID(s[len("libpod-"):len(s)-len(".scope")])
		case strings.HasPrefix(s, "lxc.payload."):
			return "lxc:" + clipUnit(s[len("lxc.payload."):])
		case s == "lxc" && i+1 < len(segs):
			return "lxc:" + clipUnit(segs[i+1])
		}
	}
	// A Kubernetes pod, when no container segment was recognised.
	for _, s := range segs {
		var uid string
		switch {
		case strings.HasPrefix(s, "kubepods"): // systemd driver
			if k := strings.LastIndex(s, "-pod"); k >= 0 {
				uid = s[k+4:]
			}
		case strings.HasPrefix(s, "pod"): // cgroupfs driver
			uid = s[3:]
		}
		uid = strings.NewReplacer("_", "", "-", "", ".slice", "").Replace(uid)
		if len(uid) >= 8 && isHex(uid[:8]) {
			return "pod:" + uid[:8]
		}
	}
	for _, suffix := range []string{".service", ".scope", ".slice"} {
		for i := len(segs) - 1; i >= 0; i-- {
			if strings.HasSuffix(segs[i], suffix) {
				return clipUnit(segs[i])
			}
		}
	}
	return clipUnit(segs[len(segs)-1])
}

// shortID is a container id as docker ps shows it: 12 hex digits.
func shortID(id string) string {
	if len(id) > 12 {
		id = id[:12]
	}
	return clipUnit(id)
}

func clipUnit(s string) string {
	if len(s) > maxUnitLen {
		return s[:maxUnitLen]
	}
	return s
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := hexVal(s[i]); !ok {
			return false
		}
	}
	return true
}
