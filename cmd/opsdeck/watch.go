package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/evidence"
	"github.com/opsdeck/opsdeck/internal/evidence/bundle"
	"github.com/opsdeck/opsdeck/internal/filter"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/metrics"
	"github.com/opsdeck/opsdeck/internal/pump"
	// Aliased: the package's tests have a type named record.
	records "github.com/opsdeck/opsdeck/internal/record"
	"github.com/opsdeck/opsdeck/sources/capture"
	"github.com/opsdeck/opsdeck/sources/system"
)

// watchOptions are the flags only watch has.
type watchOptions struct {
	rotateSize     config.Size
	rotateKeep     int
	hostInterval   time.Duration
	hostTop        int
	bundleOn       string
	bundleDir      string
	bundleInterval time.Duration
	metricsListen  string
	user           string
	promisc        bool
	statsInterval  time.Duration
	list           bool
}

func (w *watchOptions) register(fs *flag.FlagSet) {
	fs.Var(&w.rotateSize, "rotate-size", "rotate -o FILE when it reaches `SIZE` (bytes, or with KiB/MiB/GiB); 0 = never")
	fs.IntVar(&w.rotateKeep, "rotate-keep", 5, "rotated files kept (FILE.1 ... FILE.`N`)")
	fs.DurationVar(&w.hostInterval, "host-interval", 5*time.Second, "write a host event every `INTERVAL` (0 = never)")
	fs.IntVar(&w.hostTop, "host-top", 5, "processes listed in host events")
	fs.StringVar(&w.bundleOn, "bundle-on", "", "write an incident bundle when an alert of `SEVERITY` (high, medium, low) or worse fires")
	fs.StringVar(&w.bundleDir, "bundle-dir", "", "`DIR` for incident bundles (default: the -o file's directory, or the current one)")
	fs.DurationVar(&w.bundleInterval, "bundle-interval", 10*time.Minute, "at most one incident bundle per `INTERVAL`")
	fs.StringVar(&w.metricsListen, "metrics-listen", "", "serve Prometheus metrics on `ADDR` (e.g. 127.0.0.1:9477) at /metrics")
	fs.StringVar(&w.user, "user", "", "drop root to `USER` once the capture sockets are open, keeping only the capabilities capture and attribution need")
	fs.StringVar(&w.user, "Z", "", "the same as --user (tcpdump's -Z `USER`)")
	fs.BoolVar(&w.promisc, "promisc", false, "put the interfaces into promiscuous mode (tcpdump's default; opsdeck's is not, and -p is accepted)")
	fs.BoolVar(&w.list, "D", false, "list the interfaces with the numbers -i accepts, as tcpdump -D, and exit")
	fs.DurationVar(&w.statsInterval, "stats-interval", 8*time.Second, "write a stats record every `INTERVAL`, as Suricata does (0 = only at exit; config eve.stats_interval)")
}

func parseSeverity(s string) (detect.Severity, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "high", "1":
		return detect.SevHigh, nil
	case "medium", "2":
		return detect.SevMedium, nil
	case "low", "3":
		return detect.SevLow, nil
	}
	return 0, fmt.Errorf("--bundle-on %q: want high, medium or low", s)
}

// watch is the running state of opsdeck watch. The pump serializes every
// use of the engine and the EVE writer: its hooks (frame, tick, host
// sample) all run under its lock, and alerts arrive inside them.
type watch struct {
	eng     *engine.Engine
	p       *pump.Pump
	w       *eve.Writer
	out     eveOutput
	async   *asyncOut // out, written by its own goroutine
	ring    *evidence.Ring
	col     *metrics.Collector
	cfg     *config.Config
	opts    watchOptions
	bundleS detect.Severity
	bundleC chan *detect.Alert
	hostMu  sync.Mutex
	host    *hoststat.Snapshot // latest full sample
	// iface is in_iface for records no single frame caused (flows ended
	// by time, stats): the interface when there is one, else "".
	iface     string
	pcap      *pcapOut // -w
	lastStats time.Time
	lastHost  time.Time
}

// cmdWatch captures live without a screen and writes EVE JSON lines, for
// servers and log pipelines.
func cmdWatch(args []string) error {
	var o options
	var wo watchOptions
	fs := newFlagSet("watch", "opsdeck watch [-i IFACE]... [-o FILE] [flags] [capture filter]", os.Stderr)
	o.register(fs, true)
	wo.register(fs)
	o.registerLive(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageExit(err)
	}
	o.filter = strings.TrimSpace(strings.Join(pos, " "))
	o.given(fs)
	if wo.list {
		return listInterfaces(os.Stdout)
	}
	usage := func(err error) error { return &exitError{code: 2, err: err} }
	if o.notPromisc && wo.promisc {
		return usage(errors.New("-p (not promiscuous) and --promisc contradict each other"))
	}
	if o.writePcap == "-" && (o.output == "" || o.output == "-") {
		return usage(errors.New("-w - writes pcap to stdout, where EVE goes too: send EVE elsewhere with -o FILE"))
	}
	if o.read != "" {
		return usage(errors.New("watch captures live; use opsdeck analyze -r FILE for capture files"))
	}
	sev, err := parseSeverity(wo.bundleOn)
	if err != nil {
		return usage(err)
	}
	if wo.rotateSize > 0 && (o.output == "" || o.output == "-") {
		return usage(errors.New("--rotate-size needs -o FILE"))
	}
	if wo.rotateKeep < 0 {
		return usage(errors.New("--rotate-keep must be 0 or more"))
	}
	if o.filter != "" {
		if _, err := filter.Compile(o.filter, uint16(capture.LinkEthernet), o.snaplen); err != nil {
			return usage(fmt.Errorf("capture filter %q: %w", o.filter, err))
		}
	}
	// Catch signals from here on: a SIGHUP from logrotate, or a SIGTERM,
	// that arrives while the capture is still being opened must not kill
	// the process with its default action. They wait in the channel.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	cfg, err := loadFullConfig(o.configPath)
	if err != nil {
		return err
	}
	ecf, err := o.eveOptions(cfg.EVE)
	if err != nil {
		return usage(err)
	}
	if o.set["stats-interval"] {
		if wo.statsInterval < 0 {
			return usage(errors.New("--stats-interval must be 0 or more"))
		}
		ecf.StatsInterval = wo.statsInterval
	}
	ifaces := o.captureIfaces()

	// Open everything that needs privileges first: the capture sockets and
	// the metrics port (it may be below 1024); then drop them.
	wt := &watch{cfg: cfg, opts: wo, bundleS: sev, bundleC: make(chan *detect.Alert, 1)}
	wt.opts.statsInterval = ecf.StatsInterval
	if len(ifaces) == 1 && ifaces[0] != "any" {
		wt.iface = ifaces[0]
	}
	wt.eng = engine.New(o.engineConfig(engineConfigFrom(cfg)), nil)
	live := o.liveSource(wo.promisc)
	live.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "opsdeck: watch: "+format+"\n", args...) }
	if err := live.Open(); err != nil {
		return fmt.Errorf("watch: %w\n  fix: %s", err, pump.CaptureHint(err))
	}
	defer live.Close()

	var msrv *metrics.Server
	if wo.metricsListen != "" {
		if msrv, err = metrics.Listen(wo.metricsListen); err != nil {
			return err
		}
		defer msrv.Close()
	}
	if wo.user != "" {
		if err := dropPrivileges(wo.user); err != nil {
			return err
		}
		live.DroppedTo(wo.user, "watch dropped root (--user "+wo.user+") and cannot reopen capture; its service manager restarts it")
	}

	path := o.output
	if path == "-" {
		path = ""
	}
	var out eveOutput
	if network, sock, ok := socketSpec(path); ok {
		path = ""
		if out, err = openSocketOut(network, sock, false); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
	} else if out, err = openLineFileMode(path, int64(wo.rotateSize), wo.rotateKeep, ecf.FileMode); err != nil {
		return err
	}
	// The output's system calls run on a writer goroutine, off the
	// engine's (asyncOut); only it touches the file from here on.
	wt.async = newAsyncOut(out, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "opsdeck: watch: "+format+"\n", args...)
	})
	out = wt.async
	wt.out = out
	if o.writePcap != "" {
		// After --user, as the -o file: the pcap belongs to that user.
		if wt.pcap, err = openPcapOut(o.writePcap, o.snaplen); err != nil {
			out.Close()
			return fmt.Errorf("watch: %w", err)
		}
	}
	wt.w = eve.NewWriter(out)
	o.setupWriter(wt.w, ecf)
	wt.w.InIface = wt.iface
	wt.eng.Subscribe(wt.w)

	sampler := system.New()
	wt.eng.EnableAttribution(sampler.RequestRefresh)
	wt.eng.EnableHostRules(cfg.Host)
	wt.p = pump.New(wt.eng, pump.Options{
		Input:  live,
		Beside: []pump.Source{&pump.System{Sampler: sampler, Interval: time.Second}},
		Count:  o.count,
		Frame:  wt.frame,
		Idle:   func() { wt.w.InIface = wt.iface },
		Tick:   wt.tick,
		Logf:   func(format string, args ...any) { fmt.Fprintf(os.Stderr, "opsdeck: watch: "+format+"\n", args...) },
	})

	wt.col = metrics.New(wt.eng, func() metrics.CaptureStats {
		st := wt.p.Capture()
		return metrics.CaptureStats{Packets: wt.p.Read(), Bytes: st.Bytes, KernelPackets: st.KernelPackets, KernelDrops: st.KernelDrops}
	})
	// The output's counters are atomics: read without the pump's lock, so
	// a scrape never waits for a write that is stuck.
	wt.col.SetOutput(func() metrics.OutputStats {
		n, b := out.Lost()
		return metrics.OutputStats{LostRecords: n, LostBytes: b, HeldBytes: out.Held(), Healthy: out.Healthy()}
	})
	wt.col.SetSources(wt.p.Statuses)
	wt.col.SetBuildInfo(metrics.BuildInfo{Version: moduleVersion()})
	if msrv != nil {
		msrv.Start(wt.col)
		fmt.Fprintf(os.Stderr, "opsdeck: metrics on http://%s/metrics\n", msrv.Addr())
	}
	// After the EVE writer and metrics (metrics.New subscribed it): an
	// alert is written before onAlert flushes it.
	wt.eng.Subscribe(records.Func(wt.onRecord))
	hooks := engine.Hooks{Fault: logFault}
	if sev != 0 {
		wt.ring = evidence.NewRing(cfg.Evidence)
		hooks.Frame = wt.ring.Hook
	}
	wt.eng.SetHooks(hooks)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				if s == syscall.SIGHUP {
					out.RequestReopen()
					continue
				}
				cancel()
			}
		}
	}()
	var wg sync.WaitGroup
	if sev != 0 {
		wg.Add(1)
		go func() { defer wg.Done(); wt.bundler(ctx, path) }()
	}

	wt.lastStats = time.Now()
	capErr := wt.p.Run(ctx)
	cancel()
	wg.Wait()

	// Whatever ended the capture, the flows and the stats reach the file:
	// from here on the output queue waits for its writer, never drops.
	wt.async.Drain()
	wt.w.InIface = wt.iface
	wt.eng.Finish()
	wt.writeStats()
	err = errors.Join(wt.w.Flush(), out.Close(), wt.pcap.close())
	if capErr != nil {
		return fmt.Errorf("watch: capture stopped: %w", errors.Join(capErr, err))
	}
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	return nil
}

// frame runs before the engine takes a frame: records it causes carry its
// interface (Suricata's in_iface), and -w writes it.
func (wt *watch) frame(fr *capture.Frame) {
	wt.w.InIface = fr.Iface
	wt.pcap.write(fr)
}

// writeStats writes a stats record of the run so far.
func (wt *watch) writeStats() {
	n, b := wt.out.Lost()
	st := wt.p.Stats(&pump.OutputStats{LostRecords: n, LostBytes: b, HeldBytes: wt.out.Held()})
	if err := st.Write(wt.w); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: watch: stats:", err)
	}
}

// tick runs every second after the clock moved: a stats record when due,
// records reach the file, a requested reopen happens, the file is synced.
func (wt *watch) tick(now time.Time) {
	if iv := wt.opts.statsInterval; iv > 0 && now.Sub(wt.lastStats) >= iv-100*time.Millisecond {
		wt.lastStats = now
		wt.writeStats()
	}
	wt.pcap.flush()
	err := wt.w.Flush()
	if err == nil {
		err = wt.out.Boundary()
	}
	if err == nil {
		err = wt.out.Sync()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: watch:", err)
	}
}

// onRecord is watch's subscriber to the engine's records; it runs inside
// the engine (the pump's lock held), after the EVE writer and metrics.
func (wt *watch) onRecord(r records.Record) {
	switch r.Kind {
	case records.Alert, records.AlertUpdate:
		wt.onAlert(r.Alert)
	case records.HostSample:
		wt.onHost(r.Host)
	}
}

// onAlert: every alert reaches the file at once and may trigger a bundle.
func (wt *watch) onAlert(a *detect.Alert) {
	if err := wt.w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: watch: write alert:", err)
	}
	wt.async.Urgent()
	if wt.bundleS != 0 && !a.Update && a.Severity != 0 && a.Severity <= wt.bundleS {
		select {
		case wt.bundleC <- a:
		default: // a bundle is being written; it will include this alert
		}
	}
}

// onHost keeps the latest full sample for bundles and writes a host event
// every --host-interval.
func (wt *watch) onHost(s *hoststat.Snapshot) {
	if s.Partial {
		return
	}
	wt.hostMu.Lock()
	wt.host = s
	wt.hostMu.Unlock()
	if wt.opts.hostInterval <= 0 || s.Time.Sub(wt.lastHost) < wt.opts.hostInterval-100*time.Millisecond {
		return
	}
	wt.lastHost = s.Time
	if err := wt.w.Object(s.Time, "host", nil, hoststat.HostEvent(s, wt.opts.hostTop)); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: watch: host event:", err)
	}
}

// bundleSettle is how long after its trigger a bundle is written.
const bundleSettle = time.Second

// bundler writes incident bundles, at most one per --bundle-interval.
func (wt *watch) bundler(ctx context.Context, outPath string) {
	dir := wt.opts.bundleDir
	if dir == "" {
		dir = "."
		if outPath != "" {
			dir = filepath.Dir(outPath)
		}
	}
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-wt.bundleC:
			if !last.IsZero() && time.Since(last) < wt.opts.bundleInterval {
				continue
			}
			last = time.Now()
			// The alert fires inside its burst (a scan is raised at its
			// Nth port): a moment later the ring holds the rest of it,
			// which the evidence should show. Shutdown does not wait.
			select {
			case <-ctx.Done():
			case <-time.After(bundleSettle):
			}
			wt.hostMu.Lock()
			host := wt.host
			wt.hostMu.Unlock()
			snap := wt.eng.Snapshot(bundle.SnapshotOptions)
			p, err := bundle.Write(dir, bundle.Input{
				Reason:  fmt.Sprintf("%s alert %s (opsdeck watch --bundle-on %s)", a.Severity, a.Rule.Name, wt.opts.bundleOn),
				Trigger: a, Snapshot: snap, Host: host, Ring: wt.ring, CommunityIDSeed: wt.w.CommunityIDSeed,
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "opsdeck: watch: incident bundle:", err)
				continue
			}
			fmt.Fprintln(os.Stderr, "opsdeck: incident bundle written:", p)
		}
	}
}

// capturePrivilege says which privilege lets this process capture: root,

// dropPrivileges switches to user name: supplementary groups, group, then
// user (the order matters: once the uid changes, the rest is forbidden).
// Since Go 1.16 these calls apply to every thread of the process. The
// capabilities capture and attribution need (keptCaps) are kept across
// the switch on Linux; every other one is gone, also from the bounding
// set.
func dropPrivileges(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--user %q: %w", name, err)}
	}
	if os.Geteuid() != 0 {
		return &exitError{code: 2, err: fmt.Errorf("--user %q: opsdeck is not running as root, so it has no privileges to drop", name)}
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("--user %q: non-numeric uid %q or gid %q", name, u.Uid, u.Gid)
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil && n != gid {
				groups = append(groups, n)
			}
		}
	}
	keeper, err := beforeSetuid()
	if err != nil {
		return fmt.Errorf("--user %q: keep capabilities: %w", name, err)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("--user %q: setgroups: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("--user %q: setgid %d: %w", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("--user %q: setuid %d: %w", name, uid, err)
	}
	if os.Geteuid() != uid || os.Getegid() != gid {
		return fmt.Errorf("--user %q: still uid %d gid %d after dropping", name, os.Geteuid(), os.Getegid())
	}
	if err := keeper.afterSetuid(); err != nil {
		return fmt.Errorf("--user %q: keep %s: %w", name, keptCapNames, err)
	}
	return nil
}
