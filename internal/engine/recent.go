package engine

import (
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/record"
)

// recent is the engine's own subscriber: the bounded state a snapshot
// copies for the console and incident bundles, kept from the record stream
// like any other consumer's (the recent alerts and the incident counts by
// severity, the protocol log, the names DNS answers gave, the host's
// history). It runs first, so the alerts an update re-issues
// (reissueAlerts) are found here.
type recent struct {
	// headless keeps no protocol log and no names (analyze, watch: only
	// the console shows them).
	headless bool
	alerts   *ring[*detect.Alert] // the records themselves: never changed once published
	events   *ring[Event]
	// bySev counts incidents by severity: an update of one already raised
	// (a count that grew, a process found) is not another.
	bySev [4]uint64
	names names
	host  *HostState
}

func newRecent(cfg Config) *recent {
	return &recent{headless: cfg.Headless, alerts: newRing[*detect.Alert](cfg.RecentAlerts),
		events: newRing[Event](cfg.RecentEvents), host: newHostState()}
}

// Record keeps what the console shows of r.
func (c *recent) Record(r record.Record) {
	switch r.Kind {
	case record.Alert:
		if sev := r.Alert.Severity; sev >= 1 && sev <= 3 {
			c.bySev[sev]++
		}
		c.alerts.push(r.Alert)
	case record.AlertUpdate:
		c.alerts.push(r.Alert)
	case record.ProtoEvent:
		if c.headless {
			return
		}
		c.events.push(newEvent(r.Event, r.Flow))
		if r.Event.DNS != nil && r.Flow != nil {
			c.names.observe(r.FlowID, r.Event.DNS)
		}
	case record.HostSample:
		c.host.observe(r.Host)
	}
}
