// Package lab builds a live attack lab for tests: three network namespaces
// (victim, attacker, client) joined by a bridge in a fourth, real services
// in the victim (sshd, a web server, an FTP server, a DNS server), real
// tools run in the attacker and the client, and tcpdump recording what
// crosses the victim's interface. Everything it makes is removed when the
// test ends. Without root or a needed program the test is skipped with a
// message naming what is missing.
//
// Addresses live only inside the namespaces: 10.77.0.0/24, the client at
// .1 (it is also the victim's default gateway), the victim at .10 and the
// attacker at .66.
package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Addresses of the lab's hosts.
var (
	ClientAddr   = netip.MustParseAddr("10.77.0.1")
	VictimAddr   = netip.MustParseAddr("10.77.0.10")
	AttackerAddr = netip.MustParseAddr("10.77.0.66")
	// OffNet is an address outside the lab's subnet, routed through the
	// client (the victim's gateway); nothing answers it.
	OffNet = netip.MustParseAddr("10.78.0.5")
)

// Host is one namespace of the lab.
type Host struct {
	NS   string     // network namespace name
	Addr netip.Addr // its address on eth0
	MAC  string     // eth0's hardware address
}

// Lab is one running lab.
type Lab struct {
	t                        testing.TB
	Dir                      string // scratch directory, removed at the end
	Victim, Attacker, Client Host
	lan                      string // namespace holding the bridge

	mu    sync.Mutex
	procs []*exec.Cmd
}

var seq atomic.Uint32

// Need skips the test unless every program is on PATH (or in /usr/sbin,
// /sbin, where Debian puts daemons).
func Need(t testing.TB, programs ...string) {
	t.Helper()
	var missing []string
	for _, p := range programs {
		if _, err := lookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Skipf("lab: %s not installed (.ci/run installs them with apt)", strings.Join(missing, ", "))
	}
}

func lookPath(p string) (string, error) {
	if path, err := exec.LookPath(p); err == nil {
		return path, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		path := filepath.Join(dir, p)
		if st, err := os.Stat(path); err == nil && st.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s: not found", p)
}

// New builds the namespaces and links; t.Cleanup removes them. It skips
// without root or iproute2.
func New(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: needs root to create network namespaces")
	}
	Need(t, "ip", "tcpdump")
	id := fmt.Sprintf("odl%d%d", os.Getpid()%100000, seq.Add(1))
	l := &Lab{
		t:        t,
		Dir:      t.TempDir(),
		lan:      id + "-lan",
		Victim:   Host{NS: id + "-v", Addr: VictimAddr, MAC: "02:00:4c:00:00:0a"},
		Attacker: Host{NS: id + "-a", Addr: AttackerAddr, MAC: "02:00:4c:00:00:42"},
		Client:   Host{NS: id + "-c", Addr: ClientAddr, MAC: "02:00:4c:00:00:01"},
	}
	// The scratch directory must be reachable by daemons that drop
	// privileges (sshd's and vsftpd's unprivileged children).
	os.Chmod(l.Dir, 0o755)
	t.Cleanup(l.close)
	if out, err := exec.Command("ip", "netns", "add", l.lan).CombinedOutput(); err != nil {
		t.Skipf("lab: ip netns add: %v: %s", err, out)
	}
	// No IPv6 on the bridge and its ports either (their link-local
	// addresses would send solicitations into every capture).
	l.MustRun(l.lan, 5*time.Second, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	l.ip("-n", l.lan, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.lan, "link", "set", "br0", "up")
	for i, h := range []Host{l.Victim, l.Attacker, l.Client} {
		l.ip("netns", "add", h.NS)
		l.etc(h.NS)
		port := fmt.Sprintf("p%d", i)
		l.ip("link", "add", "eth0", "netns", h.NS, "address", h.MAC, "type", "veth", "peer", "name", port, "netns", l.lan)
		l.ip("-n", l.lan, "link", "set", port, "master", "br0", "up")
		l.ip("-n", h.NS, "addr", "add", h.Addr.String()+"/24", "dev", "eth0")
		l.ip("-n", h.NS, "link", "set", "eth0", "up")
		l.ip("-n", h.NS, "link", "set", "lo", "up")
	}
	// The victim reaches the rest of the world through the client, so its
	// off-net traffic teaches a detector the gateway's MAC.
	l.ip("-n", l.Victim.NS, "route", "add", "default", "via", ClientAddr.String())
	l.ip("-n", l.Attacker.NS, "route", "add", "default", "via", ClientAddr.String())
	l.ip("-n", l.Client.NS, "route", "add", "224.0.0.0/4", "dev", "eth0")
	// Quiet IPv6 (router solicitations, DAD) keeps captures to what the
	// scenario does.
	for _, ns := range []string{l.Victim.NS, l.Attacker.NS, l.Client.NS} {
		l.MustRun(ns, 5*time.Second, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.eth0.disable_ipv6=1")
	}
	l.waitUp()
	return l
}

// etc gives the namespace its own resolv.conf and hosts (ip netns exec
// mounts /etc/netns/NAME/* over /etc), so nothing in the lab asks the
// host's resolver: the victim's DNS server is the lab's, and the lab's
// names resolve from the hosts file without a query.
func (l *Lab) etc(ns string) {
	dir := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		l.t.Fatalf("lab: %v", err)
	}
	writeFile(l.t, filepath.Join(dir, "resolv.conf"), "nameserver "+VictimAddr.String()+"\noptions timeout:1 attempts:1\n")
	writeFile(l.t, filepath.Join(dir, "hosts"), fmt.Sprintf("127.0.0.1 localhost\n%s client.lab\n%s victim.lab\n%s attacker.lab\n", ClientAddr, VictimAddr, AttackerAddr))
}

func (l *Lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("lab: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// waitUp waits until the victim answers ARP from both other hosts (the
// bridge's ports leave the listening state).
func (l *Lab) waitUp() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, e1 := l.Run(l.Attacker.NS, 2*time.Second, "ping", "-c1", "-W1", VictimAddr.String())
		_, e2 := l.Run(l.Client.NS, 2*time.Second, "ping", "-c1", "-W1", VictimAddr.String())
		if e1 == nil && e2 == nil {
			return
		}
	}
	l.t.Fatalf("lab: the victim does not answer ping")
}

func (l *Lab) close() {
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		stop(procs[i])
	}
	for _, ns := range []string{l.Victim.NS, l.Attacker.NS, l.Client.NS, l.lan} {
		exec.Command("ip", "netns", "del", ns).Run()
		os.RemoveAll(filepath.Join("/etc/netns", ns))
	}
}

// stop ends a background command's whole process group and reaps it.
func stop(c *exec.Cmd) {
	if c.Process == nil {
		return
	}
	syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func nsCmd(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	if p, err := lookPath(name); err == nil {
		name = p
	}
	c := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 2 * time.Second
	return c
}

// Run runs a program in namespace ns for at most timeout and returns its
// combined output.
func (l *Lab) Run(ns string, timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var buf bytes.Buffer
	c := nsCmd(ctx, ns, name, args...)
	c.Stdout, c.Stderr = &buf, &buf
	err := c.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: timed out after %s: %w", name, timeout, ctx.Err())
	}
	return buf.Bytes(), err
}

// MustRun is Run failing the test on error.
func (l *Lab) MustRun(ns string, timeout time.Duration, name string, args ...string) []byte {
	l.t.Helper()
	out, err := l.Run(ns, timeout, name, args...)
	if err != nil {
		l.t.Fatalf("lab: %s %s in %s: %v\n%s", name, strings.Join(args, " "), ns, err, out)
	}
	return out
}

// Start runs a program in namespace ns in the background until the test
// ends (or Stop); its output goes to a log file in Dir.
func (l *Lab) Start(ns, name string, args ...string) *exec.Cmd {
	l.t.Helper()
	c := nsCmd(context.Background(), ns, name, args...)
	log, err := os.Create(filepath.Join(l.Dir, fmt.Sprintf("%s.%d.log", filepath.Base(name), seq.Add(1))))
	if err != nil {
		l.t.Fatalf("lab: log file: %v", err)
	}
	defer log.Close()
	c.Stdout, c.Stderr = log, log
	if err := c.Start(); err != nil {
		l.t.Fatalf("lab: start %s in %s: %v", name, ns, err)
	}
	l.mu.Lock()
	l.procs = append(l.procs, c)
	l.mu.Unlock()
	return c
}

// Stop ends a command started with Start.
func (l *Lab) Stop(c *exec.Cmd) {
	l.mu.Lock()
	for i, p := range l.procs {
		if p == c {
			l.procs = append(l.procs[:i], l.procs[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	stop(c)
}

// WaitPort waits until proto ("tcp" or "udp") port on addr accepts, probing
// from the client namespace, for at most 10 s.
func (l *Lab) WaitPort(proto string, addr netip.Addr, port int) {
	l.t.Helper()
	args := []string{"-z", "-w1", addr.String(), fmt.Sprint(port)}
	if proto == "udp" {
		// A UDP probe cannot tell; look at the victim's sockets instead.
		l.waitSocket("-uln", fmt.Sprintf(":%d", port))
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := l.Run(l.Client.NS, 3*time.Second, "nc", args...); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	l.t.Fatalf("lab: %s %s:%d does not accept; daemon logs:\n%s", proto, addr, port, l.logs())
}

// logs returns the tail of every background program's output.
func (l *Lab) logs() string {
	var b strings.Builder
	names, _ := filepath.Glob(filepath.Join(l.Dir, "*.log"))
	for _, n := range names {
		data, _ := os.ReadFile(n)
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(n), tail(data))
	}
	return b.String()
}

func (l *Lab) waitSocket(flags, port string) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := l.Run(l.Victim.NS, 3*time.Second, "ss", flags)
		if bytes.Contains(out, []byte(port+" ")) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	l.t.Fatalf("lab: nothing listens on %s %s in the victim; daemon logs:\n%s", flags, port, l.logs())
}

// Capture records what crosses the victim's eth0 into path (pcap) until
// the returned stop function is called; stop waits for tcpdump to flush.
func (l *Lab) Capture(path string) (stop func()) {
	l.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := nsCmd(ctx, l.Victim.NS, "tcpdump", "-i", "eth0", "-n", "-U", "--immediate-mode", "-Z", "root", "-s", "1600", "-w", path)
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGINT) }
	stderr, err := c.StderrPipe()
	if err != nil {
		l.t.Fatalf("lab: tcpdump: %v", err)
	}
	if err := c.Start(); err != nil {
		l.t.Fatalf("lab: start tcpdump: %v", err)
	}
	ready := make(chan struct{})
	var tail bytes.Buffer
	var tailMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			tailMu.Lock()
			tail.WriteString(sc.Text() + "\n")
			tailMu.Unlock()
			if !once && strings.Contains(sc.Text(), "listening on") {
				once = true
				close(ready)
			}
		}
		if !once {
			close(ready)
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		cancel()
		l.t.Fatalf("lab: tcpdump did not start")
	}
	// Let the kernel attach the socket before traffic starts.
	time.Sleep(200 * time.Millisecond)
	var once sync.Once
	stopFn := func() {
		once.Do(func() {
			time.Sleep(300 * time.Millisecond) // late replies
			cancel()
			c.Wait()
			tailMu.Lock()
			l.t.Logf("lab: tcpdump: %s", strings.TrimSpace(tail.String()))
			tailMu.Unlock()
		})
	}
	l.t.Cleanup(stopFn)
	return stopFn
}
