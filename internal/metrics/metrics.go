// Package metrics exports opsdeck's counters to Prometheus: capture
// counters, decoder and flow table totals, alerts by rule and severity, and
// the host's gauges. A custom Collector reads the engine at scrape time, so
// the packet path pays nothing for the exporter.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

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

	mu     sync.Mutex
	alerts map[alertKey]uint64
	host   *hoststat.Snapshot
}

type alertKey struct {
	rule string
	sev  detect.Severity
}

// New returns a collector reading eng and, when capture is not nil, the
// capture counters it returns.
func New(eng *engine.Engine, capture func() CaptureStats) *Collector {
	return &Collector{eng: eng, capture: capture, alerts: map[alertKey]uint64{}}
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
	c.mu.Lock()
	c.alerts[alertKey{a.Rule.Name, sev}]++
	c.mu.Unlock()
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

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("opsdeck_"+name, help, labels, nil)
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
	dDetector     = desc("detector_table", "Detector table sizes and evictions.", "name")
	dLastPacket   = desc("last_packet_timestamp_seconds", "Timestamp of the newest packet.")

	dCPUBusy   = desc("host_cpu_busy_percent", "CPU busy share over the last sample interval (100 = all cores).")
	dCPUCount  = desc("host_cpu_count", "Logical CPUs.")
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
)

// Describe sends the static descriptions (it is a checked collector).
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dCapPackets, dCapBytes, dKernPackets, dKernDrops, dPkts, dBytes, dInvalid, dEvents,
		dFlowsActive, dFlowsMax, dFlowsCreated, dFlowsEnded, dFlowsEvicted, dAlerts, dDetector, dLastPacket,
		dCPUBusy, dCPUCount, dLoad, dMemTotal, dMemUsed, dMemAvail, dSwapUsed, dOOM, dFSUsed, dIfRx, dIfTx, dIfRxDrops, dProcs, dSampleAge} {
		ch <- d
	}
}

// Collect reads the engine and the latest host sample.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if c.capture != nil {
		cs := c.capture()
		counter(dCapPackets, cs.Packets)
		counter(dCapBytes, cs.Bytes)
		counter(dKernPackets, cs.KernelPackets)
		counter(dKernDrops, cs.KernelDrops)
	}
	if c.eng != nil {
		n := c.eng.Counters()
		counter(dPkts, n.Pkts)
		counter(dBytes, n.Bytes)
		counter(dInvalid, n.Invalid)
		counter(dEvents, n.Events)
		fs := c.eng.FlowStats()
		gauge(dFlowsActive, float64(fs.Active))
		gauge(dFlowsMax, float64(fs.MaxActive))
		counter(dFlowsCreated, fs.Created)
		counter(dFlowsEnded, fs.Ended)
		counter(dFlowsEvicted, fs.Evicted)
		for name, v := range c.eng.DetectorStats() {
			gauge(dDetector, float64(v), name)
		}
		if now := c.eng.Now(); !now.IsZero() {
			gauge(dLastPacket, float64(now.UnixNano())/1e9)
		}
	}
	c.mu.Lock()
	for k, v := range c.alerts {
		counter(dAlerts, v, k.rule, strconv.Itoa(int(k.sev)))
	}
	h := c.host
	c.mu.Unlock()
	if h == nil {
		return
	}
	gauge(dSampleAge, float64(h.Time.UnixNano())/1e9)
	gauge(dCPUBusy, h.CPU.Total.Busy)
	gauge(dCPUCount, float64(h.CPU.Count))
	gauge(dLoad, h.Load.Load1, "1m")
	gauge(dLoad, h.Load.Load5, "5m")
	gauge(dLoad, h.Load.Load15, "15m")
	gauge(dMemTotal, float64(h.Memory.Total))
	gauge(dMemUsed, float64(h.Memory.Used))
	gauge(dMemAvail, float64(h.Memory.Available))
	gauge(dSwapUsed, float64(h.Memory.SwapUsed))
	counter(dOOM, h.Memory.OOMKills)
	gauge(dProcs, float64(len(h.Processes)))
	seen := map[string]bool{}
	for _, f := range h.Filesystems {
		if seen[f.Mount] {
			continue // a mount point listed twice would make a duplicate series
		}
		seen[f.Mount] = true
		gauge(dFSUsed, f.UsedPct/100, f.Mount)
	}
	clear(seen)
	for _, i := range h.Interfaces {
		if seen[i.Name] {
			continue
		}
		seen[i.Name] = true
		counter(dIfRx, i.RxBytes, i.Name)
		counter(dIfTx, i.TxBytes, i.Name)
		counter(dIfRxDrops, i.RxDrops, i.Name)
	}
}

// Handler serves the collector plus the Go runtime and process metrics of
// opsdeck itself.
func Handler(c *Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Server is a running metrics endpoint.
type Server struct {
	ln  net.Listener
	srv *http.Server
	err chan error
}

// Listen binds addr, so a privileged port can be bound before dropping
// root; Start serves on it.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %q: %w", addr, err)
	}
	return &Server{ln: ln, err: make(chan error, 1)}, nil
}

// Start serves c at /metrics until Close.
func (s *Server) Start(c *Collector) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler(c))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "opsdeck metrics: /metrics")
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		err := s.srv.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.err <- err
	}()
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server, waiting briefly for scrapes in progress.
func (s *Server) Close() error {
	if s.srv == nil {
		return s.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	return errors.Join(err, <-s.err)
}
