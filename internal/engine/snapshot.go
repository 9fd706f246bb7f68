package engine

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
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

// EventLine is one line of the protocol log: a DNS name, a TLS SNI, an HTTP
// request, a credential (masked). Text fields are raw: the console cleans them.
type EventLine struct {
	TS       time.Time
	Kind     string // "dns", "tls", "quic", "http", "ssh", "ftp", "rdp", "credential"
	Client   netip.AddrPort
	Server   netip.AddrPort
	Summary  string // the headline fact (name, SNI, "GET host/uri", user)
	Detail   string // secondary fact (answers, version, status, outcome)
	FlowID   uint64
	Severity int // 0 plain, 2 for credentials
}

func eventLine(ev *proto.Event, f *flow.Flow) EventLine {
	l := EventLine{TS: ev.TS, Kind: ev.Type}
	if f != nil {
		l.Client = netip.AddrPortFrom(f.Client, f.CPort)
		l.Server = netip.AddrPortFrom(f.Server, f.SPort)
		l.FlowID = f.ID
	}
	switch {
	case ev.DNS != nil:
		d := ev.DNS
		if len(d.Queries) > 0 {
			l.Summary = d.Queries[0].RRName
			l.Detail = d.Queries[0].RRType
		}
		if d.Type == "response" {
			l.Detail += " " + d.RCode
			for i, a := range d.Answers {
				if i == 3 {
					l.Detail += " …"
					break
				}
				l.Detail += " " + a.RData
			}
		}
	case ev.TLS != nil:
		l.Summary = ev.TLS.SNI
		l.Detail = ev.TLS.Version
		if ev.TLS.Subject != "" {
			l.Detail += " " + ev.TLS.Subject
		}
	case ev.QUIC != nil:
		q := ev.QUIC
		l.Detail = "QUIC " + quicVersionLabel(q.Version)
		switch {
		case q.SNI != "":
			l.Summary = q.SNI
			if len(q.ALPN) > 0 {
				l.Detail += " " + strings.Join(q.ALPN, ",")
			}
		case q.JA3S != nil:
			l.Summary = "server hello"
		default:
			l.Summary = "handshake packet"
		}
	case ev.HTTP != nil:
		h := ev.HTTP
		l.Summary = h.Method + " " + h.Hostname + h.URL
		if h.Status != 0 {
			l.Detail = strconv.Itoa(h.Status)
		}
		if h.UserAgent != "" {
			l.Detail += " " + h.UserAgent
		}
	case ev.FTP != nil:
		l.Summary = ev.FTP.Command + " " + ev.FTP.ShownData(false)
		if len(ev.FTP.CompletionCode) > 0 {
			l.Detail = ev.FTP.CompletionCode[0]
		}
	case ev.RDP != nil:
		l.Summary = ev.RDP.Summary()
	case ev.Cred != nil:
		l.Summary = ev.Cred.Protocol + " user " + ev.Cred.User + " password " + proto.ShowSecret(ev.Cred.Password, false)
		l.Detail = ev.Cred.Outcome
		l.Severity = 2
	case ev.Body != nil:
		// A parser on the registry makes its own line.
		l.Summary, l.Detail = ev.Body.Line()
	}
	return l
}

// quicVersionLabel names the QUIC versions people know by name.
func quicVersionLabel(v string) string {
	switch v {
	case "1":
		return "v1"
	case "6b3343cf":
		return "v2"
	}
	if strings.HasPrefix(v, "Q") { // Google's: Q043, Q046
		return v
	}
	return "version " + v
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
	Events           []EventLine
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
		all = append(all, f)
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
			BytesToServer: f.BytesToServer, BytesToClient: f.BytesToClient, First: f.First, Last: f.Last, State: f.State.String(),
			PID: f.PID, Process: f.Process, CommunityID: f.CommunityID(), Alerted: f.Alerted})
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
		out[len(out)-1].App = nil // the parsers' state: the engine's, recycled
		return true
	})
	slices.SortFunc(out, func(a, b flow.Flow) int { return cmp.Or(cmp.Compare(b.Bytes(), a.Bytes()), cmp.Compare(a.ID, b.ID)) })
	return out
}
