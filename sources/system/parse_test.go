package system

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		file    string
		want    pidStat
		wantErr bool
	}{
		{file: "real/pid_stat", want: pidStat{comm: "python3", state: 'R', ppid: 12191, utime: 2, stime: 2, threads: 1, startTicks: 54335, rssPages: 3675, vsize: 19914752}},
		{file: "real/kthread_stat", want: pidStat{comm: "kthreadd", state: 'S', ppid: 0, threads: 1, startTicks: 24}},
		// The name holds ") b (": only the last ')' ends it.
		{file: "odd/stat_parens", want: pidStat{comm: "a) b (c", state: 'R', ppid: 12191, utime: 2, stime: 2, threads: 1, startTicks: 54335, rssPages: 3675, vsize: 19914752}},
		// Raw escape and newline bytes pass through for textsafe to handle.
		{file: "odd/stat_escape", want: pidStat{comm: "x\x1b[31m\ny", state: 'R', ppid: 12191, utime: 2, stime: 2, threads: 1, startTicks: 54335, rssPages: 3675, vsize: 19914752}},
		{file: "odd/stat_empty_comm", want: pidStat{comm: "", state: 'R', ppid: 12191, utime: 2, stime: 2, threads: 1, startTicks: 54335, rssPages: 3675, vsize: 19914752}},
		{file: "odd/stat_truncated", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseStat(fixture(t, tc.file))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseStat = %+v, want error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseStat =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
	if _, err := parseStat(nil); err == nil {
		t.Error("parseStat(empty) did not fail")
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		file string
		want pidStatus
	}{
		{"real/pid_status", pidStatus{name: "python3", uid: 0, euid: 0, threads: 1, nsPID: 12194}},
		{"real/kthread_status", pidStatus{name: "kthreadd", threads: 1, nsPID: 2}},
		{"odd/status_escaped", pidStatus{name: "x\x1b[31m\\ny\\\\z", threads: 1, nsPID: 12194}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseStatus(fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseStatus = %+v, want %+v", got, tc.want)
			}
		})
	}
	got, err := parseStatus([]byte("Name:\tx\nUid:\t1000\t1001\t1000\t1000\nThreads:\t7\nNSpid:\t900\t3\n"))
	if err != nil || got.uid != 1000 || got.euid != 1001 || got.threads != 7 || got.nsPID != 3 {
		t.Errorf("parseStatus(namespaced) = %+v, %v", got, err)
	}
	if _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("parseStatus without Uid did not fail")
	}
}

func TestParseIOAndCmdline(t *testing.T) {
	io, err := parseIO(fixture(t, "real/pid_io"))
	if err != nil || io != (pidIO{readBytes: 2879488, writeBytes: 69632}) {
		t.Errorf("parseIO = %+v, %v", io, err)
	}
	if _, err := parseIO([]byte("rchar: 1\n")); err == nil {
		t.Error("parseIO without read_bytes did not fail")
	}
	for _, tc := range []struct{ file, want string }{
		{"real/pid_cmdline", "/root/.pyenv/versions/3.11.7/bin/python3 -"},
		{"odd/cmdline_title", "nginx: worker process"},
		{"odd/cmdline_args", `/usr/bin/python3 -c print("a b")`},
	} {
		if got, cut := parseCmdline(fixture(t, tc.file), false); got != tc.want || cut {
			t.Errorf("parseCmdline(%s) = %q, %v, want %q", tc.file, got, cut, tc.want)
		}
	}
	if got, cut := parseCmdline(nil, false); got != "" || cut {
		t.Errorf("parseCmdline(kernel thread) = %q, %v", got, cut)
	}
}

// TestParseCmdlineBound: what parseCmdline returns fits hoststat's budget,
// is cut before a character that would not fit, and is marked as cut when the
// file held more than was read or when the bytes given exceed the budget.
func TestParseCmdlineBound(t *testing.T) {
	const limit, mark = hoststat.MaxCmdlineBytes, hoststat.CmdlineCut
	fill := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name string
		in   string
		more bool
		want string
		cut  bool
	}{
		{"fits exactly", fill(limit), false, fill(limit), false},
		{"file holds more", fill(limit), true, fill(limit-len(mark)) + mark, true},
		{"file holds more after NULs", "sh\x00-c\x00\x00", true, "sh -c" + mark, true},
		{"given too much", fill(limit + 1), false, fill(limit-len(mark)) + mark, true},
		{"title padded with NULs", "nginx: worker" + strings.Repeat("\x00", limit+10), false, "nginx: worker", false},
		{"cut inside a character", "xx" + strings.Repeat("é", limit), false, "xx" + strings.Repeat("é", (limit-len(mark)-2)/2) + mark, true},
		{"invalid UTF-8 is cut by bytes", strings.Repeat("\x80", limit+1), false, strings.Repeat("\x80", limit-len(mark)-(utf8.UTFMax-1)) + mark, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, cut := parseCmdline([]byte(tc.in), tc.more)
			if got != tc.want || cut != tc.cut {
				t.Errorf("got %d bytes %.20q...%q cut %v, want %d bytes cut %v", len(got), got, got[max(0, len(got)-6):], cut, len(tc.want), tc.cut)
			}
			if len(got) > limit {
				t.Errorf("%d bytes, budget %d", len(got), limit)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	ps, err := parseProcStat(fixture(t, "real/stat"))
	if err != nil {
		t.Fatal(err)
	}
	want := cpuTicks{user: 10135, system: 4008, idle: 93504, iowait: 296, softirq: 48, steal: 18}
	if ps.total != want || len(ps.cores) != 2 || ps.btime != 1795363475 {
		t.Errorf("parseProcStat = %+v", ps)
	}
	if ps.cores[1] != (cpuTicks{user: 5406, system: 2206, idle: 46101, iowait: 262, softirq: 36, steal: 11}) {
		t.Errorf("core 1 = %+v", ps.cores[1])
	}
	if _, err := parseProcStat([]byte("intr 1 2\n")); err == nil {
		t.Error("parseProcStat without cpu line did not fail")
	}
}

func TestCPUPercent(t *testing.T) {
	prev := cpuTicks{user: 100, system: 50, idle: 800, iowait: 50}
	tests := []struct {
		name string
		cur  cpuTicks
		want hoststat.CPUTimes
	}{
		{"busy", cpuTicks{user: 160, system: 70, idle: 810, iowait: 60}, hoststat.CPUTimes{User: 60, System: 20, Idle: 10, IOWait: 10, Busy: 80}},
		{"idle", cpuTicks{user: 100, system: 50, idle: 900, iowait: 50}, hoststat.CPUTimes{Idle: 100}},
		{"no time passed", prev, hoststat.CPUTimes{Idle: 100}},
		{"steal", cpuTicks{user: 150, system: 50, idle: 800, iowait: 50, steal: 50}, hoststat.CPUTimes{User: 50, Steal: 50, Busy: 100}},
	}
	for _, tc := range tests {
		if got := cpuPercent(prev, tc.cur); got != tc.want {
			t.Errorf("%s: cpuPercent = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestParseMemory(t *testing.T) {
	m, err := parseMeminfo(fixture(t, "real/meminfo"))
	if err != nil {
		t.Fatal(err)
	}
	want := hoststat.Memory{Total: 24684092 << 10, Free: 24069628 << 10, Available: 24326404 << 10,
		Buffers: 6408 << 10, Cached: (425404 + 79828) << 10, Used: (24684092 - 24326404) << 10}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("parseMeminfo =\n %+v\nwant\n %+v", m, want)
	}
	old, err := parseMeminfo(fixture(t, "odd/meminfo_no_available"))
	if err != nil || old.Available != (24069628+6408+425404+79828)<<10 {
		t.Errorf("parseMeminfo(no MemAvailable) = %+v, %v", old, err)
	}
	sw, err := parseMeminfo([]byte("MemTotal: 100 kB\nMemAvailable: 40 kB\nSwapTotal: 50 kB\nSwapFree: 20 kB\n"))
	if err != nil || sw.SwapUsed != 30<<10 || sw.Used != 60<<10 {
		t.Errorf("parseMeminfo(swap) = %+v, %v", sw, err)
	}

	v, err := parseVmstat(fixture(t, "real/vmstat"))
	if err != nil || v != (vmstat{haveOOM: true}) {
		t.Errorf("parseVmstat = %+v, %v", v, err)
	}
	v, err = parseVmstat([]byte("nr_free_pages 5\npswpin 12\npswpout 34\noom_kill 2\n"))
	if err != nil || v != (vmstat{pswpin: 12, pswpout: 34, oomKill: 2, haveOOM: true}) {
		t.Errorf("parseVmstat(active) = %+v, %v", v, err)
	}
	v, err = parseVmstat(fixture(t, "odd/vmstat_no_oom"))
	if err != nil || v.haveOOM {
		t.Errorf("parseVmstat(no oom_kill) = %+v, %v", v, err)
	}
	if _, err := parseVmstat([]byte("pswpin x\n")); err == nil {
		t.Error("parseVmstat(bad number) did not fail")
	}
	l, err := parseLoadavg(fixture(t, "real/loadavg"))
	if err != nil || l != (hoststat.Load{Load1: 1.61, Load5: 0.63, Load15: 0.23}) {
		t.Errorf("parseLoadavg = %+v, %v", l, err)
	}
}

func TestParseDisksAndNet(t *testing.T) {
	ds, err := parseDiskstats(fixture(t, "real/diskstats"))
	if err != nil {
		t.Fatal(err)
	}
	var vda *diskCounters
	for i := range ds {
		if ds[i].name == "vda" {
			vda = &ds[i]
		}
	}
	if len(ds) != 10 || vda == nil || *vda != (diskCounters{name: "vda", readOps: 51468, readSectors: 2726970, writeOps: 9634, writeSectors: 1370112, ioTime: 5608}) {
		t.Errorf("parseDiskstats: %d devices, vda %+v", len(ds), vda)
	}
	ifs, err := parseNetDev(fixture(t, "real/net_dev"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 4 || ifs[3] != (ifCounters{name: "eth0", rxBytes: 62605894, rxPackets: 3029, txBytes: 260123, txPackets: 2432}) {
		t.Errorf("parseNetDev = %+v", ifs)
	}
	if _, err := parseNetDev([]byte("eth0: 1 2 3\n")); err == nil {
		t.Error("parseNetDev(short) did not fail")
	}
}

func TestParseMountinfo(t *testing.T) {
	ms, err := parseMountinfo(fixture(t, "odd/mountinfo_container"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range realMounts(ms) {
		got = append(got, m.point+" "+m.fstype+" "+m.source)
	}
	// overlay kept at "/", bind mounts of one device folded into the
	// shortest mount point, squashfs, proc and tmpfs dropped, \040 decoded.
	want := []string{"/ overlay overlay", "/my data ext4 /dev/vda1", "/srv xfs /dev/vdb", "/mnt/nfs nfs4 srv:/export"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("realMounts =\n %q\nwant\n %q", got, want)
	}
	if !ms[6].readOnly || ms[0].readOnly {
		t.Error("read-only flags wrong")
	}
	real, err := parseMountinfo(fixture(t, "real/mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	rm := realMounts(real)
	if len(rm) != 1 || rm[0].point != "/" || rm[0].fstype != "ext4" {
		t.Errorf("realMounts(real) = %+v", rm)
	}
	if _, err := parseMountinfo([]byte("1 2 3:4 / /x rw\n")); err == nil {
		t.Error("parseMountinfo(no separator) did not fail")
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestParseNetTCP(t *testing.T) {
	type sk = hoststat.Socket
	tests := []struct {
		file  string
		proto string
		v6    bool
		want  []sk
	}{
		{"real/net_tcp", "TCP", false, []sk{
			{Proto: "TCP", Local: ap("0.0.0.0:2024"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 1527},
			{Proto: "TCP", Local: ap("127.0.0.1:34651"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 18219},
			{Proto: "TCP", Local: ap("127.0.0.1:34651"), Remote: ap("127.0.0.1:46736"), State: "ESTABLISHED", Inode: 18221},
			{Proto: "TCP", Local: ap("127.0.0.1:46736"), Remote: ap("127.0.0.1:34651"), State: "ESTABLISHED", Inode: 18220},
			{Proto: "TCP", Local: ap("127.0.0.1:41436"), Remote: ap("127.0.0.1:60369"), State: "ESTABLISHED", Inode: 18223},
		}},
		{"real/net_tcp6", "TCP", true, []sk{
			{Proto: "TCP", V6: true, Local: ap("[::]:60369"), Remote: ap("[::]:0"), State: "LISTEN", Inode: 18222},
			{Proto: "TCP", V6: true, Local: ap("[::ffff:127.0.0.1]:60369"), Remote: ap("[::ffff:127.0.0.1]:41436"), State: "ESTABLISHED", Inode: 18224},
		}},
		{"real/net_udp", "UDP", false, []sk{
			{Proto: "UDP", Local: ap("0.0.0.0:53161"), Remote: ap("0.0.0.0:0"), State: "CLOSE", Inode: 18225},
			{Proto: "UDP", Local: ap("127.0.0.1:57848"), Remote: ap("127.0.0.1:53161"), State: "ESTABLISHED", Inode: 18226},
		}},
		{"real/net_udp6", "UDP", true, []sk{
			{Proto: "UDP", V6: true, Local: ap("[::1]:44670"), Remote: ap("[::]:0"), State: "CLOSE", Inode: 18227},
		}},
		{"odd/net_tcp_header_only", "TCP", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseNetTCP(fixture(t, tc.file), tc.proto, tc.v6)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseNetTCP =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
	if _, err := parseNetTCP(fixture(t, "odd/net_tcp_truncated"), "TCP", false); err == nil {
		t.Error("parseNetTCP(truncated) did not fail")
	}
	// Listening() classifies what the listener rule and attribution need.
	socks, _ := parseNetTCP(fixture(t, "real/net_udp"), "UDP", false)
	if !socks[0].Listening() || socks[1].Listening() {
		t.Errorf("UDP Listening: unconnected %v, connected %v", socks[0].Listening(), socks[1].Listening())
	}
}

func TestParseKmsgOOM(t *testing.T) {
	got := parseKmsgOOM(fixture(t, "odd/kmsg"))
	want := []kmsgOOM{
		{seq: 101, victim: hoststat.OOMVictim{PID: 4321, Name: "stress-ng-vm"}},
		{seq: 102, victim: hoststat.OOMVictim{PID: 555, Name: "java (main)"}},
		{seq: 0, victim: hoststat.OOMVictim{PID: 77, Name: "x"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseKmsgOOM =\n %+v\nwant\n %+v", got, want)
	}
}

func TestParseMisc(t *testing.T) {
	users := parsePasswd(fixture(t, "odd/passwd"))
	if !reflect.DeepEqual(users, map[uint32]string{0: "root", 65534: "nobody", 1000: "alice"}) {
		t.Errorf("parsePasswd = %v", users)
	}
	if !cpuinfoHypervisor(fixture(t, "real/cpuinfo")) {
		t.Error("cpuinfoHypervisor(real, a VM) = false")
	}
	if cpuinfoHypervisor([]byte("flags\t\t: fpu vme sse2\n")) {
		t.Error("cpuinfoHypervisor(bare metal) = true")
	}
	if containerHints(fixture(t, "real/cgroup")) {
		t.Error("containerHints(this VM's pid 1 cgroup) = true")
	}
	if !containerHints([]byte("0::/system.slice/docker-0123abcd.scope\n")) {
		t.Error("containerHints(docker) = false")
	}
	if got := unescapeOctal([]byte(`a\040b\\c\0`)); got != `a b\\c\0` {
		t.Errorf("unescapeOctal = %q", got)
	}
	if !strings.Contains(string(fixture(t, "real/net_tcp")), "0A") {
		t.Error("fixture lost its LISTEN line")
	}
}
