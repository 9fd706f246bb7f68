package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/opsdeck/opsdeck/internal/evidence/bundle"
	"github.com/opsdeck/opsdeck/internal/pump"
	"github.com/opsdeck/opsdeck/internal/textsafe"
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
	o.registerLive(fs)
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
	flt, err := pump.NewFilter(o.filter)
	if err != nil {
		return &exitError{code: 2, err: err}
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

	// The packet source.
	po := pump.Options{Linger: true, Settle: true, Logf: faults.logf}
	switch {
	case co.demo:
		po.Input = demoSource()
	case o.read != "":
		po.Input, po.Filter = &pump.Files{Names: []string{o.read}, Speed: co.speed}, flt
	default:
		// Open capture now, so that --user can drop root before a single
		// packet is parsed.
		lc := o.liveSource(false)
		_ = lc.Open() // the status says why it failed; the system panes work anyway
		defer lc.Close()
		if co.user != "" {
			if err := dropPrivileges(co.user); err != nil {
				return err
			}
			lc.DroppedTo(co.user, "opsdeck dropped root (--user "+co.user+") and cannot reopen capture; restart it")
		}
		po.Input = lc
	}

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
	po.Beside = []pump.Source{&pump.System{Sampler: sampler, Interval: time.Second}}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = pump.New(eng, po).Run(ctx) // the engine's source status says how it ended
	}()
	defer func() { cancel(); <-done }()
	save := &consoleEvidence{dir: co.evidenceDir, eng: eng, ring: ring, seed: uint16(o.seed)}

	renderer, theme := consoleRenderer(consoleTheme(cfg.Theme))
	term := tui.NewTerminalWriter(os.Stdout)
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
		ShowSecrets: o.showSecrets,
		Present:     term.Present,
	})
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("configuration keys: %w", err)}
	}
	// The terminal writer paints each new screen as soon as the model has
	// drawn it (at most 20 a second), so a key press is drawn at once.
	// Bubble Tea's renderer wakes the process at every frame tick, changed or
	// not: at 20 a second that was a third of the idle console's CPU
	// (scripts/console-idle.sh). At 1 it only sets the terminal up and
	// repeats what the writer painted, which costs no bytes.
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithFPS(1), tea.WithOutput(term)}
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

// faultLog keeps the engine's contained panics and the sources' reports
// for stderr, written once the screen has closed.
type faultLog struct {
	mu     sync.Mutex
	faults []engine.Fault
	lines  []string
}

// logf keeps one report of a source (a panic, capture lost or resumed);
// the first 100 are kept.
func (l *faultLog) logf(format string, args ...any) {
	l.mu.Lock()
	if len(l.lines) < 100 {
		l.lines = append(l.lines, fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
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
	for _, line := range l.lines {
		// Line by line: Clean keeps no newline, and a panic's stack has many.
		for i, part := range strings.Split(line, "\n") {
			if i == 0 {
				fmt.Fprintln(os.Stderr, "opsdeck:", textsafe.Clean(part))
			} else {
				fmt.Fprintln(os.Stderr, textsafe.Clean(part))
			}
		}
	}
}

// logFault writes a contained panic to stderr with its stack: the first of
// each stage; the rest are counted (stats.faults, the console's header).
func logFault(f engine.Fault) {
	fmt.Fprintf(os.Stderr, "opsdeck: %s (packet time %s); later ones are only counted\n%s",
		textsafe.Clean(f.String()), f.Time.UTC().Format(time.RFC3339Nano), f.Stack)
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
	path, err := bundle.Write(c.dir, bundle.Input{
		Reason: reason, Trigger: trigger, Snapshot: c.eng.Snapshot(bundle.SnapshotOptions),
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
