package pump

import (
	"context"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/sources/system"
)

// System samples the host every Interval (default 1 s) and on request
// (socket-only samples for attribution) with Sampler.
type System struct {
	Sampler  *system.Sampler
	Interval time.Duration
}

// Name is "system".
func (s *System) Name() string { return "system" }

// Run samples until ctx ends. A panic inside a sample is the sampler's to
// contain: it reports it in the sample's errors and goes on.
func (s *System) Run(ctx context.Context, sink Sink) error {
	sink.Status(engine.SourceStatus{Name: "system", Kind: "system", State: "running", Privilege: "none"})
	err := s.Sampler.Run(ctx, s.Interval, sink.Host)
	if ctx.Err() != nil {
		err = nil
	}
	st := engine.SourceStatus{Name: "system", Kind: "system", State: "finished", Privilege: "none"}
	if err != nil {
		st.State, st.Err = "error", err.Error()
	}
	sink.Status(st)
	return err
}
