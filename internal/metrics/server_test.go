package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testLimits are defaultLimits with timeouts short enough for a test.
var testLimits = limits{
	maxConns:          16,
	readHeaderTimeout: 300 * time.Millisecond,
	readTimeout:       time.Second,
	writeTimeout:      5 * time.Second,
	idleTimeout:       500 * time.Millisecond,
	maxHeaderBytes:    8 << 10,
	maxInFlight:       4,
	scrapeTimeout:     3 * time.Second,
}

// The server process of TestIdleConnectionsAreBounded: it serves until
// its standard input closes.
func TestMetricsServerProcess(t *testing.T) {
	if os.Getenv("OPSDECK_METRICS_SERVER_PROCESS") == "" {
		t.Skip("helper process of TestIdleConnectionsAreBounded")
	}
	l := testLimits
	if os.Getenv("OPSDECK_METRICS_SERVER_PROCESS") == "default" {
		l = defaultLimits
	}
	srv, err := listen("127.0.0.1:0", l)
	if err != nil {
		t.Fatal(err)
	}
	c := New(nil, nil)
	c.ObserveHost(hostWith([]string{"eth0", "lo"}, []string{"/"}))
	srv.Start(c)
	fmt.Printf("listening %s\n", srv.Addr())
	io.Copy(io.Discard, os.Stdin)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
}

// fdCount is the number of descriptors process pid holds.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("count descriptors: %v", err)
	}
	return len(ents)
}

func rssKiB(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// waitFor polls ok until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Finding 7 of issue 12: 12,000 idle connections from a local user held
// 280 MB and 12,000 descriptors. The server runs in its own process so its
// descriptors can be counted apart from the client's: however many
// connections are opened, it holds at most maxConns of them, each is closed
// when it stops making progress, a scrape queued behind them is still
// served, and the count returns to where it started.
//
// OPSDECK_METRICS_IDLE_CONNS=12000 OPSDECK_METRICS_LIMITS=default measures
// the default configuration under the finding's load (for the README); it
// then skips the scrape, which would wait behind minutes of timeouts.
func TestIdleConnectionsAreBounded(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to count descriptors: skipped")
	}
	idle, l, mode := 200, testLimits, "1"
	if v := os.Getenv("OPSDECK_METRICS_IDLE_CONNS"); v != "" {
		idle, _ = strconv.Atoi(v)
	}
	if os.Getenv("OPSDECK_METRICS_LIMITS") == "default" {
		l, mode = defaultLimits, "default"
	}
	measure := mode == "default"

	cmd := exec.Command(os.Args[0], "-test.run=^TestMetricsServerProcess$")
	cmd.Env = append(os.Environ(), "OPSDECK_METRICS_SERVER_PROCESS="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sc := bufio.NewScanner(stdout)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatalf("server process printed no address: %v", sc.Err())
	}
	go io.Copy(io.Discard, stdout)
	pid := cmd.Process.Pid
	base := fdCount(t, pid)
	baseRSS := rssKiB(pid)

	// Sample the server's descriptors for as long as connections are open.
	var maxFDs atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			if n := int64(fdCount(t, pid)); n > maxFDs.Load() {
				maxFDs.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()

	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	failed := 0
	for range idle {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			// Past the kernel's accept queue (net.core.somaxconn) a
			// connect waits for a retransmitted SYN; that is the kernel
			// refusing, not opsdeck holding.
			failed++
			continue
		}
		conns = append(conns, c)
	}
	// The server takes connections up to its limit...
	waitFor(t, "the server to accept connections", 10*time.Second, func() bool { return fdCount(t, pid) >= base+l.maxConns })
	peakRSS := rssKiB(pid)
	t.Logf("%d idle connections open (%d connects refused by the kernel): server holds %d descriptors (%d before), RSS %d KiB (%d before)",
		len(conns), failed, fdCount(t, pid), base, peakRSS, baseRSS)
	if measure {
		close(stop)
		sampler.Wait()
		t.Logf("at most %d descriptors while %d connections were open", maxFDs.Load(), len(conns))
		return
	}

	// ...and a scrape queued behind them all is still served.
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape behind %d idle connections: %v", len(conns), err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "opsdeck_host_network_receive_bytes_total") {
		t.Errorf("scrape behind idle connections: %s\n%.300s", resp.Status, body)
	}

	// Every connection that never sent a request has been closed by the
	// server (read-header timeout).
	deadline := time.Now().Add(30 * time.Second)
	for i, c := range conns {
		c.SetReadDeadline(deadline)
		if _, err := c.Read(make([]byte, 1)); !closedByPeer(err) {
			t.Fatalf("idle connection %d: read %v, want it closed by the server", i, err)
		}
	}

	// A kept-alive connection with no next request is closed too (idle
	// timeout).
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	br := bufio.NewReader(c)
	kept, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, kept.Body)
	kept.Body.Close()
	if kept.StatusCode != http.StatusOK || kept.Close {
		t.Fatalf("keep-alive scrape: %s, close %v", kept.Status, kept.Close)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := br.ReadByte(); !closedByPeer(err) {
		t.Errorf("kept-alive idle connection: read %v, want it closed by the server", err)
	}

	close(stop)
	sampler.Wait()
	// The process collector reads /proc/self files during the scrape.
	const scrapeFiles = 4
	if m := int(maxFDs.Load()); m > base+l.maxConns+scrapeFiles {
		t.Errorf("server held up to %d descriptors with %d connections open; want at most %d + %d connections + %d",
			m, len(conns), base, l.maxConns, scrapeFiles)
	}
	waitFor(t, "the server's descriptors to return to the start", 10*time.Second, func() bool { return fdCount(t, pid) <= base })
	t.Logf("at most %d descriptors while %d connections were open; %d after they closed", maxFDs.Load(), len(conns), fdCount(t, pid))

	stdin.Close()
	exited = true
	if err := cmd.Wait(); err != nil {
		t.Errorf("server process: %v", err)
	}
}

// closedByPeer reports whether a read error means the other side closed.
func closedByPeer(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil // io.EOF or a reset
}

// blockingCollector returns a collector whose scrapes wait in the capture
// section until release is closed; entered receives one value per scrape.
func blockingCollector() (c *Collector, entered chan struct{}, release chan struct{}) {
	entered, release = make(chan struct{}, 16), make(chan struct{})
	c = New(nil, func() CaptureStats {
		entered <- struct{}{}
		<-release
		return CaptureStats{}
	})
	return c, entered, release
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Scrapes past maxInFlight are refused at once with 503, and a scrape that
// takes longer than scrapeTimeout is answered 503: neither holds a
// connection or a goroutine per client for long.
func TestScrapesAreBounded(t *testing.T) {
	t.Run("in flight", func(t *testing.T) {
		c, entered, release := blockingCollector()
		logTo(c)
		l := testLimits
		l.maxInFlight, l.scrapeTimeout = 1, time.Minute
		url := serve(t, c, l)
		first := make(chan int, 1)
		go func() {
			code, _ := get(t, url)
			first <- code
		}()
		<-entered
		code, body := get(t, url)
		close(release)
		if code != http.StatusServiceUnavailable {
			t.Errorf("second scrape while one is in flight: %d %s, want 503", code, body)
		}
		if code := <-first; code != http.StatusOK {
			t.Errorf("first scrape: %d", code)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		c, entered, release := blockingCollector()
		logTo(c)
		l := testLimits
		l.scrapeTimeout = 100 * time.Millisecond
		url := serve(t, c, l)
		code, body := get(t, url)
		<-entered
		close(release) // only now can the scrape finish
		if code != http.StatusServiceUnavailable {
			t.Errorf("scrape stuck in the collector: %d %s, want 503", code, body)
		}
	})
}

// Oversized request headers are refused before any work.
func TestOversizedHeaders(t *testing.T) {
	c := New(nil, nil)
	logTo(c)
	url := serve(t, c, testLimits)
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Filler", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %s, want 431", resp.Status)
	}
}
