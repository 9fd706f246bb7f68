package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestWatchIntoFEVER feeds a live "opsdeck watch -o unix:SOCKET" run into
// FEVER (DCSO's EVE processor, Debian package fever), the consumer that
// silently dropped opsdeck's flows while timestamps ended in "Z" (issue 17).
// A relay between the two keeps what watch sent; every flow must reach
// FEVER's flow aggregator (its in_flows counts) and every alert must come
// out of its forwarder.
//
// The relay writes one record per write, 10 ms apart and an alert 200 ms
// from its neighbours: FEVER's forwarder drops events that arrive back to
// back (measured: 1 of 5 alerts sent in one burst came out; all when
// paced), whoever sends them.
func TestWatchIntoFEVER(t *testing.T) {
	needCapture(t)
	fever, err := exec.LookPath("fever")
	if err != nil {
		t.Skip("fever not installed (apt-get install fever): skipped")
	}
	bin := buildOpsdeck(t)
	dir, err := os.MkdirTemp("", "fever") // short: unix socket paths are bounded
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	in, fwd, relay := filepath.Join(dir, "in.sock"), filepath.Join(dir, "fwd.sock"), filepath.Join(dir, "relay.sock")

	// FEVER's forwarder connects to fwd; collect what it forwards.
	fl, err := net.Listen("unix", fwd)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	var mu sync.Mutex
	var forwarded []map[string]any
	go func() {
		for {
			c, err := fl.Accept()
			if err != nil {
				return
			}
			go func() {
				sc := bufio.NewScanner(c)
				sc.Buffer(make([]byte, 1<<20), 1<<22)
				for sc.Scan() {
					var r map[string]any
					if json.Unmarshal(sc.Bytes(), &r) == nil {
						mu.Lock()
						forwarded = append(forwarded, r)
						mu.Unlock()
					}
				}
			}()
		}
	}()
	var flog lockedBuffer
	fcmd := exec.Command(fever, "run", "-i", in, "-o", fwd, "-t", "alert", "--dummy", "-n", "1s", "-f", "1s",
		"--in-buffer-drop=false", "--mgmt-socket", filepath.Join(dir, "mgmt.sock"))
	fcmd.Stdout, fcmd.Stderr = &flog, &flog
	if err := fcmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { fcmd.Process.Kill(); fcmd.Wait() }()
	waitFor(t, "FEVER's input socket", func() bool { _, err := os.Stat(in); return err == nil })

	// The relay: watch writes to it; it counts and passes records on.
	rl, err := net.Listen("unix", relay)
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	sent := map[string]int{}
	relayDone := make(chan error, 1)
	go func() {
		c, err := rl.Accept()
		if err != nil {
			relayDone <- err
			return
		}
		out, err := net.Dial("unix", in)
		if err != nil {
			relayDone <- err
			return
		}
		defer out.Close()
		sc := bufio.NewScanner(c)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			var r map[string]any
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				relayDone <- fmt.Errorf("watch sent a line that is not JSON: %v", err)
				return
			}
			mu.Lock()
			sent[fmt.Sprint(r["event_type"])]++
			mu.Unlock()
			// An alert is spaced from what comes before and after it
			// (10 ms between two alerts was not always enough when the
			// machine is loaded, under -race).
			pace := 10 * time.Millisecond
			if r["event_type"] == "alert" {
				pace = 200 * time.Millisecond
				time.Sleep(pace)
			}
			if _, err := out.Write(append(sc.Bytes(), '\n')); err != nil {
				relayDone <- err
				return
			}
			time.Sleep(pace)
		}
		relayDone <- sc.Err()
	}()

	base := 40000 + rand.IntN(20000)
	wp := startWatch(t, bin, "-i", "lo", "-o", "unix:"+relay, "--host-interval", "0", "--stats-interval", "2s",
		fmt.Sprintf("tcp portrange %d-%d", base, base+99))
	connectScan(t, "127.0.0.1", base, 40)
	waitFor(t, "the scan.port alert", func() bool { return scrape(t, wp.metrics)["opsdeck_alerts_total,rule=scan.port,severity=medium"] >= 1 })
	wp.stop(t)
	select {
	case err := <-relayDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch's connection did not end")
	}
	mu.Lock()
	flows, alerts := sent["flow"], sent["alert"]
	mu.Unlock()
	if flows < 40 || alerts < 1 || sent["stats"] < 1 {
		t.Fatalf("watch sent %v: want at least 40 flows, an alert and the stats", sent)
	}

	inFlows := regexp.MustCompile(`domain=flow_aggregate in_flows=(\d+)`)
	aggregated := func() int {
		n := 0
		for _, m := range inFlows.FindAllStringSubmatch(flog.String(), -1) {
			v, _ := strconv.Atoi(m[1])
			n += v
		}
		return n
	}
	got := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range forwarded {
			if r["event_type"] == "alert" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && (aggregated() < flows || got() < alerts) {
		time.Sleep(200 * time.Millisecond)
	}
	if a := aggregated(); a != flows {
		t.Errorf("FEVER's flow aggregator took %d flow records of the %d watch sent\n%s", a, flows, flog.String())
	}
	if g := got(); g != alerts {
		t.Errorf("FEVER forwarded %d alerts of the %d watch sent", g, alerts)
	}
	t.Logf("watch sent %v; FEVER aggregated %d flows and forwarded %d alerts", sent, aggregated(), got())
}

// lockedBuffer is a bytes.Buffer a child process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
