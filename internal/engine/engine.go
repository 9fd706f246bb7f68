// Package engine wires the packet pipeline: decode -> flow -> protocol
// extractors -> detectors, and publishes what it learns as one record
// stream (internal/record: alerts and their updates, protocol events, flow
// ends, host samples) to its subscribers: the EVE writer, metrics, watch's
// bundles, and its own bounded state the console's snapshots copy. It uses
// packet timestamps, never the wall clock, so a replayed capture behaves
// like the live traffic it recorded.
package engine

import (
	"net/netip"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
	"github.com/opsdeck/opsdeck/internal/record"
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
		Detection: true, Extraction: true,
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
	// recent is the engine's own subscriber (the console's state); subs
	// are the others, in the order they subscribed.
	recent *recent
	subs   []record.Subscriber

	counters Counters
	first    time.Time
	now      time.Time // packet time of the newest packet
	nextTick time.Time

	series series
	hooks  Hooks
	emitFn func(*proto.Event)
	// states recycles per-flow parser state; events are therefore used
	// only while protoEvent runs (their strings may be kept).
	states    proto.Pool
	alertF    *flow.Flow // the flow the current detector callback concerns
	alertFn   func(*detect.Alert)
	source    SourceStatus
	attr      *attrib.Table
	hostRules *ops.Rules
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

// Hooks let other parts see what passes through the engine besides its
// records (Subscribe): frames and faults. They run on the packet goroutine
// and must be quick.
type Hooks struct {
	// Frame sees every frame after decoding (evidence ring buffer).
	Frame func(link uint16, data []byte, s *packet.Summary)
	// Fault sees the first contained panic of each stage (the rest are
	// only counted): the place to log it.
	Fault func(Fault)
}

// New builds an engine publishing its records to subs (nil ones are
// skipped), after its own state; more may Subscribe later.
func New(cfg Config, subs ...record.Subscriber) *Engine {
	if cfg.RecentAlerts <= 0 {
		cfg.RecentAlerts = 2000
	}
	if cfg.RecentEvents <= 0 {
		cfg.RecentEvents = 1000
	}
	if cfg.SeriesLen <= 0 {
		cfg.SeriesLen = 300
	}
	e := &Engine{cfg: cfg, dec: packet.NewDecoder(), recent: newRecent(cfg)}
	for _, s := range subs {
		e.Subscribe(s)
	}
	e.budget.Limit = cfg.Proto.Memcap
	e.cfg.Proto.Budget = &e.budget
	e.series = newSeries(cfg.SeriesLen)
	e.flows = flow.NewTable(cfg.Flow, e.flowEnded)
	if cfg.Detection {
		e.det = detect.New(cfg.Detect)
	}
	e.emitFn = e.protoEvent
	e.alertFn = e.alert
	return e
}

// Subscribe adds s to the subscribers of the record stream: from then on
// it receives every record after those subscribed before it (watch
// subscribes its EVE writer once its output is open and root dropped).
// A nil s is ignored.
func (e *Engine) Subscribe(s record.Subscriber) {
	if s == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.subs = append(e.subs, s)
}

// publish hands r to the engine's own state, then to each subscriber in
// order. r is passed by value and nothing is allocated: this runs for
// every event, alert and flow end.
func (e *Engine) publish(r record.Record) {
	e.recent.Record(r)
	for _, s := range e.subs {
		s.Record(r)
	}
}

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
		if st == nil && len(s.Payload) > 0 && s.Proto == packet.ProtoUDP {
			// A UDP flow gets parser state only once a datagram shows its
			// protocol; until then it keeps the count of datagrams probed.
			st = e.probeUDP(f, toServer, s)
		} else if st == nil && len(s.Payload) > 0 {
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
		} else if st != nil {
			if v, ok := st.ParkDNS(); ok {
				// A UDP DNS flow keeps only its message count between
				// datagrams, not a State.
				f.App = v
				e.states.Put(st)
			}
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

// probeUDP probes a datagram of UDP flow f, which has no parser state: the
// State made when the datagram shows a protocol, or nil. A panic is the
// parser's fault, as in parse.
func (e *Engine) probeUDP(f *flow.Flow, toServer bool, s *packet.Summary) (st *proto.State) {
	defer func() {
		if r := recover(); r != nil {
			e.fault(StageParser, f, r)
			f.App, f.AppDone, st = nil, true, nil
		}
	}()
	if v, ok := f.App.(proto.DNSFlow); ok {
		st = v.Resume(&e.states)
		f.App = st
		return st
	}
	n, _ := f.App.(proto.UDPProbes)
	n, found, givenUp := n.Probe(toServer, s)
	switch {
	case found:
		st = e.states.Get()
		f.App = st
	case givenUp:
		f.App, f.AppDone = nil, true
	default:
		f.App = n
	}
	return st
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
	r := record.Record{Kind: record.ProtoEvent, Time: ev.TS, Event: ev, Flow: f}
	if f != nil {
		r.FlowID = f.ID
	}
	e.publish(r)
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
// the configured seed) are the alert's, set here once, before the alert is
// published, for every subscriber: EVE, the console, metrics and bundles.
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
	var buf [32]byte
	a.Community = string(f.AppendCommunityID(buf[:0], e.cfg.CommunityIDSeed))
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
		if a.PID == 0 && f.PID() > 0 {
			a.PID, a.Process = f.PID(), f.Process()
		}
	}
	e.counters.Alerts++
	a.Severity = a.Sev()
	// Published once complete, and never changed after: an update is a new
	// Alert (detect's suppressor, reissueAlerts).
	e.publish(record.Record{Kind: record.AlertKind(a), Time: a.TS, FlowID: a.FlowID, Alert: a, Flow: f})
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
	e.publishFlowEnd(f, reason)
	e.alertF = nil
}

// publishFlowEnd publishes the end of f; a subscriber's panic there costs
// that record only. f is recycled by the table once this returns.
func (e *Engine) publishFlowEnd(f *flow.Flow, reason flow.EndReason) {
	defer e.recoverFault(StageEngine, f)
	e.publish(record.Record{Kind: record.FlowEnd, End: reason, Time: f.Last(), FlowID: f.ID, Flow: f})
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
