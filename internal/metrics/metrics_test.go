package metrics

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
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
		s.Filesystems = append(s.Filesystems, hoststat.Filesystem{Mount: m, UsedPct: float64(i)})
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
			for _, fam := range []string{"opsdeck_host_interface_receive_bytes_total", "opsdeck_host_interface_transmit_bytes_total", "opsdeck_host_interface_receive_drops_total"} {
				if got := labelValues(mfs, fam, "interface"); !slices.Equal(got, tc.wantIfaces) {
					t.Errorf("%s interfaces %q, want %q", fam, got, tc.wantIfaces)
				}
			}
			if got := labelValues(mfs, "opsdeck_host_filesystem_used_ratio", "mount"); !slices.Equal(got, tc.wantMounts) {
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
	if got := value(t, mfs, "opsdeck_alerts_total", "rule", "scan.port", "severity", "2"); got != 2 {
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
		s.gauge(dFSUsed, 0.5, "\xff")       // not UTF-8: what MustNewConstMetric panicked on
		s.gauge(dFSUsed, 0.5, "/", "extra") // wrong label count
		s.gauge(dFSUsed, 0.5, "/")
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
		if got := labelValues(mfs, "opsdeck_host_interface_receive_bytes_total", "interface"); !slices.Equal(got, []string{"eth0"}) {
			t.Errorf("host series after a capture panic: %q", got)
		}
		if n := strings.Count(logs.String(), "capture counters exploded"); n != 1 {
			t.Errorf("panic logged %d times over three scrapes, want once:\n%s", n, logs)
		}
	})
}

// Every metric of a full scrape (engine, capture, alerts, host) passes
// promlint.
func TestPromlint(t *testing.T) {
	eng := engine.New(engine.DefaultConfig(), nil)
	c := New(eng, func() CaptureStats { return CaptureStats{Packets: 10, Bytes: 1000} })
	c.ObserveAlert(&detect.Alert{Rule: &detect.Rule{Name: "scan.port", Severity: 2}})
	c.ObserveHost(hostWith([]string{"eth0", "lo"}, []string{"/", "/home"}))
	mfs := parse(t, scrapeBody(t, serve(t, c, defaultLimits)))
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
