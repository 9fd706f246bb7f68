package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/evidence"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/sources/capture"
	"github.com/opsdeck/opsdeck/sources/system"
	"github.com/opsdeck/opsdeck/tui"
)

// consoleOptions are the flags only the console has.
type consoleOptions struct {
	demo        bool
	speed       float64
	ascii       bool
	refresh     time.Duration
	noMouse     bool
	evidenceDir string
}

// cmdConsole runs the Bubble Tea console over live capture, a file (-r) or
// generated traffic (--demo), with the system source alongside.
func cmdConsole(args []string) error {
	var o options
	var co consoleOptions
	fs := newFlagSet("opsdeck", "opsdeck [-i IFACE]... [-r FILE|-] [--demo] [flags] [capture filter]", os.Stderr)
	o.register(fs, false)
	fs.BoolVar(&co.demo, "demo", false, "run on built-in generated traffic (browsing, a scan, a brute force, a DNS tunnel); no root needed")
	fs.Float64Var(&co.speed, "speed", 1, "replay speed for -r: 1 = as recorded, 2 = twice as fast, 0 = as fast as possible")
	fs.BoolVar(&co.ascii, "ascii", false, "draw with plain ASCII (no box drawing or block characters)")
	fs.DurationVar(&co.refresh, "refresh", 0, "screen refresh `interval` (+ and - change it while running; default: the configuration's, 1s)")
	fs.StringVar(&co.evidenceDir, "evidence-dir", ".", "`DIR` where the b (incident bundle) and e (alert pcap) keys write")
	fs.BoolVar(&co.noMouse, "no-mouse", false, "do not capture the mouse (lets the terminal select text)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return &exitError{code: 2, err: errUsagePrinted}
	}
	o.filter = strings.Join(pos, " ")
	if co.speed < 0 {
		return &exitError{code: 2, err: errors.New("--speed must be 0 (as fast as possible) or more")}
	}
	if co.demo && (o.read != "" || len(o.ifaces) > 0) {
		return &exitError{code: 2, err: errors.New("--demo cannot be combined with -r or -i")}
	}
	if o.read != "" && len(o.ifaces) > 0 {
		return &exitError{code: 2, err: errors.New("-r and -i are exclusive: read a file or capture live")}
	}
	cfg, err := loadFullConfig(o.configPath)
	if err != nil {
		return err
	}
	if co.refresh <= 0 {
		co.refresh = cfg.Refresh
	}
	eng := engine.New(o.engineConfig(engineConfigFrom(cfg)), nil)
	// The evidence ring keeps recent packets for the b and e keys.
	ring := evidence.NewRing(cfg.Evidence)
	eng.SetHooks(engine.Hooks{Frame: ring.Hook})
	flt := newFilterCache(o.filter)
	if _, err := flt.get(uint16(capture.LinkEthernet)); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("capture filter %q: %w", o.filter, err)}
	}
	live := !co.demo && o.read == ""

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs before wg.Wait

	// The system source: the host panes work whatever happens to capture.
	sampler := system.New()
	// The process table redraws every third sample: read processes at that
	// pace, which is most of what sampling costs (DESIGN.md: under 1% of a
	// core when idle).
	sampler.ProcessEvery = 3
	// Sockets too: a flow that finds no owner asks for a fresh socket sample
	// at once (RequestRefresh), so the periodic one only keeps the socket
	// table and host.listener current, to within 3 s.
	sampler.SocketEvery = 3
	if live {
		eng.EnableAttribution(sampler.RequestRefresh)
		eng.EnableHostRules(cfg.Host)
	}
	goSafe(&wg, "system", func() {
		_ = sampler.Run(ctx, time.Second, hostFeeder(eng))
	})

	// The packet source.
	switch {
	case co.demo:
		eng.SetSource(engine.SourceStatus{Name: "demo", Kind: "demo", State: "running", Privilege: "none"})
		goSafe(&wg, "demo", func() { runDemo(ctx, eng) })
	case o.read != "":
		goSafe(&wg, "replay", func() { replay(ctx, eng, flt, o.read, co.speed) })
	default:
		ifaces := []string(o.ifaces)
		if len(ifaces) == 0 {
			ifaces = []string{"any"}
		}
		goSafe(&wg, "capture", func() { captureLive(ctx, eng, o.filter, ifaces, o.snaplen) })
	}
	save := &consoleEvidence{dir: co.evidenceDir, eng: eng, ring: ring, seed: uint16(o.seed)}

	model, err := tui.New(tui.Options{
		Snapshot: func() *engine.Snapshot {
			return eng.Snapshot(engine.SnapshotOptions{Flows: 300, Talkers: 100, Alerts: 1000, Events: 500})
		},
		Signal:      signalProcess,
		Refresh:     co.refresh,
		ASCII:       co.ascii,
		Theme:       consoleTheme(cfg.Theme),
		Keys:        cfg.Keys,
		Bundle:      save.bundle,
		ExportAlert: save.exportAlert,
		NoNames:     o.noResolve,
	})
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("configuration keys: %w", err)}
	}
	// The frame rate bounds how long a change (a key press, the first frame)
	// waits to be drawn: 50 ms at 20 frames a second. A frame with no change
	// writes nothing (TerminalWriter sends only the cells that changed), but
	// every frame wakes the process: at 30 the idle console spent a fifth
	// more CPU (scripts/console-idle.sh).
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithFPS(20), tea.WithOutput(tui.NewTerminalWriter(os.Stdout))}
	if !co.noMouse {
		popts = append(popts, tea.WithMouseCellMotion())
	}
	if o.read == "-" {
		// Standard input carries the capture; keys come from the terminal.
		popts = append(popts, tea.WithInputTTY())
	}
	if _, err := tea.NewProgram(model, popts...).Run(); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// goSafe runs f on its own goroutine; a panic in one source is reported on
// stderr after the screen closes and does not take the console down.
func goSafe(wg *sync.WaitGroup, name string, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(os.Stderr, "opsdeck: %s source stopped: %v\n", name, r)
			}
		}()
		f()
	}()
}

// hostFeeder passes full samples to the engine and merges socket-only
// refreshes into the last full one, so the console always sees a whole host.
func hostFeeder(eng *engine.Engine) func(*hoststat.Snapshot) {
	var full *hoststat.Snapshot
	return func(s *hoststat.Snapshot) {
		if s.Partial {
			if full == nil {
				return
			}
			merged := *full
			merged.Time, merged.Sockets = s.Time, s.Sockets
			merged.SocketOwnersComplete = s.SocketOwnersComplete
			s = &merged
		} else {
			full = s
		}
		eng.HandleHost(s)
	}
}

// signalProcess sends sig to pid; the console calls it from a command.
func signalProcess(pid int32, sig syscall.Signal) error {
	p, err := os.FindProcess(int(pid))
	if err != nil {
		return fmt.Errorf("find process %d: %w", pid, err)
	}
	if err := p.Signal(sig); err != nil {
		return fmt.Errorf("signal process %d: %w", pid, err)
	}
	return nil
}

// replay feeds a capture file at recorded speed times speed (0: as fast as
// possible). When it ends the source is marked finished and the screen stays.
func replay(ctx context.Context, eng *engine.Engine, flt *filterCache, name string, speed float64) {
	status := engine.SourceStatus{Name: name, Kind: "file", State: "running", Privilege: "none"}
	if name == "-" {
		status.Name = "stdin"
	}
	eng.SetSource(status)
	src, err := openCapture(name)
	if err != nil {
		status.State, status.Err = "error", err.Error()
		status.Hint = "check the path; opsdeck reads pcap and pcapng files"
		eng.SetSource(status)
		return
	}
	defer src.Close()
	var first time.Time
	start := time.Now()
	for ctx.Err() == nil {
		fr, err := src.Next()
		if err != nil {
			if err != io.EOF {
				status.Err = err.Error()
			}
			break
		}
		if speed > 0 {
			if first.IsZero() {
				first = fr.TS
			}
			due := start.Add(time.Duration(float64(fr.TS.Sub(first)) / speed))
			if wait := time.Until(due); wait > 2*time.Millisecond {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		if flt.match(&fr) {
			eng.HandleFrame(uint16(fr.Link), fr.Data, fr.TS, fr.WireLen, fr.Index)
		}
	}
	// One more second of packet time closes the detectors' open windows
	// without ending the flows the screen shows.
	if now := eng.Now(); !now.IsZero() {
		eng.Expire(now.Add(time.Second))
	}
	status.State = "finished"
	eng.SetSource(status)
}

// captureLive captures on ifaces until ctx ends. Without privileges it
// leaves the reason and the fix in the source status and returns: the
// system panes keep working.
func captureLive(ctx context.Context, eng *engine.Engine, expr string, ifaces []string, snaplen int) {
	name := strings.Join(ifaces, ",")
	status := engine.SourceStatus{Name: name, Kind: "live", State: "starting", Privilege: capturePrivilege()}
	eng.SetSource(status)
	// The filter runs in the kernel: packets it rejects are never copied to
	// opsdeck, which matters on a busy link with a narrow filter.
	lopts := capture.LiveOptions{SnapLen: snaplen, Filter: kernelFilter(expr, snaplen)}
	for ctx.Err() == nil {
		src, err := capture.OpenLiveMulti(ifaces, lopts)
		if err != nil {
			status.State, status.Err, status.Hint = "unavailable", err.Error(), captureHint(err)
			eng.SetSource(status)
			if !errors.Is(err, capture.ErrNoSuchInterface) && !errors.Is(err, capture.ErrInterfaceGone) {
				return // permission and other errors will not fix themselves
			}
			if !sleepCtx(ctx, 2*time.Second) {
				return
			}
			continue
		}
		status.State, status.Err, status.Hint = "running", "", ""
		eng.SetSource(status)
		err = pump(ctx, eng, src, &status)
		src.Close()
		if err == nil || ctx.Err() != nil {
			return
		}
		status.State, status.Err, status.Hint = "error", err.Error(), "waiting for the interface to come back"
		eng.SetSource(status)
		if !sleepCtx(ctx, 2*time.Second) {
			return
		}
	}
}

// pump moves frames from src into the engine, keeping the engine's clock
// and kernel counters current while the link is idle.
func pump(ctx context.Context, eng *engine.Engine, src capture.Source, status *engine.SourceStatus) error {
	stop := context.AfterFunc(ctx, func() { src.Close() })
	defer stop()
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				eng.Expire(now)
			}
		}
	}()
	var lastStats time.Time
	for {
		fr, err := src.Next()
		if err != nil {
			if ctx.Err() != nil || err == io.EOF {
				return nil
			}
			return err
		}
		eng.HandleFrame(uint16(fr.Link), fr.Data, fr.TS, fr.WireLen, fr.Index)
		if time.Since(lastStats) > time.Second {
			lastStats = time.Now()
			st := src.Stats()
			status.KernelPackets, status.KernelDrops = st.KernelPackets, st.KernelDrops
			eng.SetSource(*status)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// captureHint says how to fix a capture error, in one line.
func captureHint(err error) string {
	switch {
	case errors.Is(err, capture.ErrPermission):
		return "run with sudo, or once: sudo setcap cap_net_raw,cap_net_admin=eip " + executable() + " — opsdeck -r FILE works without privileges"
	case errors.Is(err, capture.ErrNoSuchInterface):
		return "check the name with ip link; -i any captures on every interface"
	}
	return "opsdeck -r FILE replays a capture instead"
}

func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "opsdeck"
}

// consoleTheme resolves the configuration's theme. "auto" reads COLORFGBG
// (set by rxvt, Konsole and others: "15;0" is light text on black); a
// terminal that does not say is taken as dark, the common case. NO_COLOR is
// honoured by the renderer whatever the theme.
func consoleTheme(name string) string {
	if name != "auto" && name != "" {
		return name
	}
	fgbg := os.Getenv("COLORFGBG")
	if i := strings.LastIndexByte(fgbg, ';'); i >= 0 {
		switch fgbg[i+1:] {
		case "7", "15":
			return "light"
		}
	}
	return "dark"
}

// consoleEvidence writes what the console's evidence keys ask for into dir
// (created 0700; files 0600). Its methods run in the console's commands.
type consoleEvidence struct {
	dir  string
	eng  *engine.Engine
	ring *evidence.Ring
	seed uint16
}

func (c *consoleEvidence) bundle(trigger *detect.Alert) (tui.Saved, error) {
	reason := "saved from the console"
	if trigger != nil && trigger.Rule != nil {
		reason = fmt.Sprintf("%s alert %s, saved from the console", trigger.Severity, trigger.Rule.Name)
	}
	path, err := evidence.WriteBundle(c.dir, evidence.BundleInput{
		Reason: reason, Trigger: trigger, Snapshot: c.eng.Snapshot(evidence.BundleSnapshotOptions),
		Ring: c.ring, CommunityIDSeed: c.seed,
	})
	if abs, aerr := filepath.Abs(path); aerr == nil && path != "" {
		path = abs
	}
	return tui.Saved{Path: path, Packets: -1}, err
}

func (c *consoleEvidence) exportAlert(a *detect.Alert) (tui.Saved, error) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return tui.Saved{}, fmt.Errorf("create evidence directory %q: %w", c.dir, err)
	}
	rule := "alert"
	if a.Rule != nil {
		rule = a.Rule.Name
	}
	base := filepath.Join(c.dir, fmt.Sprintf("opsdeck-%s-%s", rule, a.TS.UTC().Format("20060102T150405Z")))
	path := base + ".pcap"
	// Never overwrite: a second export of the same alert gets a suffix.
	for i := 2; i < 100; i++ {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		path = fmt.Sprintf("%s-%d.pcap", base, i)
	}
	ex, err := c.ring.ExportAlert(path, a)
	if err != nil {
		return tui.Saved{}, fmt.Errorf("export alert packets: %w", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return tui.Saved{Path: path, Packets: ex.Packets}, nil
}
