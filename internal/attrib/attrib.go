// Package attrib maps network flows to the local process that owns their
// socket, as bandwhich and nethogs do: the system source lists the sockets of
// this network namespace with their inode and the pid holding that inode; a
// flow's local and remote address then find the socket, exactly or through a
// listener bound to a wildcard address.
//
// Flows are never guessed onto a process: a flow whose local address is not
// one of this namespace's is labelled OtherNamespace, one whose socket no
// process here holds is Gone or OtherNamespace, and anything else unresolved
// is Unknown (and asks for a fresh socket list).
//
// The package reads nothing itself; it is fed hoststat snapshots.
package attrib

import (
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// State says how sure an Owner is.
type State uint8

// Owner states.
const (
	// Unknown: no socket matches (yet), or its owner could not be read
	// (another user's process when not root).
	Unknown State = iota
	// Known: a live process in this namespace holds the socket.
	Known
	// Gone: the socket or its process existed and has since closed or
	// exited; PID and Name are the last owner seen, when one was.
	Gone
	// OtherNamespace: the flow belongs to another network or PID namespace
	// (a container): its local address is not one of ours, or its socket is
	// in no /proc/<pid>/fd we can see although we can see them all.
	OtherNamespace
)

// String names the state for people and JSON.
func (s State) String() string {
	switch s {
	case Known:
		return "known"
	case Gone:
		return "gone"
	case OtherNamespace:
		return "other_namespace"
	}
	return "unknown"
}

// Owner is the local process behind a flow.
type Owner struct {
	PID   int32
	Name  string
	State State
	// Listener is set when the owner was found through a listening (or
	// unconnected) socket rather than the flow's own: for an accepted
	// connection that is the listener's process (sshd's master, nginx's),
	// until the connection's socket appears with the process that holds
	// the session (`sshd: alice`, the worker). Such an owner is
	// provisional: look again after the next socket list.
	Listener bool
}

// ProcNet is one process's network traffic as accounted by Account.
type ProcNet struct {
	PID      int32
	Name     string
	State    State
	BytesIn  uint64
	BytesOut uint64
	// RateIn and RateOut are bytes per second between the last two full
	// snapshots given to Update.
	RateIn  float64
	RateOut float64
}

// IP protocol numbers Lookup understands.
const (
	ProtoTCP uint8 = 6
	ProtoUDP uint8 = 17
)

// Bounds of the tables: a busy server has tens of thousands of sockets, a
// flood could create far more misses; these keep memory bounded.
const (
	maxGone  = 16384
	maxMiss  = 4096
	maxAcct  = 4096
	goneKeep = 2 * time.Minute // how long a closed socket still labels late packets
	// inboundMissGens is how many socket lists pass before a miss on an
	// inbound flow may ask for another (at least two seconds: one full
	// list a second, refreshes between them at most five a second).
	inboundMissGens = 10
)

type connKey struct {
	proto         uint8
	local, remote netip.AddrPort
}

type boundKey struct {
	proto uint8
	addr  netip.Addr
	port  uint16
}

type sockInfo struct {
	pid   int32
	name  string
	inode uint64
}

type goneInfo struct {
	owner Owner
	at    time.Time
}

type acctKey struct {
	pid   int32
	name  string
	state State
}

type acctEntry struct {
	ProcNet
	lastIn, lastOut uint64 // at the previous rate update
}

// Table answers "which process owns this flow". Its methods are safe for
// concurrent use: the system source updates it while the packet path looks
// flows up.
type Table struct {
	mu       sync.Mutex
	refresh  func()
	pending  bool
	gen      uint64
	now      time.Time
	conn     map[connKey]sockInfo
	bound    map[boundKey]sockInfo
	local    map[netip.Addr]bool
	alive    map[int32]string
	complete bool
	gone     map[connKey]goneInfo
	miss     map[connKey]uint64 // generation of the first miss
	// inboundAsked is 1 + the generation in which an inbound miss last
	// asked for a refresh (0: never).
	inboundAsked uint64
	acct         map[acctKey]*acctEntry
	rateAt       time.Time
	// ports marks, for TCP and UDP, the local ports some socket in conn,
	// bound or gone has: a flow to any other port has no owner to find,
	// and its lookup skips those maps. Under a flood to a closed port
	// (spoofed sources, random ports) that is every new flow.
	ports [2]portSet
}

// portSet is a bit per port.
type portSet [65536 / 64]uint64

func (s *portSet) add(p uint16)      { s[p>>6] |= 1 << (p & 63) }
func (s *portSet) has(p uint16) bool { return s[p>>6]&(1<<(p&63)) != 0 }

// portsOf is the port set of proto, nil for a protocol sockets are not
// listed for.
func (t *Table) portsOf(proto uint8) *portSet {
	switch proto {
	case ProtoTCP:
		return &t.ports[0]
	case ProtoUDP:
		return &t.ports[1]
	}
	return nil
}

// markPorts rebuilds the port sets from the tables (t.mu held).
func (t *Table) markPorts() {
	t.ports = [2]portSet{}
	for k := range t.conn {
		if s := t.portsOf(k.proto); s != nil {
			s.add(k.local.Port())
		}
	}
	for k := range t.gone {
		if s := t.portsOf(k.proto); s != nil {
			s.add(k.local.Port())
		}
	}
	for k := range t.bound {
		if s := t.portsOf(k.proto); s != nil {
			s.add(k.port)
		}
	}
}

// NewTable returns an empty table. refresh, when not nil, is called on a
// lookup miss to ask the system source for a fresh socket list (the source
// rate-limits it to one per 200 ms); it is called at most once between two
// Updates and must not block.
func NewTable(refresh func()) *Table {
	return &Table{
		refresh: refresh,
		conn:    map[connKey]sockInfo{},
		bound:   map[boundKey]sockInfo{},
		local:   map[netip.Addr]bool{},
		gone:    map[connKey]goneInfo{},
		miss:    map[connKey]uint64{},
		acct:    map[acctKey]*acctEntry{},
	}
}

func norm(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

func protoOf(s string) uint8 {
	if s == "UDP" {
		return ProtoUDP
	}
	return ProtoTCP
}

// Update replaces the socket list with the snapshot's (full or socket-only).
// Connected sockets that disappeared are remembered for a while as Gone, so
// packets that arrive after a close are still labelled.
func (t *Table) Update(snap *hoststat.Snapshot) {
	if snap == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	t.pending = false
	t.now = snap.Time
	if !snap.Partial && snap.Processes != nil && !snap.ProcessesRepeated {
		t.alive = make(map[int32]string, len(snap.Processes))
		for i := range snap.Processes {
			t.alive[snap.Processes[i].PID] = snap.Processes[i].Name
		}
		t.updateRates(snap.Time)
	}
	if snap.LocalAddrs != nil {
		t.local = make(map[netip.Addr]bool, len(snap.LocalAddrs))
		for _, a := range snap.LocalAddrs {
			t.local[a.Unmap()] = true
		}
	}
	t.complete = snap.SocketOwnersComplete

	conn := make(map[connKey]sockInfo, len(snap.Sockets))
	bound := make(map[boundKey]sockInfo)
	for i := range snap.Sockets {
		s := &snap.Sockets[i]
		info := sockInfo{pid: s.PID, name: s.Process, inode: s.Inode}
		// A repeated socket list may name owners that have exited since:
		// the fresher process list decides. A fresh socket list names
		// owners that held the socket just now, though a repeated process
		// list may not know them yet (a shell started a second ago).
		if info.pid != 0 && t.alive != nil && snap.SocketsRepeated && !snap.Partial {
			if _, ok := t.alive[info.pid]; !ok {
				info.pid, info.name = 0, "" // exited: the socket is an orphan now
			}
		}
		p := protoOf(s.Proto)
		if s.Listening() || (p == ProtoUDP && s.Remote.Port() == 0) {
			k := boundKey{p, s.Local.Addr().Unmap(), s.Local.Port()}
			if prev, ok := bound[k]; !ok || (prev.pid == 0 && info.pid != 0) {
				bound[k] = info
			}
			continue
		}
		conn[connKey{p, norm(s.Local), norm(s.Remote)}] = info
	}
	// Sockets that vanished, or lost their owner, since the last update.
	for k, old := range t.conn {
		if old.pid == 0 {
			continue
		}
		if cur, ok := conn[k]; ok && cur.pid == old.pid {
			continue
		}
		t.gone[k] = goneInfo{owner: Owner{PID: old.pid, Name: old.name, State: Gone}, at: snap.Time}
	}
	for k, g := range t.gone {
		if snap.Time.Sub(g.at) > goneKeep || len(t.gone) > maxGone {
			delete(t.gone, k)
		}
	}
	t.conn, t.bound = conn, bound
	t.markPorts()
	if len(t.miss) > maxMiss {
		t.miss = map[connKey]uint64{}
	}
}

// IsLocal reports whether a is an address of this network namespace
// (loopback included).
func (t *Table) IsLocal(a netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.isLocal(a)
}

func (t *Table) isLocal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || t.local[a]
}

// Lookup finds the process owning the flow between local and remote (both
// seen from this host). ok is true only for a Known owner; otherwise Owner
// says why there is none (Gone with the last pid, OtherNamespace, Unknown).
// proto is ProtoTCP or ProtoUDP. IPv4-mapped IPv6 addresses match their
// IPv4 form, and a listener on 0.0.0.0 or :: owns inbound flows to any local
// address on its port.
func (t *Table) Lookup(proto uint8, local, remote netip.AddrPort) (Owner, bool) {
	local, remote = norm(local), norm(remote)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lookup(proto, local, remote, false)
}

// lookup is Lookup with t.mu held and the addresses normalized. inbound
// says the remote end opened the flow to a port here (see inboundMiss).
func (t *Table) lookup(proto uint8, local, remote netip.AddrPort, inbound bool) (Owner, bool) {
	k := connKey{proto, local, remote}
	if ps := t.portsOf(proto); ps != nil && !ps.has(local.Port()) {
		// No socket, listener or closed socket has this port: a miss,
		// told without the maps.
		if t.foreign(local.Addr()) {
			return Owner{State: OtherNamespace}, false
		}
		return t.missed(k, inbound)
	}
	info, found := t.conn[k]
	if !found && t.foreign(local.Addr()) {
		// Checked before the wildcard listeners: 0.0.0.0:80 here does not
		// own a container's port 80.
		return Owner{State: OtherNamespace}, false
	}
	listener := false
	if !found {
		info, found = t.boundLookup(proto, local)
		listener = found
	}
	if found {
		switch {
		case info.pid != 0:
			return Owner{PID: info.pid, Name: info.name, State: Known, Listener: listener}, true
		case info.inode == 0:
			// TIME_WAIT and orphaned sockets: the process closed it.
			if g, ok := t.gone[k]; ok {
				return g.owner, false
			}
			return Owner{State: Gone}, false
		case t.complete:
			// Every fd of every process was read and none holds it: the
			// holder lives in another PID namespace.
			return Owner{State: OtherNamespace}, false
		}
		return Owner{State: Unknown}, false
	}
	if g, ok := t.gone[k]; ok {
		return g.owner, false
	}
	return t.missed(k, inbound)
}

// missed handles a flow no socket owns: it may ask for a fresh socket
// list (see inboundMiss and requestRefresh).
func (t *Table) missed(k connKey, inbound bool) (Owner, bool) {
	if inbound {
		t.inboundMiss()
	} else {
		t.requestRefresh(k)
	}
	return Owner{State: Unknown}, false
}

// inboundMiss handles a flow opened from outside to a local port nothing
// listens on: a flood, a scan, or a listener started since the last socket
// list. Only the last would a refresh help, and only once, whatever the
// remote end or port; so such misses ask at most once every
// inboundMissGens socket lists and remember nothing per flow or per port.
// A flood from spoofed sources to random ports then costs a few map
// lookups per new flow and at most one socket list every two seconds.
func (t *Table) inboundMiss() {
	if t.inboundAsked != 0 && t.gen+1-t.inboundAsked < inboundMissGens {
		return
	}
	t.inboundAsked = t.gen + 1
	t.ask()
}

// foreign reports whether a is not an address of this namespace (when the
// addresses are known at all). Multicast and broadcast destinations are
// delivered to sockets bound to the wildcard, so they are not foreign.
func (t *Table) foreign(a netip.Addr) bool {
	if len(t.local) == 0 || a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() || a == limitedBroadcast {
		return false
	}
	return !t.local[a]
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// boundLookup finds a listener or unconnected UDP socket for local: bound
// to that address, to the IPv4 wildcard, or to the IPv6 wildcard (which
// also accepts IPv4 unless IPV6_V6ONLY, off by default on Linux).
func (t *Table) boundLookup(proto uint8, local netip.AddrPort) (sockInfo, bool) {
	a, port := local.Addr(), local.Port()
	if info, ok := t.bound[boundKey{proto, a, port}]; ok {
		return info, true
	}
	if a.Is4() {
		if info, ok := t.bound[boundKey{proto, netip.IPv4Unspecified(), port}]; ok {
			return info, true
		}
	}
	info, ok := t.bound[boundKey{proto, netip.IPv6Unspecified(), port}]
	return info, ok
}

// requestRefresh asks for a new socket list once per miss key: a tuple that
// still misses after a refresh has no socket, and asking again would only
// burn CPU during a scan.
func (t *Table) requestRefresh(k connKey) {
	if g, seen := t.miss[k]; seen && g < t.gen {
		return
	}
	t.miss[k] = t.gen
	t.ask()
}

// ask calls refresh, once between two Updates.
func (t *Table) ask() {
	if t.refresh != nil && !t.pending {
		t.pending = true
		t.refresh()
	}
}

// Account adds a flow's bytes to its owner's totals. bytesIn are bytes
// received by the local process, bytesOut bytes it sent.
func (t *Table) Account(owner Owner, bytesIn, bytesOut uint64) {
	k := acctKey{owner.PID, owner.Name, owner.State}
	if owner.State != Known && owner.State != Gone {
		k.pid, k.name = 0, ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.acct[k]
	if e == nil {
		if len(t.acct) >= maxAcct {
			t.evictAcct()
		}
		e = &acctEntry{ProcNet: ProcNet{PID: k.pid, Name: k.name, State: k.state}}
		t.acct[k] = e
	}
	e.BytesIn += bytesIn
	e.BytesOut += bytesOut
}

// evictAcct drops the quietest entries (no traffic in the last interval,
// fewest bytes) to make room.
func (t *Table) evictAcct() {
	type kv struct {
		k acctKey
		e *acctEntry
	}
	all := make([]kv, 0, len(t.acct))
	for k, e := range t.acct {
		all = append(all, kv{k, e})
	}
	sort.Slice(all, func(i, j int) bool {
		ri, rj := all[i].e.RateIn+all[i].e.RateOut, all[j].e.RateIn+all[j].e.RateOut
		if ri != rj {
			return ri < rj
		}
		return all[i].e.BytesIn+all[i].e.BytesOut < all[j].e.BytesIn+all[j].e.BytesOut
	})
	for _, x := range all[:len(all)/4+1] {
		delete(t.acct, x.k)
	}
}

func (t *Table) updateRates(now time.Time) {
	dt := now.Sub(t.rateAt).Seconds()
	first := t.rateAt.IsZero()
	t.rateAt = now
	for _, e := range t.acct {
		if !first && dt > 0 {
			e.RateIn = float64(e.BytesIn-e.lastIn) / dt
			e.RateOut = float64(e.BytesOut-e.lastOut) / dt
		}
		e.lastIn, e.lastOut = e.BytesIn, e.BytesOut
	}
}

// TopProcesses returns the n processes with the highest current rate (then
// most bytes), highest first.
func (t *Table) TopProcesses(n int) []ProcNet {
	t.mu.Lock()
	out := make([]ProcNet, 0, len(t.acct))
	for _, e := range t.acct {
		out = append(out, e.ProcNet)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		ri, rj := out[i].RateIn+out[i].RateOut, out[j].RateIn+out[j].RateOut
		if ri != rj {
			return ri > rj
		}
		bi, bj := out[i].BytesIn+out[i].BytesOut, out[j].BytesIn+out[j].BytesOut
		if bi != bj {
			return bi > bj
		}
		return out[i].PID < out[j].PID
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// LookupFlow finds the owner of a flow seen on the wire between a and b
// without knowing which end is local: a is tried as the local end first.
// It reports whether a is an address of this host (aLocal); when both are,
// and b's end owns the flow, aLocal is false.
//
// a should be the end that opened the flow (the flow's client): when only
// b is local, the flow is taken as inbound (see inboundMiss). One lock is
// taken and a miss stores nothing: under a flood of spoofed sources this
// runs for every packet.
func (t *Table) LookupFlow(proto uint8, a, b netip.AddrPort) (owner Owner, aLocal bool, ok bool) {
	a, b = norm(a), norm(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch aL := t.isLocal(a.Addr()); {
	case aL:
		o, ok := t.lookup(proto, a, b, false)
		if ok || !t.isLocal(b.Addr()) {
			return o, true, ok
		}
		if o2, ok2 := t.lookup(proto, b, a, false); ok2 {
			return o2, false, true
		}
		return o, true, false
	case t.isLocal(b.Addr()):
		o, ok := t.lookup(proto, b, a, true)
		return o, false, ok
	}
	return Owner{State: OtherNamespace}, false, false
}
