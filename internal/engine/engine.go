// Package engine wires the packet pipeline: decode -> flow -> protocol
// extractors -> detectors, keeps the bounded state the console shows, and
// writes EVE records. It uses packet timestamps, never the wall clock, so a
// replayed capture behaves like the live traffic it recorded.
package engine

import (
	"net/netip"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// Config gathers the engine's parts' settings.
type Config struct {
	Flow   flow.Config
	Proto  proto.Config
	Detect detect.Config
	// Detection turns the detectors on (analyze, watch, console).
	Detection bool
	// Extraction turns protocol extraction on.
	Extraction bool
	// EVE output choices.
	EmitFlows  bool // flow records
	EmitProto  bool // dns, tls, http, ... records
	AlertsOnly bool // only alert records (overrides the two above)
	// RecentAlerts, RecentEvents bound what the console can scroll back to.
	RecentAlerts int
	RecentEvents int
	// Headless skips the state only the console reads (the protocol log),
	// for analyze and watch.
	Headless bool
	// SeriesLen is how many one-second points the rate histories keep.
	SeriesLen int
	// CommunityIDSeed is the Community ID seed alerts carry (the EVE
	// writer's, --community-id-seed).
	CommunityIDSeed uint16
	// Mute, when set, drops alerts it returns true for (the configuration's
	// allow list) before they are counted, written or shown.
	Mute func(rule string, src, dst netip.Addr) bool `json:"-"`
}

// DefaultConfig turns everything on with the documented bounds.
func DefaultConfig() Config {
	return Config{
		Flow: flow.DefaultConfig(), Proto: proto.Config{MaxBytes: 4096}, Detect: detect.DefaultConfig(),
		Detection: true, Extraction: true, EmitFlows: true, EmitProto: true,
		RecentAlerts: 2000, RecentEvents: 1000, SeriesLen: 300,
	}
}

// Counters are the decoder's and pipeline's totals (EVE stats record).
type Counters struct {
	Pkts, Bytes               uint64
	Invalid                   uint64 // frames that failed to decode
	IPv4, IPv6, TCP, UDP, ARP uint64
	ICMPv4, ICMPv6, VLAN      uint64
	Fragments                 uint64
	// Faults are panics contained: in decoding or the flow table (the
	// packet is lost), in a protocol parser (that flow's extraction
	// stops) and in the detectors (that packet's or tick's detection).
	Faults [numStages]uint64
	Alerts uint64
	Muted  uint64 // alerts dropped by the allow list
	Events uint64
}

// Engine is the packet pipeline. HandleFrame runs on the capture goroutine;
// Snapshot may be called from another goroutine at the UI rate.
type Engine struct {
	mu    sync.Mutex
	cfg   Config
	dec   *packet.Decoder
	sum   packet.Summary
	flows *flow.Table
	det   *detect.Detector
	out   *eve.Writer

	counters Counters
	first    time.Time
	now      time.Time // packet time of the newest packet
	nextTick time.Time

	alerts *ring[*detect.Alert]
	events *ring[EventLine]
	series series
	hooks  Hooks
	emitFn func(*proto.Event)
	// states recycles per-flow parser state; events are therefore used
	// only while protoEvent runs (their strings may be kept).
	states    proto.Pool
	alertF    *flow.Flow // the flow the current detector callback concerns
	alertFn   func(*detect.Alert)
	source    SourceStatus
	bySev     [4]uint64
	host      *HostState
	attr      *attrib.Table
	hostRules *ops.Rules
	names     names // console only: addresses named by DNS answers seen
	budget    proto.Budget
	owners    pendingOwners // flows whose owner is to be looked up again
	owned     ownedFlows    // flows with an owning process, for accounting
	// flowGen counts changes to what a snapshot derives from the flow
	// table (a packet, flows ending, an owner or an alert found), so an
	// idle console reuses the last top flows, talkers and protocol shares
	// instead of walking and sorting a table a flood filled.
	flowGen   uint64
	snapAgg   snapAggregates
	lastFault *Fault
}

// Hooks let other parts see what passes through the engine. They run on the
// packet goroutine and must be quick.
type Hooks struct {
	// Frame sees every frame after decoding (evidence ring buffer).
	Frame func(link uint16, data []byte, s *packet.Summary)
	// Alert sees every alert after it is recorded.
	Alert func(a *detect.Alert, f *flow.Flow)
	// Fault sees the first contained panic of each stage (the rest are
	// only counted): the place to log it.
	Fault func(Fault)
}

// New builds an engine. out may be nil (console only).
func New(cfg Config, out *eve.Writer) *Engine {
	if cfg.RecentAlerts <= 0 {
		cfg.RecentAlerts = 2000
	}
	if cfg.RecentEvents <= 0 {
		cfg.RecentEvents = 1000
	}
	if cfg.SeriesLen <= 0 {
		cfg.SeriesLen = 300
	}
	e := &Engine{cfg: cfg, dec: packet.NewDecoder(), out: out,
		alerts: newRing[*detect.Alert](cfg.RecentAlerts), events: newRing[EventLine](cfg.RecentEvents)}
	e.budget.Limit = cfg.Proto.Memcap
	e.cfg.Proto.Budget = &e.budget
	e.series = newSeries(cfg.SeriesLen)
	e.flows = flow.NewTable(cfg.Flow, e.flowEnded)
	if cfg.Detection {
		e.det = detect.New(cfg.Detect)
	}
	e.emitFn = e.protoEvent
	e.alertFn = e.alert
	e.host = newHostState()
	return e
}

// SetOutput sets the EVE writer; call before the first frame (watch opens
// its output only after capture is open and root is dropped).
func (e *Engine) SetOutput(w *eve.Writer) { e.out = w }

// SetHooks installs hooks; call before the first frame.
func (e *Engine) SetHooks(h Hooks) { e.hooks = h }

// Flows exposes the flow table's configuration and counters.
func (e *Engine) FlowStats() flow.Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.flows.Stats()
}

// Counters returns the pipeline totals.
func (e *Engine) Counters() Counters {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counters
}

// Now is the packet time of the newest packet.
func (e *Engine) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

// HandleFrame runs one frame through the pipeline.
func (e *Engine) HandleFrame(link uint16, data []byte, ts time.Time, wireLen int, index uint64) {
	e.mu.Lock()
	defer e.mu.Unlock() // deferred: a panic in a frame must not leave it locked
	e.handle(link, data, ts, wireLen, index)
}

// Lock and Unlock let a caller that is the engine's only user for a while
// (analyze, for a whole file) take the lock once and feed frames with
// HandleFrameLocked, instead of paying for the lock on every packet.
func (e *Engine) Lock()   { e.mu.Lock() }
func (e *Engine) Unlock() { e.mu.Unlock() }

// HandleFrameLocked is HandleFrame for a caller that holds the lock.
func (e *Engine) HandleFrameLocked(link uint16, data []byte, ts time.Time, wireLen int, index uint64) {
	e.handle(link, data, ts, wireLen, index)
}

func (e *Engine) handle(link uint16, data []byte, ts time.Time, wireLen int, index uint64) {
	// Decoding and the flow table: a panic there loses this packet only.
	defer e.recoverFault(StageEngine, nil)
	s := &e.sum
	e.flowGen++
	err := e.dec.Decode(link, data, ts, wireLen, s)
	s.Index = index
	c := &e.counters
	c.Pkts++
	c.Bytes += uint64(len(data))
	if err != nil && s.IPVersion == 0 && !s.IsARP {
		c.Invalid++
	}
	if e.first.IsZero() {
		e.first = ts
		e.nextTick = ts.Truncate(time.Second).Add(time.Second)
	}
	if ts.After(e.now) {
		e.now = ts
	}
	if !e.now.Before(e.nextTick) {
		e.tick()
	}
	switch s.IPVersion {
	case 4:
		c.IPv4++
	case 6:
		c.IPv6++
	}
	if s.IsARP {
		c.ARP++
	}
	if s.VLANCount > 0 {
		c.VLAN++
	}
	if s.Fragment {
		c.Fragments++
	}
	switch s.Proto {
	case packet.ProtoTCP:
		c.TCP++
	case packet.ProtoUDP:
		c.UDP++
	case packet.ProtoICMP:
		c.ICMPv4++
	case packet.ProtoICMPv6:
		c.ICMPv6++
	}
	e.series.add(s.CapLen)
	if e.hooks.Frame != nil {
		e.hooks.Frame(link, data, s)
	}
	// A tunnel's carrier (VXLAN's or GENEVE's UDP datagram, IP in IP's
	// outer header) is a flow of its own beside the inner packet's, as in
	// Suricata: counted, never parsed.
	for i := range e.dec.Carriers() {
		e.flows.Update(&e.dec.Carriers()[i])
	}
	f, toServer, created := e.flows.Update(s)
	if f != nil && e.attr != nil {
		e.attribute(f)
	}
	if f != nil && !f.AppDone && e.cfg.Extraction && s.HasL4 && (s.Proto == packet.ProtoTCP || s.Proto == packet.ProtoUDP) {
		st, _ := f.App.(*proto.State)
		if st == nil && len(s.Payload) > 0 {
			// Parser state is made at the first payload, not the SYN, so
			// a flood of bare SYNs costs no parser memory; the flow table
			// kept where each direction's stream starts.
			st = e.states.Get()
			f.App = st
			for d := 0; d < 2; d++ {
				if f.SynSeen&(1<<d) != 0 {
					st.Sync(d == 0, f.NextSeq[d])
				}
			}
		}
		if st != nil {
			e.alertF = f
			if !e.parse(st, f, toServer, s) {
				st = nil
			} else if p := st.AppProto(); p != "" && p != f.AppProto {
				// Set at detection, changed by an upgrade (STARTTLS: tls).
				f.AppProto = p
			}
		}
		if st != nil && st.Done() {
			// Flush what the parser still holds, then let it go: a long
			// flow keeps no parser memory.
			st.Close(&e.cfg.Proto, e.emitFn)
			f.App, f.AppDone = nil, true
			e.states.Put(st)
		}
	}
	if e.det != nil {
		e.alertF = f
		e.detectPacket(s, f, toServer, created)
	}
}

// parse runs st over one packet of f. When the parser panics, the flow's
// extraction stops there (its state is dropped, not recycled: it may be
// inconsistent) and the fault is counted; the packet still reaches the
// detectors.
func (e *Engine) parse(st *proto.State, f *flow.Flow, toServer bool, s *packet.Summary) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			e.fault(StageParser, f, r)
			st.Abandon(&e.cfg.Proto)
			f.App, f.AppDone = nil, true
			ok = false
		}
	}()
	st.Packet(&e.cfg.Proto, toServer, s, e.emitFn)
	return true
}

func (e *Engine) detectPacket(s *packet.Summary, f *flow.Flow, toServer, created bool) {
	defer e.recoverFault(StageDetect, f)
	e.det.Packet(s, f, toServer, created, e.alertFn)
}

// tick runs once per second of packet time: timeouts, detector windows, rates.
func (e *Engine) tick() {
	for !e.now.Before(e.nextTick) {
		e.series.roll()
		e.nextTick = e.nextTick.Add(time.Second)
		// A long silence in a capture: skip ahead instead of rolling one
		// second at a time through it.
		if e.now.Sub(e.nextTick) > time.Duration(len(e.series.pkts))*time.Second {
			e.nextTick = e.now.Truncate(time.Second).Add(time.Second)
		}
	}
	ended := e.flows.Stats().Ended
	e.flows.Expire(e.now)
	if e.flows.Stats().Ended != ended {
		e.flowGen++
	}
	if e.det != nil {
		e.alertF = nil
		e.detectTick()
	}
}

func (e *Engine) detectTick() {
	defer e.recoverFault(StageDetect, nil)
	e.det.Tick(e.now, e.alertFn)
}

func (e *Engine) protoEvent(ev *proto.Event) {
	f := e.alertF
	e.counters.Events++
	if !e.cfg.Headless {
		e.events.push(eventLine(ev, f))
		if ev.DNS != nil && f != nil {
			e.names.observe(f.ID, ev.DNS)
		}
	}
	if e.out != nil && e.cfg.EmitProto && !e.cfg.AlertsOnly {
		e.out.Proto(ev, f)
	}
	if e.det != nil {
		e.detectEvent(ev, f)
	}
}

// detectEvent is guarded on its own, so that a detector's panic over an
// event is not taken for the parser's.
func (e *Engine) detectEvent(ev *proto.Event, f *flow.Flow) {
	defer e.recoverFault(StageDetect, f)
	e.det.Event(ev, f, e.alertFn)
}

// alertFlow decides which flow an alert concerns: the flow the detector
// was called for, when the detector tied the alert to it or when the
// alert's source is one of its ends. That flow's id and Community ID (with
// the configured seed) are the alert's, set here once for every consumer:
// EVE, the console, metrics and bundles.
func (e *Engine) alertFlow(a *detect.Alert) *flow.Flow {
	f := e.alertF
	switch {
	case f == nil:
		return nil
	case a.FlowID != 0 && a.FlowID != f.ID:
		return nil // tied to another flow by the detector
	case a.FlowID == 0 && a.Src != f.Client && a.Src != f.Server:
		return nil
	}
	a.FlowID = f.ID
	sp, dp := f.CPort, f.SPort
	if f.Proto == packet.ProtoICMP || f.Proto == packet.ProtoICMPv6 {
		sp, dp = uint16(f.ICMPType), uint16(f.ICMPCode)
	}
	if e.cfg.CommunityIDSeed == 0 {
		a.Community = f.CommunityID()
	} else {
		a.Community = flow.CommunityID(e.cfg.CommunityIDSeed, f.Proto, f.Client, f.Server, sp, dp)
	}
	return f
}

func (e *Engine) alert(a *detect.Alert) {
	if e.cfg.Mute != nil && e.cfg.Mute(a.Rule.Name, a.Src, a.Dst) {
		e.counters.Muted++
		return
	}
	f := e.alertFlow(a)
	if f != nil {
		f.Alerted = true
		e.flowGen++
		if a.PID == 0 && f.PID > 0 {
			a.PID, a.Process = f.PID, f.Process
		}
	}
	e.counters.Alerts++
	sev := a.Sev()
	a.Severity = sev
	// The header counts incidents: an update of an alert already raised
	// (a count that grew, a process found) is not another one.
	if sev >= 1 && sev <= 3 && !a.Update {
		e.bySev[sev]++
	}
	e.alerts.push(a)
	if e.out != nil {
		e.out.Alert(a, f)
	}
	if e.hooks.Alert != nil {
		e.hooks.Alert(a, f)
	}
}

func (e *Engine) flowEnded(f *flow.Flow, reason flow.EndReason) {
	if st, ok := f.App.(*proto.State); ok && e.cfg.Extraction {
		e.alertF = f
		if e.closeState(st, f) {
			e.states.Put(st)
		}
		f.App = nil
	}
	if e.det != nil {
		e.alertF = f
		e.detectFlowEnd(f)
	}
	if e.out != nil && e.cfg.EmitFlows && !e.cfg.AlertsOnly {
		e.writeFlow(f, reason)
	}
	e.alertF = nil
}

func (e *Engine) writeFlow(f *flow.Flow, reason flow.EndReason) {
	defer e.recoverFault(StageEngine, f)
	e.out.Flow(f, reason)
}

// closeState flushes a flow's parser; false when it panicked (the state
// is dropped, not recycled).
func (e *Engine) closeState(st *proto.State, f *flow.Flow) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			e.fault(StageParser, f, r)
			st.Abandon(&e.cfg.Proto)
			ok = false
		}
	}()
	st.Close(&e.cfg.Proto, e.emitFn)
	if f.AppProto == "" {
		f.AppProto = st.AppProto()
	}
	return true
}

func (e *Engine) detectFlowEnd(f *flow.Flow) {
	defer e.recoverFault(StageDetect, f)
	e.det.FlowEnd(f, e.alertFn)
}

// Finish ends every flow (end of input) and returns the final counters.
func (e *Engine) Finish() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.det != nil {
		e.alertF = nil
		e.detectTick()
	}
	e.flush()
	if e.det != nil {
		e.alertF = nil
		e.detectFinish()
	}
}

func (e *Engine) detectFinish() {
	defer e.recoverFault(StageDetect, nil)
	e.det.Finish(e.alertFn)
}

func (e *Engine) flush() {
	defer e.recoverFault(StageEngine, nil)
	e.flowGen++
	e.flows.Flush(flow.EndShutdown)
}

// Expire runs timeouts and detector windows at time now; live capture calls
// it when no packet arrives for a while so idle flows still end.
func (e *Engine) Expire(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.recoverFault(StageEngine, nil)
	if now.After(e.now) {
		e.now = now
	}
	if !e.first.IsZero() && !e.now.Before(e.nextTick) {
		e.tick()
	}
}

// Reassembly returns the stream budget's counters.
func (e *Engine) Reassembly() proto.BudgetStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.budget.Stats()
}

// DetectorStats returns the detectors' table sizes and evictions, the ops
// rules' included.
func (e *Engine) DetectorStats() map[string]uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.det == nil {
		return nil
	}
	out := e.det.Stats()
	e.hostRuleStats(out)
	return out
}
