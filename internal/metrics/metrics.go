// Package metrics exports opsdeck's counters to Prometheus: capture
// counters, decoder and flow table totals, alerts by rule and severity, and
// the host's gauges. A custom Collector reads the engine at scrape time, so
// the packet path pays nothing for the exporter.
//
// Label values that come from outside (interface names, mount points, rule
// and detector names) pass through textsafe.Label and a cap per metric
// family, so a hostile name can neither break a scrape nor grow it without
// bound; what the caps leave out is counted in opsdeck_metrics_series_dropped
// and opsdeck_alerts_unlabelled_total. No series can panic a scrape: one
// that cannot be built is counted in opsdeck_metrics_errors_total and logged
// once, and the other series are served.
package metrics

import (
	"fmt"
	"log"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// maxLabelBytes bounds one label value. Interface names are at most 15
// bytes (60 once escaped); mount points are paths and may be longer, but a
// dashboard gains nothing from more than this.
const maxLabelBytes = 128

// caps bound the number of series of the families whose label values come
// from outside. Each is well above a busy container host (a few hundred
// veth interfaces and mounts) and well below what hurts a Prometheus
// server; past it, series are left out in the host's own order (sorted by
// name), which keeps the set stable from one scrape to the next.
type caps struct {
	interfaces, filesystems, detector, alerts int
}

var defaultCaps = caps{interfaces: 512, filesystems: 512, detector: 256, alerts: 1024}

// CaptureStats are the capture source's counters (sources/capture.Stats,
// copied here because internal packages do not import sources).
type CaptureStats struct {
	Packets, Bytes             uint64 // frames read from the capture
	KernelPackets, KernelDrops uint64
}

// Collector is a prometheus.Collector over one engine.
type Collector struct {
	eng     *engine.Engine
	capture func() CaptureStats
	caps    caps
	log     *onceLog

	errors atomic.Uint64 // series not built and sections that panicked

	mu         sync.Mutex
	alerts     map[alertKey]uint64
	unlabelled uint64 // alerts past caps.alerts
	host       *hoststat.Snapshot
}

type alertKey struct {
	rule string // cleaned by textsafe.Label
	sev  detect.Severity
}

// New returns a collector reading eng and, when capture is not nil, the
// capture counters it returns. Problems are logged to standard error.
func New(eng *engine.Engine, capture func() CaptureStats) *Collector {
	return &Collector{
		eng: eng, capture: capture, caps: defaultCaps,
		log:    newOnceLog(log.New(os.Stderr, "opsdeck: metrics: ", 0)),
		alerts: map[alertKey]uint64{},
	}
}

// ObserveAlert counts an alert (call it from engine.Hooks.Alert). Update
// records of an alert already raised are not counted again.
func (c *Collector) ObserveAlert(a *detect.Alert) {
	if a.Update {
		return
	}
	sev := a.Severity
	if sev == 0 {
		sev = a.Rule.Severity
	}
	k := alertKey{textsafe.Label(a.Rule.Name, maxLabelBytes), sev}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.alerts[k]; !ok && len(c.alerts) >= c.caps.alerts {
		c.unlabelled++
		return
	}
	c.alerts[k]++
}

// ObserveHost keeps the latest full host sample for the host gauges.
func (c *Collector) ObserveHost(s *hoststat.Snapshot) {
	if s == nil || s.Partial {
		return
	}
	c.mu.Lock()
	c.host = s
	c.mu.Unlock()
}

// descs lists every description, for Describe; names maps each to its
// metric name, for log messages.
var (
	descs []*prometheus.Desc
	names = map[*prometheus.Desc]string{}
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc("opsdeck_"+name, help, labels, nil)
	descs = append(descs, d)
	names[d] = "opsdeck_" + name
	return d
}

var (
	dCapPackets   = desc("capture_packets_total", "Frames read from the capture source (before the in-process filter).")
	dCapBytes     = desc("capture_bytes_total", "Bytes read from the capture source.")
	dKernPackets  = desc("capture_kernel_packets_total", "Packets the kernel delivered to or dropped for the capture socket.")
	dKernDrops    = desc("capture_kernel_drops_total", "Packets the kernel dropped for lack of buffer space.")
	dPkts         = desc("decoder_packets_total", "Packets that passed the capture filter and were decoded.")
	dBytes        = desc("decoder_bytes_total", "Bytes of the decoded packets.")
	dInvalid      = desc("decoder_invalid_total", "Frames that failed to decode.")
	dEvents       = desc("app_layer_events_total", "Protocol events extracted (dns, tls, http, ...).")
	dFlowsActive  = desc("flows_active", "Flows in the flow table.")
	dFlowsMax     = desc("flows_active_max", "High-water mark of the flow table.")
	dFlowsCreated = desc("flows_created_total", "Flows created.")
	dFlowsEnded   = desc("flows_ended_total", "Flows ended (timeout, shutdown or eviction).")
	dFlowsEvicted = desc("flows_evicted_total", "Flows ended early because the table was full.")
	dAlerts       = desc("alerts_total", "Alerts raised, by rule and severity (1 high, 2 medium, 3 low).", "rule", "severity")
	dUnlabelled   = desc("alerts_unlabelled_total", "Alerts not in opsdeck_alerts_total because it reached its cap of rule and severity series.")
	dDetector     = desc("detector_table", "Detector table sizes and evictions.", "name")
	dLastPacket   = desc("last_packet_timestamp_seconds", "Timestamp of the newest packet.")

	dCPUBusy   = desc("host_cpu_busy_percent", "CPU busy share over the last sample interval (100 = all cores).")
	dCPUCount  = desc("host_cpus", "Logical CPUs.")
	dLoad      = desc("host_load", "Load average.", "period")
	dMemTotal  = desc("host_memory_total_bytes", "Physical memory.")
	dMemUsed   = desc("host_memory_used_bytes", "Memory used (total - available).")
	dMemAvail  = desc("host_memory_available_bytes", "Memory available.")
	dSwapUsed  = desc("host_swap_used_bytes", "Swap used.")
	dOOM       = desc("host_oom_kills_total", "OOM kills since boot.")
	dFSUsed    = desc("host_filesystem_used_ratio", "Filesystem used share (as df).", "mount")
	dIfRx      = desc("host_interface_receive_bytes_total", "Bytes received by an interface.", "interface")
	dIfTx      = desc("host_interface_transmit_bytes_total", "Bytes sent by an interface.", "interface")
	dIfRxDrops = desc("host_interface_receive_drops_total", "Receive drops of an interface.", "interface")
	dProcs     = desc("host_processes", "Processes.")
	dSampleAge = desc("host_sample_timestamp_seconds", "Time of the host sample these gauges come from.")

	dErrors  = desc("metrics_errors_total", "Series the exporter could not build and collector sections that panicked; the first of each is logged.")
	dDropped = desc("metrics_series_dropped", "Series left out of this scrape: past the family's cap, or with a name equal to another's once made printable.", "family")
)

// Families whose series are capped, the values of dDropped's label.
const (
	famInterface  = "interface"
	famFilesystem = "filesystem"
	famDetector   = "detector"
)

// Describe sends the static descriptions (it is a checked collector).
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// Collect reads the engine and the latest host sample. Each section runs
// under its own recover, so a panic in one costs only its series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := &scrape{c: c, ch: ch, sets: map[string]*labelSet{
		famInterface:  newLabelSet(c.caps.interfaces),
		famFilesystem: newLabelSet(c.caps.filesystems),
		famDetector:   newLabelSet(c.caps.detector),
	}}
	s.section("capture", s.collectCapture)
	s.section("engine", s.collectEngine)
	s.section("alerts", s.collectAlerts)
	s.section("host", s.collectHost)
	for _, fam := range []string{famInterface, famFilesystem, famDetector} {
		s.gauge(dDropped, float64(s.sets[fam].dropped), fam)
	}
	s.counter(dErrors, c.errors.Load())
}

// scrape is one Collect call.
type scrape struct {
	c    *Collector
	ch   chan<- prometheus.Metric
	sets map[string]*labelSet
}

func (s *scrape) section(name string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			buf := make([]byte, 8<<10)
			buf = buf[:runtime.Stack(buf, false)]
			s.c.fail("panic "+name, fmt.Sprintf("collecting %s panicked, its series are missing: %v\n%s", name, r, buf))
		}
	}()
	f()
}

// emit sends one series. NewConstMetric, not MustNewConstMetric: a value
// that cannot be exported costs its series, counted and logged, never the
// scrape.
func (s *scrape) emit(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		s.c.fail(names[d], fmt.Sprintf("%s: series left out: %v", names[d], err))
		return
	}
	s.ch <- m
}

func (s *scrape) counter(d *prometheus.Desc, v uint64, labels ...string) {
	s.emit(d, prometheus.CounterValue, float64(v), labels...)
}

func (s *scrape) gauge(d *prometheus.Desc, v float64, labels ...string) {
	s.emit(d, prometheus.GaugeValue, v, labels...)
}

// fail counts a problem and logs the first one of each kind.
func (c *Collector) fail(kind, msg string) {
	n := c.errors.Add(1)
	c.log.print(kind, fmt.Sprintf("%s (error %d; further ones like it are counted in opsdeck_metrics_errors_total, not logged)", msg, n))
}

func (s *scrape) collectCapture() {
	if s.c.capture == nil {
		return
	}
	cs := s.c.capture()
	s.counter(dCapPackets, cs.Packets)
	s.counter(dCapBytes, cs.Bytes)
	s.counter(dKernPackets, cs.KernelPackets)
	s.counter(dKernDrops, cs.KernelDrops)
}

func (s *scrape) collectEngine() {
	eng := s.c.eng
	if eng == nil {
		return
	}
	n := eng.Counters()
	s.counter(dPkts, n.Pkts)
	s.counter(dBytes, n.Bytes)
	s.counter(dInvalid, n.Invalid)
	s.counter(dEvents, n.Events)
	fs := eng.FlowStats()
	s.gauge(dFlowsActive, float64(fs.Active))
	s.gauge(dFlowsMax, float64(fs.MaxActive))
	s.counter(dFlowsCreated, fs.Created)
	s.counter(dFlowsEnded, fs.Ended)
	s.counter(dFlowsEvicted, fs.Evicted)
	stats := eng.DetectorStats()
	set := s.sets[famDetector]
	for _, name := range slices.Sorted(maps.Keys(stats)) {
		if l, ok := set.admit(name); ok {
			s.gauge(dDetector, float64(stats[name]), l)
		}
	}
	if now := eng.Now(); !now.IsZero() {
		s.gauge(dLastPacket, float64(now.UnixNano())/1e9)
	}
}

func (s *scrape) collectAlerts() {
	type series struct {
		k alertKey
		n uint64
	}
	s.c.mu.Lock()
	all := make([]series, 0, len(s.c.alerts))
	for k, n := range s.c.alerts {
		all = append(all, series{k, n})
	}
	unlabelled := s.c.unlabelled
	s.c.mu.Unlock()
	for _, a := range all {
		s.counter(dAlerts, a.n, a.k.rule, strconv.Itoa(int(a.k.sev)))
	}
	s.counter(dUnlabelled, unlabelled)
}

func (s *scrape) collectHost() {
	s.c.mu.Lock()
	h := s.c.host
	s.c.mu.Unlock()
	if h == nil {
		return
	}
	s.gauge(dSampleAge, float64(h.Time.UnixNano())/1e9)
	s.gauge(dCPUBusy, h.CPU.Total.Busy)
	s.gauge(dCPUCount, float64(h.CPU.Count))
	s.gauge(dLoad, h.Load.Load1, "1m")
	s.gauge(dLoad, h.Load.Load5, "5m")
	s.gauge(dLoad, h.Load.Load15, "15m")
	s.gauge(dMemTotal, float64(h.Memory.Total))
	s.gauge(dMemUsed, float64(h.Memory.Used))
	s.gauge(dMemAvail, float64(h.Memory.Available))
	s.gauge(dSwapUsed, float64(h.Memory.SwapUsed))
	s.counter(dOOM, h.Memory.OOMKills)
	s.gauge(dProcs, float64(len(h.Processes)))
	fs := s.sets[famFilesystem]
	for _, f := range h.Filesystems {
		if l, ok := fs.admit(f.Mount); ok {
			s.gauge(dFSUsed, f.UsedPct/100, l)
		}
	}
	ifs := s.sets[famInterface]
	for _, i := range h.Interfaces {
		if l, ok := ifs.admit(i.Name); ok {
			s.counter(dIfRx, i.RxBytes, l)
			s.counter(dIfTx, i.TxBytes, l)
			s.counter(dIfRxDrops, i.RxDrops, l)
		}
	}
}

// labelSet admits one family's label values from outside: made printable
// and bounded by textsafe.Label, each once, at most max of them.
type labelSet struct {
	max     int
	from    map[string]string // label value -> the name it was made from
	dropped int
}

func newLabelSet(max int) *labelSet {
	return &labelSet{max: max, from: map[string]string{}}
}

// admit returns the label value for name, or false when name is left out:
// a repeat of a name already admitted (a mount point listed twice) silently,
// a different name with the same label value or one past the cap counted
// as dropped.
func (l *labelSet) admit(name string) (string, bool) {
	v := textsafe.Label(name, maxLabelBytes)
	if prev, ok := l.from[v]; ok {
		if prev != name {
			l.dropped++
		}
		return "", false
	}
	if len(l.from) >= l.max {
		l.dropped++
		return "", false
	}
	l.from[v] = name
	return v, true
}
