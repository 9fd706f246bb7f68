package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/opsdeck/opsdeck/internal/evidence/bundle"
	"github.com/opsdeck/opsdeck/internal/pump"
	"github.com/opsdeck/opsdeck/sources/capture"
)

func needCapture(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 && !pump.HasCapNetRaw() {
		t.Skip("live capture needs root or CAP_NET_RAW: skipped")
	}
}

func buildOpsdeck(t *testing.T) string {
	t.Helper()
	return opsdeckBinary(t)
}

// syncBuffer is a bytes.Buffer that the goroutine reading a child's
// stderr writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	s.b.WriteString(v)
	s.mu.Unlock()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watchProc is a running "opsdeck watch".
type watchProc struct {
	cmd     *exec.Cmd
	metrics string // http://host:port/metrics
	stderr  *syncBuffer
	done    chan error
}

var metricsLine = regexp.MustCompile(`metrics on (http://\S+/metrics)`)

// startWatch runs the binary and waits for its metrics line, printed once
// the capture sockets are open.
func startWatch(t *testing.T, bin string, args ...string) *watchProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"watch", "--metrics-listen", "127.0.0.1:0"}, args...)...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wp := &watchProc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			wp.stderr.WriteString(sc.Text() + "\n")
			if m := metricsLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	go func() { err := cmd.Wait(); pw.Close(); wp.done <- err }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	select {
	case wp.metrics = <-found:
	case err := <-wp.done:
		t.Fatalf("watch exited early: %v\n%s", err, wp.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("watch did not start:\n%s", wp.stderr)
	}
	return wp
}

func (wp *watchProc) stop(t *testing.T) {
	t.Helper()
	if err := wp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-wp.done:
		if err != nil {
			t.Fatalf("watch exited with %v after SIGTERM:\n%s", err, wp.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("watch did not stop on SIGTERM:\n%s", wp.stderr)
	}
}

// scrape fetches and parses the metrics, returning name{labels} -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			key := name
			for _, l := range m.Label {
				key += fmt.Sprintf(",%s=%s", l.GetName(), l.GetValue())
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

// connectScan connects to count closed TCP ports of addr from base.
func connectScan(t *testing.T, addr string, base, count int) {
	t.Helper()
	for p := base; p < base+count; p++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", addr, p), time.Second)
		if err == nil {
			c.Close()
		}
	}
}

// eveFiles reads every line of the files, failing on a partial or non-JSON
// line.
func eveFiles(t *testing.T, files []string) []record {
	t.Helper()
	var recs []record
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Errorf("%s ends in a partial line: %q", f, b[max(0, len(b)-80):])
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var r record
			if err := json.Unmarshal(line, &r); err != nil {
				t.Errorf("%s line %d is not JSON: %v: %.100s", f, i+1, err, line)
				continue
			}
			recs = append(recs, r)
		}
	}
	return recs
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestWatchLive: watch -o on loopback with a kernel filter, two port scans
// raising alerts, size rotation, a logrotate-style move + SIGHUP, an
// incident bundle, a metrics scrape and SIGTERM; then every alert is found
// exactly once across the files and no file ends in a partial line.
func TestWatchLive(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "eve.json")
	base := 40000 + rand.IntN(20000)
	filterExpr := fmt.Sprintf("tcp portrange %d-%d", base, base+99)
	wp := startWatch(t, bin, "-i", "lo", "-o", out, "--rotate-size", "2KiB", "--rotate-keep", "1000",
		"--host-interval", "0", "--bundle-on", "medium", "--bundle-dir", filepath.Join(dir, "bundles"), filterExpr)

	// A scan of 127.0.0.1 raises scan.port; it is flushed when written.
	connectScan(t, "127.0.0.1", base, 40)
	alerted := func() bool {
		files, _ := filepath.Glob(out + "*")
		for _, f := range files {
			if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(`"scan.port"`)) {
				return true
			}
		}
		return false
	}
	waitFor(t, "the first scan.port alert in the output", alerted)

	// logrotate: move the file away, then SIGHUP; watch must reopen out.
	moved := out + ".logrotated"
	if err := os.Rename(out, moved); err != nil {
		t.Fatal(err)
	}
	if err := wp.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the output to be reopened after SIGHUP", func() bool { _, err := os.Stat(out); return err == nil })

	// A second scan toward another address: a new alert, in the new files.
	connectScan(t, "127.0.0.2", base+50, 40)
	waitFor(t, "the second alert", func() bool {
		m := scrape(t, wp.metrics)
		return m["opsdeck_alerts_total,rule=scan.port,severity=medium"] >= 2
	})
	m := scrape(t, wp.metrics)
	if m["opsdeck_capture_packets_total"] < 80 || m["opsdeck_flows_created_total"] < 80 {
		t.Errorf("metrics: %v packets, %v flows; want at least 80 of each (two scans of 40 ports)",
			m["opsdeck_capture_packets_total"], m["opsdeck_flows_created_total"])
	}
	wp.stop(t)

	rotated, _ := filepath.Glob(out + ".[0-9]*")
	if len(rotated) < 2 {
		t.Errorf("%d rotated files, want several with --rotate-size 2KiB", len(rotated))
	}
	for _, f := range append(rotated, out) {
		if st, err := os.Stat(f); err == nil && st.Size() > 2048 {
			b, _ := os.ReadFile(f)
			if bytes.Count(b, []byte("\n")) > 1 {
				t.Errorf("%s is %d bytes, over the rotation size with several lines", f, st.Size())
			}
		}
	}
	recs := eveFiles(t, append(append(rotated, moved), out))
	alerts := ofType(recs, "alert")
	stats := ofType(recs, "stats")
	if len(stats) == 0 || recs[len(recs)-1]["event_type"] != "stats" {
		t.Fatalf("%d stats records, and the last record is not the final one", len(stats))
	}
	// Periodic stats records come every --stats-interval; the last counts all.
	if want := stats[len(stats)-1].str("stats.detect.alert"); fmt.Sprint(len(alerts)) != want {
		t.Errorf("%d alert records across the files, stats counts %s", len(alerts), want)
	}
	seen := map[string]bool{}
	targets := map[string]bool{}
	for _, a := range alerts {
		key := a.str("timestamp") + a.str("alert.signature") + a.str("flow_id")
		if seen[key] {
			t.Errorf("alert written twice: %s", key)
		}
		seen[key] = true
		if a.str("alert.metadata.rule") == `["scan.port"]` {
			targets[a.str("dest_ip")] = true
		}
	}
	if !targets["127.0.0.1"] || !targets["127.0.0.2"] {
		t.Errorf("scan.port alerts toward %v, want 127.0.0.1 and 127.0.0.2", targets)
	}
	if b, _ := os.ReadFile(moved); !bytes.Contains(b, []byte(`"dest_ip":"127.0.0.1"`)) {
		t.Errorf("the moved file lacks the first scan's records")
	}

	checkBundle(t, filepath.Join(dir, "bundles"))
}

// checkBundle verifies the incident bundle watch wrote.
func checkBundle(t *testing.T, dir string) {
	t.Helper()
	bundles, _ := filepath.Glob(filepath.Join(dir, "opsdeck-incident-*"))
	if len(bundles) != 1 {
		t.Fatalf("%d bundles in %s, want 1 (rate-limited)", len(bundles), dir)
	}
	b := bundles[0]
	if st, err := os.Stat(b); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("bundle directory mode: %v %v", st.Mode(), err)
	}
	for _, name := range []string{bundle.AlertsFile, bundle.FlowsFile, bundle.SystemFile, bundle.PcapFile, bundle.SummaryFile} {
		st, err := os.Stat(filepath.Join(b, name))
		if err != nil {
			t.Errorf("bundle lacks %s: %v", name, err)
			continue
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	recs := eveFiles(t, []string{filepath.Join(b, bundle.AlertsFile)})
	if len(ofType(recs, "alert")) == 0 {
		t.Error("alerts.json holds no alert")
	}
	src, err := capture.OpenFile(filepath.Join(b, bundle.PcapFile))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := 0
	for {
		if _, err := src.Next(); err != nil {
			if err != io.EOF {
				t.Errorf("reading evidence.pcap: %v", err)
			}
			break
		}
		n++
	}
	if n < 40 {
		t.Errorf("evidence.pcap holds %d packets, want the first scan's (at least 40)", n)
	}
	if tcpdump, err := exec.LookPath("tcpdump"); err == nil {
		out, err := exec.Command(tcpdump, "-nn", "-r", filepath.Join(b, bundle.PcapFile)).CombinedOutput()
		if err != nil || strings.Count(string(out), "127.0.0.1") < 40 {
			t.Errorf("tcpdump -r evidence.pcap: %v\n%.500s", err, out)
		}
	}
	summary, _ := os.ReadFile(filepath.Join(b, bundle.SummaryFile))
	if !bytes.Contains(summary, []byte("scan.port")) || !bytes.Contains(summary, []byte("## Alerts")) {
		t.Errorf("summary.md lacks the alert:\n%s", summary)
	}
	var sys map[string]any
	if data, _ := os.ReadFile(filepath.Join(b, bundle.SystemFile)); json.Unmarshal(data, &sys) != nil {
		t.Error("system.json is not JSON")
	}
}

// TestWatchUserNobody: after --user nobody the process runs as nobody and
// capture goes on (the sockets were opened before the drop).
func TestWatchUserNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("--user needs root: skipped")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody on this system: skipped")
	}
	bin := buildOpsdeck(t)
	// The output is opened after the drop: nobody must be able to write
	// there (t.TempDir's parent is private to root).
	dir, err := os.MkdirTemp("", "opsdeck-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	port := 40000 + rand.IntN(20000)
	wp := startWatch(t, bin, "-i", "lo", "--user", "nobody", "-o", filepath.Join(dir, "eve.json"), "--host-interval", "0", fmt.Sprintf("udp port %d", port))

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", wp.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	uidLine := regexp.MustCompile(`(?m)^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$`).FindStringSubmatch(string(status))
	if uidLine == nil {
		t.Fatalf("no Uid line in /proc status:\n%s", status)
	}
	for _, id := range uidLine[1:] {
		if id != nobody.Uid {
			t.Errorf("Uid line %q, want all %s (nobody)", uidLine[0], nobody.Uid)
		}
	}
	if gid := regexp.MustCompile(`(?m)^Gid:\s+(\d+)`).FindStringSubmatch(string(status)); gid == nil || gid[1] != nobody.Gid {
		t.Errorf("Gid %v, want %s", gid, nobody.Gid)
	}

	// A listener on the port: without one, ICMP port-unreachable answers
	// make later writes on the connected socket fail, and fewer than 20
	// packets would leave.
	sink, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < 20; i++ {
		conn.Write([]byte("opsdeck test"))
	}
	waitFor(t, "captured packets after the drop", func() bool {
		return scrape(t, wp.metrics)["opsdeck_decoder_packets_total"] >= 20
	})
	wp.stop(t)
	st, err := os.Stat(filepath.Join(dir, "eve.json"))
	if err != nil {
		t.Fatal(err)
	}
	if owner := st.Sys().(*syscall.Stat_t).Uid; fmt.Sprint(owner) != nobody.Uid {
		t.Errorf("output owned by uid %d, want nobody", owner)
	}
}

// TestWatchUsageErrors: bad flags exit 2 with one clear line, before any
// capture is attempted (so these run without privileges).
func TestWatchUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bundle-on", "urgent"}, "want high, medium or low"},
		{[]string{"--rotate-size", "1MiB"}, "--rotate-size needs -o FILE"},
		{[]string{"-r", "x.pcap"}, "use opsdeck analyze"},
		{[]string{"tcp port"}, "capture filter"},
	}
	for _, tc := range tests {
		err := cmdWatch(tc.args)
		ee, ok := err.(*exitError)
		if !ok || ee.code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("watch %v: %v, want exit 2 with %q", tc.args, err, tc.want)
		}
	}
}
