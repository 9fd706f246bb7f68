package proto

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// A protocol parser registers itself from its own file (registerProtocol in
// an init), as a detection rule does in internal/detect: its app_proto
// name, how a flow is recognised as it (content probes in the detection
// order, server ports), how its per-flow parser is made, and, through the
// Record its events carry, its EVE object and its console line. State's
// detection and dispatch, the EVE writer (internal/eve) and the console
// (internal/engine eventLine) go through the registry and name no
// protocol, so adding one is one file plus its test, fuzz target and doc
// entry. Every parser registers itself this way, from its own file (the
// mail protocols and FTP from lines.go, which holds their shared parsing);
// TestDetectionOrder lists the resulting probe order.

// detectMinBytes is how much of a direction's first data detection waits for
// before it decides; every probe's signature fits in it.
const detectMinBytes = 8

// appID is a registered protocol's index in protocols; appNone (0) is no
// protocol.
type appID uint8

const appNone appID = 0

// protocol is what a parser registers about itself.
type protocol struct {
	// name is the app_proto value, Suricata's where it has the protocol.
	name string
	// tcp recognise the protocol from the first stream bytes of one
	// direction of a TCP flow, tried in the order of all registered
	// probes (see the tiers below); ports names it by the server port
	// when no probe matched, for protocols whose first bytes are plain
	// text (a mail or FTP banner, Telnet without option negotiation).
	tcp   []probe
	ports []uint16
	// short reports that b, fewer than detectMinBytes bytes, is already
	// enough to decide (Telnet's option negotiation): detection does not
	// wait for more.
	short func(b []byte) bool
	// newTCP makes a TCP flow's parser. st.app is already this protocol.
	newTCP func(st *State) parser
	// udp recognise the protocol from a UDP datagram, in probe order; the
	// flow's parser (newUDP) gets each datagram whole through feed.
	udp    []probe
	newUDP func(st *State) parser
	// packetDir says Suricata writes this protocol's records in the
	// direction of the packet that made them (its LOG_DIR_PACKET): a
	// response goes from the server to the client (see FollowsPacket).
	packetDir bool
}

// FollowsPacket reports whether records of the given event type are
// written in the direction of the packet that made them, as Suricata
// writes them, rather than the flow's (client to server).
// The EVE writer asks for every record a server sends: a scan of the few
// names (string comparison looks at the length first) is cheaper than a
// map lookup, which hashes the name each time.
func FollowsPacket(eventType string) bool {
	for _, n := range packetDirTypes {
		if n == eventType {
			return true
		}
	}
	return false
}

// probe is one content test of a protocol. order places it among all
// registered probes (lower first); match gets the bytes seen so far (at
// least one), the direction, and the server's and client's ports. first,
// when set, holds every byte an opening match accepts can start with:
// detection then skips the probe for any other first byte
// (FuzzDetectFirstBytes holds each probe to it).
type probe struct {
	order int
	first string
	match func(b []byte, toServer bool, sport, cport uint16) bool
	app   appID
}

// Detection tiers: content decides before ports, unambiguous binary
// signatures (TLS record, "SSH-", "HTTP/1.", RDP's TPKT, Telnet's IAC)
// first, then structured binary openings (LDAP, PostgreSQL, SOCKS5), then
// text commands and banners (HTTP methods, Redis, POP3, IMAP, SMTP, FTP),
// then DNS over TCP, which parses the whole message. A probe's order is
// its tier plus its place in it; TestDetectionOrder lists them all.
const (
	tierSignature  = 100
	tierStructured = 200
	tierText       = 300
	tierMessage    = 400
)

var (
	// protocols is indexed by appID; appNames by appID too (the
	// app_proto each State reports).
	protocols = []protocol{{}}
	appNames  = []string{""}
	tcpProbes []probe // every TCP probe, by order
	udpProbes []probe // every UDP probe, by order
	portApps  []portApp
	// tcpFirst[c] has bit i set when tcpProbes[i] may match an opening
	// that starts with byte c: detection calls a handful of probes, not
	// all of them.
	tcpFirst [256]uint64
	// packetDirTypes are the names of the protocols with packetDir.
	packetDirTypes []string
)

type portApp struct {
	port uint16
	app  appID
}

// registerProtocol adds p to the registry and returns its appID. It panics,
// leaving the registry as it was, on what would make detection ambiguous (a
// name, a probe order or a port registered twice) or a probe with no parser
// to run: mistakes the first test run finds.
func registerProtocol(p protocol) appID {
	if err := checkProtocol(p); err != nil {
		panic("proto: " + err.Error())
	}
	id := appID(len(protocols))
	protocols = append(protocols, p)
	appNames = append(appNames, p.name)
	if p.packetDir {
		packetDirTypes = append(packetDirTypes, p.name)
	}
	tcpProbes = addProbes(tcpProbes, id, p.tcp)
	udpProbes = addProbes(udpProbes, id, p.udp)
	for _, port := range p.ports {
		portApps = append(portApps, portApp{port, id})
	}
	for c := range tcpFirst {
		var m uint64
		for i, pr := range tcpProbes {
			if pr.first == "" || strings.IndexByte(pr.first, byte(c)) >= 0 {
				m |= 1 << i
			}
		}
		tcpFirst[c] = m
	}
	return id
}

func checkProtocol(p protocol) error {
	switch {
	case p.name == "":
		return fmt.Errorf("a protocol without a name")
	case slices.Contains(appNames, p.name):
		return fmt.Errorf("protocol %q registered twice", p.name)
	case len(protocols) > 255:
		return fmt.Errorf("protocol %q: too many protocols for an appID", p.name)
	case (len(p.tcp) > 0 || len(p.ports) > 0 || p.short != nil) && p.newTCP == nil:
		return fmt.Errorf("protocol %q is detected on TCP but has no TCP parser", p.name)
	case len(p.udp) > 0 && p.newUDP == nil:
		return fmt.Errorf("protocol %q is detected on UDP but has no UDP parser", p.name)
	case len(p.tcp) == 0 && len(p.ports) == 0 && len(p.udp) == 0:
		return fmt.Errorf("protocol %q has no way to be detected", p.name)
	case len(tcpProbes)+len(p.tcp) > 64:
		return fmt.Errorf("protocol %q: more than 64 TCP probes (tcpFirst's bits)", p.name)
	}
	for _, port := range p.ports {
		for _, pa := range portApps {
			if pa.port == port {
				return fmt.Errorf("port %d registered by %q and %q", port, appNames[pa.app], p.name)
			}
		}
	}
	for _, list := range [...]struct {
		have, add []probe
	}{{tcpProbes, p.tcp}, {udpProbes, p.udp}} {
		for i, pr := range list.add {
			if pr.match == nil {
				return fmt.Errorf("protocol %q has a probe without a test", p.name)
			}
			if j, found := probeAt(list.have, pr.order); found {
				return fmt.Errorf("probes of %q and %q share order %d", appNames[list.have[j].app], p.name, pr.order)
			}
			for _, other := range list.add[:i] {
				if other.order == pr.order {
					return fmt.Errorf("two probes of %q share order %d", p.name, pr.order)
				}
			}
		}
	}
	return nil
}

func probeAt(list []probe, order int) (int, bool) {
	return slices.BinarySearchFunc(list, order, func(x probe, o int) int { return x.order - o })
}

// addProbes inserts ps, of protocol id, into list, keeping it sorted by
// order.
func addProbes(list []probe, id appID, ps []probe) []probe {
	for _, pr := range ps {
		i, _ := probeAt(list, pr.order)
		pr.app = id
		list = slices.Insert(list, i, pr)
	}
	return list
}

// detectTCP names the application protocol from the first stream bytes of
// one direction: the registered probes in order, then the server port.
// more is set when b is too short to decide.
func detectTCP(b []byte, toServer bool, sport, cport uint16) (app appID, more bool) {
	if len(b) < detectMinBytes && !bytes.Contains(b, []byte{'\n'}) && !shortOpening(b) {
		// A short first segment may still be a complete banner or
		// command (it has its line end) or a protocol's whole opening.
		return appNone, true
	}
	if len(b) > 0 {
		for m := tcpFirst[b[0]]; m != 0; m &= m - 1 {
			if p := &tcpProbes[bits.TrailingZeros64(m)]; p.match(b, toServer, sport, cport) {
				return p.app, false
			}
		}
	}
	for _, pa := range portApps {
		if pa.port == sport {
			return pa.app, false
		}
	}
	return appNone, false
}

func shortOpening(b []byte) bool {
	for i := 1; i < len(protocols); i++ {
		if s := protocols[i].short; s != nil && s(b) {
			return true
		}
	}
	return false
}

// detectUDP names the application protocol of a UDP flow from one
// datagram, or appNone.
func detectUDP(b []byte, toServer bool, sport, cport uint16) appID {
	for i := range udpProbes {
		if p := &udpProbes[i]; p.match(b, toServer, sport, cport) {
			return p.app
		}
	}
	return appNone
}

// Record is the body of an event from a registered parser: it knows its
// EVE event type, its EVE object and its console line, so the EVE writer
// and the console need no case of their own for it.
type Record interface {
	// EventType is the EVE event_type; the object AppendEVE writes goes
	// under a key of the same name, as Suricata's records have it.
	EventType() string
	// AppendEVE appends the record's EVE object (a JSON object), in the
	// shape Suricata's schema gives the event type where Suricata has it.
	AppendEVE(b []byte, o EVEOptions) ([]byte, error)
	// Line is the console's summary and detail of the event, as raw as
	// the packet had them: the console cleans them (textsafe) itself.
	Line() (summary, detail string)
}

// EVEOptions are the writer's settings a Record's EVE object depends on.
type EVEOptions struct {
	ShowSecrets bool // secrets in clear (--show-secrets); masked otherwise
}

// record sends r as an event of its own type.
func (c *ctx) record(r Record, toServer bool) {
	c.send(&Event{Type: r.EventType(), Body: r}, toServer)
}
