package main

import (
	"fmt"
	"github.com/opsdeck/opsdeck/internal/pump"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildConsole builds the binary for the tmux tests, skipping when tmux is
// missing or with -short.
func buildConsole(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (.ci/run installs it): skipping a console test in tmux")
	}
	if testing.Short() {
		t.Skip("console test in tmux skipped with -short")
	}
	return opsdeckBinary(t)
}

func startTmux(t *testing.T, w, h int, shell string) *tmuxSession {
	// A subtest's name has slashes; the socket's must not.
	s := &tmuxSession{t: t, sock: fmt.Sprintf("opsdeck-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), os.Getpid())}
	t.Cleanup(func() { exec.Command("tmux", "-L", s.sock, "kill-server").Run() })
	s.run("new-session", "-d", "-s", "e2e", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), "sh", "-c", shell)
	return s
}

// cpuTime is the time pid's threads have spent on a CPU, from their
// schedstat (nanoseconds; /proc/PID/stat counts 10 ms ticks, too coarse for
// a process that wakes briefly a few dozen times a second).
func cpuTime(t *testing.T, pid string) time.Duration {
	files, err := filepath.Glob("/proc/" + pid + "/task/*/schedstat")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schedstat for pid %s: %v", pid, err)
	}
	var sum time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that just exited
		}
		if fs := strings.Fields(string(b)); len(fs) > 0 {
			ns, _ := strconv.ParseInt(fs[0], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

// TestIdleBandwidth measures what the console writes to the terminal when
// nothing happens on the network: a replayed capture has finished, the host
// panes still update every second. Measured as for btop and htop in the
// README: tmux pipe-pane at 160x45. OPSDECK_IDLE_SECONDS=30 gives the
// README's figures (default 10 s). Only the byte rate is asserted, against
// a generous bound (the budget is 2 KB/s; the line renderer alone wrote
// about 8 KB/s); CPU, memory and the first-frame time are logged, never
// asserted.
func TestIdleBandwidth(t *testing.T) {
	bin := buildConsole(t)
	pcap, err := filepath.Abs("../../testdata/corpus/ndpi/synscan-nmap-1000-ports.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("corpus capture missing: %v", err)
	}
	secs := 10
	if v, err := strconv.Atoi(os.Getenv("OPSDECK_IDLE_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	dir := t.TempDir()
	startFile, pipe := filepath.Join(dir, "start"), filepath.Join(dir, "pipe")
	if err := os.WriteFile(pipe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startTmux(t, 160, 45, fmt.Sprintf("date +%%s%%N > %s; TERM=tmux-256color exec %s -r %s --speed 0", startFile, bin, pcap))
	s.run("pipe-pane", "-o", "-t", "e2e", "cat >> "+pipe)
	// First frame: header and footer of a full screen (logged only).
	var first time.Time
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		scr := s.screen()
		if strings.Contains(scr, "1 system") && strings.Contains(scr, "? help") {
			first = time.Now()
			break
		}
	}
	if first.IsZero() {
		t.Fatalf("no full frame; screen:\n%s", s.screen())
	}
	if b, err := os.ReadFile(startFile); err == nil {
		if ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			t.Logf("first frame after %d ms (polled every 5 ms)", first.Sub(time.Unix(0, ns)).Milliseconds())
		}
	}
	s.waitFor("replay finished", contains("FINISHED"))
	time.Sleep(2 * time.Second) // the first host samples fill the panes
	pid := strings.TrimSpace(s.run("display-message", "-p", "-t", "e2e", "#{pane_pid}"))
	st0, err := os.Stat(pipe)
	if err != nil {
		t.Fatal(err)
	}
	c0, t0 := cpuTime(t, pid), time.Now()
	time.Sleep(time.Duration(secs) * time.Second)
	st1, _ := os.Stat(pipe)
	c1, el := cpuTime(t, pid), time.Since(t0).Seconds()
	rate := float64(st1.Size()-st0.Size()) / el
	rss := ""
	if b, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				rss = strings.Join(strings.Fields(l)[1:], " ")
			}
		}
	}
	t.Logf("idle at 160x45 over %.0f s: %.0f bytes/s to the terminal, CPU %.2f%% of a core, RSS %s",
		el, rate, 100*(c1-c0).Seconds()/el, rss)
	if rate > 4096 {
		t.Errorf("idle console wrote %.0f bytes/s to the terminal; budget 2 KB/s", rate)
	}
	s.run("send-keys", "-t", "e2e", "q")
}

// TestDemoConsole: --demo needs no privilege and no file, and within
// seconds shows generated traffic, protocol events and attack alerts.
func TestDemoConsole(t *testing.T) {
	bin := buildConsole(t)
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	s := startTmux(t, 160, 45, fmt.Sprintf("cd %s && TERM=tmux-256color %s --demo; echo $? > %s; sleep 60", dir, bin, exitFile))
	s.waitFor("demo source", contains("demo", "pkt/s", "1 system"))
	// Alive: the protocol log fills and the generator's attacks alert.
	scr := s.waitFor("an attack alert", func(scr string) bool {
		return strings.Contains(scr, "scan.") || strings.Contains(scr, "bruteforce.") || strings.Contains(scr, "dns.tunnel")
	})
	if strings.Contains(scr, "no DNS, TLS, HTTP or login seen yet") {
		t.Errorf("protocol log still empty while alerts fire:\n%s", scr)
	}
	// The evidence key writes an incident bundle into the working directory.
	s.run("send-keys", "-t", "e2e", "b")
	s.waitFor("bundle written", contains("incident bundle written", "opsdeck-incident-"))
	if m, _ := filepath.Glob(filepath.Join(dir, "opsdeck-incident-*", "summary.md")); len(m) != 1 {
		t.Errorf("bundle files: %v", m)
	}
	s.quit(exitFile)
}

// TestConsoleWithoutCapturePrivilege: as an ordinary user the console still
// shows the host, and the network pane says how to enable capture and that
// -r works without privilege. Run as nobody (via setpriv) when the tests run
// as root.
func TestConsoleWithoutCapturePrivilege(t *testing.T) {
	bin := buildConsole(t)
	prefix := ""
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("running as root without setpriv: cannot drop the capture privilege")
		}
		// nobody must be able to run the binary: copy it somewhere world-readable.
		dir, err := os.MkdirTemp("", "opsdeck-nopriv-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o755)
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(dir, "opsdeck")
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		prefix = "setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=" + dir + " XDG_CONFIG_HOME=" + filepath.Join(dir, "config") + " "
	} else if pump.HasCapNetRaw() {
		t.Skip("this process can capture: nothing to test")
	}
	s := startTmux(t, 120, 40, "TERM=tmux-256color exec "+prefix+bin)
	s.waitFor("the no-capture message", contains("CAP_NET_RAW"))
	s.waitFor("the first host sample", contains("Load"))
	scr := s.screen()
	// The network pane's text, its wrapped lines joined: where a line
	// breaks depends on the length of the binary's path.
	var pane []string
	for _, line := range strings.Split(scr, "\n") {
		if i := strings.LastIndex(line, "││"); i >= 0 {
			pane = append(pane, strings.TrimSuffix(line[i+len("││"):], "│"))
		}
	}
	flat := strings.Join(strings.Fields(strings.Join(pane, " ")), " ")
	for _, want := range []string{"1 system", "CPU", "[no capture privilege]"} {
		if !strings.Contains(scr, want) {
			t.Errorf("screen lacks %q:\n%s", want, scr)
		}
	}
	for _, want := range []string{"setcap cap_net_raw,cap_net_admin=eip", "-r FILE works without privileges"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the network pane lacks %q:\n%s", want, scr)
		}
	}
	s.run("send-keys", "-t", "e2e", "q")
}

// TestResizeStorm: the real binary on --demo while tmux resizes its window
// hundreds of times in a tight loop, down to 1x1 and up to 250x80: it keeps
// drawing whole frames, and then still quits cleanly with status 0.
func TestResizeStorm(t *testing.T) {
	bin := buildConsole(t)
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	s := startTmux(t, 120, 40, fmt.Sprintf("cd %s && TERM=tmux-256color %s --demo; echo $? > %s; sleep 60", dir, bin, exitFile))
	s.waitFor("the first frame", contains("1 system", "? help"))
	sizes := [][2]int{{1, 1}, {250, 80}, {80, 24}, {59, 14}, {60, 15}, {200, 60}, {2, 50}, {160, 45}}
	deadline := time.Now().Add(3 * time.Second)
	n := 0
	for ; time.Now().Before(deadline) || n < 300; n++ {
		sz := sizes[n%len(sizes)]
		s.run("resize-window", "-t", "e2e", "-x", strconv.Itoa(sz[0]), "-y", strconv.Itoa(sz[1]))
	}
	s.run("resize-window", "-t", "e2e", "-x", "120", "-y", "40")
	scr := s.waitFor("a whole frame after the storm", contains("1 system", "4 alerts", "? help"))
	if lines := strings.Split(strings.TrimRight(scr, "\n"), "\n"); len(lines) != 40 {
		t.Errorf("%d lines after the storm, want 40:\n%s", len(lines), scr)
	}
	t.Logf("%d resizes", n)
	s.quit(exitFile)
}
