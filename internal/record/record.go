// Package record is what the engine tells the rest of opsdeck: one typed
// stream of records (alerts, updates to an alert already raised, protocol
// events, flows that ended, host samples), published once, in the order
// the engine learned them, to every Subscriber. The EVE writer, metrics,
// watch's alert and bundle trigger and the engine's recent state (what
// the console's snapshots show) read this one stream, and incident bundles
// read a snapshot of that state; none of them re-derives a fact another
// part computed (an alert's flow_id and Community ID are set once, before
// it is published).
//
// Publishing is on the packet path: a Record is a small value passed to
// each subscriber in turn on the engine's goroutine, with the engine's
// lock held, and nothing is allocated for it.
package record

import (
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// Kind says what a record is.
type Kind uint8

// The kinds of record.
const (
	// Alert is a new incident: a rule fired (Record.Alert).
	Alert Kind = iota + 1
	// AlertUpdate re-reports an incident already raised that learned
	// more: its count grew, or the process behind its flow was found. It
	// is a new *detect.Alert with Update set; the earlier record is
	// unchanged.
	AlertUpdate
	// ProtoEvent is a protocol fact (Record.Event): a DNS answer, a TLS
	// hello, an HTTP request, a login.
	ProtoEvent
	// FlowEnd is a flow that ended (Record.Flow, Record.End).
	FlowEnd
	// HostSample is a sample of the system source (Record.Host), full or
	// socket-only (Host.Partial).
	HostSample
)

var kindNames = [...]string{Alert: "alert", AlertUpdate: "alert-update", ProtoEvent: "proto", FlowEnd: "flow-end", HostSample: "host"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Record is one thing the engine learned. Subscribers receive it by value:
// the record itself never changes after it is published. What its pointers
// reach lives as long as this says:
//
//   - Alert and Host are never changed by anyone once published: a
//     subscriber may keep them (the console's alert list, a bundle's
//     trigger, metrics' latest sample).
//   - Event is valid only during the call (parser state is recycled); the
//     strings in it may be kept.
//   - Flow is valid only during the call: the flow table recycles a Flow
//     for another connection once it ended (FlowEnd) or was evicted, and a
//     live flow keeps changing. Keep values (FlowID here, or fields copied
//     during the call), never the pointer.
type Record struct {
	Kind Kind
	// End is why the flow ended (FlowEnd).
	End flow.EndReason
	// Time is the record's packet time (an alert's, an event's, a flow's
	// last packet) or sample time (HostSample).
	Time time.Time
	// FlowID is the id of the flow the record concerns, or 0: a value that
	// stays true after the call, unlike Flow.
	FlowID uint64
	// Alert is the alert (Alert, AlertUpdate).
	Alert *detect.Alert
	// Event is the protocol event (ProtoEvent).
	Event *proto.Event
	// Flow is the flow the record concerns, when there is one: the event's
	// flow, the alert's (the flow whose id and Community ID the alert
	// carries, when the detector was called for it), the flow that ended.
	// Valid only during the call.
	Flow *flow.Flow
	// Host is the sample (HostSample).
	Host *hoststat.Snapshot
}

// Subscriber receives every record the engine publishes, in order, on the
// engine's goroutine with its lock held: it must be quick, must not call
// back into the engine, and must not keep Record.Flow or Record.Event.
type Subscriber interface {
	Record(r Record)
}

// Func adapts a function to a Subscriber.
type Func func(r Record)

// Record calls f(r).
func (f Func) Record(r Record) { f(r) }

// AlertKind is the kind of the record that publishes a: AlertUpdate for an
// update of an incident already raised, Alert for a new one.
func AlertKind(a *detect.Alert) Kind {
	if a.Update {
		return AlertUpdate
	}
	return Alert
}
