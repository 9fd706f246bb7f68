package metrics

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// syncBuffer is a log destination written from scrape goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logTo sends c's log to a buffer the test reads.
func logTo(c *Collector) *syncBuffer {
	buf := &syncBuffer{}
	c.log = newOnceLog(log.New(buf, "", 0))
	return buf
}

// serve runs c on a real listener on 127.0.0.1 and returns the metrics URL.
func serve(t *testing.T, c *Collector, l limits) string {
	t.Helper()
	srv, err := listen("127.0.0.1:0", l)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start(c)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close metrics server: %v", err)
		}
	})
	return "http://" + srv.Addr().String() + "/metrics"
}

// scrapeBody fetches url and fails unless it answers 200.
func scrapeBody(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: read: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s: %s", resp.Status, body)
	}
	return body
}

// parse parses an exposition, checks every label value is printable and
// bounded, and that promlint finds nothing to say.
func parse(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				v := lp.GetValue()
				if !utf8.ValidString(v) || len(v) > maxLabelBytes || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
					t.Errorf("%s{%s=%q}: label value not printable or too long", name, lp.GetName(), v)
				}
			}
		}
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	return mfs
}

// labelValues are the values of label in family name, in exposition order.
func labelValues(mfs map[string]*dto.MetricFamily, name, label string) []string {
	var out []string
	for _, m := range mfs[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				out = append(out, lp.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

// value is the value of the series of family name whose labels include
// the given name=value pairs.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
next:
	for _, m := range mfs[name].GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			if !slices.ContainsFunc(m.GetLabel(), func(lp *dto.LabelPair) bool {
				return lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
			}) {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no series %s%q", name, labels)
	return 0
}

func hostWith(ifaces, mounts []string) *hoststat.Snapshot {
	s := &hoststat.Snapshot{Time: time.Unix(1_700_000_000, 0)}
	for i, n := range ifaces {
		s.Interfaces = append(s.Interfaces, hoststat.Interface{Name: n, RxBytes: uint64(1000 + i)})
	}
	for i, m := range mounts {
		dev, fstype := "/dev/sda1", "ext4"
		if i > 0 {
			dev, fstype = "/dev/sdb1", "xfs"
		}
		s.Filesystems = append(s.Filesystems, hoststat.Filesystem{Mount: m, Device: dev, FSType: fstype,
			UsedPct: float64(i), Total: 1000, Used: 50, Free: 900})
	}
	return s
}

func numbered(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%02d", prefix, i))
	}
	return out
}

// Finding 6 of issue 12: a name that is not valid UTF-8 made
// MustNewConstMetric panic and every later interface and filesystem series
// vanished from /metrics. Every name now becomes a printable, bounded label,
// every distinct one gets its series, and what is left out is counted.
func TestHostileNamesKeepTheirSeries(t *testing.T) {
	long := "/srv/" + strings.Repeat("d", 4000)
	tests := []struct {
		name          string
		ifaces        []string
		mounts        []string
		caps          caps
		wantIfaces    []string
		wantMounts    []string
		ifDropped     float64
		mountsDropped float64
	}{
		{
			name:       "non-UTF-8 and control bytes",
			ifaces:     []string{"\xff\x01x", "eth0", "veth\x1b[2J", "zz"},
			mounts:     []string{"/", "/mnt/\xff\xfe", "/home/u/\x1b]0;owned\x07", "/"},
			wantIfaces: []string{`\xff\x01x`, "eth0", `veth\x1b[2J`, "zz"},
			wantMounts: []string{"/", `/home/u/\x1b]0;owned\x07`, `/mnt/\xff\xfe`},
		},
		{
			name:       "a long mount point is cut",
			mounts:     []string{long, "/"},
			wantMounts: []string{"/", long[:maxLabelBytes-len("…")] + "…"},
		},
		{
			name:       "names equal once printable",
			ifaces:     []string{"a\x1b", `a\x1b`},
			wantIfaces: []string{`a\x1b`},
			ifDropped:  1,
		},
		{
			name:          "caps",
			ifaces:        numbered("if", 10),
			mounts:        numbered("/m", 5),
			caps:          caps{interfaces: 3, filesystems: 2},
			wantIfaces:    []string{"if00", "if01", "if02"},
			wantMounts:    []string{"/m00", "/m01"},
			ifDropped:     7,
			mountsDropped: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(nil, nil)
			logs := logTo(c)
			if tc.caps != (caps{}) {
				c.caps = tc.caps
			}
			c.ObserveHost(hostWith(tc.ifaces, tc.mounts))
			mfs := parse(t, scrapeBody(t, serve(t, c, defaultLimits)))

			slices.Sort(tc.wantIfaces)
			slices.Sort(tc.wantMounts)
			for _, fam := range []string{"opsdeck_host_network_receive_bytes_total", "opsdeck_host_network_transmit_bytes_total", "opsdeck_host_network_receive_drop_total"} {
				if got := labelValues(mfs, fam, "device"); !slices.Equal(got, tc.wantIfaces) {
					t.Errorf("%s interfaces %q, want %q", fam, got, tc.wantIfaces)
				}
			}
			if got := labelValues(mfs, "opsdeck_host_filesystem_used_ratio", "mountpoint"); !slices.Equal(got, tc.wantMounts) {
				t.Errorf("mounts %q, want %q", got, tc.wantMounts)
			}
			if got := value(t, mfs, "opsdeck_metrics_series_dropped", "family", "interface"); got != tc.ifDropped {
				t.Errorf("interface series dropped %v, want %v", got, tc.ifDropped)
			}
			if got := value(t, mfs, "opsdeck_metrics_series_dropped", "family", "filesystem"); got != tc.mountsDropped {
				t.Errorf("filesystem series dropped %v, want %v", got, tc.mountsDropped)
			}
			if got := value(t, mfs, "opsdeck_metrics_errors_total"); got != 0 {
				t.Errorf("errors %v, want 0; log: %s", got, logs)
			}
			// The series after the hostile names are the ones that used to vanish.
			if got := value(t, mfs, "opsdeck_host_sample_timestamp_seconds"); got != 1_700_000_000 {
				t.Errorf("host sample time %v", got)
			}
		})
	}
}

// Rule names become labels too; past the cap, alerts are still counted.
func TestAlertSeriesAreCapped(t *testing.T) {
	c := New(nil, nil)
	c.caps.alerts = 2
	rule := func(name string) *detect.Alert {
		return &detect.Alert{Rule: &detect.Rule{Name: name, Severity: 2}}
	}
	for _, a := range []*detect.Alert{rule("scan.port"), rule("evil\x1b[2J\xff"), rule("scan.port"), rule("third"), rule("fourth"),
		{Rule: &detect.Rule{Name: "scan.port"}, Update: true}} {
		c.ObserveAlert(a)
	}
	mfs := parse(t, scrapeBody(t, serve(t, c, defaultLimits)))
	if got, want := labelValues(mfs, "opsdeck_alerts_total", "rule"), []string{`evil\x1b[2J\xff`, "scan.port"}; !slices.Equal(got, want) {
		t.Errorf("alert rules %q, want %q", got, want)
	}
	if got := value(t, mfs, "opsdeck_alerts_total", "rule", "scan.port", "severity", "medium"); got != 2 {
		t.Errorf("scan.port alerts %v, want 2 (an update is not a new alert)", got)
	}
	if got := value(t, mfs, "opsdeck_alerts_unlabelled_total"); got != 2 {
		t.Errorf("alerts past the cap %v, want 2", got)
	}
}

// No series can panic a scrape: one that cannot be built is counted and
// logged once, and a section that panics costs only its own series.
func TestCollectorErrorsAreCountedNotFatal(t *testing.T) {
	t.Run("series that cannot be built", func(t *testing.T) {
		c := New(nil, nil)
		logs := logTo(c)
		ch := make(chan prometheus.Metric, 4)
		s := &scrape{c: c, ch: ch}
		s.gauge(dNetRxDrop, 0.5, "\xff")     // not UTF-8: what MustNewConstMetric panicked on
		s.gauge(dNetRxDrop, 0.5, "lo", "lo") // wrong label count
		s.gauge(dNetRxDrop, 0.5, "lo")
		if len(ch) != 1 {
			t.Errorf("%d series sent, want only the valid one", len(ch))
		}
		if n := c.errors.Load(); n != 2 {
			t.Errorf("errors %d, want 2", n)
		}
		if n := strings.Count(logs.String(), "\n"); n != 1 {
			t.Errorf("%d lines logged for two errors of one metric, want 1:\n%s", n, logs)
		}
	})
	t.Run("a section that panics", func(t *testing.T) {
		c := New(nil, func() CaptureStats { panic("capture counters exploded") })
		logs := logTo(c)
		c.ObserveHost(hostWith([]string{"eth0"}, []string{"/"}))
		url := serve(t, c, defaultLimits)
		var mfs map[string]*dto.MetricFamily
		for range 3 {
			mfs = parse(t, scrapeBody(t, url))
		}
		if got := value(t, mfs, "opsdeck_metrics_errors_total"); got != 3 {
			t.Errorf("errors after three scrapes %v, want 3", got)
		}
		if got := labelValues(mfs, "opsdeck_host_network_receive_bytes_total", "device"); !slices.Equal(got, []string{"eth0"}) {
			t.Errorf("host series after a capture panic: %q", got)
		}
		if n := strings.Count(logs.String(), "capture counters exploded"); n != 1 {
			t.Errorf("panic logged %d times over three scrapes, want once:\n%s", n, logs)
		}
	})
}

// fullCollector has every section: engine, capture, output, alerts, host
// and build info.
func fullCollector() *Collector {
	eng := engine.New(engine.DefaultConfig(), nil)
	c := New(eng, func() CaptureStats { return CaptureStats{Packets: 10, Bytes: 1000} })
	c.SetOutput(func() OutputStats { return OutputStats{LostRecords: 3, LostBytes: 300, HeldBytes: 42, Healthy: true} })
	c.SetBuildInfo(BuildInfo{Version: "v1.2.3"})
	c.SetSources(func() []engine.SourceStatus {
		return []engine.SourceStatus{{Name: "eth0", Kind: "live", State: "running"}}
	})
	c.ObserveAlert(&detect.Alert{Rule: &detect.Rule{Name: "scan.port", Severity: detect.SevMedium}})
	c.ObserveAlert(&detect.Alert{Rule: &detect.Rule{Name: "ssh.bruteforce", Severity: detect.SevMedium}, Severity: detect.SevHigh})
	h := hostWith([]string{"eth0", "lo"}, []string{"/", "/home"})
	h.Host.BootTime = time.Unix(1_699_000_000, 0)
	h.CPU = hoststat.CPU{Count: 4, Total: hoststat.CPUTimes{Busy: 37.5}}
	h.Load = hoststat.Load{Load1: 0.5, Load5: 1.25, Load15: 2}
	h.Filesystems[1].ReadOnly = true
	c.ObserveHost(h)
	return c
}

// Every metric of a full scrape passes promlint.
func TestPromlint(t *testing.T) {
	mfs := parse(t, scrapeBody(t, serve(t, fullCollector(), defaultLimits)))
	var missing []string
	for _, d := range descs {
		name := names[d]
		if _, ok := mfs[name]; !ok && name != "opsdeck_last_packet_timestamp_seconds" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("families missing from a full scrape: %v", missing)
	}
}

// promtool check metrics (Prometheus' own linter, Debian package
// prometheus) finds nothing in a full scrape, Go and process metrics
// included. It failed on opsdeck_host_cpu_count before issue 17.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus): skipped")
	}
	body := scrapeBody(t, serve(t, fullCollector(), defaultLimits))
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// The host facts node_exporter also exports have its names and labels;
// ratios run 0-1; severities read as the console shows them.
func TestNodeExporterConventions(t *testing.T) {
	mfs := parse(t, scrapeBody(t, serve(t, fullCollector(), defaultLimits)))
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"opsdeck_host_load1", nil, 0.5},
		{"opsdeck_host_load5", nil, 1.25},
		{"opsdeck_host_load15", nil, 2},
		{"opsdeck_host_cpu_busy_ratio", nil, 0.375},
		{"opsdeck_host_cpus", nil, 4},
		{"opsdeck_host_boot_time_seconds", nil, 1_699_000_000},
		{"opsdeck_host_network_receive_bytes_total", []string{"device", "eth0"}, 1000},
		{"opsdeck_host_filesystem_used_ratio", []string{"mountpoint", "/home", "device", "/dev/sdb1", "fstype", "xfs"}, 0.01},
		{"opsdeck_host_filesystem_size_bytes", []string{"mountpoint", "/", "device", "/dev/sda1", "fstype", "ext4"}, 1000},
		{"opsdeck_host_filesystem_avail_bytes", []string{"mountpoint", "/"}, 900},
		{"opsdeck_host_filesystem_free_bytes", []string{"mountpoint", "/"}, 950},
		{"opsdeck_host_filesystem_readonly", []string{"mountpoint", "/home"}, 1},
		{"opsdeck_host_filesystem_readonly", []string{"mountpoint", "/"}, 0},
		{"opsdeck_alerts_total", []string{"rule", "scan.port", "severity", "medium"}, 1},
		{"opsdeck_alerts_total", []string{"rule", "ssh.bruteforce", "severity", "high"}, 1},
		{"opsdeck_build_info", []string{"version", "v1.2.3", "goversion", runtime.Version()}, 1},
		{"opsdeck_output_lost_records_total", nil, 3},
		{"opsdeck_output_lost_bytes_total", nil, 300},
		{"opsdeck_output_held_bytes", nil, 42},
		{"opsdeck_output_up", nil, 1},
	} {
		if got := value(t, mfs, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%q = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if l := lp.GetName(); l == "interface" || l == "mount" || l == "period" {
					t.Errorf("%s has label %q: node_exporter's names are device, mountpoint, and load1/5/15", name, l)
				}
			}
		}
		if strings.HasPrefix(name, "opsdeck_") && strings.HasSuffix(name, "_percent") {
			t.Errorf("%s: a share is a 0-1 ratio", name)
		}
	}
}

// A detector table's size is a gauge and its evictions a counter, each
// family for every table; the detectors' other counters are counters.
func TestDetectorTablesAreGaugesEvictionsCounters(t *testing.T) {
	mfs := parse(t, scrapeBody(t, serve(t, fullCollector(), defaultLimits)))
	entries := labelValues(mfs, "opsdeck_detector_table_entries", "table")
	evicted := labelValues(mfs, "opsdeck_detector_table_evictions_total", "table")
	if len(entries) < 5 || !slices.Equal(entries, evicted) {
		t.Errorf("tables with entries %q, with evictions %q: want the same tables in both", entries, evicted)
	}
	if mf := mfs["opsdeck_detector_table_entries"]; mf.GetType() != dto.MetricType_GAUGE {
		t.Errorf("opsdeck_detector_table_entries is %v, want a gauge", mf.GetType())
	}
	if mf := mfs["opsdeck_detector_table_evictions_total"]; mf.GetType() != dto.MetricType_COUNTER {
		t.Errorf("opsdeck_detector_table_evictions_total is %v, want a counter", mf.GetType())
	}
	events := labelValues(mfs, "opsdeck_detector_events_total", "event")
	if !slices.Contains(events, "alerts.suppressed") {
		t.Errorf("detector events %q lack alerts.suppressed", events)
	}
	for _, e := range events {
		if strings.HasSuffix(e, ".entries") || strings.HasSuffix(e, ".evicted") {
			t.Errorf("detector event %q is a table figure", e)
		}
	}
}

// The output's health reads 0 during an outage.
func TestOutputDown(t *testing.T) {
	c := New(nil, nil)
	c.SetOutput(func() OutputStats { return OutputStats{Healthy: false, HeldBytes: 7} })
	mfs := parse(t, scrapeBody(t, serve(t, c, defaultLimits)))
	if got := value(t, mfs, "opsdeck_output_up"); got != 0 {
		t.Errorf("opsdeck_output_up %v during an outage, want 0", got)
	}
	if got := value(t, mfs, "opsdeck_build_info", "version", ""); got != 1 {
		t.Errorf("opsdeck_build_info without a version: %v", got)
	}
}
