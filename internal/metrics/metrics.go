// Package metrics exports opsdeck's counters to Prometheus: capture
// counters, decoder and flow table totals, alerts by rule and severity, the
// EVE output's health and the host's gauges. A custom Collector reads the
// engine at scrape time, so the packet path pays nothing for the exporter.
//
// Names follow Prometheus' conventions (promlint and promtool check
// metrics are clean: units in names, ratios 0-1, counters end in _total)
// and, where the fact is the one node_exporter exports, node_exporter's
// names and labels under opsdeck_host_: node_load1 is opsdeck_host_load1,
// node_network_receive_bytes_total{device} is
// opsdeck_host_network_receive_bytes_total{device},
// node_filesystem_avail_bytes{device,fstype,mountpoint} is
// opsdeck_host_filesystem_avail_bytes{device,fstype,mountpoint}.
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
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/record"
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

// OutputStats are the health of the EVE output (a file or a socket): what
// its bounded backlog dropped and holds, and whether records reach it.
type OutputStats struct {
	LostRecords, LostBytes uint64
	HeldBytes              uint64
	Healthy                bool
}

// BuildInfo labels opsdeck_build_info, as node_exporter's
// node_exporter_build_info.
type BuildInfo struct {
	Version string // opsdeck's version (main.moduleVersion)
}

// Collector is a prometheus.Collector over one engine.
type Collector struct {
	eng     *engine.Engine
	capture func() CaptureStats
	output  func() OutputStats
	sources func() []engine.SourceStatus
	build   BuildInfo
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
// capture counters it returns; it subscribes to eng's records (alerts,
// host samples). Problems are logged to standard error.
func New(eng *engine.Engine, capture func() CaptureStats) *Collector {
	c := &Collector{
		eng: eng, capture: capture, caps: defaultCaps,
		log:    newOnceLog(log.New(os.Stderr, "opsdeck: metrics: ", 0)),
		alerts: map[alertKey]uint64{},
	}
	if eng != nil {
		eng.Subscribe(c)
	}
	return c
}

// Record takes what the metrics export from the engine's record stream:
// alerts (ObserveAlert) and full host samples (ObserveHost).
func (c *Collector) Record(r record.Record) {
	switch r.Kind {
	case record.Alert:
		c.ObserveAlert(r.Alert)
	case record.HostSample:
		c.ObserveHost(r.Host)
	}
}

// SetOutput makes the collector export the EVE output's health from f.
// Call it before the collector is served.
func (c *Collector) SetOutput(f func() OutputStats) { c.output = f }

// SetSources makes the collector export each input's state from f
// (pump.Pump.Statuses) as opsdeck_source_up. Call it before the collector
// is served.
func (c *Collector) SetSources(f func() []engine.SourceStatus) { c.sources = f }

// SetBuildInfo sets the labels of opsdeck_build_info. Call it before the
// collector is served.
func (c *Collector) SetBuildInfo(b BuildInfo) { c.build = b }

// ObserveAlert counts an alert (Record calls it for each). Update records
// of an alert already raised are not counted again.
func (c *Collector) ObserveAlert(a *detect.Alert) {
	if a.Update {
		return
	}
	sev := a.Sev()
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
	dBuildInfo = desc("build_info", "A constant 1 labelled with the version of opsdeck and of the Go it was built with.", "version", "goversion", "goos", "goarch")

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
	dFlowsEmerg   = desc("flows_emergency", "1 while the flow table is in emergency mode (it filled up; shorter timeouts until it empties to 70%).")
	dFlowsEmergN  = desc("flows_emergencies_total", "Times the flow table went into emergency mode (Suricata's flow.emerg_mode_entered).")
	dAlerts       = desc("alerts_total", "Alerts raised, by rule and severity (high, medium, low, as the console shows them).", "rule", "severity")
	dUnlabelled   = desc("alerts_unlabelled_total", "Alerts not in opsdeck_alerts_total because it reached its cap of rule and severity series.")
	dTableEntries = desc("detector_table_entries", "Entries in a detector's bounded table.", "table")
	dTableEvicted = desc("detector_table_evictions_total", "Entries a detector's table evicted because it was full.", "table")
	dDetEvents    = desc("detector_events_total", "Detector counters: alerts raised and folded into an earlier one (alerts.suppressed), ARP rebinds, SYN queue losses, rate-limited new hosts.", "event")
	dLastPacket   = desc("last_packet_timestamp_seconds", "Timestamp of the newest packet.")

	dOutLostRecords = desc("output_lost_records_total", "EVE records the output dropped because its bounded backlog was full (the file or socket could not take them).")
	dOutLostBytes   = desc("output_lost_bytes_total", "Bytes of the EVE records the output dropped.")
	dOutHeld        = desc("output_held_bytes", "Bytes of EVE records waiting in memory for the output.")
	dSourceUp       = desc("source_up", "1 while an input runs (live capture, the system sampler), 0 when it is starting, unavailable, lost or stopped; as node_exporter's node_scrape_collector_success.", "source", "kind")
	dOutUp          = desc("output_up", "1 when EVE records reach the output (and its last sync worked), 0 during an outage.")

	dCPUBusy   = desc("host_cpu_busy_ratio", "Share of all CPUs' time not idle or waiting for I/O over the last sample interval (1 = every core busy).")
	dCPUCount  = desc("host_cpus", "Logical CPUs.")
	dLoad1     = desc("host_load1", "1m load average (node_load1).")
	dLoad5     = desc("host_load5", "5m load average (node_load5).")
	dLoad15    = desc("host_load15", "15m load average (node_load15).")
	dBootTime  = desc("host_boot_time_seconds", "Time the host booted, in seconds since the epoch (node_boot_time_seconds).")
	dMemTotal  = desc("host_memory_total_bytes", "Physical memory (MemTotal).")
	dMemUsed   = desc("host_memory_used_bytes", "Memory used: total - available, as free(1).")
	dMemAvail  = desc("host_memory_available_bytes", "Memory available (MemAvailable).")
	dSwapTotal = desc("host_swap_total_bytes", "Swap space (SwapTotal).")
	dSwapUsed  = desc("host_swap_used_bytes", "Swap used.")
	dOOM       = desc("host_oom_kills_total", "OOM kills since boot (oom_kill in /proc/vmstat).")
	dProcs     = desc("host_processes", "Processes.")
	dSampleAge = desc("host_sample_timestamp_seconds", "Time of the host sample these gauges come from.")

	dFSSize     = desc("host_filesystem_size_bytes", "Filesystem size (node_filesystem_size_bytes).", fsLabels...)
	dFSAvail    = desc("host_filesystem_avail_bytes", "Filesystem space available to unprivileged users (node_filesystem_avail_bytes).", fsLabels...)
	dFSFree     = desc("host_filesystem_free_bytes", "Filesystem free space, including what is reserved for root (node_filesystem_free_bytes).", fsLabels...)
	dFSUsed     = desc("host_filesystem_used_ratio", "Filesystem used share as df computes it: used / (used + avail), 0-1.", fsLabels...)
	dFSFiles    = desc("host_filesystem_files", "Filesystem inodes (node_filesystem_files).", fsLabels...)
	dFSFilesFr  = desc("host_filesystem_files_free", "Filesystem free inodes (node_filesystem_files_free).", fsLabels...)
	dFSReadOnly = desc("host_filesystem_readonly", "1 when the filesystem is mounted read-only (node_filesystem_readonly).", fsLabels...)

	dNetRxBytes   = desc("host_network_receive_bytes_total", "Bytes received by a network device (node_network_receive_bytes_total).", "device")
	dNetTxBytes   = desc("host_network_transmit_bytes_total", "Bytes sent by a network device (node_network_transmit_bytes_total).", "device")
	dNetRxPackets = desc("host_network_receive_packets_total", "Packets received by a network device.", "device")
	dNetTxPackets = desc("host_network_transmit_packets_total", "Packets sent by a network device.", "device")
	dNetRxErrs    = desc("host_network_receive_errs_total", "Receive errors of a network device.", "device")
	dNetTxErrs    = desc("host_network_transmit_errs_total", "Transmit errors of a network device.", "device")
	dNetRxDrop    = desc("host_network_receive_drop_total", "Received packets a network device dropped.", "device")
	dNetTxDrop    = desc("host_network_transmit_drop_total", "Packets to send a network device dropped.", "device")

	dErrors  = desc("metrics_errors_total", "Series the exporter could not build and collector sections that panicked; the first of each is logged.")
	dDropped = desc("metrics_series_dropped", "Series left out of this scrape: past the family's cap, or with a name equal to another's once made printable.", "family")
)

// fsLabels are node_exporter's filesystem labels.
var fsLabels = []string{"device", "fstype", "mountpoint"}

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
	s.gauge(dBuildInfo, 1, s.c.build.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	s.section("capture", s.collectCapture)
	s.section("output", s.collectOutput)
	s.section("sources", s.collectSources)
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

func (s *scrape) collectOutput() {
	if s.c.output == nil {
		return
	}
	o := s.c.output()
	s.counter(dOutLostRecords, o.LostRecords)
	s.counter(dOutLostBytes, o.LostBytes)
	s.gauge(dOutHeld, float64(o.HeldBytes))
	s.gauge(dOutUp, boolValue(o.Healthy))
}

func (s *scrape) collectSources() {
	if s.c.sources == nil {
		return
	}
	for _, st := range s.c.sources() {
		s.gauge(dSourceUp, boolValue(st.State == "running"), textsafe.Label(st.Name, maxLabelBytes), st.Kind)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
	emerg := 0.0
	if fs.Emergency {
		emerg = 1
	}
	s.gauge(dFlowsEmerg, emerg)
	s.counter(dFlowsEmergN, fs.Emergencies)
	// The detectors' counters are one map: "<table>.entries" is a table's
	// size now (a gauge), "<table>.evicted" what it evicted since the start
	// (a counter), and every other key counts events since the start.
	stats := eng.DetectorStats()
	set := s.sets[famDetector]
	for _, name := range slices.Sorted(maps.Keys(stats)) {
		d, t, label := dDetEvents, prometheus.CounterValue, name
		if table, ok := strings.CutSuffix(name, ".entries"); ok {
			d, t, label = dTableEntries, prometheus.GaugeValue, table
		} else if table, ok := strings.CutSuffix(name, ".evicted"); ok {
			d, t, label = dTableEvicted, prometheus.CounterValue, table
		}
		if l, ok := set.admit(name, label); ok {
			s.emit(d, t, float64(stats[name]), l)
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
		s.counter(dAlerts, a.n, a.k.rule, a.k.sev.String())
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
	s.gauge(dCPUBusy, h.CPU.Total.Busy/100)
	s.gauge(dCPUCount, float64(h.CPU.Count))
	s.gauge(dLoad1, h.Load.Load1)
	s.gauge(dLoad5, h.Load.Load5)
	s.gauge(dLoad15, h.Load.Load15)
	if !h.Host.BootTime.IsZero() {
		s.gauge(dBootTime, float64(h.Host.BootTime.Unix()))
	}
	s.gauge(dMemTotal, float64(h.Memory.Total))
	s.gauge(dMemUsed, float64(h.Memory.Used))
	s.gauge(dMemAvail, float64(h.Memory.Available))
	s.gauge(dSwapTotal, float64(h.Memory.SwapTotal))
	s.gauge(dSwapUsed, float64(h.Memory.SwapUsed))
	s.counter(dOOM, h.Memory.OOMKills)
	s.gauge(dProcs, float64(len(h.Processes)))
	fs := s.sets[famFilesystem]
	for _, f := range h.Filesystems {
		mount, ok := fs.admit(f.Mount, f.Mount)
		if !ok {
			continue
		}
		l := []string{textsafe.Label(f.Device, maxLabelBytes), textsafe.Label(f.FSType, maxLabelBytes), mount}
		s.gauge(dFSSize, float64(f.Total), l...)
		s.gauge(dFSAvail, float64(f.Free), l...)
		s.gauge(dFSFree, float64(f.Total-min(f.Used, f.Total)), l...)
		s.gauge(dFSUsed, f.UsedPct/100, l...)
		s.gauge(dFSFiles, float64(f.InodesTotal), l...)
		s.gauge(dFSFilesFr, float64(f.InodesFree), l...)
		s.gauge(dFSReadOnly, boolValue(f.ReadOnly), l...)
	}
	ifs := s.sets[famInterface]
	for _, i := range h.Interfaces {
		if l, ok := ifs.admit(i.Name, i.Name); ok {
			s.counter(dNetRxBytes, i.RxBytes, l)
			s.counter(dNetTxBytes, i.TxBytes, l)
			s.counter(dNetRxPackets, i.RxPackets, l)
			s.counter(dNetTxPackets, i.TxPackets, l)
			s.counter(dNetRxErrs, i.RxErrors, l)
			s.counter(dNetTxErrs, i.TxErrors, l)
			s.counter(dNetRxDrop, i.RxDrops, l)
			s.counter(dNetTxDrop, i.TxDrops, l)
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

// admit returns the label value made from label for the item named name,
// or false when it is left out: a repeat of a name already admitted (a
// mount point listed twice) silently, a different name with the same label
// value or one past the cap counted as dropped.
func (l *labelSet) admit(name, label string) (string, bool) {
	v := textsafe.Label(label, maxLabelBytes)
	key := v
	if name != label {
		// One label value may name several items (a table's entries and
		// evictions): those are told apart by name.
		key = textsafe.Label(name, maxLabelBytes)
	}
	if prev, ok := l.from[key]; ok {
		if prev != name {
			l.dropped++
		}
		return "", false
	}
	if len(l.from) >= l.max {
		l.dropped++
		return "", false
	}
	l.from[key] = name
	return v, true
}
