package pump

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/sources/capture"
	"github.com/opsdeck/opsdeck/sources/system"
)

// Real captures from the corpus (nDPI's test captures).
const (
	httpAuth = "../../testdata/corpus/ndpi/http-basic-auth.pcap"         // 33 frames, TCP
	synScan  = "../../testdata/corpus/ndpi/synscan-nmap-1000-ports.pcap" // 2011 frames
	pcapng   = "../../testdata/corpus/ndpi/port4444-pe-download.pcapng"  // 30 frames
)

// frames counts a capture's frames with the capture reader alone.
func frames(t *testing.T, path string) uint64 {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Skipf("corpus capture missing: %v", err)
	}
	defer src.Close()
	var n uint64
	for {
		if _, err := src.Next(); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			return n
		}
		n++
	}
}

func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	return engine.New(engine.DefaultConfig(), nil)
}

// TestFilesSource reads real pcap and pcapng files, one after the other,
// through the pump: every frame reaches the engine, the source's status ends
// "finished", and both lock disciplines (per frame, Exclusive) agree.
func TestFilesSource(t *testing.T) {
	want := frames(t, httpAuth) + frames(t, pcapng)
	for _, exclusive := range []bool{false, true} {
		eng := newEngine(t)
		p := New(eng, Options{Input: &Files{Names: []string{httpAuth, pcapng}}, Exclusive: exclusive})
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if p.Read() != want || eng.Counters().Pkts != want {
			t.Errorf("exclusive=%v: read %d, engine %d; want %d", exclusive, p.Read(), eng.Counters().Pkts, want)
		}
		st := eng.Snapshot(engine.SnapshotOptions{}).Source
		if st.State != "finished" || st.Kind != "file" || st.Name != pcapng || st.Err != "" {
			t.Errorf("exclusive=%v: engine's source status %+v", exclusive, st)
		}
		if got := p.InputStatus(); got != st {
			t.Errorf("the pump's status %+v is not the engine's %+v", got, st)
		}
	}
}

// TestFilesStdinPipe reads a capture from a real pipe, as "opsdeck -r -"
// reads standard input, with the writer trickling it in small pieces.
func TestFilesStdinPipe(t *testing.T) {
	want := frames(t, synScan)
	data, err := os.ReadFile(synScan)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		defer w.Close()
		for len(data) > 0 {
			n := min(len(data), 1000)
			if _, err := w.Write(data[:n]); err != nil {
				return
			}
			data = data[n:]
		}
	}()
	eng := newEngine(t)
	p := New(eng, Options{Input: &Files{Names: []string{"-"}, Stdin: r}, Settle: true})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if eng.Counters().Pkts != want {
		t.Errorf("engine saw %d frames from the pipe, want %d", eng.Counters().Pkts, want)
	}
	snap := eng.Snapshot(engine.SnapshotOptions{Alerts: 10})
	if snap.Source.Name != "stdin" || snap.Source.State != "finished" {
		t.Errorf("status %+v", snap.Source)
	}
	// Settle closed the scan detector's window without ending the flows.
	if len(snap.Alerts) == 0 {
		t.Error("no alert on the nmap scan read from stdin")
	}
}

// TestFilesErrors: a missing file and a file that is not a capture are
// reported, each with the file's name, and the files after them are read.
func TestFilesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(bad, []byte("this is not a capture file at all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pcap")
	want := frames(t, httpAuth)
	var statuses []engine.SourceStatus
	eng := newEngine(t)
	p := New(eng, Options{Input: &recordStatus{Source: &Files{Names: []string{missing, bad, httpAuth}}, seen: &statuses}})
	err := p.Run(context.Background())
	if err == nil {
		t.Fatal("no error for a missing file and a bad one")
	}
	for _, name := range []string{missing, bad} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if eng.Counters().Pkts != want {
		t.Errorf("the good file after the bad ones: %d frames, want %d", eng.Counters().Pkts, want)
	}
	var sawMissing bool
	for _, st := range statuses {
		if st.Name == missing && st.State == "error" && st.Hint != "" {
			sawMissing = true
		}
	}
	if !sawMissing {
		t.Errorf("no error status with a hint for the missing file: %+v", statuses)
	}
}

// recordStatus keeps every status its source publishes.
type recordStatus struct {
	Source
	seen *[]engine.SourceStatus
}

func (r *recordStatus) Run(ctx context.Context, sink Sink) error {
	return r.Source.Run(ctx, &statusTap{Sink: sink, seen: r.seen})
}

type statusTap struct {
	Sink
	seen *[]engine.SourceStatus
}

func (s *statusTap) Status(st engine.SourceStatus) {
	*s.seen = append(*s.seen, st)
	s.Sink.Status(st)
}

// TestFilterAndCount: the capture filter drops frames after they are
// read; Count stops the input after that many frames passed the filter,
// and the frames after are neither read nor analysed (tcpdump -c).
func TestFilterAndCount(t *testing.T) {
	all := frames(t, httpAuth)
	flt, err := NewFilter("tcp and src port 80")
	if err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t)
	p := New(eng, Options{Input: &Files{Names: []string{httpAuth}}, Filter: flt})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	passed := eng.Counters().Pkts
	if p.Read() != all || passed == 0 || passed >= all || flt.out != all-passed {
		t.Fatalf("filter: read %d, analysed %d, filtered out %d (of %d)", p.Read(), passed, flt.out, all)
	}

	var seen []uint64
	eng = newEngine(t)
	p = New(eng, Options{Input: &Files{Names: []string{httpAuth, httpAuth}}, Count: 5,
		Frame: func(fr *capture.Frame) { seen = append(seen, fr.Index) }})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.Read() != 5 || eng.Counters().Pkts != 5 || len(seen) != 5 || seen[4] != 5 {
		t.Errorf("-c 5: read %d, analysed %d, Frame hook saw %v", p.Read(), eng.Counters().Pkts, seen)
	}

	if _, err := NewFilter("tcp port"); err == nil || !strings.Contains(err.Error(), "capture filter") {
		t.Errorf("a bad filter: %v", err)
	}
}

// panicking is a source that panics after its first frame: the one thing
// no real source can be made to do on demand.
type panicking struct{ name string }

func (p *panicking) Name() string { return p.name }
func (p *panicking) Run(ctx context.Context, sink Sink) error {
	sink.Status(engine.SourceStatus{Name: p.name, Kind: "file", State: "running"})
	panic("decoder bug")
}

// TestPanicBecomesStatus: a panic in the input ends the run with an error
// and turns the engine's source status to stopped (CAPTURE STOPPED in the
// console); a panic in a source beside it ends only that source.
func TestPanicBecomesStatus(t *testing.T) {
	var logged []string
	var mu sync.Mutex
	logf := func(format string, args ...any) {
		mu.Lock()
		logged = append(logged, format)
		mu.Unlock()
	}
	eng := newEngine(t)
	p := New(eng, Options{Input: &panicking{name: "bad"}, Logf: logf})
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "bad source stopped: decoder bug") {
		t.Fatalf("Run: %v", err)
	}
	st := eng.Snapshot(engine.SnapshotOptions{}).Source
	if !st.Stopped() || !strings.Contains(st.Err, "decoder bug") || st.Hint == "" {
		t.Errorf("status after the panic: %+v", st)
	}
	if len(logged) != 1 {
		t.Errorf("logged %d reports, want 1 (with the stack)", len(logged))
	}

	eng = newEngine(t)
	p = New(eng, Options{Input: &Files{Names: []string{httpAuth}}, Beside: []Source{&panicking{name: "sampler"}}, Logf: logf})
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("the input failed with the source beside it: %v", err)
	}
	if eng.Counters().Pkts != frames(t, httpAuth) {
		t.Error("the input did not finish after the source beside it panicked")
	}
	if s := p.Status("sampler"); s.State != "error" || !strings.Contains(s.Err, "decoder bug") {
		t.Errorf("the panicked source's status: %+v", s)
	}
	if s := eng.Snapshot(engine.SnapshotOptions{}).Source; s.State != "finished" {
		t.Errorf("a source beside the input changed the engine's status: %+v", s)
	}
	var states []string
	for _, s := range p.Statuses() {
		states = append(states, s.Name+"="+s.State)
	}
	if got := strings.Join(states, " "); got != httpAuth+"=finished sampler=error" {
		t.Errorf("Statuses: %s", got)
	}
}

// TestExclusiveNeedsOneInput: Exclusive holds the engine's lock across
// frames, so nothing may run beside it.
func TestExclusiveNeedsOneInput(t *testing.T) {
	p := New(newEngine(t), Options{Input: &Demo{PPS: 10}, Exclusive: true})
	if err := p.Run(context.Background()); !errors.Is(err, errExclusive) {
		t.Errorf("Exclusive with a wall-clock input: %v", err)
	}
}

// TestDemoAndSystem runs the demo generator with the real system sampler
// beside it until the first host sample and a few frames arrived: both
// reach the engine, and the host hook sees the sample.
func TestDemoAndSystem(t *testing.T) {
	eng := newEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hosts int
	p := New(eng, Options{
		Input:  &Demo{PPS: 2000, AttackEvery: 500, Clients: 5, Seed: 1},
		Beside: []Source{&System{Sampler: system.New(), Interval: time.Second}},
		Host:   func(*hoststat.Snapshot) { hosts++ },
	})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap := eng.Snapshot(engine.SnapshotOptions{})
		if snap.Host.Latest != nil && eng.Counters().Pkts > 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no host sample or frames: %d frames, status %+v", eng.Counters().Pkts, snap.Source)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := eng.Snapshot(engine.SnapshotOptions{}).Source; st.Kind != "demo" || st.State != "running" {
		t.Errorf("demo status %+v", st)
	}
	if s := p.Status("system"); s.Kind != "system" {
		t.Errorf("system status %+v", s)
	}
	if hosts == 0 {
		t.Error("the Host hook saw no sample")
	}
}

// TestStatsRecord: the typed stats record is written with the same keys as
// the map it replaced, Suricata's under stats and the rest under
// opsdeck.stats, and counts what was read.
func TestStatsRecord(t *testing.T) {
	eng := newEngine(t)
	p := New(eng, Options{Input: &Files{Names: []string{synScan}}})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	eng.Finish()
	var buf strings.Builder
	w := eve.NewWriter(&buf)
	st := p.Stats(&OutputStats{LostRecords: 1})
	if err := st.Write(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	var keys []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok || strings.HasSuffix(prefix, ".tables") {
			keys = append(keys, prefix)
			return
		}
		for k, sub := range m {
			walk(prefix+"."+k, sub)
		}
	}
	walk("stats", rec["stats"])
	walk("opsdeck", rec["opsdeck"])
	sort.Strings(keys)
	want := []string{
		"opsdeck.stats.app_layer.events", "opsdeck.stats.app_layer.tx_cap",
		"opsdeck.stats.capture.filtered_out", "opsdeck.stats.capture.packets_read",
		"opsdeck.stats.decoder.fragments", "opsdeck.stats.detect.tables",
		"opsdeck.stats.faults.detect", "opsdeck.stats.faults.engine", "opsdeck.stats.faults.parser",
		"opsdeck.stats.flow.ended", "opsdeck.stats.flow.evicted", "opsdeck.stats.flow.max_active",
		"opsdeck.stats.output.held_bytes", "opsdeck.stats.output.lost_bytes", "opsdeck.stats.output.lost_records",
		"opsdeck.stats.tcp.reassembly_memcap", "opsdeck.stats.tcp.reassembly_memuse_max",
		"stats.decoder.arp", "stats.decoder.bytes", "stats.decoder.icmpv4", "stats.decoder.icmpv6",
		"stats.decoder.invalid", "stats.decoder.ipv4", "stats.decoder.ipv6", "stats.decoder.pkts",
		"stats.decoder.tcp", "stats.decoder.udp", "stats.decoder.vlan",
		"stats.detect.alert", "stats.detect.alerts_suppressed",
		"stats.flow.active", "stats.flow.emerg_mode_entered", "stats.flow.emerg_mode_over", "stats.flow.total",
		"stats.tcp.reassembly_gap", "stats.tcp.reassembly_memuse", "stats.tcp.segment_memcap_drop",
		"stats.uptime",
	}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("stats keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	n := frames(t, synScan)
	if st.Opsdeck.Capture.PacketsRead != n || st.Suricata.Decoder.Pkts != n || st.Suricata.Detect.Alert == 0 {
		t.Errorf("stats: read %d, pkts %d, alerts %d (want %d frames and an alert)",
			st.Opsdeck.Capture.PacketsRead, st.Suricata.Decoder.Pkts, st.Suricata.Detect.Alert, n)
	}
	if !st.Time.Equal(eng.Now()) {
		t.Errorf("a file's stats record is stamped %v, not its last packet's time %v", st.Time, eng.Now())
	}
}

// TestReplayClock: a replayed file keeps its own time. With Settle and
// Linger (the console) the clock moves one second past the last packet
// when the file ends, and the wall-clock tick never moves it further.
func TestReplayClock(t *testing.T) {
	src, err := capture.OpenFile(httpAuth)
	if err != nil {
		t.Skipf("corpus capture missing: %v", err)
	}
	var last time.Time
	for {
		fr, err := src.Next()
		if err != nil {
			break
		}
		last = fr.TS
	}
	src.Close()
	eng := newEngine(t)
	ticks := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	p := New(eng, Options{Input: &Files{Names: []string{httpAuth}}, Settle: true, Linger: true,
		Tick: func(time.Time) {
			select {
			case ticks <- struct{}{}:
			default:
			}
		}})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-ticks
	<-ticks
	if s := eng.Snapshot(engine.SnapshotOptions{}).Source; s.State != "finished" {
		t.Errorf("status after two ticks: %+v", s)
	}
	if got, want := eng.Now(), last.Add(time.Second); !got.Equal(want) {
		t.Errorf("engine time %v, want the last packet's %v plus one second", got, last)
	}
	select {
	case err := <-done:
		t.Fatalf("Run ended without Linger's context ending: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFramesBatchAsFrame: a run of frames handed at once (Frames, as live
// capture hands its batches) is filtered, counted and analysed exactly as
// the same frames handed one by one (Frame), and leaves the engine's lock
// free for readers.
func TestFramesBatchAsFrame(t *testing.T) {
	src, err := capture.OpenFile(httpAuth)
	if err != nil {
		t.Skipf("corpus capture missing: %v", err)
	}
	var frs []capture.Frame
	for {
		fr, err := src.Next()
		if err != nil {
			break
		}
		fr.Data = append([]byte(nil), fr.Data...)
		frs = append(frs, fr)
	}
	src.Close()
	for _, count := range []uint64{0, 9} {
		type result struct {
			seen       []uint64
			read, pkts uint64
			stopped    bool
		}
		run := func(batch int) result {
			flt, err := NewFilter("tcp and src port 80")
			if err != nil {
				t.Fatal(err)
			}
			var r result
			eng := newEngine(t)
			p := New(eng, Options{Filter: flt, Count: count, Frame: func(fr *capture.Frame) { r.seen = append(r.seen, fr.Index) }})
			p.stopIn = func() { r.stopped = true }
			sk := &sink{p: p, input: true}
			for i := 0; i < len(frs); i += max(batch, 1) {
				var more bool
				if batch == 0 {
					more = sk.Frame(&frs[i])
				} else {
					more = sk.Frames(frs[i:min(i+batch, len(frs))])
				}
				if !more {
					break
				}
			}
			eng.Snapshot(engine.SnapshotOptions{}) // the lock is free
			r.read, r.pkts = p.Read(), eng.Counters().Pkts
			return r
		}
		want := run(0)
		if want.pkts == 0 || want.pkts == uint64(len(frs)) {
			t.Fatalf("count %d: the filter passed %d of %d frames", count, want.pkts, len(frs))
		}
		for _, batch := range []int{1, 7, len(frs)} {
			if got := run(batch); !slices.Equal(got.seen, want.seen) || got.read != want.read || got.pkts != want.pkts || got.stopped != want.stopped {
				t.Errorf("count %d, batches of %d: %+v; one by one: %+v", count, batch, got, want)
			}
		}
	}
}
