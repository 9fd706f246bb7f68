package engine

import (
	"net/netip"
	"strings"

	"github.com/opsdeck/opsdeck/internal/proto"
)

// maxNames bounds the addresses named at once; past it the oldest goes.
const maxNames = 8192

// maxAsked bounds the questions waiting for their answer; past it the
// oldest is forgotten (its answer will name nothing).
const maxAsked = 4096

// names remembers, for each address a DNS answer on the wire gave, the name
// that was asked. The console shows it in place of the address, as
// tcpdump and iftop show resolved names, but opsdeck learns it passively:
// it never sends a query, which during an incident would tell an attacker's
// name server that someone is looking. An answer can be forged, so the
// console says where a name came from.
//
// Only an answer to a question seen on the wire names anything: the same
// flow, the same message ID and the same name, answered once. One forged
// datagram from port 53 that nobody asked for renames nothing (issue 12,
// finding 12); forging an answer takes seeing the question, as for the
// resolver itself.
type names struct {
	m    map[netip.Addr]string
	more map[netip.Addr][]string // earlier names of an address, newest first
	ring []netip.Addr            // insertion order, for eviction
	next int                     // oldest entry of a full ring

	asked     map[question]struct{}
	askedRing []question
	askedNext int
}

// question is a DNS query waiting for its answer.
type question struct {
	flow uint64
	id   uint16
	name string // lower case, no trailing dot
}

func questionOf(flowID uint64, d *proto.DNS) (question, bool) {
	if len(d.Queries) == 0 {
		return question{}, false
	}
	name := strings.ToLower(strings.TrimSuffix(d.Queries[0].RRName, "."))
	if name == "" {
		return question{}, false
	}
	return question{flow: flowID, id: d.ID, name: name}, true
}

// ask records a query sent on flow flowID.
func (n *names) ask(flowID uint64, d *proto.DNS) {
	q, ok := questionOf(flowID, d)
	if !ok || d.QR {
		return
	}
	if n.asked == nil {
		n.asked = make(map[question]struct{})
	}
	if _, ok := n.asked[q]; ok {
		return
	}
	if len(n.askedRing) < maxAsked {
		n.askedRing = append(n.askedRing, q)
	} else {
		delete(n.asked, n.askedRing[n.askedNext])
		n.askedRing[n.askedNext] = q
		n.askedNext = (n.askedNext + 1) % maxAsked
	}
	n.asked[q] = struct{}{}
}

// answered reports whether d answers a question asked on flow flowID, and
// forgets the question: a second answer names nothing.
func (n *names) answered(flowID uint64, d *proto.DNS) bool {
	q, ok := questionOf(flowID, d)
	if !ok {
		return false
	}
	if _, ok := n.asked[q]; !ok {
		return false
	}
	delete(n.asked, q) // its ring slot goes when the ring comes round
	return true
}

// observe takes one DNS message of flow flowID: a query is remembered, the
// answer to it learned from.
func (n *names) observe(flowID uint64, d *proto.DNS) {
	if !d.QR {
		n.ask(flowID, d)
		return
	}
	if n.answered(flowID, d) {
		n.learn(d)
	}
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

// maxOtherNames bounds the earlier names kept per address (a CDN address
// answers for many names).
const maxOtherNames = 3

func (n *names) set(a netip.Addr, name string) {
	if n.m == nil {
		n.m = make(map[netip.Addr]string)
	}
	if old, ok := n.m[a]; ok {
		if old != name {
			n.remember(a, old, name)
		}
		n.m[a] = name
		return
	}
	if len(n.ring) < maxNames {
		n.ring = append(n.ring, a)
	} else {
		delete(n.m, n.ring[n.next])
		delete(n.more, n.ring[n.next])
		n.ring[n.next] = a
		n.next = (n.next + 1) % maxNames
	}
	n.m[a] = name
}

// remember keeps old among a's earlier names (newest first, bounded),
// now that cur names it.
func (n *names) remember(a netip.Addr, old, cur string) {
	if n.more == nil {
		n.more = make(map[netip.Addr][]string)
	}
	list := []string{old}
	for _, x := range n.more[a] {
		if x != old && x != cur && len(list) < maxOtherNames {
			list = append(list, x)
		}
	}
	n.more[a] = list
}

// of returns a's name, or "".
func (n *names) of(a netip.Addr) string { return n.m[a.Unmap()] }

// others returns the earlier names of a, newest first (nil for none).
func (n *names) others(a netip.Addr) []string { return n.more[a.Unmap()] }
