package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/evidence"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/textsafe"
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
	user        string
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
	fs.StringVar(&co.user, "user", "", "drop root to `USER` once the capture sockets are open (as tcpdump -Z)")
	fs.StringVar(&co.user, "Z", "", "the same as --user (tcpdump's spelling)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageExit(err)
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
	// Faults go to stderr once the screen has closed.
	var faults faultLog
	eng.SetHooks(engine.Hooks{Frame: ring.Hook, Fault: faults.add})
	defer faults.print()
	flt := newFilterCache(o.filter)
	if _, err := flt.get(uint16(capture.LinkEthernet)); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("capture filter %q: %w", o.filter, err)}
	}
	live := !co.demo && o.read == ""
	if o.read != "" && o.read != "-" {
		// A file that cannot be read is an error now, not a console
		// showing nothing that exits 0.
		f, err := os.Open(o.read)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("read %s: %w", o.read, errors.Unwrap(err))}
		}
		f.Close()
	}
	if co.user != "" && !live {
		return &exitError{code: 2, err: errors.New("--user drops root after opening live capture; -r and --demo need no privileges")}
	}
	var lc *liveCapture
	if live {
		// Open capture now, so that --user can drop root before a single
		// packet is parsed.
		ifaces := []string(o.ifaces)
		if len(ifaces) == 0 {
			ifaces = []string{"any"}
		}
		lopts := capture.LiveOptions{SnapLen: o.snaplen, Filter: kernelFilter(o.filter, o.snaplen)}
		lc = newLiveCapture(eng, ifaces, lopts, func(fr *capture.Frame) {
			eng.HandleFrame(uint16(fr.Link), fr.Data, fr.TS, fr.WireLen, fr.Index)
		})
		_ = lc.open() // the status says why it failed; the system panes work anyway
		if co.user != "" {
			if err := dropPrivileges(co.user); err != nil {
				if lc.src != nil {
					lc.src.Close()
				}
				return err
			}
			lc.setPrivilege("dropped to " + co.user)
			lc.noReopen = "opsdeck dropped root (--user " + co.user + ") and cannot reopen capture; restart it"
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs before wg.Wait

	// The system source: the host panes work whatever happens to capture.
	sampler := system.New()
	// The process table redraws every third sample: read processes at that
	// pace, which is most of what sampling costs (docs/design.md: under 1% of a
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
		goSafeOr(&wg, "demo", func() { runDemo(ctx, eng) }, eng)
	case o.read != "":
		goSafeOr(&wg, "replay", func() { replay(ctx, eng, flt, o.read, co.speed) }, eng)
	default:
		goSafe(&wg, "capture", func() { idleExpire(ctx, eng) })
		goSafeOr(&wg, "capture", func() { _ = lc.run(ctx) }, eng)
	}
	save := &consoleEvidence{dir: co.evidenceDir, eng: eng, ring: ring, seed: uint16(o.seed)}

	renderer, theme := consoleRenderer(consoleTheme(cfg.Theme))
	model, err := tui.New(tui.Options{
		Renderer: renderer,
		Snapshot: func() *engine.Snapshot {
			return eng.Snapshot(engine.SnapshotOptions{Flows: 300, Talkers: 100, Alerts: 1000, Events: 500})
		},
		Signal:      signalProcess,
		Refresh:     co.refresh,
		ASCII:       co.ascii,
		Theme:       theme,
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
	// Quitting after the input was lost is not a clean run.
	if src := eng.Snapshot(engine.SnapshotOptions{}).Source; src.Stopped() {
		return &exitError{code: 1, err: fmt.Errorf("capture on %s stopped: %s", src.Name, src.Err)}
	}
	return nil
}

// goSafe runs f on its own goroutine; a panic in one source is reported on
// stderr after the screen closes and does not take the console down.
func goSafe(wg *sync.WaitGroup, name string, f func()) { goSafeOr(wg, name, f, nil) }

// goSafeOr is goSafe for a packet source: when it dies, eng's source
// status says so at once (the console's header turns to CAPTURE STOPPED).
func goSafeOr(wg *sync.WaitGroup, name string, f func(), eng *engine.Engine) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(os.Stderr, "opsdeck: %s source stopped: %v\n%s", name, r, debug.Stack())
				if eng != nil {
					eng.SourceFailed(fmt.Sprintf("%s source stopped: %v", name, r))
				}
			}
		}()
		f()
	}()
}

// faultLog keeps the engine's contained panics for stderr, written once
// the screen has closed.
type faultLog struct {
	mu     sync.Mutex
	faults []engine.Fault
}

func (l *faultLog) add(f engine.Fault) {
	l.mu.Lock()
	l.faults = append(l.faults, f)
	l.mu.Unlock()
}

func (l *faultLog) print() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.faults {
		logFault(f)
	}
}

// logFault writes a contained panic to stderr with its stack: the first of
// each stage; the rest are counted (stats.faults, the console's header).
func logFault(f engine.Fault) {
	fmt.Fprintf(os.Stderr, "opsdeck: %s (packet time %s); later ones are only counted\n%s",
		textsafe.Clean(f.String()), f.Time.UTC().Format(time.RFC3339Nano), f.Stack)
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

// idleExpire keeps the engine's clock moving while the link is idle, so
// that idle flows end and the detectors' windows close.
func idleExpire(ctx context.Context, eng *engine.Engine) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			eng.Expire(now)
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

// consoleRenderer honours NO_COLOR as it is meant: no colour, but bold,
// reverse video and underline stay, or the selected row and the focused
// pane would vanish. lipgloss's default renderer drops every attribute
// under NO_COLOR, so the console then renders with a 16-colour profile and
// the colourless theme. nil keeps lipgloss's default.
func consoleRenderer(theme string) (*lipgloss.Renderer, string) {
	if os.Getenv("NO_COLOR") == "" || os.Getenv("TERM") == "dumb" {
		return nil, theme
	}
	r := lipgloss.NewRenderer(os.Stdout)
	r.SetColorProfile(termenv.ANSI)
	return r, "mono"
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
