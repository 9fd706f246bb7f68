package engine

import (
	"maps"
	"net/netip"

	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/record"
)

// EnableAttribution turns on flow-to-process mapping: only meaningful when
// capturing live on this host. refresh asks the system source for a fresh
// socket list (attrib calls it on misses, rate-limited).
func (e *Engine) EnableAttribution(refresh func()) *attrib.Table {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attr = attrib.NewTable(refresh)
	return e.attr
}

// EnableHostRules turns on the ops rules (internal/detect/ops: host.cpu,
// host.memory, host.disk, host.listener, host.pressure, host.restart,
// host.clock) over the samples given to HandleHost.
func (e *Engine) EnableHostRules(cfg ops.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hostRules = ops.New(cfg)
}

// HandleHost takes one system sample: it feeds attribution, publishes the
// sample (the history the console draws is kept from it) and runs the ops
// rules on it, whose alerts follow it in the stream.
func (e *Engine) HandleHost(s *hoststat.Snapshot) {
	if s == nil {
		return
	}
	if e.attr != nil {
		e.attr.Update(s) // attrib has its own lock
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.publish(record.Record{Kind: record.HostSample, Time: s.Time, Host: s})
	if e.hostRules != nil {
		e.alertF = nil
		e.hostRules.Observe(s, e.alertFn)
	}
	if e.attr != nil {
		e.reattribute()
		e.accountProcesses()
	}
}

// hostRuleStats adds the ops rules' table sizes and drops to out, when
// they run. The caller holds e.mu.
func (e *Engine) hostRuleStats(out map[string]uint64) {
	if e.hostRules == nil {
		return
	}
	maps.Copy(out, e.hostRules.Stats())
}

// attribute looks up the local process of a flow. A miss is retried when
// the flow reaches 2, 8 and 64 packets, as the socket list catches up.
// It runs for every new flow, so under a spoofed-source flood for every
// packet: one lookup, one lock, nothing allocated (attrib.LookupFlow).
// Unknown with aLocal means the local end is the client (outbound): its
// socket exists and the next socket list will show it.
func (e *Engine) attribute(f *flow.Flow) {
	if fo := f.Owner; fo != nil && (fo.PID > 0 || fo.Tries >= 4 || (fo.Tries > 0 && !retryAt(f.Pkts()))) {
		return
	}
	fo := e.flows.Owner(f)
	fo.Tries++
	o, aLocal, ok := e.attr.LookupFlow(f.Proto, netip.AddrPortFrom(f.Client, f.CPort), netip.AddrPortFrom(f.Server, f.SPort))
	fo.State = uint8(o.State)
	if ok && o.PID > 0 {
		fo.PID, fo.Process, fo.LocalIsClient = o.PID, o.Name, aLocal
		e.owned.add(f)
	}
	// Not final: the flow's own socket may be in the next socket list (a
	// connection that lives under a second, an idle reverse shell, a
	// session accepted from a listener). Looked up again there, once
	// queued. An inbound flow that found no listener has no process to
	// find (a scan or flood to a closed port) and is not queued.
	if fo.Tries == 1 && ((ok && o.Listener) || (o.State == attrib.Unknown && aLocal)) {
		e.owners.add(f)
	}
}

// retryAt says whether a flow of n packets whose owner is not known yet is
// looked up again.
func retryAt(n uint64) bool { return n == 2 || n == 8 || n == 64 }

// maxPendingOwners bounds the flows waiting for a better owner; past it
// the oldest is given up (a flood of unanswered SYNs would fill it).
const maxPendingOwners = 4096

// ownerRetries is how many socket lists a pending flow is looked up in.
const ownerRetries = 5

// pendingOwners are flows whose owner is unknown or only a listener's,
// looked up again in each new socket list, so that attribution does not
// depend on a flow sending more packets.
type pendingOwners struct {
	q       []pendingOwner
	dropped uint64
}

type pendingOwner struct {
	f     *flow.Flow
	id    uint64 // f.ID when added: a recycled Flow has another
	tries uint8
}

func (p *pendingOwners) add(f *flow.Flow) {
	if len(p.q) >= maxPendingOwners {
		p.q = p.q[1:]
		p.dropped++
	}
	p.q = append(p.q, pendingOwner{f: f, id: f.ID})
}

// reattribute looks the pending flows up in the socket list just taken.
// A flow that finds its own socket's process takes it, replacing a
// listener's; when that changes the owner of a flow that was alerted on,
// its alerts are re-issued as updates naming the process (EVE and the
// console show the update).
func (e *Engine) reattribute() {
	kept := e.owners.q[:0]
	for _, p := range e.owners.q {
		f := p.f
		if f.ID != p.id {
			continue // ended, and its Flow reused
		}
		o, aLocal, ok := e.attr.LookupFlow(f.Proto, netip.AddrPortFrom(f.Client, f.CPort), netip.AddrPortFrom(f.Server, f.SPort))
		fo := e.flows.Owner(f)
		if o.State != attrib.Unknown || fo.PID <= 0 {
			fo.State = uint8(o.State)
		}
		if ok && o.PID > 0 && o.PID != fo.PID {
			if fo.PID <= 0 {
				e.owned.add(f)
			}
			fo.PID, fo.Process, fo.LocalIsClient = o.PID, o.Name, aLocal
			e.flowGen++
			if f.Alerted {
				e.reissueAlerts(f)
			}
		}
		p.tries++
		if ((ok && !o.Listener) || o.State == attrib.Gone || o.State == attrib.OtherNamespace) || p.tries >= ownerRetries {
			continue
		}
		kept = append(kept, p)
	}
	clear(e.owners.q[len(kept):])
	e.owners.q = kept
}

// reissueAlerts re-issues the recent alerts about f, now that its owner is
// known, as updates carrying the process.
func (e *Engine) reissueAlerts(f *flow.Flow) {
	recent := e.recent.alerts.last(256)
	for _, a := range recent {
		if a.FlowID != f.ID || a.PID == f.PID() {
			continue
		}
		u := *a
		u.PID, u.Process = f.PID(), f.Process()
		u.Update = true
		e.alertF = f
		e.alert(&u)
	}
	e.alertF = nil
}

// ownedFlows lists the flows that were given an owning process, so that
// accounting visits them, not every flow in the table: under a flood the
// table holds a hundred thousand flows no process owns, and walking them
// each second cost more than the flood's packets. An entry whose flow
// ended (its Flow cleared or reused: the ID differs) is dropped at the next
// walk. When the list is full the walk falls back to the whole table and
// rebuilds it.
type ownedFlows struct {
	q    []pendingOwner
	full bool
}

// maxOwned bounds the list (1.5 MB).
const maxOwned = 65536

func (o *ownedFlows) add(f *flow.Flow) {
	if len(o.q) >= maxOwned {
		o.full = true
		return
	}
	o.q = append(o.q, pendingOwner{f: f, id: f.ID})
}

// accountProcesses charges the bytes flows moved since the last sample to
// their processes.
func (e *Engine) accountProcesses() {
	if e.owned.full {
		e.owned.q, e.owned.full = e.owned.q[:0], false
		e.flows.Each(func(f *flow.Flow) bool {
			if f.PID() > 0 {
				e.owned.add(f)
			}
			return true
		})
	}
	kept := e.owned.q[:0]
	for _, p := range e.owned.q {
		if f := p.f; f.ID == p.id && f.PID() > 0 {
			e.accountFlow(f)
			kept = append(kept, p)
		}
	}
	clear(e.owned.q[len(kept):])
	e.owned.q = kept
}

func (e *Engine) accountFlow(f *flow.Flow) {
	fo := f.Owner // not nil: the flow has a PID
	ts, tc := f.BytesToServer-fo.AccountedToServer, f.BytesToClient-fo.AccountedToClient
	fo.AccountedToServer, fo.AccountedToClient = f.BytesToServer, f.BytesToClient
	in, out := tc, ts
	if !fo.LocalIsClient {
		in, out = ts, tc
	}
	if in+out > 0 {
		e.attr.Account(attrib.Owner{PID: fo.PID, Name: fo.Process, State: attrib.Known}, in, out)
	}
}
