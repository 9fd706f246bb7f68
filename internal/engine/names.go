package engine

import (
	"net/netip"
	"strings"

	"github.com/opsdeck/opsdeck/internal/proto"
)

// maxNames bounds the addresses named at once; past it the oldest goes.
const maxNames = 8192

// names remembers, for each address a DNS answer on the wire gave, the name
// that was asked. The console shows it in place of the address, as
// tcpdump and iftop show resolved names, but opsdeck learns it passively:
// it never sends a query, which during an incident would tell an attacker's
// name server that someone is looking. An answer can be forged, so the
// console says where a name came from.
type names struct {
	m    map[netip.Addr]string
	ring []netip.Addr // insertion order, for eviction
	next int          // oldest entry of a full ring
}

// learn takes the A and AAAA answers of a successful response.
func (n *names) learn(d *proto.DNS) {
	if !d.QR || d.RCode != "NOERROR" || len(d.Queries) == 0 || len(d.Answers) == 0 {
		return
	}
	name := strings.TrimSuffix(d.Queries[0].RRName, ".")
	if name == "" {
		return
	}
	kept := ""
	for i := range d.Answers {
		a := &d.Answers[i]
		if a.RRType != "A" && a.RRType != "AAAA" {
			continue
		}
		addr, err := netip.ParseAddr(a.RData)
		if err != nil || !addr.IsValid() || addr.IsUnspecified() {
			continue
		}
		if kept == "" {
			kept = strings.Clone(name) // not the whole message's text
		}
		n.set(addr.Unmap(), kept)
	}
}

func (n *names) set(a netip.Addr, name string) {
	if n.m == nil {
		n.m = make(map[netip.Addr]string)
	}
	if _, ok := n.m[a]; ok {
		n.m[a] = name
		return
	}
	if len(n.ring) < maxNames {
		n.ring = append(n.ring, a)
	} else {
		delete(n.m, n.ring[n.next])
		n.ring[n.next] = a
		n.next = (n.next + 1) % maxNames
	}
	n.m[a] = name
}

// of returns a's name, or "".
func (n *names) of(a netip.Addr) string { return n.m[a.Unmap()] }
