package engine

import (
	"fmt"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// Stage names where in the pipeline a panic was contained.
type Stage uint8

const (
	StageEngine Stage = iota // decoding, the flow table, output: the packet or record is lost
	StageParser              // a protocol parser: that flow's extraction stops
	StageDetect              // a detector: that packet's, event's or tick's detection
	numStages
)

var stageNames = [numStages]string{"engine", "parser", "detect"}

func (s Stage) String() string { return stageNames[s] }

// Fault is a contained panic: opsdeck reads traffic attackers write, and a
// bug one packet reaches must cost that packet's or that flow's work, never
// the capture. The first of each stage is handed to Hooks.Fault with its
// stack; the rest are counted (Counters.Faults).
type Fault struct {
	Stage Stage
	Time  time.Time // packet time
	Flow  string    // "tcp 10.0.0.1:40000 -> 10.0.0.2:80", or ""
	Value string    // what was panicked with
	Stack string
}

func (f Fault) String() string {
	where := ""
	if f.Flow != "" {
		where = " on flow " + f.Flow
	}
	return fmt.Sprintf("contained a panic in the %s%s: %s", f.Stage, where, f.Value)
}

// recoverFault, deferred, contains a panic of stage (f is the flow
// concerned, or nil).
func (e *Engine) recoverFault(stage Stage, f *flow.Flow) {
	if r := recover(); r != nil {
		e.fault(stage, f, r)
	}
}

func (e *Engine) fault(stage Stage, f *flow.Flow, r any) {
	e.counters.Faults[stage]++
	ft := Fault{Stage: stage, Time: e.now, Value: fmt.Sprint(r)}
	if f != nil {
		ft.Flow = fmt.Sprintf("%s %s -> %s", packet.ProtoName(f.Proto),
			netip.AddrPortFrom(f.Client, f.CPort), netip.AddrPortFrom(f.Server, f.SPort))
	}
	e.lastFault = &ft
	if e.counters.Faults[stage] == 1 && e.hooks.Fault != nil {
		ft.Stack = string(debug.Stack())
		e.hooks.Fault(ft)
	}
}
