package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/evidence"
	"github.com/opsdeck/opsdeck/internal/filter"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/metrics"
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

// watch is the running state of opsdeck watch. mu serializes every use of
// the engine and the EVE writer: the capture loop, the ticker, the host
// sampler and shutdown all write records.
type watch struct {
	mu      sync.Mutex
	eng     *engine.Engine
	w       *eve.Writer
	out     eveOutput
	lc      *liveCapture
	ring    *evidence.Ring
	col     *metrics.Collector
	cfg     *config.Config
	opts    watchOptions
	bundleS detect.Severity
	bundleC chan *detect.Alert
	hostMu  sync.Mutex
	host    *hoststat.Snapshot // latest full sample
	read    atomic.Uint64
	start   time.Time
	// iface is in_iface for records no single frame caused (flows ended
	// by time, stats): the interface when there is one, else "".
	iface string
	// sink counts packets for -c and writes them for -w (under mu); stop
	// ends the capture once -c packets were handled.
	sink *packetSink
	stop context.CancelFunc
}

// cmdWatch captures live without a screen and writes EVE JSON lines, for
// servers and log pipelines.
func cmdWatch(args []string) error {
	var o options
	var wo watchOptions
	fs := newFlagSet("watch", "opsdeck watch [-i IFACE]... [-o FILE] [flags] [capture filter]", os.Stderr)
	o.register(fs, true)
	wo.register(fs)
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
	ifaces := []string(o.ifaces)
	if len(ifaces) == 0 {
		ifaces = []string{"any"}
	}

	// Open everything that needs privileges first: the capture sockets and
	// the metrics port (it may be below 1024); then drop them.
	lopts := capture.LiveOptions{SnapLen: o.snaplen, Promisc: wo.promisc}
	lopts.Filter = kernelFilter(o.filter, o.snaplen)
	wt := &watch{cfg: cfg, opts: wo, bundleS: sev, bundleC: make(chan *detect.Alert, 1), sink: &packetSink{max: o.count}}
	wt.opts.statsInterval = ecf.StatsInterval
	if len(ifaces) == 1 && ifaces[0] != "any" {
		wt.iface = ifaces[0]
	}
	wt.eng = engine.New(o.engineConfig(engineConfigFrom(cfg)), nil)
	wt.lc = newLiveCapture(wt.eng, ifaces, lopts, wt.handle)
	wt.lc.logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "opsdeck: watch: "+format+"\n", args...) }
	if err := wt.lc.open(); err != nil {
		return fmt.Errorf("watch: %w\n  fix: %s", err, captureHint(err))
	}
	defer func() {
		if src := wt.lc.src; src != nil {
			src.Close()
		}
	}()

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
		wt.lc.setPrivilege("dropped to " + wo.user)
		wt.lc.noReopen = "watch dropped root (--user " + wo.user + ") and cannot reopen capture; its service manager restarts it"
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
	wt.out = out
	if o.writePcap != "" {
		// After --user, as the -o file: the pcap belongs to that user.
		if wt.sink.pcap, err = openPcapOut(o.writePcap, o.snaplen); err != nil {
			out.Close()
			return fmt.Errorf("watch: %w", err)
		}
	}
	wt.w = eve.NewWriter(out)
	o.setupWriter(wt.w, ecf)
	wt.w.InIface = wt.iface
	wt.eng.SetOutput(wt.w)
	wt.col = metrics.New(wt.eng, func() metrics.CaptureStats {
		st := wt.lc.Stats()
		return metrics.CaptureStats{Packets: wt.read.Load(), Bytes: st.Bytes, KernelPackets: st.KernelPackets, KernelDrops: st.KernelDrops}
	})
	// The output's counters are atomics: read without wt.mu, so a scrape
	// never waits for a write that is stuck.
	wt.col.SetOutput(func() metrics.OutputStats {
		n, b := out.Lost()
		return metrics.OutputStats{LostRecords: n, LostBytes: b, HeldBytes: out.Held(), Healthy: out.Healthy()}
	})
	wt.col.SetBuildInfo(metrics.BuildInfo{Version: moduleVersion()})
	if msrv != nil {
		msrv.Start(wt.col)
		fmt.Fprintf(os.Stderr, "opsdeck: metrics on http://%s/metrics\n", msrv.Addr())
	}
	hooks := engine.Hooks{Alert: wt.onAlert, Fault: logFault}
	if sev != 0 {
		wt.ring = evidence.NewRing(cfg.Evidence)
		hooks.Frame = wt.ring.Hook
	}
	wt.eng.SetHooks(hooks)

	wt.start = time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wt.stop = cancel
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

	sampler := system.New()
	wt.eng.EnableAttribution(sampler.RequestRefresh)
	wt.eng.EnableHostRules(cfg.Host)
	var wg sync.WaitGroup
	goSafe(&wg, "system", func() { _ = sampler.Run(ctx, time.Second, wt.onHost()) })
	goSafe(&wg, "ticker", func() { wt.tick(ctx) })
	if sev != 0 {
		goSafe(&wg, "bundle", func() { wt.bundler(ctx, path) })
	}

	capErr := runGuarded("capture", func() error { return wt.lc.run(ctx) })
	cancel()
	wg.Wait()

	// Whatever ended the capture, the flows and the stats reach the file.
	wt.mu.Lock()
	defer wt.mu.Unlock()
	wt.w.InIface = wt.iface
	wt.eng.Finish()
	wt.writeStats()
	err = errors.Join(wt.w.Flush(), out.Close(), wt.sink.pcap.close())
	if capErr != nil {
		return fmt.Errorf("watch: capture stopped: %w", errors.Join(capErr, err))
	}
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	return nil
}

// handle feeds one frame to the engine; the capture loop calls it.
func (wt *watch) handle(fr *capture.Frame) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	// Frames the capture loop still had after the -c'th are not analysed.
	if !wt.sink.take(fr) {
		return
	}
	wt.read.Add(1)
	// Records this frame causes carry its interface (Suricata's in_iface).
	wt.w.InIface = fr.Iface
	wt.eng.HandleFrame(uint16(fr.Link), fr.Data, fr.TS, fr.WireLen, fr.Index)
	if wt.sink.full() {
		wt.stop()
	}
}

// writeStats writes a stats record of the run so far (mu held).
func (wt *watch) writeStats() {
	writeStats(wt.w, wt.eng, wt.read.Load(), wt.lc.Stats(), time.Since(wt.start), wt.out)
}

// runGuarded runs f, turning a panic into its error: a capture loop that
// dies still lets watch write its final records and exit non-zero.
func runGuarded(name string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "opsdeck: %s stopped: %v\n%s", name, r, debug.Stack())
			err = fmt.Errorf("%s stopped: %v", name, r)
		}
	}()
	return f()
}

// tick runs every second: idle flows end, records reach the file, a
// requested reopen happens, the file is synced and kernel counters refresh.
func (wt *watch) tick(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastStats := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			wt.lc.publish()
			wt.mu.Lock()
			wt.w.InIface = wt.iface
			wt.eng.Expire(now)
			if iv := wt.opts.statsInterval; iv > 0 && now.Sub(lastStats) >= iv-100*time.Millisecond {
				lastStats = now
				wt.writeStats()
			}
			wt.sink.pcap.flush()
			err := wt.w.Flush()
			if err == nil {
				err = wt.out.Boundary()
			}
			if err == nil {
				err = wt.out.Sync()
			}
			wt.mu.Unlock()
			if err != nil {
				fmt.Fprintln(os.Stderr, "opsdeck: watch:", err)
			}
		}
	}
}

// onAlert runs inside the engine (mu held): every alert reaches the file
// at once, is counted for metrics and may trigger a bundle.
func (wt *watch) onAlert(a *detect.Alert, _ *flow.Flow) {
	if err := wt.w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: watch: write alert:", err)
	}
	wt.col.ObserveAlert(a)
	if wt.bundleS != 0 && !a.Update && a.Severity != 0 && a.Severity <= wt.bundleS {
		select {
		case wt.bundleC <- a:
		default: // a bundle is being written; it will include this alert
		}
	}
}

// onHost feeds samples to the engine and writes host events.
func (wt *watch) onHost() func(*hoststat.Snapshot) {
	feed := hostFeeder(wt.eng)
	var last time.Time
	return func(s *hoststat.Snapshot) {
		if !s.Partial {
			wt.hostMu.Lock()
			wt.host = s
			wt.hostMu.Unlock()
			wt.col.ObserveHost(s)
		}
		wt.mu.Lock()
		defer wt.mu.Unlock()
		feed(s)
		if s.Partial || wt.opts.hostInterval <= 0 || s.Time.Sub(last) < wt.opts.hostInterval-100*time.Millisecond {
			return
		}
		last = s.Time
		wt.w.InIface = wt.iface
		if err := wt.w.Object(s.Time, "host", nil, hoststat.HostEvent(s, wt.opts.hostTop)); err != nil {
			fmt.Fprintln(os.Stderr, "opsdeck: watch: host event:", err)
		}
	}
}

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
			wt.hostMu.Lock()
			host := wt.host
			wt.hostMu.Unlock()
			snap := wt.eng.Snapshot(evidence.BundleSnapshotOptions)
			p, err := evidence.WriteBundle(dir, evidence.BundleInput{
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
// the CAP_NET_RAW capability (setcap), or neither.
func capturePrivilege() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	if hasCapNetRaw() {
		return "cap_net_raw"
	}
	return "none"
}

// hasCapNetRaw reads the effective capability set from /proc/self/status.
func hasCapNetRaw() bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			const capNetRaw = 13
			return err == nil && caps&(1<<capNetRaw) != 0
		}
	}
	return false
}

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
