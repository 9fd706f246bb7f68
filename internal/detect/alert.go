// Package detect holds the detection catalog, the alert model and the
// network rules that raise alerts from packets, protocol events and ended
// flows; the ops rules over host samples are in internal/detect/ops and
// register into the same catalog. Rules use packet (or sample) timestamps
// only, never the wall clock.
package detect

import (
	"fmt"
	"net/netip"
	"time"
)

// Severity follows Suricata: 1 high, 2 medium, 3 low/info.
type Severity uint8

// Severities.
const (
	SevHigh   Severity = 1
	SevMedium Severity = 2
	SevLow    Severity = 3
)

// String names the severity for people.
func (s Severity) String() string {
	switch s {
	case SevHigh:
		return "high"
	case SevMedium:
		return "medium"
	case SevLow:
		return "low"
	}
	return "unknown"
}

// Rule is one catalog entry. Names and signature ids are stable: scripts and
// users depend on them.
type Rule struct {
	Name     string   // catalog name, e.g. "scan.port"
	SID      uint32   // stable signature_id
	Rev      uint32   // bumped when the rule's meaning changes
	Category string   // EVE alert.category
	Severity Severity // default severity
	MITRE    []string // MITRE ATT&CK technique ids
	Summary  string   // one line for people (help, docs)
}

// Alert is one raised alert. Src points from the actor to the target (Dst), as
// docs/design.md says: scanner to scanned host, client to server; for ARP rules Src is
// the IP address whose hardware address was claimed.
type Alert struct {
	Rule      *Rule
	Severity  Severity  // may differ from Rule.Severity (e.g. escalation)
	TS        time.Time // packet or sample time of the event that raised it
	Signature string    // human text naming actor and target
	Src, Dst  netip.Addr
	SrcPort   uint16
	DstPort   uint16
	Proto     string // EVE proto name ("TCP", "UDP", "ICMP", "IPv6-ICMP", "ARP", "")
	FlowID    uint64 // 0 when not tied to one flow
	Community string // community_id of the flow, when tied to one
	// Suppressed counts the alerts folded into this one since it was raised.
	Suppressed uint64
	// Update is true when this record re-reports an alert already raised whose
	// count kept growing in its suppression window.
	Update bool
	// Incident identifies the incident the alert belongs to: its rule and
	// the suppressor's key (actor, target, port). Every record of one
	// incident, first or update, has the same Incident, even when a
	// spoofed flood's most frequent source changes between them; the
	// console shows one row per Incident.
	Incident string
	// Evidence holds the facts that justify the alert; it is encoded as the EVE
	// "evidence" object. Values must be JSON-encodable (numbers, strings, slices).
	Evidence map[string]any
	// PID and Process name the local process, when attribution found one.
	PID     int32
	Process string
}

// Sev is the alert's severity: its own, or its rule's when it has none
// (0). Every consumer reads it through here.
func (a *Alert) Sev() Severity {
	if a.Severity == 0 && a.Rule != nil {
		return a.Rule.Severity
	}
	return a.Severity
}

// Catalog is every rule opsdeck knows, by name. Signature ids are stable.
var Catalog = map[string]*Rule{}

func register(r *Rule) *Rule {
	if r.Rev == 0 {
		r.Rev = 1
	}
	Catalog[r.Name] = r
	return r
}

// Register adds a rule defined outside this package (the ops rules) to the
// catalog and returns it. A name or signature id already taken is a
// programming error: it panics, at start-up.
func Register(r *Rule) *Rule {
	for _, c := range Catalog {
		if c.Name == r.Name || c.SID == r.SID {
			panic(fmt.Sprintf("detect: rule %s (sid %d) registered twice: %s (sid %d) is in the catalog", r.Name, r.SID, c.Name, c.SID))
		}
	}
	return register(r)
}

// Rules of the catalog (docs/design.md, "Detection catalog").
var (
	RuleScanPort       = register(&Rule{Name: "scan.port", SID: 9000001, Category: "Attempted Information Leak", Severity: SevMedium, MITRE: []string{"T1046"}, Summary: "one source probes many ports on one host"})
	RuleScanSweep      = register(&Rule{Name: "scan.sweep", SID: 9000002, Category: "Attempted Information Leak", Severity: SevMedium, MITRE: []string{"T1046"}, Summary: "one source probes the same port(s) on many hosts"})
	RuleScanStealth    = register(&Rule{Name: "scan.stealth", SID: 9000003, Category: "Attempted Information Leak", Severity: SevMedium, MITRE: []string{"T1046"}, Summary: "NULL, FIN, Xmas or other invalid-flag probes"})
	RuleSynFlood       = register(&Rule{Name: "dos.synflood", SID: 9000010, Category: "Attempted Denial of Service", Severity: SevHigh, MITRE: []string{"T1498.001", "T1499.002"}, Summary: "SYN rate toward a host:port far above completed handshakes"})
	RuleReflection     = register(&Rule{Name: "dos.reflection", SID: 9000012, Category: "Attempted Denial of Service", Severity: SevHigh, MITRE: []string{"T1498.002"}, Summary: "unsolicited responses from many reflectors or of amplifying size toward one host"})
	RuleDHCPStarve     = register(&Rule{Name: "dhcp.starvation", SID: 9000013, Category: "Attempted Denial of Service", Severity: SevHigh, MITRE: []string{"T1499", "T1557.003"}, Summary: "DHCP leases asked for many invented client addresses"})
	RuleICMPFlood      = register(&Rule{Name: "dos.icmpflood", SID: 9000011, Category: "Attempted Denial of Service", Severity: SevHigh, MITRE: []string{"T1498.001"}, Summary: "ICMP rate from a source or toward a host far above normal"})
	RuleARPSpoof       = register(&Rule{Name: "arp.spoof", SID: 9000020, Rev: 2, Category: "Potentially Bad Traffic", Severity: SevHigh, MITRE: []string{"T1557.002"}, Summary: "an ARP claim contradicts an IP address's hardware address already seen"})
	RuleBruteSSH       = register(&Rule{Name: "bruteforce.ssh", SID: 9000030, Category: "Attempted User Privilege Gain", Severity: SevHigh, MITRE: []string{"T1110.001"}, Summary: "many failed or short SSH login attempts from one source"})
	RuleBruteFTP       = register(&Rule{Name: "bruteforce.ftp", SID: 9000031, Category: "Attempted User Privilege Gain", Severity: SevHigh, MITRE: []string{"T1110.001"}, Summary: "many failed FTP logins from one source"})
	RuleBruteRDP       = register(&Rule{Name: "bruteforce.rdp", SID: 9000032, Category: "Attempted User Privilege Gain", Severity: SevHigh, MITRE: []string{"T1110.001"}, Summary: "many short RDP sessions from one source"})
	RuleBruteTelnet    = register(&Rule{Name: "bruteforce.telnet", SID: 9000033, Category: "Attempted User Privilege Gain", Severity: SevHigh, MITRE: []string{"T1110.001"}, Summary: "many failed Telnet logins from one source"})
	RuleBruteHTTP      = register(&Rule{Name: "bruteforce.http", SID: 9000034, Category: "Attempted User Privilege Gain", Severity: SevHigh, MITRE: []string{"T1110.001"}, Summary: "many failed HTTP authentications from one source"})
	RuleDNSTunnel      = register(&Rule{Name: "dns.tunnel", SID: 9000040, Category: "Potentially Bad Traffic", Severity: SevHigh, MITRE: []string{"T1071.004", "T1048"}, Summary: "DNS used as a data channel"})
	RuleDNSDGA         = register(&Rule{Name: "dns.dga", SID: 9000041, Category: "Potentially Bad Traffic", Severity: SevMedium, MITRE: []string{"T1568.002"}, Summary: "bursts of NXDOMAIN answers for random-looking names"})
	RuleICMPTunnel     = register(&Rule{Name: "icmp.tunnel", SID: 9000042, Category: "Potentially Bad Traffic", Severity: SevHigh, MITRE: []string{"T1095", "T1048"}, Summary: "ICMP echo carrying varied, large or protocol-like payloads"})
	RuleCredCleartext  = register(&Rule{Name: "cred.cleartext", SID: 9000050, Category: "Potential Corporate Privacy Violation", Severity: SevMedium, MITRE: []string{"T1040", "T1552"}, Summary: "credentials sent in clear"})
	RulePortSuspicious = register(&Rule{Name: "port.suspicious", SID: 9000060, Rev: 2, Category: "Potentially Bad Traffic", Severity: SevLow, MITRE: []string{"T1571"}, Summary: "a session on a well-known backdoor or C2 port"})
	RuleTrafficSurge   = register(&Rule{Name: "traffic.surge", SID: 9000070, Category: "Misc activity", Severity: SevLow, MITRE: []string{"T1498"}, Summary: "a host's or interface's rate far above its own recent baseline"})
	RuleHostNew        = register(&Rule{Name: "host.new", SID: 9000080, Category: "Misc activity", Severity: SevLow, Summary: "a host not seen before on the local segment"})
)
