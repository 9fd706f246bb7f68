package pump

import (
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// Stats is an EVE stats record: counters under Suricata's names inside
// Suricata's stats objects where Suricata has the same counter (Suricata),
// the rest in opsdeck.stats (Opsdeck). Fields are in the order JSON
// objects had when this record was a map: alphabetical.
type Stats struct {
	Time     time.Time
	Suricata SuricataStats
	Opsdeck  OpsdeckStats
}

// SuricataStats is the stats object itself.
type SuricataStats struct {
	Capture *KernelStats `json:"capture,omitempty"` // live input only
	Decoder DecoderStats `json:"decoder"`
	Detect  DetectStats  `json:"detect"`
	Flow    FlowStats    `json:"flow"`
	TCP     TCPStats     `json:"tcp"`
	Uptime  int64        `json:"uptime"`
}

// KernelStats are the live capture's kernel counters.
type KernelStats struct {
	KernelDrops   uint64 `json:"kernel_drops"`
	KernelPackets uint64 `json:"kernel_packets"`
}

// DecoderStats are the decoder's counters, as Suricata names them.
type DecoderStats struct {
	ARP     uint64 `json:"arp"`
	Bytes   uint64 `json:"bytes"`
	ICMPv4  uint64 `json:"icmpv4"`
	ICMPv6  uint64 `json:"icmpv6"`
	Invalid uint64 `json:"invalid"`
	IPv4    uint64 `json:"ipv4"`
	IPv6    uint64 `json:"ipv6"`
	Pkts    uint64 `json:"pkts"`
	TCP     uint64 `json:"tcp"`
	UDP     uint64 `json:"udp"`
	VLAN    uint64 `json:"vlan"`
}

// DetectStats: alerts the allow-list muted are Suricata's suppressed alerts.
type DetectStats struct {
	Alert            uint64 `json:"alert"`
	AlertsSuppressed uint64 `json:"alerts_suppressed"`
}

// FlowStats are the flow table's size and total, and how often it filled
// up and went into emergency mode (and came out of it).
type FlowStats struct {
	Active           int    `json:"active"`
	EmergModeEntered uint64 `json:"emerg_mode_entered"`
	EmergModeOver    uint64 `json:"emerg_mode_over"`
	Total            uint64 `json:"total"`
}

// TCPStats are Suricata's names for the stream budget: bytes held now, and
// the directions given up at the memcap or at a gap.
type TCPStats struct {
	ReassemblyGap     uint64 `json:"reassembly_gap"`
	ReassemblyMemuse  int64  `json:"reassembly_memuse"`
	SegmentMemcapDrop uint64 `json:"segment_memcap_drop"`
}

// OpsdeckStats are the counters Suricata has no name for.
type OpsdeckStats struct {
	AppLayer struct {
		Events uint64 `json:"events"`
		TxCap  uint64 `json:"tx_cap"`
	} `json:"app_layer"`
	Capture struct {
		FilteredOut uint64 `json:"filtered_out"`
		PacketsRead uint64 `json:"packets_read"`
	} `json:"capture"`
	Decoder struct {
		Fragments uint64 `json:"fragments"`
	} `json:"decoder"`
	Detect struct {
		Tables map[string]uint64 `json:"tables"`
	} `json:"detect"`
	// Faults are panics contained, by stage (engine.Fault).
	Faults struct {
		Detect uint64 `json:"detect"`
		Engine uint64 `json:"engine"`
		Parser uint64 `json:"parser"`
	} `json:"faults"`
	Flow struct {
		Ended     uint64 `json:"ended"`
		Evicted   uint64 `json:"evicted"`
		MaxActive int    `json:"max_active"`
	} `json:"flow"`
	// Output is what the output could not take (full disk, directory
	// gone) and its bounded backlog dropped or still holds: watch only.
	Output *OutputStats `json:"output,omitempty"`
	TCP    struct {
		ReassemblyMemcap    int64 `json:"reassembly_memcap"`
		ReassemblyMemuseMax int64 `json:"reassembly_memuse_max"`
	} `json:"tcp"`
}

// OutputStats are the EVE output's losses.
type OutputStats struct {
	HeldBytes   uint64 `json:"held_bytes"`
	LostBytes   uint64 `json:"lost_bytes"`
	LostRecords uint64 `json:"lost_records"`
}

// StatsInput is what a stats record reads beside the engine.
type StatsInput struct {
	Read   uint64         // frames read, including those filtered out
	Uptime time.Duration  // since the run began
	Live   *capture.Stats // live input's counters; nil for files
	Output *OutputStats   // the output's losses; nil when not tracked
}

// NewStats reads eng's counters into a stats record. A live record is
// stamped with the time now; a file's with the last packet's time.
func NewStats(eng *engine.Engine, in StatsInput) Stats {
	c := eng.Counters()
	fl := eng.FlowStats()
	rs := eng.Reassembly()
	var s Stats
	b := &s.Suricata
	b.Uptime = int64(in.Uptime / time.Second)
	b.Decoder = DecoderStats{Pkts: c.Pkts, Bytes: c.Bytes, Invalid: c.Invalid, IPv4: c.IPv4, IPv6: c.IPv6, TCP: c.TCP,
		UDP: c.UDP, ICMPv4: c.ICMPv4, ICMPv6: c.ICMPv6, ARP: c.ARP, VLAN: c.VLAN}
	b.Flow = FlowStats{Total: fl.Created, Active: fl.Active, EmergModeEntered: fl.Emergencies, EmergModeOver: fl.Emergencies}
	if fl.Emergency {
		b.Flow.EmergModeOver-- // still in it
	}
	b.Detect = DetectStats{Alert: c.Alerts, AlertsSuppressed: c.Muted}
	b.TCP = TCPStats{ReassemblyMemuse: rs.Memuse, SegmentMemcapDrop: rs.MemcapDrops, ReassemblyGap: rs.GapDrops}
	x := &s.Opsdeck
	x.Capture.PacketsRead, x.Capture.FilteredOut = in.Read, in.Read-c.Pkts
	x.Decoder.Fragments = c.Fragments
	x.Flow.Ended, x.Flow.Evicted, x.Flow.MaxActive = fl.Ended, fl.Evicted, fl.MaxActive
	x.Detect.Tables = undotted(eng.DetectorStats())
	x.AppLayer.Events, x.AppLayer.TxCap = c.Events, rs.TxCapDrops
	x.TCP.ReassemblyMemuseMax, x.TCP.ReassemblyMemcap = rs.Peak, rs.Limit
	x.Faults.Engine, x.Faults.Parser, x.Faults.Detect = c.Faults[engine.StageEngine], c.Faults[engine.StageParser], c.Faults[engine.StageDetect]
	x.Output = in.Output
	s.Time = eng.Now()
	if in.Live != nil {
		b.Capture = &KernelStats{KernelPackets: in.Live.KernelPackets, KernelDrops: in.Live.KernelDrops}
		// Live input: the time of the last packet is not the time now.
		s.Time = time.Now()
	}
	if s.Time.IsZero() {
		s.Time = time.Now() // no packet at all
	}
	return s
}

// Write writes the record as an EVE stats line.
func (s *Stats) Write(w *eve.Writer) error {
	return w.Object(s.Time, "stats", &s.Suricata, &s.Opsdeck)
}

// undotted replaces dots in counter names with underscores: Elasticsearch
// expands "alerts.suppressed" into an object, which then collides with
// "alerts".
func undotted(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(k, ".", "_")] = v
	}
	return out
}

// Stats is the stats record of this run so far; out, when not nil, is the
// output's losses (watch).
func (p *Pump) Stats(out *OutputStats) Stats {
	in := StatsInput{Read: p.Read(), Uptime: time.Since(p.started), Output: out}
	if _, ok := p.o.Input.(Counted); ok {
		cs := p.Capture()
		in.Live = &cs
	}
	return NewStats(p.eng, in)
}
