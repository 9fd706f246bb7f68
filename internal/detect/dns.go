package detect

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// dns.tunnel counts, per client and parent domain, the queries that look
// like data (NULL records, long random-looking labels) and the unique names
// asked. dns.dga counts, per client, distinct random-looking names answered
// NXDOMAIN.

type dnsKey struct {
	client netip.Addr
	parent uint64 // hash of the parent domain
}

type dnsEntry struct {
	w                   window
	queries, tunnelLike uint32
	score               uint32 // evidence points of the unique names
	names               sketch
	types               qtypeCounts
	samples             stringSamples
	longest             int
}

// qtypeCounts counts queries per record type, for up to maxQTypes types;
// later new types are not counted. The first qtypesInline types sit in the
// entry: a query costs a few string compares, no map hashing and no
// allocation. The rest, which only a client cycling through record types
// asks, are allocated when the first of them comes: every client and
// parent domain holds an entry, and sixteen inline types made it 488
// bytes (a 512-byte allocation) where 256 now hold it.
const (
	maxQTypes    = 16
	qtypesInline = 4
)

type qtypeCounts struct {
	name [qtypesInline]string
	n    [qtypesInline]uint32
	used uint8
	more *[maxQTypes - qtypesInline]qtypeCount // nil until used > qtypesInline
}

type qtypeCount struct {
	name string
	n    uint32
}

// at returns the name and count of the i-th type (i < maxQTypes, and
// i < used or more is allocated).
func (c *qtypeCounts) at(i uint8) (*string, *uint32) {
	if i < qtypesInline {
		return &c.name[i], &c.n[i]
	}
	m := &c.more[i-qtypesInline]
	return &m.name, &m.n
}

func (c *qtypeCounts) inc(t string) {
	for i := range c.used {
		if name, n := c.at(i); *name == t {
			*n++
			return
		}
	}
	if c.used < maxQTypes {
		if c.used == qtypesInline && c.more == nil {
			c.more = new([maxQTypes - qtypesInline]qtypeCount)
		}
		name, n := c.at(c.used)
		*name, *n = t, 1
		c.used++
	}
}

func (c *qtypeCounts) toMap() map[string]uint32 {
	m := make(map[string]uint32, c.used)
	for i := range c.used {
		name, n := c.at(i)
		m[*name] = *n
	}
	return m
}

type dgaEntry struct {
	w       window
	names   smallSketch
	samples stringSamples
}

type dnsState struct {
	dns *table[dnsKey, dnsEntry]
	dga *table[netip.Addr, dgaEntry]
}

func (d *Detector) initDNS() {
	d.dns = newTable[dnsKey, dnsEntry]("dns.tunnel", d.cfg.MaxEntries, func(e *dnsEntry) time.Time { return e.w.lastAt() }).
		withHash(func(k dnsKey) uint64 { return mix64(uint64(hashAddr(k.client)) ^ k.parent) })
	d.dga = newTable[netip.Addr, dgaEntry]("dns.dga", d.cfg.MaxEntries, func(e *dgaEntry) time.Time { return e.w.lastAt() }).withHash(addrKey)
}

func (d *Detector) dnsEvent(ev *proto.Event, f *flow.Flow, emit func(*Alert)) {
	m := ev.DNS
	switch {
	case m.Type == "request" || (!m.QR && m.Type == ""):
		for _, q := range m.Queries {
			d.dnsQuery(ev.TS, f, q, emit)
		}
	case m.RCode == "NXDOMAIN":
		for _, q := range m.Queries {
			d.dnsNX(ev.TS, f, q.RRName, emit)
		}
	}
}

// isMulticastDNS reports mDNS (5353, 224.0.0.251, ff02::fb) and LLMNR
// (5355, 224.0.0.252, ff02::1:3): service discovery on the segment, where
// one name asked many times is normal and nothing leaves the link.
func isMulticastDNS(f *flow.Flow) bool {
	return f.SPort == 5353 || f.SPort == 5355 || f.Server.IsMulticast()
}

// tunnelEvidence scores one unique query name as data: a long random-looking
// label is 1 point, a label near the 63-byte limit or a name over 100 bytes
// 1 more, and a record type that carries bulk answers (NULL, TXT, PRIVATE)
// 1 more when the name is already encoded; NULL alone is 1 (no ordinary
// software asks for it). Tunnels score 2-3 per query, an antivirus hash
// lookup 1.
func tunnelEvidence(name, sub, qtype string, longLabel int) uint32 {
	var pts uint32
	encoded := longRandomLabel(sub, longLabel)
	if encoded {
		pts++
		if len(name) > 100 || longestLabel(sub) >= 48 {
			pts++
		}
	}
	switch qtype {
	case "NULL":
		pts++
	case "TXT", "PRIVATE", "ANY", "CNAME", "MX", "SRV", "KEY":
		if encoded {
			pts++
		}
	default:
		if strings.HasPrefix(qtype, "TYPE") && encoded {
			pts++ // private-use types (iodine's 65399 and the like)
		}
	}
	return pts
}

func longestLabel(sub string) int {
	n := 0
	for _, l := range strings.Split(sub, ".") {
		n = max(n, len(l))
	}
	return n
}

func (d *Detector) dnsQuery(ts time.Time, f *flow.Flow, q proto.DNSQuery, emit func(*Alert)) {
	if isMulticastDNS(f) {
		return
	}
	name := strings.TrimSuffix(q.RRName, ".")
	parent, sub := splitParent(name)
	if parent == "" || strings.HasSuffix(parent, "arpa") {
		return
	}
	e, _ := d.dns.upsert(dnsKey{f.Client, hashString(parent)})
	if e.w.roll(ts, d.cfg.DNSWindow) {
		*e = dnsEntry{w: e.w}
	}
	e.queries++
	e.types.inc(q.RRType)
	newName := e.names.add(uint32(hashString(asciiLower(name))))
	e.longest = max(e.longest, len(name))
	if !newName {
		return // a repeated name is a retry or a cache miss, not more data
	}
	if pts := tunnelEvidence(name, sub, q.RRType, d.cfg.DNSLongLabel); pts > 0 {
		e.tunnelLike++
		e.score += pts
		e.samples.add(name)
	}
	unique := e.names.count()
	tunnel := int(e.score) >= d.cfg.DNSTunnelQueries
	volume := unique >= d.cfg.DNSUniqueNames
	if !tunnel && !volume {
		return
	}
	measure := float64(max(int(e.score), unique))
	d.fire(emit, RuleDNSTunnel, supKey{actor: f.Client, extra: hashString(parent)}, measure, ts, func(a *Alert) {
		withFlow(a, f)
		a.Src, a.Dst, a.SrcPort, a.DstPort = f.Client, f.Server, f.CPort, f.SPort
		a.Signature = fmt.Sprintf("dns.tunnel: %s sent %d tunnel-like DNS queries (%d unique names) under one domain via %s",
			f.Client, e.tunnelLike, unique, f.Server)
		a.Evidence["parent"] = parent
		a.Evidence["queries"] = e.queries
		a.Evidence["tunnel_like"] = e.tunnelLike
		a.Evidence["score"] = e.score
		a.Evidence["unique_names"] = unique
		a.Evidence["longest_name"] = e.longest
		a.Evidence["qtypes"] = e.types.toMap()
		a.Evidence["sample_names"] = e.samples.list()
		a.Evidence["first_seen"] = rfc3339(e.w.firstAt())
		a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
		if !tunnel {
			// Volume alone: many names, none encoded. Less certain.
			a.Severity = SevMedium
		}
	})
}

func (d *Detector) dnsNX(ts time.Time, f *flow.Flow, qname string, emit func(*Alert)) {
	name := strings.TrimSuffix(qname, ".")
	parent, _ := splitParent(name)
	if parent == "" || strings.HasSuffix(parent, "arpa") {
		return
	}
	first := parent
	if i := strings.IndexByte(parent, '.'); i > 0 {
		first = parent[:i]
	}
	if !randomLooking(first, 8) {
		return
	}
	e, _ := d.dga.upsert(f.Client)
	if e.w.roll(ts, d.cfg.DNSWindow) {
		*e = dgaEntry{w: e.w}
	}
	e.samples.add(name)
	if !e.names.add(uint32(hashString(asciiLower(name)))) {
		return
	}
	n := e.names.count()
	if n < d.cfg.DGANXDomains {
		return
	}
	d.fire(emit, RuleDNSDGA, supKey{actor: f.Client}, float64(n), ts, func(a *Alert) {
		withFlow(a, f)
		a.Src, a.Dst, a.DstPort = f.Client, f.Server, f.SPort
		a.Signature = fmt.Sprintf("dns.dga: %s got NXDOMAIN for %d random-looking names from %s", f.Client, n, f.Server)
		a.Evidence["nxdomain_names"] = n
		a.Evidence["sample_names"] = e.samples.list()
		a.Evidence["first_seen"] = rfc3339(e.w.firstAt())
		a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
	})
}

// splitParent returns the parent domain of name (its registered domain,
// one label under the public suffix, from the Public Suffix List) and the
// labels before it. A name whose last label is not a plausible TLD
// (dnscat's direct mode, "dnscat.<hex>.<hex>") is parented by its first
// label instead. A name that is itself a public suffix is its own parent.
//
// Parent and sub are substrings of the lower-cased name: no allocation for
// a name already in lower case (a query per DNS event makes this hot).
func splitParent(name string) (parent, sub string) {
	if name == "" {
		return "", ""
	}
	name = asciiLower(name)
	last := strings.LastIndexByte(name, '.')
	tld := name[last+1:]
	if !isAlpha(tld) || len(tld) > 24 {
		first, rest, _ := strings.Cut(name, ".")
		return first, rest
	}
	if last < 0 {
		return name, "" // one label
	}
	suffix, _ := publicsuffix.PublicSuffix(name)
	if len(suffix) >= len(name) {
		return name, ""
	}
	// The label before the suffix starts after the dot before it.
	head := name[:len(name)-len(suffix)-1]
	cut := strings.LastIndexByte(head, '.')
	if cut < 0 {
		return name, ""
	}
	return name[cut+1:], name[:cut]
}

func isAlpha(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			if s[i] != '-' {
				return false
			}
		}
	}
	return true
}

// longRandomLabel reports whether any label of sub is at least min bytes
// long and random-looking (encoded data).
func longRandomLabel(sub string, min int) bool {
	for sub != "" {
		l := sub
		if i := strings.IndexByte(sub, '.'); i >= 0 {
			l, sub = sub[:i], sub[i+1:]
		} else {
			sub = ""
		}
		if len(l) >= min && randomLooking(l, min) {
			return true
		}
	}
	return false
}

// randomLooking scores a label as machine-made: high character entropy and
// either many digits, few vowels or long consonant runs, or bytes outside
// the hostname alphabet. Words and word compounds ("internal-services",
// "googleusercontent") fail the second test.
func randomLooking(l string, minLen int) bool {
	if len(l) < minLen {
		return false
	}
	var counts [256]int
	digits, vowels, letters, run, maxRun, odd := 0, 0, 0, 0, 0, 0
	for i := 0; i < len(l); i++ {
		c := l[i]
		counts[c]++
		lc := c | 0x20
		switch {
		case c >= '0' && c <= '9':
			digits++
			run = 0
		case lc >= 'a' && lc <= 'z':
			letters++
			if strings.IndexByte("aeiouy", lc) >= 0 {
				vowels++
				run = 0
			} else {
				run++
				maxRun = max(maxRun, run)
			}
		case c == '-' || c == '_':
			run = 0
		default:
			odd++
			run = 0
		}
	}
	if odd > 0 {
		return true
	}
	var h float64
	n := float64(len(l))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	if h < 3.0 {
		return false
	}
	return digits*5 >= len(l) || (letters > 0 && vowels*5 < letters) || maxRun >= 5
}

func (d *Detector) expireDNS(now time.Time) {
	d.dns.expire(now.Add(-d.cfg.DNSWindow))
	d.dga.expire(now.Add(-d.cfg.DNSWindow))
}

func (d *Detector) dnsStats(out map[string]uint64) {
	d.dns.stats(out)
	d.dga.stats(out)
}

// asciiLower folds A-Z only: DNS names are bytes, and strings.ToLower would
// rewrite invalid UTF-8 (iodine sends raw bytes in labels).
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func init() {
	registerFamily(family{name: "dns", init: (*Detector).initDNS, expire: (*Detector).expireDNS, stats: (*Detector).dnsStats})
}
