package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/filter"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// cmdAnalyze reads capture files as fast as it can and writes EVE JSON lines.
func cmdAnalyze(args []string, stdout io.Writer) error {
	var o options
	fs := newFlagSet("analyze", "opsdeck analyze [flags] FILE... [capture filter]", os.Stderr)
	o.register(fs, true)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageExit(err)
	}
	var files []string
	for len(pos) > 0 && isPath(pos[0]) {
		files, pos = append(files, pos[0]), pos[1:]
	}
	if o.read != "" {
		files = append([]string{o.read}, files...)
	}
	if len(files) == 0 {
		if len(pos) > 0 {
			return &exitError{code: 2, err: fmt.Errorf("analyze: no capture file: %q does not exist", pos[0])}
		}
		return &exitError{code: 2, err: errors.New("analyze: no capture file given (usage: opsdeck analyze FILE... [filter])")}
	}
	o.filter = strings.Join(pos, " ")
	o.given(fs)

	full, err := loadFullConfig(o.configPath)
	if err != nil {
		return err
	}
	ecf, err := o.eveOptions(full.EVE)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("analyze: %w", err)}
	}
	if o.writePcap == "-" && (o.output == "" || o.output == "-") {
		return &exitError{code: 2, err: errors.New("analyze: -w - writes pcap to stdout, where EVE goes too: send EVE elsewhere with -o FILE")}
	}
	out := stdout
	if network, sock, ok := socketSpec(o.output); ok {
		so, err := openSocketOut(network, sock, true)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		defer func() {
			if cerr := so.Close(); cerr != nil {
				fmt.Fprintln(os.Stderr, "opsdeck: analyze:", cerr)
			}
		}()
		out = so
	} else if o.output != "" && o.output != "-" {
		f, err := os.OpenFile(o.output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, ecf.FileMode)
		if err != nil {
			return fmt.Errorf("analyze: open output: %w", err)
		}
		defer f.Close()
		out = f
	}
	ecfg := o.engineConfig(engineConfigFrom(full))
	ecfg.Headless = true
	w := eve.NewWriter(out)
	w.FileInput = true
	o.setupWriter(w, ecf)
	eng := engine.New(ecfg, w)

	flt := newFilterCache(o.filter)
	if _, err := flt.get(uint16(capture.LinkEthernet)); err != nil {
		return &exitError{code: 2, err: err}
	}
	lim := &packetSink{max: o.count}
	if o.writePcap != "" {
		if lim.pcap, err = openPcapOut(o.writePcap, o.snaplen); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	var read uint64
	var firstErr error
	start := time.Now()
	for _, name := range files {
		n, err := analyzeFile(name, eng, flt, lim)
		read += n
		if err != nil {
			fmt.Fprintln(os.Stderr, "opsdeck:", err)
			if firstErr == nil {
				firstErr = err
			}
		}
		if lim.full() {
			break
		}
	}
	if err := lim.pcap.close(); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: analyze:", err)
		if firstErr == nil {
			firstErr = err
		}
	}
	eng.Finish()
	writeStats(w, eng, read, capture.Stats{}, time.Since(start), nil)
	if err := w.Flush(); err != nil {
		return fmt.Errorf("analyze: write output: %w", err)
	}
	if firstErr != nil {
		return &exitError{code: 1}
	}
	return nil
}

// openCapture opens a capture file, or standard input for "-".
func openCapture(name string) (capture.Source, error) {
	if name == "-" {
		return capture.OpenReader("stdin", os.Stdin)
	}
	return capture.OpenFile(name)
}

// packetSink counts the packets that pass the capture filter for -c and
// writes them for -w, as tcpdump does.
type packetSink struct {
	max, n uint64 // -c (0 = no limit), and packets taken so far
	pcap   *pcapOut
}

// take accepts one packet that passed the filter; false once -c packets
// were taken (the packet is then not analysed).
func (s *packetSink) take(fr *capture.Frame) bool {
	if s.full() {
		return false
	}
	s.n++
	s.pcap.write(fr)
	return true
}

func (s *packetSink) full() bool { return s.max > 0 && s.n >= s.max }

// analyzeFile feeds one file through the engine and returns the frames read.
func analyzeFile(name string, eng *engine.Engine, flt *filterCache, sink *packetSink) (uint64, error) {
	src, err := openCapture(name)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	// Nothing else reads the engine while a file is analyzed: take its
	// lock once, not once per packet.
	eng.Lock()
	defer eng.Unlock()
	var n uint64
	for {
		fr, err := src.Next()
		if err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		if sink.full() {
			return n, nil
		}
		n++
		if !flt.match(&fr) {
			continue
		}
		sink.take(&fr)
		eng.HandleFrameLocked(uint16(fr.Link), fr.Data, fr.TS, fr.WireLen, fr.Index)
	}
}

// filterCache compiles the capture filter once per link type met.
type filterCache struct {
	expr  string
	progs map[uint16]*filter.Program
	Out   uint64 // frames the filter dropped
}

func newFilterCache(expr string) *filterCache {
	return &filterCache{expr: strings.TrimSpace(expr), progs: map[uint16]*filter.Program{}}
}

func (c *filterCache) get(link uint16) (*filter.Program, error) {
	if c.expr == "" {
		return nil, nil
	}
	if p, ok := c.progs[link]; ok {
		return p, nil
	}
	p, err := filter.Compile(c.expr, link, capture.MaxRecordLen)
	if err != nil {
		return nil, err
	}
	c.progs[link] = p
	return p, nil
}

func (c *filterCache) match(fr *capture.Frame) bool {
	if c.expr == "" {
		return true
	}
	p, err := c.get(uint16(fr.Link))
	if err != nil || !p.Match(fr.Data, fr.WireLen) {
		c.Out++
		return false
	}
	return true
}

// kernelFilter compiles the capture filter for each interface's link type,
// for LiveOptions.Filter; nil when there is no filter.
func kernelFilter(expr string, snaplen int) func(capture.LinkType) ([]capture.BPFInstruction, error) {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	return func(link capture.LinkType) ([]capture.BPFInstruction, error) {
		p, err := filter.Compile(expr, uint16(link), snaplen)
		if err != nil {
			return nil, fmt.Errorf("compile capture filter %q for link type %d: %w", expr, link, err)
		}
		return p.Instructions(), nil
	}
}

// writeStats writes an EVE stats record; out, when not nil, is watch's
// output file, whose losses it reports, and marks live input. Counters go
// under Suricata's names inside Suricata's stats objects where Suricata has
// the same counter; the rest go in opsdeck.stats.
func writeStats(w *eve.Writer, eng *engine.Engine, read uint64, cs capture.Stats, uptime time.Duration, out eveOutput) {
	c := eng.Counters()
	fl := eng.FlowStats()
	rs := eng.Reassembly()
	stats := map[string]any{
		"uptime": int64(uptime / time.Second),
		"decoder": map[string]any{
			"pkts": c.Pkts, "bytes": c.Bytes, "invalid": c.Invalid,
			"ipv4": c.IPv4, "ipv6": c.IPv6, "tcp": c.TCP, "udp": c.UDP,
			"icmpv4": c.ICMPv4, "icmpv6": c.ICMPv6, "arp": c.ARP, "vlan": c.VLAN,
		},
		"flow": map[string]any{"total": fl.Created, "active": fl.Active},
		// Alerts the allow-list muted are Suricata's suppressed alerts.
		"detect": map[string]any{"alert": c.Alerts, "alerts_suppressed": c.Muted},
		// Suricata's names for the stream budget: bytes held now, and the
		// directions given up at the memcap or at a gap.
		"tcp": map[string]any{
			"reassembly_memuse": rs.Memuse, "segment_memcap_drop": rs.MemcapDrops, "reassembly_gap": rs.GapDrops,
		},
	}
	ext := map[string]any{
		"capture":   map[string]any{"packets_read": read, "filtered_out": read - c.Pkts},
		"decoder":   map[string]any{"fragments": c.Fragments},
		"flow":      map[string]any{"ended": fl.Ended, "evicted": fl.Evicted, "max_active": fl.MaxActive},
		"detect":    map[string]any{"tables": undotted(eng.DetectorStats())},
		"app_layer": map[string]any{"events": c.Events, "tx_cap": rs.TxCapDrops},
		"tcp":       map[string]any{"reassembly_memuse_max": rs.Peak, "reassembly_memcap": rs.Limit},
		// Panics contained, by stage (engine.Fault).
		"faults": map[string]any{
			"engine": c.Faults[engine.StageEngine], "parser": c.Faults[engine.StageParser], "detect": c.Faults[engine.StageDetect],
		},
	}
	ts := eng.Now()
	if out != nil {
		stats["capture"] = map[string]any{"kernel_packets": cs.KernelPackets, "kernel_drops": cs.KernelDrops}
		// Records the output file could not take (full disk, directory
		// gone) and that the bounded backlog dropped, or still holds.
		n, b := out.Lost()
		ext["output"] = map[string]any{"lost_records": n, "lost_bytes": b, "held_bytes": out.Held()}
		// Live input: the time of the last packet is not the time now.
		ts = time.Now()
	}
	if ts.IsZero() {
		ts = time.Now() // no packet at all
	}
	w.Object(ts, "stats", stats, ext)
}

// undotted replaces dots in counter names with underscores: Elasticsearch
// expands "alerts.suppressed" into an object, which then collides with
// "alerts".
func undotted(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(k, ".", "_")] = v
	}
	return out
}
