package main

import (
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// attributedPid runs watch on loopback with args, makes one TCP
// connection between two sockets of this (root) test process, and returns
// the pid watch's flow record names for it ("" for none), plus watch's
// pid while it ran.
func attributedPid(t *testing.T, bin, dir string, args ...string) (string, *watchProc) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	out := filepath.Join(dir, "eve-"+strconv.Itoa(port)+".json")
	wp := startWatch(t, bin, append(args, "-i", "lo", "-o", out, "--host-interval", "1s", "tcp port "+strconv.Itoa(port))...)
	time.Sleep(1500 * time.Millisecond) // the system source's first sample
	go func() {
		if c, err := ln.Accept(); err == nil {
			buf := make([]byte, 64)
			c.Read(buf)
			time.Sleep(300 * time.Millisecond)
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		c.Write([]byte("ping\n"))
		time.Sleep(50 * time.Millisecond)
	}
	c.Close()
	time.Sleep(time.Second)
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(wp.cmd.Process.Pid) + "/status")
	wp.stop(t)
	wp.stderr.WriteString(string(status)) // for the caller's checks
	for _, r := range eveFiles(t, []string{out}) {
		if r["event_type"] == "flow" && r.str("dest_port") == strconv.Itoa(port) {
			return r.str("opsdeck.process.pid"), wp
		}
	}
	t.Fatalf("no flow record to port %d", port)
	return "", nil
}

// TestUserKeepsAttributionCapabilities: watch --user nobody still names
// the root process behind a flow, as watch running as root does (it fell
// from attributed to "unknown process" when the drop emptied CapEff),
// and keeps exactly CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_PTRACE and
// CAP_DAC_READ_SEARCH, in the bounding set too.
func TestUserKeepsAttributionCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("--user needs root: skipped")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody: skipped")
	}
	bin := opsdeckBinary(t)
	dir := t.TempDir()
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	asRoot, _ := attributedPid(t, bin, dir)
	dropped, wp := attributedPid(t, bin, dir, "--user", "nobody")
	t.Logf("flow of pid %s attributed to %q as root, %q after --user nobody", pid, asRoot, dropped)
	if asRoot != pid {
		t.Fatalf("as root: flow attributed to %q, want %s", asRoot, pid)
	}
	if dropped != pid {
		t.Errorf("after --user nobody: flow attributed to %q, want %s", dropped, pid)
	}
	status := wp.stderr.String()
	const want = 1<<2 | 1<<12 | 1<<13 | 1<<19 // DAC_READ_SEARCH, NET_ADMIN, NET_RAW, SYS_PTRACE
	for _, key := range []string{"CapEff:", "CapPrm:", "CapBnd:"} {
		if got, ok := statusHex(status, key); !ok || got != want {
			t.Errorf("%s %016x, want %016x", key, got, uint64(want))
		}
	}
	if !strings.Contains(status, "Uid:\t"+nobody.Uid+"\t"+nobody.Uid) {
		t.Errorf("watch is not running as nobody:\n%s", status)
	}
}
