// Package bundle writes incident bundles: a directory with the incident's
// alerts (EVE), its flows, the host's state, the packets from the evidence
// ring (internal/evidence) and a summary for the person handed the
// incident. It reads an engine snapshot, so it lives apart from the ring,
// which the engine's frame hook feeds and which imports no engine.
package bundle

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/evidence"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/textsafe"
	"github.com/opsdeck/opsdeck/internal/units"
)

// SnapshotOptions are the bounds of the engine snapshot a bundle
// wants: every flow of the table as a record (it is bounded anyway), the recent alerts
// the engine keeps, and enough talkers for the summary.
var SnapshotOptions = engine.SnapshotOptions{FlowRecords: true, Talkers: 50, Alerts: 1 << 16, Events: 0}

// Input is what an incident bundle is made of.
type Input struct {
	// Time is when the bundle is made (names the directory); default now.
	Time time.Time
	// Reason says why, for the summary ("alert dos.synflood", "manual").
	Reason string
	// Trigger is the alert that caused the bundle, if any.
	Trigger *detect.Alert
	// Snapshot is the engine's state; take it with SnapshotOptions.
	Snapshot *engine.Snapshot
	// Host is the latest full host sample; default Snapshot.Host.Latest.
	Host *hoststat.Snapshot
	// Ring holds the packets; nil writes an empty evidence.pcap.
	Ring *evidence.Ring
	// Packets chooses the packets written. The zero Selection takes the
	// incident's packets when there is a Trigger (IncidentSelection), the
	// whole ring otherwise.
	Packets evidence.Selection
	// TopN bounds the summary's tables. Default 10.
	TopN int
	// CommunityIDSeed is the Community ID seed of alerts.json.
	CommunityIDSeed uint16
}

// Files of a bundle.
const (
	AlertsFile     = "alerts.json"
	FlowsFile      = "flows.json"
	TalkersFile    = "talkers.json"
	SystemFile     = "system.json"
	PcapFile       = "evidence.pcap"
	SummaryFile    = "summary.md"
	bundleDirMode  = 0o700
	bundleNameTime = "20060102T150405Z"
)

// Write writes an incident bundle in a new directory under dir
// (created 0700, files 0600) and returns its path. The directory is named
// opsdeck-incident-TIME, with a suffix when that exists already. On error
// the partial bundle is left for inspection and its path returned.
func Write(dir string, in Input) (string, error) {
	if in.Time.IsZero() {
		in.Time = time.Now()
	}
	if in.TopN <= 0 {
		in.TopN = 10
	}
	if in.Snapshot == nil {
		in.Snapshot = &engine.Snapshot{}
	}
	if in.Host == nil {
		in.Host = in.Snapshot.Host.Latest
	}
	if err := os.MkdirAll(dir, bundleDirMode); err != nil {
		return "", fmt.Errorf("create bundle directory %q: %w", dir, err)
	}
	base := filepath.Join(dir, "opsdeck-incident-"+in.Time.UTC().Format(bundleNameTime))
	path := base
	for i := 2; ; i++ {
		err := os.Mkdir(path, bundleDirMode)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return "", fmt.Errorf("create bundle %q: %w", path, err)
		}
		path = fmt.Sprintf("%s-%d", base, i)
	}
	if in.Packets == (evidence.Selection{}) && in.Trigger != nil {
		in.Packets = IncidentSelection(in.Trigger)
	}
	var pkts []evidence.Packet
	if in.Ring != nil {
		pkts = in.Ring.Select(in.Packets)
	}
	ex, err := evidence.WritePcap(filepath.Join(path, PcapFile), pkts)
	if err != nil {
		return path, err
	}
	steps := []struct {
		name  string
		write func(io.Writer) error
	}{
		{AlertsFile, func(w io.Writer) error { return writeAlerts(w, &in) }},
		{FlowsFile, func(w io.Writer) error { return writeFlows(w, &in) }},
		{TalkersFile, func(w io.Writer) error { return writeTalkers(w, &in) }},
		{SystemFile, func(w io.Writer) error { return writeSystem(w, &in) }},
		{SummaryFile, func(w io.Writer) error { return writeSummary(w, &in, ex) }},
	}
	for _, s := range steps {
		if err := writeFile(filepath.Join(path, s.name), s.write); err != nil {
			return path, err
		}
	}
	return path, nil
}

func writeFile(name string, fn func(io.Writer) error) (err error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, evidence.FileMode)
	if err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %q: %w", name, cerr)
		}
	}()
	bw := bufio.NewWriter(f)
	if err := fn(bw); err != nil {
		return fmt.Errorf("write %q: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %q: %w", name, err)
	}
	return f.Sync()
}

// writeAlerts writes the snapshot's alerts as EVE lines (passwords masked,
// as in every EVE output without --show-secrets).
func writeAlerts(w io.Writer, in *Input) error {
	ew := eve.NewWriter(w)
	ew.CommunityIDSeed = in.CommunityIDSeed
	alerts := in.Snapshot.Alerts
	if in.Trigger != nil && !slices.Contains(alerts, in.Trigger) {
		alerts = append(slices.Clone(alerts), in.Trigger)
	}
	for _, a := range alerts {
		if err := ew.Alert(a, nil); err != nil {
			return err
		}
	}
	return ew.Flush()
}

// IncidentSelection is the packets a bundle about alert a keeps: between
// its actor and target in the alert's window. A denial of service comes
// from addresses that are likely forged, so its selection is every packet
// to or from the target in the window instead.
func IncidentSelection(a *detect.Alert) evidence.Selection {
	if a.Rule != nil && strings.HasPrefix(a.Rule.Name, "dos.") && a.Dst.IsValid() {
		return evidence.PairSelection(a.Dst, netip.Addr{}, a.TS)
	}
	return evidence.AlertSelection(a)
}

// sameIncident reports whether b is a record of a's incident: the same rule
// between the same actor and target (updates and re-issues included).
func sameIncident(a, b *detect.Alert) bool {
	return a.Rule == b.Rule && a.Src == b.Src && a.Dst == b.Dst && a.DstPort == b.DstPort
}

// incidentFlows are the snapshot's flows between a's actor and target, or
// a's own flow.
func incidentFlows(s *engine.Snapshot, a *detect.Alert) []*flow.Flow {
	var out []*flow.Flow
	for i := range s.FlowRecords {
		f := &s.FlowRecords[i]
		c, sv := f.Client, f.Server
		pair := (c == a.Src && sv == a.Dst) || (c == a.Dst && sv == a.Src)
		if (a.FlowID != 0 && f.ID == a.FlowID) || pair || (!a.Src.IsValid() && (c == a.Dst || sv == a.Dst)) {
			out = append(out, f)
		}
	}
	return out
}

// processChain returns pid's process and its parents, nearest first,
// from the host sample (bounded: a cycle or a deep tree stops at 32).
func processChain(h *hoststat.Snapshot, pid int32) []hoststat.Process {
	if h == nil || pid <= 0 {
		return nil
	}
	byPID := make(map[int32]*hoststat.Process, len(h.Processes))
	for i := range h.Processes {
		byPID[h.Processes[i].PID] = &h.Processes[i]
	}
	var out []hoststat.Process
	for p := byPID[pid]; p != nil && len(out) < 32; p = byPID[p.PPID] {
		out = append(out, *p)
		if p.PPID == p.PID {
			break
		}
	}
	return out
}

// processSockets are pid's sockets in the host sample.
func processSockets(h *hoststat.Snapshot, pid int32) []hoststat.Socket {
	if h == nil || pid <= 0 {
		return nil
	}
	var out []hoststat.Socket
	for _, sk := range h.Sockets {
		if sk.PID == pid {
			out = append(out, sk)
		}
	}
	return out
}

// writeFlows writes the flow table as EVE flow records, one a line, with
// the EVE writer's flow encoder and the alerts' Community ID seed: the
// lines are those analyze and watch write when a flow ends (they join
// alerts.json on flow_id and community_id, and validate against Suricata's
// schema), but for flow.reason, "forced": the flow was still in the table
// when the bundle was written.
func writeFlows(w io.Writer, in *Input) error {
	ew := eve.NewWriter(w)
	ew.CommunityIDSeed = in.CommunityIDSeed
	for i := range in.Snapshot.FlowRecords {
		if err := ew.Flow(&in.Snapshot.FlowRecords[i], flow.EndForced); err != nil {
			return err
		}
	}
	return ew.Flush()
}

// writeTalkers writes the flow table's counters and its top talkers.
func writeTalkers(w io.Writer, in *Input) error {
	s := in.Snapshot
	doc := struct {
		Time    time.Time   `json:"time"`
		Stats   flow.Stats  `json:"stats"`
		Talkers []talkerRow `json:"top_talkers"`
	}{Time: s.Now, Stats: s.Flows, Talkers: []talkerRow{}}
	for _, t := range s.Talkers {
		doc.Talkers = append(doc.Talkers, talkerRow{Addr: t.Addr, BytesOut: t.BytesOut, BytesIn: t.BytesIn, PktsOut: t.PktsOut, PktsIn: t.PktsIn, Flows: t.Flows})
	}
	return encodeJSON(w, doc)
}

type talkerRow struct {
	Addr     netip.Addr `json:"ip"`
	BytesOut uint64     `json:"bytes_out"`
	BytesIn  uint64     `json:"bytes_in"`
	PktsOut  uint64     `json:"pkts_out"`
	PktsIn   uint64     `json:"pkts_in"`
	Flows    int        `json:"flows"`
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeSystem(w io.Writer, in *Input) error {
	doc := struct {
		Snapshot  *hoststat.Snapshot `json:"snapshot"`
		TopCPU    []hoststat.Process `json:"top_cpu"`
		TopMemory []hoststat.Process `json:"top_memory"`
		Listeners []hoststat.Socket  `json:"listeners"`
		// The trigger's process, its parents (nearest first) and its
		// sockets when the sample was taken.
		IncidentProcess []hoststat.Process `json:"incident_process_chain,omitempty"`
		IncidentSockets []hoststat.Socket  `json:"incident_process_sockets,omitempty"`
		Note            string             `json:"note,omitempty"`
	}{Snapshot: in.Host}
	if a := in.Trigger; a != nil {
		doc.IncidentProcess = processChain(in.Host, a.PID)
		doc.IncidentSockets = processSockets(in.Host, a.PID)
	}
	if in.Host == nil {
		doc.Note = "no host sample was available when the bundle was written"
	} else {
		doc.TopCPU = topProcs(in.Host.Processes, in.TopN, func(a, b hoststat.Process) int { return cmp.Compare(b.CPUPct, a.CPUPct) })
		doc.TopMemory = topProcs(in.Host.Processes, in.TopN, func(a, b hoststat.Process) int { return cmp.Compare(b.RSS, a.RSS) })
		doc.Listeners = in.Host.Listeners()
	}
	return encodeJSON(w, doc)
}

func topProcs(ps []hoststat.Process, n int, by func(a, b hoststat.Process) int) []hoststat.Process {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b hoststat.Process) int { return cmp.Or(by(a, b), cmp.Compare(a.PID, b.PID)) })
	return out[:min(n, len(out))]
}

// md makes an outside string safe for summary.md: people read it with cat
// in a terminal, so textsafe turns controls and escapes visible; table cell
// separators are escaped for Markdown.
func md(s string) string {
	return strings.ReplaceAll(textsafe.Clean(s), "|", `\|`)
}

func writeSummary(w io.Writer, in *Input, ex evidence.Export) error {
	s := in.Snapshot
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	host := "unknown host"
	if in.Host != nil && in.Host.Host.Hostname != "" {
		host = md(in.Host.Host.Hostname)
	}
	p("# opsdeck incident: %s\n\n", host)
	p("- **Written:** %s\n", in.Time.UTC().Format(time.RFC3339))
	if in.Reason != "" {
		p("- **Why:** %s\n", md(in.Reason))
	}
	if !s.Started.IsZero() {
		p("- **Traffic seen:** %s to %s (packet time, UTC)\n", s.Started.UTC().Format(time.RFC3339), s.Now.UTC().Format(time.RFC3339))
	}
	if s.Source.Name != "" {
		p("- **Capture:** %s %s (%s), %d packets, %d kernel drops, privilege: %s\n", md(s.Source.Kind), md(s.Source.Name), md(s.Source.State),
			s.Counters.Pkts, s.Source.KernelDrops, md(cmp.Or(s.Source.Privilege, "unknown")))
	}
	if in.Host != nil {
		h := in.Host
		p("- **Host:** %s %s, kernel %s, %d CPUs at %.0f%% busy, load %.2f, memory %s of %s used\n",
			md(h.Host.Platform), md(h.Host.PlatformVersion), md(h.Host.Kernel), h.CPU.Count, h.CPU.Total.Busy, h.Load.Load1,
			units.Bytes(h.Memory.Used), units.Bytes(h.Memory.Total))
	}
	if a := in.Trigger; a != nil {
		p("\n## Trigger\n\n")
		p("%s\n", alertLine(a))
		writeIncident(w, in, ex)
	}

	p("\n## Alerts\n\n")
	bySev := s.AlertsBySeverity
	p("%d alerts raised: %d high, %d medium, %d low. ", s.Counters.Alerts, bySev[1], bySev[2], bySev[3])
	p("`%s` holds the %d most recent as EVE JSON lines.\n\n", AlertsFile, len(s.Alerts))
	if len(s.Alerts) > 0 {
		type ruleRow struct {
			rule            string
			sev             detect.Severity
			count           int
			last            time.Time
			actors, targets map[netip.Addr]bool
		}
		rows := map[string]*ruleRow{}
		for _, a := range s.Alerts {
			r := rows[a.Rule.Name]
			if r == nil {
				r = &ruleRow{rule: a.Rule.Name, sev: a.Severity, actors: map[netip.Addr]bool{}, targets: map[netip.Addr]bool{}}
				rows[a.Rule.Name] = r
			}
			r.count++
			r.sev = min(r.sev, cmp.Or(a.Severity, a.Rule.Severity))
			if a.TS.After(r.last) {
				r.last = a.TS
			}
			if a.Src.IsValid() {
				r.actors[a.Src] = true
			}
			if a.Dst.IsValid() {
				r.targets[a.Dst] = true
			}
		}
		list := make([]*ruleRow, 0, len(rows))
		for _, r := range rows {
			list = append(list, r)
		}
		slices.SortFunc(list, func(a, b *ruleRow) int {
			return cmp.Or(cmp.Compare(a.sev, b.sev), cmp.Compare(b.count, a.count), cmp.Compare(a.rule, b.rule))
		})
		p("| severity | rule | alerts | actors | targets | last (UTC) |\n|---|---|---:|---|---|---|\n")
		for i, r := range list {
			if i == in.TopN {
				break
			}
			p("| %s | %s | %d | %s | %s | %s |\n", r.sev, r.rule, r.count, addrList(r.actors, 3), addrList(r.targets, 3), r.last.UTC().Format("2006-01-02 15:04:05"))
		}
		p("\nMost severe, newest first:\n\n")
		recent := slices.Clone(s.Alerts)
		slices.SortStableFunc(recent, func(a, b *detect.Alert) int {
			return cmp.Or(cmp.Compare(cmp.Or(a.Severity, a.Rule.Severity), cmp.Or(b.Severity, b.Rule.Severity)), b.TS.Compare(a.TS))
		})
		for i, a := range recent {
			if i == in.TopN {
				break
			}
			p("- %s\n", alertLine(a))
		}
	}

	if len(s.Talkers) > 0 {
		p("\n## Top talkers\n\n| host | bytes out | bytes in | flows |\n|---|---:|---:|---:|\n")
		for i, t := range s.Talkers {
			if i == in.TopN {
				break
			}
			p("| %s | %s | %s | %d |\n", t.Addr, units.Bytes(t.BytesOut), units.Bytes(t.BytesIn), t.Flows)
		}
	}
	if len(s.FlowRecords) > 0 && in.Trigger == nil {
		p("\n## Largest flows\n\n| client | server | proto | bytes | process |\n|---|---|---|---:|---|\n")
		for i := range s.FlowRecords {
			if i == in.TopN {
				break
			}
			p("%s", flowRow(&s.FlowRecords[i]))
		}
	}
	if in.Host != nil && len(in.Host.Processes) > 0 {
		p("\n## Processes (top CPU)\n\n| pid | user | name | cpu %% | rss | command |\n|---:|---|---|---:|---:|---|\n")
		for _, pr := range topProcs(in.Host.Processes, in.TopN, func(a, b hoststat.Process) int { return cmp.Compare(b.CPUPct, a.CPUPct) }) {
			p("| %d | %s | %s | %.1f | %s | %s |\n", pr.PID, md(pr.User), md(pr.Name), pr.CPUPct, units.Bytes(pr.RSS), md(textsafe.Truncate(pr.Cmdline, 80)))
		}
	}

	p("\n## Files\n\n")
	p("- `%s`: alerts as EVE JSON lines\n", AlertsFile)
	p("- `%s`: the flow table (%d flows) as EVE flow records\n", FlowsFile, len(s.FlowRecords))
	p("- `%s`: the flow table's counters and the top talkers\n", TalkersFile)
	p("- `%s`: host sample: processes, sockets, top consumers\n", SystemFile)
	for i, f := range ex.Files {
		p("- `%s`: %d packets, link type %d (read with `tcpdump -r` or Wireshark)\n", filepath.Base(f), ex.Counts[i], ex.Links[i])
	}
	if in.Ring != nil {
		st := in.Ring.Stats()
		if st.EvictedAge+st.EvictedMem > 0 {
			p("\nThe packet ring dropped %d older packets (bounds: %s, %s); the capture starts at %s.\n",
				st.EvictedAge+st.EvictedMem, units.Bytes(uint64(in.Ring.Options().MaxBytes)), in.Ring.Options().MaxAge, st.Oldest.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// writeIncident tells the trigger's incident as a colleague needs it: a
// timeline of its records, the local process with its parents and
// sockets, the remote host and the flows between them, and the evidence.
func writeIncident(w io.Writer, in *Input, ex evidence.Export) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	a, s := in.Trigger, in.Snapshot
	p("\n## Incident\n\n")
	var recs []*detect.Alert
	for _, b := range s.Alerts {
		if sameIncident(a, b) {
			recs = append(recs, b)
		}
	}
	if !slices.Contains(recs, a) {
		recs = append(recs, a)
	}
	slices.SortStableFunc(recs, func(x, y *detect.Alert) int { return x.TS.Compare(y.TS) })
	p("### Timeline (UTC, packet time)\n\n")
	for i, r := range recs {
		what := "first seen"
		switch {
		case i > 0 && r.PID > 0 && recs[i-1].PID != r.PID:
			what = "process identified"
		case i > 0:
			what = "escalated"
		}
		p("- %s %s: %s", r.TS.UTC().Format("2006-01-02 15:04:05"), what, md(r.Signature))
		if r.Suppressed > 0 {
			p(" (%d more like it folded in)", r.Suppressed)
		}
		p("\n")
		if i == in.TopN*2 {
			p("- ... %d more records in `%s`\n", len(recs)-i-1, AlertsFile)
			break
		}
	}
	p("\n### Local process\n\n")
	chain := processChain(in.Host, a.PID)
	switch {
	case a.PID <= 0:
		p("No local process was identified (the traffic may not end on this host, or its socket closed before it was listed).\n")
	case len(chain) == 0:
		p("pid %d (%s); it was not in the host sample (exited?).\n", a.PID, md(a.Process))
	default:
		pr := chain[0]
		p("- **pid %d** %s, user %s, started %s\n", pr.PID, md(pr.Name), md(pr.User), pr.StartTime.UTC().Format(time.RFC3339))
		p("- command: `%s`\n", strings.ReplaceAll(md(textsafe.Truncate(pr.Cmdline, 200)), "`", "'"))
		if len(chain) > 1 {
			var parents []string
			for _, q := range chain[1:] {
				parents = append(parents, fmt.Sprintf("%s (%d)", md(q.Name), q.PID))
			}
			p("- parents: %s\n", strings.Join(parents, " ← "))
		}
		for _, sk := range processSockets(in.Host, a.PID) {
			p("- socket: %s %s → %s %s\n", sk.Proto, sk.Local, sk.Remote, sk.State)
		}
	}
	p("\n### Remote host\n\n")
	if a.Src.IsValid() {
		name := ""
		if n := s.Names[a.Src]; n != "" {
			name = " (" + md(n) + ", from a DNS answer seen on the wire)"
		}
		p("Actor %s%s; target %s.\n", a.Src, name, endpointOf(a.Dst, a.DstPort))
		if a.Rule != nil && strings.HasPrefix(a.Rule.Name, "dos.") {
			p("Source addresses of a flood are likely forged: do not act on them one by one.\n")
		}
	}
	flows := incidentFlows(s, a)
	if len(flows) > 0 {
		p("\n### The incident's flows\n\n| client | server | proto | bytes | process |\n|---|---|---|---:|---|\n")
		for i, f := range flows {
			if i == in.TopN*2 {
				p("\n%d more in `%s`.\n", len(flows)-i, FlowsFile)
				break
			}
			p("%s", flowRow(f))
		}
	}
	p("\n### Evidence\n\n")
	sel := in.Packets
	who := fmt.Sprintf("between %s and %s", sel.A, sel.B)
	if !sel.B.IsValid() {
		who = fmt.Sprintf("to or from %s", sel.A)
	}
	total := 0
	for _, n := range ex.Counts {
		total += n
	}
	p("`%s`: %d packets %s from %s to %s.\n", PcapFile, total, who, sel.From.UTC().Format(time.RFC3339), sel.To.UTC().Format(time.RFC3339))
}

// flowRow is f's row in the summary's flow tables.
func flowRow(f *flow.Flow) string {
	proc := ""
	if f.PID() > 0 {
		proc = fmt.Sprintf("%s (%d)", md(f.Process()), f.PID())
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", endpointOf(f.Client, f.CPort), endpointOf(f.Server, f.SPort),
		md(cmp.Or(f.AppProto, packet.ProtoName(f.Proto))), units.Bytes(f.Bytes()), proc)
}

func endpointOf(a netip.Addr, port uint16) string {
	if !a.IsValid() {
		return "-"
	}
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

func alertLine(a *detect.Alert) string {
	sev := cmp.Or(a.Severity, a.Rule.Severity)
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** `%s` %s: %s", sev, a.Rule.Name, a.TS.UTC().Format("2006-01-02 15:04:05"), md(a.Signature))
	if a.Src.IsValid() {
		fmt.Fprintf(&b, " (%s", a.Src)
		if a.Dst.IsValid() {
			fmt.Fprintf(&b, " → %s", a.Dst)
			if a.DstPort != 0 {
				fmt.Fprintf(&b, ":%d", a.DstPort)
			}
		}
		b.WriteString(")")
	}
	if a.PID > 0 {
		fmt.Fprintf(&b, ", process %s (%d)", md(a.Process), a.PID)
	}
	if a.Suppressed > 0 {
		fmt.Fprintf(&b, ", %d more suppressed", a.Suppressed)
	}
	return b.String()
}

func addrList(m map[netip.Addr]bool, n int) string {
	as := make([]netip.Addr, 0, len(m))
	for a := range m {
		as = append(as, a)
	}
	slices.SortFunc(as, netip.Addr.Compare)
	var parts []string
	for i, a := range as {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d", len(as)-n))
			break
		}
		parts = append(parts, a.String())
	}
	return strings.Join(parts, ", ")
}
