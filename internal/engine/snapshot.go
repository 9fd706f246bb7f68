package engine

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// ring is a bounded FIFO that overwrites its oldest entry.
type ring[T any] struct {
	buf   []T
	next  int
	full  bool
	total uint64
}

func newRing[T any](n int) *ring[T] { return &ring[T]{buf: make([]T, n)} }

func (r *ring[T]) push(v T) {
	r.buf[r.next] = v
	r.next++
	r.total++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// last returns up to n newest entries, oldest first.
func (r *ring[T]) last(n int) []T {
	size := r.next
	if r.full {
		size = len(r.buf)
	}
	n = min(n, size)
	out := make([]T, 0, n)
	start := r.next - n
	if start < 0 {
		start += len(r.buf)
	}
	for i := 0; i < n; i++ {
		out = append(out, r.buf[(start+i)%len(r.buf)])
	}
	return out
}

// series keeps per-second packet and byte counts of the capture.
type series struct {
	pkts, bytes []float64 // completed seconds, oldest first
	curP, curB  float64
}

func newSeries(n int) series {
	return series{pkts: make([]float64, 0, n), bytes: make([]float64, 0, n)}
}

func (s *series) add(n int) {
	s.curP++
	s.curB += float64(n)
}

func (s *series) roll() {
	if len(s.pkts) == cap(s.pkts) {
		copy(s.pkts, s.pkts[1:])
		copy(s.bytes, s.bytes[1:])
		s.pkts, s.bytes = s.pkts[:len(s.pkts)-1], s.bytes[:len(s.bytes)-1]
	}
	s.pkts = append(s.pkts, s.curP)
	s.bytes = append(s.bytes, s.curB)
	s.curP, s.curB = 0, 0
}

// Event is one entry of the protocol log: what the console shows of a
// protocol event (a DNS name, a TLS SNI, an HTTP request, a login), copied
// as values when the event is published, since the event and what it
// points to may be recycled (proto.Pool) once the record stream moves on.
// The engine keeps typed facts; the console makes the line (tui.EventLine).
// Text is raw, as the packet had it (the console cleans it), and a secret
// is as sent: the console masks it unless told to show it.
type Event struct {
	TS     time.Time
	Kind   string // the event type: "dns", "tls", "quic", "http", "ftp", "rdp", "credential", a registered parser's
	Client netip.AddrPort
	Server netip.AddrPort
	FlowID uint64
	// One of these is set, as in proto.Event, holding only what the line
	// needs: the DNS message's type, rcode, first question and first
	// EventAnswers answers' rdata; TLS's SNI, version and subject; QUIC's
	// version, SNI, the client's ALPN and, for a server hello, JA3S;
	// HTTP's method, host, URL, status and user agent; FTP's command, its
	// argument (PASS's is a secret: proto.FTP.ShownData) and the first
	// completion code; the RDP transaction for its Summary; the credential.
	DNS  *proto.DNS
	TLS  *proto.TLS
	QUIC *proto.QUIC
	HTTP *proto.HTTP
	FTP  *proto.FTP
	RDP  *proto.RDP
	Cred *proto.Credential
	// Line is a registered parser's event's summary and detail
	// (proto.Record.Line), taken when it is published: the record is the
	// parser's, and those two strings are what it gives the console.
	Line *RecordLine
}

// RecordLine is a registered parser's summary and detail of an event.
type RecordLine struct{ Summary, Detail string }

// EventAnswers is how many answers of a DNS response the protocol log
// keeps: the console shows three and marks that there were more.
const EventAnswers = 4

// newEvent copies what the protocol log shows of ev, of flow f (or nil).
func newEvent(ev *proto.Event, f *flow.Flow) Event {
	e := Event{TS: ev.TS, Kind: ev.Type}
	if f != nil {
		e.Client = netip.AddrPortFrom(f.Client, f.CPort)
		e.Server = netip.AddrPortFrom(f.Server, f.SPort)
		e.FlowID = f.ID
	}
	switch {
	case ev.DNS != nil:
		d := ev.DNS
		c := &proto.DNS{Type: d.Type, RCode: d.RCode}
		if len(d.Queries) > 0 {
			c.Queries = []proto.DNSQuery{{RRName: d.Queries[0].RRName, RRType: d.Queries[0].RRType}}
		}
		if n := min(len(d.Answers), EventAnswers); n > 0 {
			c.Answers = make([]proto.DNSAnswer, n)
			for i := range n {
				c.Answers[i] = proto.DNSAnswer{RData: d.Answers[i].RData}
			}
		}
		e.DNS = c
	case ev.TLS != nil:
		e.TLS = &proto.TLS{SNI: ev.TLS.SNI, Version: ev.TLS.Version, Subject: ev.TLS.Subject}
	case ev.QUIC != nil:
		q := ev.QUIC
		c := &proto.QUIC{Version: q.Version, SNI: q.SNI, ALPN: slices.Clone(q.ALPN)}
		if q.JA3S != nil {
			ja := *q.JA3S
			c.JA3S = &ja
		}
		e.QUIC = c
	case ev.HTTP != nil:
		h := ev.HTTP
		e.HTTP = &proto.HTTP{Method: h.Method, Hostname: h.Hostname, URL: h.URL, Status: h.Status, UserAgent: h.UserAgent}
	case ev.FTP != nil:
		c := &proto.FTP{Command: ev.FTP.Command, CommandData: ev.FTP.CommandData}
		if len(ev.FTP.CompletionCode) > 0 {
			c.CompletionCode = []string{ev.FTP.CompletionCode[0]}
		}
		e.FTP = c
	case ev.RDP != nil:
		r := *ev.RDP
		if r.Client != nil {
			cl := *r.Client
			r.Client = &cl
		}
		r.Channels, r.X509Serials = slices.Clone(r.Channels), slices.Clone(r.X509Serials)
		r.Flags, r.ServerSupports = nil, nil // not in its summary
		e.RDP = &r
	case ev.Cred != nil:
		c := *ev.Cred
		e.Cred = &c
	case ev.Body != nil:
		l := &RecordLine{}
		l.Summary, l.Detail = ev.Body.Line()
		e.Line = l
	}
	return e
}

// SourceStatus says what feeds the engine and how it is doing.
type SourceStatus struct {
	Name          string // interface list, file name, "demo"
	Kind          string // "live", "file", "demo", "none"
	State         string // "starting", "running", "finished", "error", "unavailable"
	Err           string // why capture is not running (raw; console cleans)
	Hint          string // how to fix it
	KernelPackets uint64
	KernelDrops   uint64
	Privilege     string // "root", "cap_net_raw", "dropped to USER", "none"
}

// Stopped reports a packet source that failed while running; one that
// could not start for lack of privilege ("unavailable") is not one.
func (s SourceStatus) Stopped() bool {
	return s.State == "error" || (s.State == "finished" && s.Err != "")
}

// SourceFailed marks the source stopped for a reason outside it: the
// goroutine feeding the engine died.
func (e *Engine) SourceFailed(why string) {
	e.mu.Lock()
	e.source.State, e.source.Err, e.source.Hint = "error", why, "restart opsdeck; the error is on stderr"
	e.mu.Unlock()
}

// SetSource updates the capture source's status.
func (e *Engine) SetSource(s SourceStatus) {
	e.mu.Lock()
	e.source = s
	e.mu.Unlock()
}

// FlowView is a copy of a flow for the console.
type FlowView struct {
	ID                           uint64
	Client, Server               netip.AddrPort
	Proto                        string
	AppProto                     string
	PktsToServer, PktsToClient   uint64
	BytesToServer, BytesToClient uint64
	First, Last                  time.Time
	State                        string
	PID                          int32
	Process                      string
	CommunityID                  string
	Alerted                      bool
}

// ProtoShare is one application protocol's share of the flows in the table.
type ProtoShare struct {
	Name  string
	Flows int
	Bytes uint64
}

// Snapshot is an immutable picture of the engine for the console. Nothing in
// it is shared with the engine after Snapshot returns.
type Snapshot struct {
	Now      time.Time // packet time (replay) or the newest packet's time
	Started  time.Time
	Source   SourceStatus
	Counters Counters
	Flows    flow.Stats
	// PPS and BPS are per-second histories of the capture, oldest first.
	PPS, BPS []float64
	TopFlows []FlowView
	Talkers  []flow.Talker
	Protos   []ProtoShare
	Alerts   []*detect.Alert // newest last; the alerts themselves never change
	// AlertsBySeverity counts every alert raised, index = severity (1..3).
	AlertsBySeverity [4]uint64
	Events           []Event // the protocol log, newest last
	Host             HostState
	Detectors        map[string]uint64
	// Processes is per-process network use (live capture with attribution).
	Processes []attrib.ProcNet
	// Reassembly is the stream budget: bytes held, and directions given
	// up at the memcap or a gap.
	Reassembly proto.BudgetStats
	// LastFault is the latest contained panic, or nil (Counters.Faults
	// counts them).
	LastFault *Fault
	// Names gives, for the addresses of TopFlows, Talkers and Alerts, the
	// name a DNS answer on the wire gave them (none is ever looked up).
	Names map[netip.Addr]string
	// OtherNames are the earlier names of those addresses, newest first
	// (one address answers for several names: a CDN, a shared host).
	OtherNames map[netip.Addr][]string
	// FlowRecords, when SnapshotOptions.FlowRecords asks for them, are
	// every flow of the table, largest first, copied as values for an
	// incident bundle, whose flows.json the EVE writer's flow encoder
	// writes from them: the bundle keeps no flow shape of its own. App (the
	// parsers' state, recycled) is cleared; the table's own links a copy
	// holds are never followed outside internal/flow.
	FlowRecords []flow.Flow
}

// SnapshotOptions bounds what a snapshot copies.
type SnapshotOptions struct {
	Flows, Talkers, Alerts, Events int
	// FlowRecords copies every flow of the table (Snapshot.FlowRecords).
	FlowRecords bool
}

// Snapshot copies the state the console shows.
func (e *Engine) Snapshot(o SnapshotOptions) *Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &Snapshot{Now: e.now, Started: e.first, Source: e.source, Counters: e.counters, Flows: e.flows.Stats()}
	s.PPS = slices.Clone(e.series.pkts)
	s.BPS = slices.Clone(e.series.bytes)
	s.Alerts = e.recent.alerts.last(o.Alerts)
	s.AlertsBySeverity = e.recent.bySev
	s.Events = e.recent.events.last(o.Events)
	e.flowAggregates(s, o)
	s.Host = e.recent.host.clone()
	if e.det != nil {
		s.Detectors = e.det.Stats()
	}
	if e.attr != nil {
		s.Processes = e.attr.TopProcesses(o.Flows)
	}
	s.Names = e.snapshotNames(s)
	s.OtherNames = e.snapshotOtherNames(s.Names)
	s.Reassembly = e.budget.Stats()
	if o.FlowRecords {
		s.FlowRecords = e.flowRecords()
	}
	if e.lastFault != nil {
		lf := *e.lastFault
		s.LastFault = &lf
	}
	return s
}

// snapshotOtherNames copies the earlier names of the named addresses.
func (e *Engine) snapshotOtherNames(named map[netip.Addr]string) map[netip.Addr][]string {
	var out map[netip.Addr][]string
	for a := range named {
		if o := e.recent.names.others(a); len(o) > 0 {
			if out == nil {
				out = map[netip.Addr][]string{}
			}
			out[a] = slices.Clone(o)
		}
	}
	return out
}

// snapshotNames copies the names of the addresses s shows.
func (e *Engine) snapshotNames(s *Snapshot) map[netip.Addr]string {
	if len(e.recent.names.m) == 0 {
		return nil
	}
	out := map[netip.Addr]string{}
	add := func(a netip.Addr) {
		if n := e.recent.names.of(a); n != "" {
			out[a] = n
		}
	}
	for i := range s.TopFlows {
		add(s.TopFlows[i].Client.Addr())
		add(s.TopFlows[i].Server.Addr())
	}
	for i := range s.Talkers {
		add(s.Talkers[i].Addr)
	}
	for _, a := range s.Alerts {
		add(a.Src)
		add(a.Dst)
	}
	return out
}

// snapAggregates are the parts of a snapshot derived from every flow, kept
// with the flowGen and options they were made for.
type snapAggregates struct {
	valid          bool
	gen            uint64
	flows, talkers int
	top            []FlowView
	talkersV       []flow.Talker
	protos         []ProtoShare
	walks          uint64 // how many times the table was walked (tests)
}

// flowAggregates fills the snapshot's top flows, talkers and protocol
// shares: walked from the flow table when it changed since the last
// snapshot, else copied from that one.
func (e *Engine) flowAggregates(s *Snapshot, o SnapshotOptions) {
	c := &e.snapAgg
	if !c.valid || c.gen != e.flowGen || c.flows != o.Flows || c.talkers != o.Talkers {
		e.walkAggregates(s, o)
		*c = snapAggregates{valid: true, gen: e.flowGen, flows: o.Flows, talkers: o.Talkers,
			top: s.TopFlows, talkersV: s.Talkers, protos: s.Protos, walks: c.walks + 1}
	}
	s.TopFlows, s.Talkers, s.Protos = slices.Clone(c.top), slices.Clone(c.talkersV), slices.Clone(c.protos)
}

func (e *Engine) walkAggregates(s *Snapshot, o SnapshotOptions) {
	s.Talkers = e.flows.TopTalkers(o.Talkers, false)
	protos := map[string]*ProtoShare{}
	var all []*flow.Flow
	e.flows.Each(func(f *flow.Flow) bool {
		if o.Flows > 0 {
			all = append(all, f) // a bundle asks for none: no copy, no sort
		}
		name := f.AppProto
		if name == "" {
			name = packet.ProtoName(f.Proto)
		}
		p := protos[name]
		if p == nil {
			p = &ProtoShare{Name: name}
			protos[name] = p
		}
		p.Flows++
		p.Bytes += f.Bytes()
		return true
	})
	slices.SortFunc(all, func(a, b *flow.Flow) int { return cmp.Compare(b.Bytes(), a.Bytes()) })
	for i, f := range all {
		if i == o.Flows {
			break
		}
		s.TopFlows = append(s.TopFlows, FlowView{ID: f.ID, Client: netip.AddrPortFrom(f.Client, f.CPort), Server: netip.AddrPortFrom(f.Server, f.SPort),
			Proto: packet.ProtoName(f.Proto), AppProto: f.AppProto, PktsToServer: f.PktsToServer, PktsToClient: f.PktsToClient,
			BytesToServer: f.BytesToServer, BytesToClient: f.BytesToClient, First: f.First(), Last: f.Last(), State: f.State.String(),
			PID: f.PID(), Process: f.Process(), CommunityID: f.CommunityID(), Alerted: f.Alerted})
	}
	for _, p := range protos {
		s.Protos = append(s.Protos, *p)
	}
	slices.SortFunc(s.Protos, func(a, b ProtoShare) int { return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Name, b.Name)) })
}

// flowRecords copies every flow of the table, largest first (then by id,
// so that a bundle's flows.json is in a stable order).
func (e *Engine) flowRecords() []flow.Flow {
	out := make([]flow.Flow, 0, e.flows.Len())
	e.flows.Each(func(f *flow.Flow) bool {
		out = append(out, *f)
		c := &out[len(out)-1]
		c.App = nil // the parsers' state: the engine's, recycled
		if c.Owner != nil {
			o := *c.Owner // the table's, changed by attribution and recycled
			c.Owner = &o
		}
		return true
	})
	slices.SortFunc(out, func(a, b flow.Flow) int { return cmp.Or(cmp.Compare(b.Bytes(), a.Bytes()), cmp.Compare(a.ID, b.ID)) })
	return out
}
