package system

// Pure parsers of /proc and /sys text. Each takes the file's bytes and
// returns values or an error naming what was malformed; none reads the OS, so
// they are tested on fixtures under testdata/ and fuzzed.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// errShort is returned for input with fewer fields than the format has.
var errShort = errors.New("too few fields")

// userHZ is the unit of the tick counters in /proc/stat and /proc/<pid>/stat.
// The kernel exports them in USER_HZ, which is 100 on every Linux
// architecture opsdeck builds for, whatever CONFIG_HZ is.
const userHZ = 100

// cpuTicks are the cumulative jiffies of one "cpu" line of /proc/stat.
type cpuTicks struct {
	user, nice, system, idle, iowait, irq, softirq, steal uint64
}

func (c cpuTicks) total() uint64 {
	// guest and guest_nice are already counted in user and nice.
	return c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal
}

// procStat is what opsdeck uses of /proc/stat.
type procStat struct {
	total cpuTicks
	cores []cpuTicks
	btime int64 // boot time, seconds since the epoch
}

// fields appends the fields of line separated by ASCII white space to dst:
// bytes.Fields without its allocation, as callers pass a slice of an array
// on their stack (a process's stat has 50 fields, read for every process).
// The kernel's files are ASCII where they are split; a name that is not
// is escaped or outside the split part (stat's comm).
func fields(dst [][]byte, line []byte) [][]byte {
	for i := 0; i < len(line); {
		for i < len(line) && asciiSpace(line[i]) {
			i++
		}
		j := i
		for j < len(line) && !asciiSpace(line[j]) {
			j++
		}
		if j > i {
			dst = append(dst, line[i:j])
		}
		i = j
	}
	return dst
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func parseUint(b []byte) (uint64, error) {
	// strconv on a byte slice converted in place does not allocate.
	return strconv.ParseUint(string(b), 10, 64)
}

func parseInt(b []byte) (int64, error) {
	return strconv.ParseInt(string(b), 10, 64)
}

// nextLine returns the first line of b and the rest after its newline.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// parseProcStat parses /proc/stat: the aggregate and per-core CPU lines and
// btime.
func parseProcStat(b []byte) (procStat, error) {
	var ps procStat
	seenTotal := false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		switch {
		case bytes.HasPrefix(line, []byte("cpu")):
			var fa [64][]byte
			f := fields(fa[:0], line)
			if len(f) < 5 {
				return ps, fmt.Errorf("cpu line %q: %w", line, errShort)
			}
			var v [8]uint64
			for i := 1; i < len(f) && i <= 8; i++ {
				n, err := parseUint(f[i])
				if err != nil {
					return ps, fmt.Errorf("cpu line field %d: %w", i, err)
				}
				v[i-1] = n
			}
			t := cpuTicks{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}
			if string(f[0]) == "cpu" {
				ps.total, seenTotal = t, true
			} else {
				ps.cores = append(ps.cores, t)
			}
		case bytes.HasPrefix(line, []byte("btime ")):
			n, err := parseInt(bytes.TrimSpace(line[6:]))
			if err != nil {
				return ps, fmt.Errorf("btime: %w", err)
			}
			ps.btime = n
		}
	}
	if !seenTotal {
		return ps, errors.New("no aggregate cpu line")
	}
	return ps, nil
}

// cpuPercent turns two tick readings into shares of the interval.
func cpuPercent(prev, cur cpuTicks) hoststat.CPUTimes {
	d := func(a, b uint64) float64 {
		if b < a { // counter went back (CPU hot-unplugged): no share
			return 0
		}
		return float64(b - a)
	}
	var t hoststat.CPUTimes
	total := d(prev.total(), cur.total())
	if total <= 0 {
		t.Idle = 100
		return t
	}
	pct := func(a, b uint64) float64 { return 100 * d(a, b) / total }
	t.User = pct(prev.user, cur.user)
	t.Nice = pct(prev.nice, cur.nice)
	t.System = pct(prev.system, cur.system)
	t.IOWait = pct(prev.iowait, cur.iowait)
	t.IRQ = pct(prev.irq, cur.irq)
	t.SoftIRQ = pct(prev.softirq, cur.softirq)
	t.Steal = pct(prev.steal, cur.steal)
	t.Idle = pct(prev.idle, cur.idle)
	t.Busy = 100 - t.Idle - t.IOWait
	if t.Busy < 0 {
		t.Busy = 0
	}
	return t
}

// parseLoadavg parses /proc/loadavg.
func parseLoadavg(b []byte) (hoststat.Load, error) {
	var fa [64][]byte
	f := fields(fa[:0], b)
	if len(f) < 3 {
		return hoststat.Load{}, fmt.Errorf("loadavg: %w", errShort)
	}
	var v [3]float64
	for i := range v {
		x, err := strconv.ParseFloat(string(f[i]), 64)
		if err != nil {
			return hoststat.Load{}, fmt.Errorf("loadavg field %d: %w", i+1, err)
		}
		v[i] = x
	}
	return hoststat.Load{Load1: v[0], Load5: v[1], Load15: v[2]}, nil
}

// parseMeminfo parses /proc/meminfo into the byte counts of Memory. Kernels
// before 3.14 lack MemAvailable; it is then estimated as free + buffers +
// cached, which overstates it, as free(1) did at the time.
func parseMeminfo(b []byte) (hoststat.Memory, error) {
	var m hoststat.Memory
	var swapFree, sreclaimable uint64
	haveAvail, haveTotal := false, false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key := line[:colon]
		var fa [64][]byte
		f := fields(fa[:0], line[colon+1:])
		if len(f) == 0 {
			continue
		}
		v, err := parseUint(f[0])
		if err != nil {
			return m, fmt.Errorf("meminfo %s: %w", key, err)
		}
		if len(f) > 1 && string(f[1]) == "kB" {
			v *= 1024
		}
		switch string(key) {
		case "MemTotal":
			m.Total, haveTotal = v, true
		case "MemFree":
			m.Free = v
		case "MemAvailable":
			m.Available, haveAvail = v, true
		case "Buffers":
			m.Buffers = v
		case "Cached":
			m.Cached = v
		case "SReclaimable":
			sreclaimable = v
		case "SwapTotal":
			m.SwapTotal = v
		case "SwapFree":
			swapFree = v
		}
	}
	if !haveTotal {
		return m, errors.New("meminfo: no MemTotal")
	}
	// free(1) counts reclaimable slab as cache.
	m.Cached += sreclaimable
	if !haveAvail {
		m.Available = m.Free + m.Buffers + m.Cached
	}
	if m.Available > m.Total {
		m.Available = m.Total
	}
	m.Used = m.Total - m.Available
	if swapFree <= m.SwapTotal {
		m.SwapUsed = m.SwapTotal - swapFree
	}
	return m, nil
}

// vmstat holds the /proc/vmstat counters opsdeck uses.
type vmstat struct {
	pswpin, pswpout, oomKill uint64
	haveOOM                  bool // oom_kill exists since Linux 4.13
}

// parseVmstat parses /proc/vmstat.
func parseVmstat(b []byte) (vmstat, error) {
	var v vmstat
	seen := 0
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		var dst *uint64
		switch string(line[:sp]) {
		case "pswpin":
			dst = &v.pswpin
		case "pswpout":
			dst = &v.pswpout
		case "oom_kill":
			dst = &v.oomKill
			v.haveOOM = true
		default:
			continue
		}
		n, err := parseUint(bytes.TrimSpace(line[sp+1:]))
		if err != nil {
			return v, fmt.Errorf("vmstat %s: %w", line[:sp], err)
		}
		*dst = n
		seen++
	}
	if seen == 0 {
		return v, errors.New("vmstat: no pswpin, pswpout or oom_kill")
	}
	return v, nil
}

// diskCounters are the cumulative counters of one /proc/diskstats line.
type diskCounters struct {
	name                           string
	readOps, readSectors           uint64
	writeOps, writeSectors, ioTime uint64 // ioTime in milliseconds
}

// parseDiskstats parses /proc/diskstats. Sectors are always 512 bytes there,
// whatever the device's sector size.
func parseDiskstats(b []byte) ([]diskCounters, error) {
	var out []diskCounters
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		var fa [64][]byte
		f := fields(fa[:0], line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 14 {
			return out, fmt.Errorf("diskstats line %q: %w", line, errShort)
		}
		var v [10]uint64
		for i := range v {
			n, err := parseUint(f[3+i])
			if err != nil {
				return out, fmt.Errorf("diskstats %s field %d: %w", f[2], 4+i, err)
			}
			v[i] = n
		}
		out = append(out, diskCounters{
			name:    string(f[2]),
			readOps: v[0], readSectors: v[2],
			writeOps: v[4], writeSectors: v[6],
			ioTime: v[9],
		})
	}
	return out, nil
}

// ifCounters are the cumulative counters of one /proc/net/dev line.
type ifCounters struct {
	name                               string
	rxBytes, rxPackets, rxErrs, rxDrop uint64
	txBytes, txPackets, txErrs, txDrop uint64
}

// parseNetDev parses /proc/net/dev (two header lines, then "name: 16 numbers").
func parseNetDev(b []byte) ([]ifCounters, error) {
	var out []ifCounters
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || bytes.Contains(line, []byte("|")) {
			continue // header
		}
		name := string(bytes.TrimSpace(line[:colon]))
		var fa [64][]byte
		f := fields(fa[:0], line[colon+1:])
		if len(f) < 16 {
			return out, fmt.Errorf("net/dev %q: %w", name, errShort)
		}
		var v [16]uint64
		for i := range v {
			n, err := parseUint(f[i])
			if err != nil {
				return out, fmt.Errorf("net/dev %q field %d: %w", name, i+1, err)
			}
			v[i] = n
		}
		out = append(out, ifCounters{
			name:    name,
			rxBytes: v[0], rxPackets: v[1], rxErrs: v[2], rxDrop: v[3],
			txBytes: v[8], txPackets: v[9], txErrs: v[10], txDrop: v[11],
		})
	}
	return out, nil
}

// mount is one line of /proc/self/mountinfo.
type mount struct {
	devID    string // major:minor
	point    string
	fstype   string
	source   string
	readOnly bool
}

// unescapeOctal undoes the \040-style escapes of mountinfo fields.
func unescapeOctal(s []byte) string {
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			o := s[i+1 : i+4]
			if o[0] >= '0' && o[0] <= '3' && o[1] >= '0' && o[1] <= '7' && o[2] >= '0' && o[2] <= '7' {
				out = append(out, (o[0]-'0')<<6|(o[1]-'0')<<3|(o[2]-'0'))
				i += 3
				continue
			}
		}
		out = append(out, s[i])
	}
	return string(out)
}

// parseMountinfo parses /proc/<pid>/mountinfo (proc(5)).
func parseMountinfo(b []byte) ([]mount, error) {
	var out []mount
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		var fa [64][]byte
		f := fields(fa[:0], line)
		if len(f) == 0 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if string(f[i]) == "-" {
				sep = i
				break
			}
		}
		if len(f) < 7 || sep < 0 || sep+2 >= len(f) {
			return out, fmt.Errorf("mountinfo line %q: %w", line, errShort)
		}
		opts := string(f[5])
		out = append(out, mount{
			devID:    string(f[2]),
			point:    unescapeOctal(f[4]),
			fstype:   string(f[sep+1]),
			source:   unescapeOctal(f[sep+2]),
			readOnly: opts == "ro" || strings.HasPrefix(opts, "ro,"),
		})
	}
	return out, nil
}

// pidStat is what opsdeck uses of /proc/<pid>/stat.
type pidStat struct {
	comm       string
	state      byte
	ppid       int32
	utime      uint64 // ticks
	stime      uint64
	threads    int32
	startTicks uint64 // since boot
	rssPages   int64
	nice       int32
	vsize      uint64 // bytes
}

// parseStat parses /proc/<pid>/stat. The command name sits between the first
// '(' and the LAST ')', because it may itself hold spaces and parentheses.
func parseStat(b []byte) (pidStat, error) {
	var s pidStat
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return s, errors.New("stat: no (comm)")
	}
	s.comm = string(b[open+1 : closing])
	// Fields after comm, numbered from 3 (state) as in proc(5).
	var fa [64][]byte
	f := fields(fa[:0], b[closing+1:])
	if len(f) < 22 {
		return s, fmt.Errorf("stat: %w", errShort)
	}
	get := func(n int) []byte { return f[n-3] }
	if len(get(3)) != 1 {
		return s, fmt.Errorf("stat: state %q", get(3))
	}
	s.state = get(3)[0]
	ppid, err := parseInt(get(4))
	if err != nil {
		return s, fmt.Errorf("stat ppid: %w", err)
	}
	s.ppid = int32(ppid)
	if s.utime, err = parseUint(get(14)); err != nil {
		return s, fmt.Errorf("stat utime: %w", err)
	}
	if s.stime, err = parseUint(get(15)); err != nil {
		return s, fmt.Errorf("stat stime: %w", err)
	}
	th, err := parseInt(get(20))
	if err != nil {
		return s, fmt.Errorf("stat num_threads: %w", err)
	}
	s.threads = int32(th)
	if s.startTicks, err = parseUint(get(22)); err != nil {
		return s, fmt.Errorf("stat starttime: %w", err)
	}
	if s.rssPages, err = parseInt(get(24)); err != nil {
		return s, fmt.Errorf("stat rss: %w", err)
	}
	nice, err := parseInt(get(19))
	if err != nil || nice < -20 || nice > 19 {
		return s, fmt.Errorf("stat nice %q: not in -20..19", get(19))
	}
	s.nice = int32(nice)
	if s.vsize, err = parseUint(get(23)); err != nil {
		return s, fmt.Errorf("stat vsize: %w", err)
	}
	return s, nil
}

// pidStatus is what opsdeck uses of /proc/<pid>/status.
type pidStatus struct {
	name    string // unlike stat's comm, newlines and backslashes arrive escaped
	uid     uint32 // real uid
	euid    uint32
	threads int32
	nsPID   int32 // the pid in the process's own (innermost) PID namespace
}

// parseStatus parses /proc/<pid>/status.
func parseStatus(b []byte) (pidStatus, error) {
	var s pidStatus
	seenUID := false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		val := line[colon+1:]
		switch string(line[:colon]) {
		case "Name":
			s.name = string(bytes.TrimLeft(val, " \t"))
		case "Uid":
			var fa [64][]byte
			f := fields(fa[:0], val)
			if len(f) < 2 {
				return s, fmt.Errorf("status Uid: %w", errShort)
			}
			u, err := strconv.ParseUint(string(f[0]), 10, 32)
			if err != nil {
				return s, fmt.Errorf("status Uid: %w", err)
			}
			e, err := strconv.ParseUint(string(f[1]), 10, 32)
			if err != nil {
				return s, fmt.Errorf("status Uid: %w", err)
			}
			s.uid, s.euid, seenUID = uint32(u), uint32(e), true
		case "Threads":
			n, err := strconv.ParseInt(string(bytes.TrimSpace(val)), 10, 32)
			if err != nil {
				return s, fmt.Errorf("status Threads: %w", err)
			}
			s.threads = int32(n)
		case "NSpid":
			var fa [64][]byte
			f := fields(fa[:0], val)
			if len(f) > 0 {
				n, err := strconv.ParseInt(string(f[len(f)-1]), 10, 32)
				if err != nil {
					return s, fmt.Errorf("status NSpid: %w", err)
				}
				s.nsPID = int32(n)
			}
		}
	}
	if !seenUID {
		return s, errors.New("status: no Uid line")
	}
	return s, nil
}

// pidIO is what opsdeck uses of /proc/<pid>/io.
type pidIO struct {
	readBytes, writeBytes uint64 // storage-layer bytes, as iotop shows
}

// parseIO parses /proc/<pid>/io.
func parseIO(b []byte) (pidIO, error) {
	var v pidIO
	seen := 0
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		var dst *uint64
		switch string(line[:colon]) {
		case "read_bytes":
			dst = &v.readBytes
		case "write_bytes":
			dst = &v.writeBytes
		default:
			continue
		}
		n, err := parseUint(bytes.TrimSpace(line[colon+1:]))
		if err != nil {
			return v, fmt.Errorf("io %s: %w", line[:colon], err)
		}
		*dst = n
		seen++
	}
	if seen < 2 {
		return v, fmt.Errorf("io: %w", errShort)
	}
	return v, nil
}

// parseCmdline joins the NUL-separated arguments of /proc/<pid>/cmdline with
// spaces. Processes that rewrite their title (setproctitle) may leave one
// argument with embedded spaces and trailing NULs; both come out sensibly.
// b is the start of the file, and more says the file holds more: the result
// then ends in hoststat.CmdlineCut, and it never exceeds
// hoststat.MaxCmdlineBytes; cut reports either.
func parseCmdline(b []byte, more bool) (cmdline string, cut bool) {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 && !more {
		return "", false
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c == 0 {
			c = ' '
		}
		out[i] = c
	}
	s := string(out)
	if more {
		return hoststat.CutCmdline(s), true
	}
	c := hoststat.ClipCmdline(s)
	return c, len(c) != len(s)
}

// tcpStates maps /proc/net/tcp's hex state to the kernel's names
// (include/net/tcp_states.h).
var tcpStates = [...]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
	11: "CLOSING", 12: "NEW_SYN_RECV",
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		h, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | uint64(h)
	}
	return v, true
}

// parseHexAddrPort parses "0100007F:0050" (IPv4) or a 32-hex-digit IPv6
// address. The kernel prints each 32-bit word of the address in host byte
// order; opsdeck only supports little-endian hosts for this file (x86, arm64,
// riscv64), which covers what it builds for.
func parseHexAddrPort(b []byte) (netip.AddrPort, error) {
	colon := bytes.IndexByte(b, ':')
	if colon < 0 {
		return netip.AddrPort{}, fmt.Errorf("address %q: no port", b)
	}
	hexAddr, hexPort := b[:colon], b[colon+1:]
	port, ok := parseHex(hexPort)
	if !ok || port > 0xffff {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad port", b)
	}
	if len(hexAddr) != 8 && len(hexAddr) != 32 {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad length", b)
	}
	var raw [16]byte
	for w := 0; w < len(hexAddr)/8; w++ {
		word, ok := parseHex(hexAddr[w*8 : w*8+8])
		if !ok {
			return netip.AddrPort{}, fmt.Errorf("address %q: not hex", b)
		}
		// Host (little-endian) order: the low byte comes first in memory.
		raw[w*4+0] = byte(word)
		raw[w*4+1] = byte(word >> 8)
		raw[w*4+2] = byte(word >> 16)
		raw[w*4+3] = byte(word >> 24)
	}
	var a netip.Addr
	if len(hexAddr) == 8 {
		a = netip.AddrFrom4([4]byte(raw[:4]))
	} else {
		a = netip.AddrFrom16(raw)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// parseNetTCP parses /proc/net/{tcp,tcp6,udp,udp6}; proto is "TCP" or "UDP".
// UDP uses the same layout with state 1 (connected) or 7 (unconnected).
func parseNetTCP(b []byte, proto string, v6 bool) ([]hoststat.Socket, error) {
	var out []hoststat.Socket
	first := true
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if first { // header
			first = false
			continue
		}
		var fa [64][]byte
		f := fields(fa[:0], line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 {
			return out, fmt.Errorf("%s line %q: %w", proto, line, errShort)
		}
		local, err := parseHexAddrPort(f[1])
		if err != nil {
			return out, fmt.Errorf("%s local: %w", proto, err)
		}
		remote, err := parseHexAddrPort(f[2])
		if err != nil {
			return out, fmt.Errorf("%s remote: %w", proto, err)
		}
		st, ok := parseHex(f[3])
		if !ok || st == 0 || st >= uint64(len(tcpStates)) {
			return out, fmt.Errorf("%s state %q", proto, f[3])
		}
		uid, err := strconv.ParseUint(string(f[7]), 10, 32)
		if err != nil {
			return out, fmt.Errorf("%s uid: %w", proto, err)
		}
		inode, err := parseUint(f[9])
		if err != nil {
			return out, fmt.Errorf("%s inode: %w", proto, err)
		}
		out = append(out, hoststat.Socket{
			Proto: proto, V6: v6,
			Local: local, Remote: remote,
			State: tcpStates[st],
			UID:   uint32(uid), Inode: inode,
		})
	}
	return out, nil
}

// parsePasswd maps uids to user names from /etc/passwd.
func parsePasswd(b []byte) map[uint32]string {
	m := make(map[uint32]string)
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		f := bytes.SplitN(line, []byte(":"), 4)
		if len(f) < 3 {
			continue
		}
		uid, err := strconv.ParseUint(string(f[2]), 10, 32)
		if err != nil {
			continue
		}
		if _, dup := m[uint32(uid)]; !dup { // first entry wins, as getpwuid
			m[uint32(uid)] = string(f[0])
		}
	}
	return m
}

// parseKmsgOOM finds the OOM killer's victims in /dev/kmsg records
// ("6,1234,5678,-;Out of memory: Killed process 4321 (stress) total-vm:...")
// or dmesg text. It returns them oldest first with the record sequence
// number, so a caller can keep only records newer than the last it saw.
func parseKmsgOOM(b []byte) []kmsgOOM {
	var out []kmsgOOM
	marker := []byte("Killed process ")
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		i := bytes.Index(line, marker)
		if i < 0 {
			continue
		}
		var seq uint64
		if semi := bytes.IndexByte(line, ';'); semi >= 0 && semi < i {
			if h := bytes.SplitN(line[:semi], []byte(","), 3); len(h) >= 2 {
				seq, _ = parseUint(h[1])
			}
		}
		rest := line[i+len(marker):]
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			continue
		}
		pid, err := strconv.ParseInt(string(rest[:sp]), 10, 32)
		if err != nil {
			continue
		}
		name := ""
		if o := bytes.IndexByte(rest, '('); o >= 0 {
			if c := bytes.LastIndex(rest, []byte(") ")); c > o {
				name = string(rest[o+1 : c])
			} else if c := bytes.LastIndexByte(rest, ')'); c > o {
				name = string(rest[o+1 : c])
			}
		}
		out = append(out, kmsgOOM{seq: seq, victim: hoststat.OOMVictim{PID: int32(pid), Name: name}})
	}
	return out
}

// kmsgOOM is one OOM kill found in the kernel log.
type kmsgOOM struct {
	seq    uint64
	victim hoststat.OOMVictim
}

// containerHints reports whether /proc/1/cgroup text names a container
// runtime's cgroup.
func containerHints(cgroup []byte) bool {
	for _, k := range [][]byte{[]byte("docker"), []byte("kubepods"), []byte("containerd"), []byte("lxc"), []byte("libpod"), []byte("crio")} {
		if bytes.Contains(cgroup, k) {
			return true
		}
	}
	return false
}

// cpuinfoHypervisor reports whether /proc/cpuinfo's flags carry the
// "hypervisor" bit the CPU sets when running under one.
func cpuinfoHypervisor(cpuinfo []byte) bool {
	for len(cpuinfo) > 0 {
		var line []byte
		line, cpuinfo = nextLine(cpuinfo)
		if !bytes.HasPrefix(line, []byte("flags")) {
			continue
		}
		var fa [64][]byte
		for _, f := range fields(fa[:0], line) {
			if string(f) == "hypervisor" {
				return true
			}
		}
		return false
	}
	return false
}

// linuxAFInet6 is AF_INET6 on Linux (other systems number it differently).
const linuxAFInet6 = 10

// inetDiagMsgLen is sizeof(struct inet_diag_msg).
const inetDiagMsgLen = 72

// parseInetDiagMsg decodes one struct inet_diag_msg. Ports and addresses are
// in network byte order; uid and inode in host order.
func parseInetDiagMsg(b []byte) (hoststat.Socket, bool) {
	if len(b) < inetDiagMsgLen {
		return hoststat.Socket{}, false
	}
	state := b[1]
	sport := binary.BigEndian.Uint16(b[4:])
	dport := binary.BigEndian.Uint16(b[6:])
	var src, dst netip.Addr
	v6 := b[0] == linuxAFInet6
	if v6 {
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
	} else {
		src = netip.AddrFrom4([4]byte(b[8:12]))
		dst = netip.AddrFrom4([4]byte(b[24:28]))
	}
	name := "UNKNOWN"
	if int(state) < len(tcpStates) && tcpStates[state] != "" {
		name = tcpStates[state]
	}
	if name == "NEW_SYN_RECV" {
		name = "SYN_RECV" // as /proc/net/tcp shows request sockets
	}
	ne := binary.NativeEndian
	return hoststat.Socket{
		Proto: "TCP", V6: v6,
		Local: netip.AddrPortFrom(src, sport), Remote: netip.AddrPortFrom(dst, dport),
		State: name, UID: ne.Uint32(b[64:]), Inode: uint64(ne.Uint32(b[68:])),
	}, true
}
