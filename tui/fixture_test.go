package tui

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/proto"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fixtureSnapshot is a fixed, synthetic picture of a busy host under a port
// scan, an SSH brute force and a DNS tunnel. evil is inserted into every
// string that comes from outside (empty for the golden files).
func fixtureSnapshot(evil string) *engine.Snapshot {
	ap := netip.MustParseAddrPort
	a := netip.MustParseAddr
	host := &hoststat.Snapshot{
		Time: t0, IntervalS: 1,
		Host: hoststat.Host{Hostname: "web-01" + evil, UptimeS: 3*86400 + 4*3600},
		CPU: hoststat.CPU{Count: 4, Total: hoststat.CPUTimes{Busy: 37.5},
			PerCore: []hoststat.CPUTimes{{Busy: 12}, {Busy: 95}, {Busy: 40}, {Busy: 3}}},
		Load:   hoststat.Load{Load1: 1.5, Load5: 1.2, Load15: 0.9},
		Memory: hoststat.Memory{Total: 8 << 30, Used: 5 << 30, SwapTotal: 2 << 30, SwapUsed: 100 << 20},
		Disks:  []hoststat.DiskIO{{Name: "sda" + evil, ReadBytesPerS: 1 << 20, WriteBytesPerS: 3 << 20, BusyPct: 12}},
		Filesystems: []hoststat.Filesystem{
			{Mount: "/" + evil, UsedPct: 71, Free: 20 << 30},
			{Mount: "/var/lib/docker", UsedPct: 93, Free: 2 << 30},
		},
		Interfaces: []hoststat.Interface{{Name: "eth0" + evil, RxBytes: 1, RxBytesPerS: 2 << 20, TxBytesPerS: 300 << 10}},
		Processes: []hoststat.Process{
			{PID: 1, PPID: 0, User: "root", Name: "systemd", Cmdline: "/sbin/init", CPUPct: 0.1, RSS: 12 << 20,
				State: "S", Threads: 1, VSize: 22 << 20, CPUTimeS: 12.5, StartTime: t0.Add(-76 * time.Hour), Unit: "init.scope", IOReadable: true},
			{PID: 2, User: "root", Name: "kthreadd", State: "S", Threads: 1, Kernel: true, StartTime: t0.Add(-76 * time.Hour)},
			{PID: 15, PPID: 2, User: "root", Name: "kworker/0:1", State: "I", Threads: 1, Kernel: true, CPUPct: 0.5, StartTime: t0.Add(-76 * time.Hour)},
			{PID: 812, PPID: 1, User: "root", Name: "sshd", Cmdline: "sshd: /usr/sbin/sshd -D" + evil, CPUPct: 22.5, RSS: 8 << 20,
				State: "S", Threads: 1, VSize: 15 << 20, CPUTimeS: 95.2, StartTime: t0.Add(-76 * time.Hour), Unit: "ssh.service" + evil, IOReadable: true},
			{PID: 1400, PPID: 1, User: "www-data" + evil, Name: "nginx" + evil, Cmdline: "nginx: master process" + evil, CPUPct: 3.2, RSS: 40 << 20, ReadBytesPerS: 4096,
				State: "S", Threads: 1, VSize: 80 << 20, CPUTimeS: 4000, StartTime: t0.Add(-2 * time.Hour), Unit: "nginx.service", IOReadable: true},
			{PID: 1401, PPID: 1400, User: "www-data", Name: "nginx", Cmdline: "nginx: worker process", CPUPct: 41.0, RSS: 60 << 20, WriteBytesPerS: 1 << 20,
				State: "R", Threads: 4, Nice: 5, VSize: 120 << 20, CPUTimeS: 7300, StartTime: t0.Add(-2 * time.Hour), Unit: "nginx.service", IOReadable: true},
			{PID: 2222, PPID: 1, User: "postgres", Name: "postgres", Cmdline: "", CPUPct: 7.7, RSS: 512 << 20,
				State: "D", Threads: 12, Nice: -5, VSize: 2 << 30, CPUTimeS: 61, StartTime: t0.Add(-30 * time.Minute), Unit: "docker:3f2a9c1b7d4e"},
		},
		Pressure: &hoststat.Pressure{
			CPU:    hoststat.PressureResource{Readable: true, Some: hoststat.PressureLine{Avg10: 6.8, Avg60: 17.34}},
			Memory: hoststat.PressureResource{Readable: true, HasFull: true, Some: hoststat.PressureLine{Avg10: 12.5, Avg60: 3.1}},
			IO:     hoststat.PressureResource{Readable: true, HasFull: true, Some: hoststat.PressureLine{Avg10: 45, Avg60: 20.2}},
		},
		Sockets: []hoststat.Socket{{Proto: "TCP", Local: ap("10.0.0.5:22"), State: "LISTEN", PID: 812, Process: "sshd"}},
	}
	rule := func(r *detect.Rule) *detect.Rule { return r }
	alerts := []*detect.Alert{
		{Rule: rule(detect.RuleScanPort), Severity: detect.SevMedium, TS: t0.Add(-50 * time.Second),
			Signature: "scan.port: 192.168.1.66 probed 240 TCP ports on 10.0.0.5" + evil, Src: a("192.168.1.66"), Dst: a("10.0.0.5"),
			Proto: "TCP", Suppressed: 218, Evidence: map[string]any{"ports": 240, "sample_ports": []int{22, 80, 443}, "note": "x" + evil}},
		{Rule: rule(detect.RuleBruteSSH), Severity: detect.SevHigh, TS: t0.Add(-30 * time.Second),
			Signature: "bruteforce.ssh: 203.0.113.9 made 40 short SSH sessions to 10.0.0.5:22", Src: a("203.0.113.9"), Dst: a("10.0.0.5"), DstPort: 22,
			Proto: "TCP", FlowID: 7, PID: 812, Process: "sshd" + evil},
		{Rule: rule(detect.RuleDNSTunnel), Severity: detect.SevHigh, TS: t0.Add(-10 * time.Second),
			Signature: "dns.tunnel: 10.0.0.7 sent 120 high-entropy names under t.example" + evil, Src: a("10.0.0.7"), Dst: a("10.0.0.53"), DstPort: 53, Proto: "UDP"},
		{Rule: rule(ops.RuleCPU), Severity: detect.SevMedium, TS: t0.Add(-5 * time.Second), Signature: "host.cpu: 95% for 60 s"},
	}
	flows := []engine.FlowView{
		{ID: 7, Client: ap("203.0.113.9:50022"), Server: ap("10.0.0.5:22"), Proto: "TCP", AppProto: "ssh" + evil,
			PktsToServer: 40, PktsToClient: 38, BytesToServer: 9000, BytesToClient: 12000, First: t0.Add(-40 * time.Second), Last: t0,
			State: "established", PID: 812, Process: "sshd" + evil, CommunityID: "1:abc=", Alerted: true},
		{ID: 9, Client: ap("10.0.0.7:40000"), Server: ap("10.0.0.53:53"), Proto: "UDP", AppProto: "dns",
			PktsToServer: 120, PktsToClient: 120, BytesToServer: 20000, BytesToClient: 30000, First: t0.Add(-60 * time.Second), Last: t0, State: "established"},
		{ID: 11, Client: ap("10.0.0.5:41234"), Server: ap("93.184.216.34:443"), Proto: "TCP", AppProto: "tls",
			PktsToServer: 300, PktsToClient: 900, BytesToServer: 40000, BytesToClient: 1200000, First: t0.Add(-20 * time.Second), Last: t0,
			State: "established", PID: 1401, Process: "nginx" + evil},
	}
	talkers := []flow.Talker{
		{Addr: a("10.0.0.5"), BytesOut: 1_250_000, BytesIn: 1_300_000, Flows: 1300},
		{Addr: a("192.168.1.66"), BytesOut: 60_000, BytesIn: 2_000, Flows: 1000},
		{Addr: a("10.0.0.7"), BytesOut: 20_000, BytesIn: 30_000, Flows: 1},
	}
	events := []engine.Event{
		{TS: t0.Add(-20 * time.Second), Kind: "dns", Client: ap("10.0.0.7:40000"), Server: ap("10.0.0.53:53"), FlowID: 9,
			DNS: &proto.DNS{Type: "request", Queries: []proto.DNSQuery{{RRName: "aGVsbG8.t.example" + evil, RRType: "TXT"}}}},
		{TS: t0.Add(-15 * time.Second), Kind: "tls", Client: ap("10.0.0.5:41234"), Server: ap("93.184.216.34:443"), FlowID: 11,
			TLS: &proto.TLS{SNI: "www.example.com" + evil, Version: "TLS 1.3"}},
		{TS: t0.Add(-12 * time.Second), Kind: "http", Client: ap("10.0.0.9:5555"), Server: ap("10.0.0.5:80"),
			HTTP: &proto.HTTP{Method: "GET", Hostname: "example.org", URL: "/index.html" + evil, Status: 200, UserAgent: "curl/8.5" + evil}},
		// newTestModel shows secrets: this password is drawn as it is.
		{TS: t0.Add(-8 * time.Second), Kind: "credential", Client: ap("10.0.0.9:5556"), Server: ap("10.0.0.5:21"),
			Cred: &proto.Credential{Protocol: "ftp", User: "admin" + evil, Password: "****", Outcome: "failed"}},
	}
	pps := make([]float64, 60)
	bps := make([]float64, 60)
	cpu := make([]float64, 60)
	mem := make([]float64, 60)
	for i := range pps {
		pps[i] = float64(100 + (i*37)%250)
		bps[i] = pps[i] * 800
		cpu[i] = float64((i * 13) % 100)
		mem[i] = 60 + float64(i%5)
	}
	return &engine.Snapshot{
		Now: t0, Started: t0.Add(-time.Hour),
		Source:   engine.SourceStatus{Name: "/captures/incident" + evil + ".pcap", Kind: "file", State: "running"},
		Counters: engine.Counters{Pkts: 123456, Bytes: 98765432},
		Flows:    flow.Stats{Active: 3, Created: 1400},
		PPS:      pps, BPS: bps, TopFlows: flows, Talkers: talkers,
		Protos: []engine.ProtoShare{{Name: "tls", Flows: 1, Bytes: 1240000}, {Name: "dns" + evil, Flows: 1, Bytes: 50000}},
		Alerts: alerts, AlertsBySeverity: [4]uint64{0, 2, 2, 0}, Events: events,
		Host:  engine.HostState{Latest: host, CPU: cpu, Mem: mem},
		Names: map[netip.Addr]string{a("10.0.0.5"): "web-01.corp.example" + evil, a("93.184.216.34"): "www.example.com" + evil},
		// The engine's per-process accounting of the same traffic.
		Processes: []attrib.ProcNet{
			{PID: 1401, Name: "nginx" + evil, State: attrib.Known, BytesIn: 1200000, BytesOut: 40000, RateIn: 60000, RateOut: 2000},
			{PID: 812, Name: "sshd" + evil, State: attrib.Known, BytesIn: 9000, BytesOut: 12000, RateIn: 225, RateOut: 300},
			{State: attrib.Unknown, BytesIn: 20000, BytesOut: 30000},
		},
	}
}

// asciiRenderer pins the colour profile so output has no escape sequences.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func trueColorRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	return r
}

// newTestModel builds a model of size w x h showing snap.
func newTestModel(snap *engine.Snapshot, w, h int, r *lipgloss.Renderer) *Model {
	// ShowSecrets: the fixture's credential has the password "****", which
	// the goldens show; masking is TestEventLine's.
	m, err := New(Options{Renderer: r, ShowSecrets: true})
	if err != nil {
		panic(fmt.Sprint("new model: ", err))
	}
	m.Update(SnapshotMsg{Snap: snap})
	m.Update(windowSize(w, h))
	return m
}
