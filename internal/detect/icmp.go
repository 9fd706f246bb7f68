package detect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

func isEchoRequest(s *packet.Summary) bool {
	return (s.Proto == packet.ProtoICMP && s.ICMPType == 8) || (s.Proto == packet.ProtoICMPv6 && s.ICMPType == 128)
}

func isEchoReply(s *packet.Summary) bool {
	return (s.Proto == packet.ProtoICMP && s.ICMPType == 0) || (s.Proto == packet.ProtoICMPv6 && s.ICMPType == 129)
}

// isICMPResponse reports ICMP messages sent in answer to another packet:
// echo, timestamp, information and mask replies, and every error.
func isICMPResponse(s *packet.Summary) bool {
	if s.Proto == packet.ProtoICMPv6 {
		return s.ICMPType < 128 || s.ICMPType == 129
	}
	switch s.ICMPType {
	case 0, 3, 4, 5, 11, 12, 14, 16, 18:
		return true
	}
	return false
}

func (d *Detector) icmpPacket(s *packet.Summary, f *flow.Flow, toServer, created bool, emit func(*Alert)) {
	// ICMPv6 neighbour discovery and router traffic is the segment's ARP;
	// it is not a flood or a tunnel.
	if s.Proto == packet.ProtoICMPv6 && s.ICMPType >= 133 && s.ICMPType <= 137 {
		return
	}
	req, rep := isEchoRequest(s), isEchoReply(s)
	// Replies and errors are caused by whoever sent what they answer: they
	// never make their sender a flood source (a UDP-scanned host sends a
	// port-unreachable per probe; a pinged host an echo reply per request).
	if !isICMPResponse(s) {
		d.icmpFlood(s, emit)
	}
	if !req && !rep {
		return
	}
	if rep && created && f != nil {
		// An echo reply to no request seen: reflected (smurf) traffic.
		d.reflection(s, reflEcho, f, emit)
	}
	if f != nil {
		if created && toServer && req {
			d.scanAttempt(s, f, true, emit)
		} else if !toServer && f.PktsToClient == 1 && rep {
			d.scanAnswered(f)
		}
	}
	if len(s.Payload) > 0 {
		if req {
			d.tunnelPayload(s, s.Src, s.Dst, emit)
		} else {
			d.tunnelPayload(s, s.Dst, s.Src, emit)
		}
	}
}

// icmp.tunnel: ordinary pings repeat one payload (a timestamp, then a fixed
// pattern: Linux 0x10 0x11 ..., Windows "abcdefghijklmnopqrstuvwabcdefghi")
// at one size. A tunnel carries varied data at varied sizes, often whole IP
// packets or protocol banners.

type tunnelEntry struct {
	w            window
	pkts, varied uint32
	sizes        smallSketch
	lastHash     uint64
	maxLen       int
	protoLike    string
}

type icmpTun struct {
	tun *table[pairKey, tunnelEntry]
}

func (d *Detector) initICMPTunnel() {
	d.tun = newTable[pairKey, tunnelEntry]("icmp.tunnel", d.cfg.MaxEntries, func(e *tunnelEntry) time.Time { return e.w.lastAt() }).withHash(pairHash)
}

func (d *Detector) tunnelPayload(s *packet.Summary, client, server netip.Addr, emit func(*Alert)) {
	p := s.Payload
	e, _ := d.tun.upsert(pairKey{client, server, s.Proto})
	if e.w.roll(s.TS, 10*time.Minute) {
		*e = tunnelEntry{w: e.w}
	}
	e.pkts++
	e.sizes.add(uint32(len(p)))
	e.maxLen = max(e.maxLen, len(p))
	// Skip the first 16 bytes: ping puts its send time there.
	tail := p[min(16, len(p)):]
	h := hashBytes(tail)
	if e.pkts > 1 && h != e.lastHash {
		e.varied++
	}
	e.lastHash = h
	if e.protoLike == "" {
		e.protoLike = protocolLike(p)
	}
	sizes := e.sizes.count()
	if e.protoLike == "" && (int(e.pkts) < d.cfg.ICMPTunnelPackets || sizes < 3 || e.varied*2 < e.pkts) {
		return
	}
	d.fire(emit, RuleICMPTunnel, supKey{actor: client, target: server}, float64(e.pkts), s.TS, func(a *Alert) {
		a.Src, a.Dst, a.Proto = client, server, packet.ProtoName(s.Proto)
		a.Signature = fmt.Sprintf("icmp.tunnel: %s exchanged %d ICMP echo packets with varied payloads with %s", client, e.pkts, server)
		if e.protoLike != "" {
			a.Signature = fmt.Sprintf("icmp.tunnel: %s carried %s inside ICMP echo to %s", client, e.protoLike, server)
		}
		a.Evidence["packets"] = e.pkts
		a.Evidence["varied_payloads"] = e.varied
		a.Evidence["payload_sizes"] = sizes
		a.Evidence["max_payload"] = e.maxLen
		if e.protoLike != "" {
			a.Evidence["embedded"] = e.protoLike
		}
		if e.protoLike == "a text message" && e.varied*2 < e.pkts {
			// Text is a message, not yet a channel: less certain than a
			// packet or a protocol inside the echo.
			a.Severity = SevMedium
		}
		a.Evidence["first_seen"] = rfc3339(e.w.firstAt())
		a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
	})
}

// protocolLike names what an echo payload carries when it looks like a
// packet or a protocol, and "" for ordinary ping data.
func protocolLike(p []byte) string {
	if len(p) >= 20 && p[0] == 0x45 {
		l := int(binary.BigEndian.Uint16(p[2:4]))
		if l >= 20 && l <= len(p)+8 && (p[9] == 1 || p[9] == 6 || p[9] == 17) {
			return "an IPv4 packet"
		}
	}
	if len(p) >= 40 && p[0]>>4 == 6 && int(binary.BigEndian.Uint16(p[4:6]))+40 <= len(p)+8 && (p[6] == 6 || p[6] == 17 || p[6] == 58) {
		return "an IPv6 packet"
	}
	head := p[:min(len(p), 96)]
	for _, m := range protoMarkers {
		if bytes.Contains(head, m.b) {
			return m.name
		}
	}
	if textMessage(p) {
		return "a text message"
	}
	return ""
}

// textMessage reports an echo payload that is written text: at least 16
// bytes, nearly all printable, with words (spaces between letters), and not
// a counting pattern. ping fills its payload with counting bytes (Linux
// 0x10 0x11 ..., which include the space and punctuation; Windows
// "abcdefghijklmnopqrstuvwabcdefghi"); a message smuggled in an echo
// (a covert note, a command, a key) reads as text.
func textMessage(p []byte) bool {
	// ping's first 8-16 bytes may be a timestamp; look at the rest when
	// the payload is long enough, else at all of it.
	if len(p) >= 32 {
		p = p[8:]
	}
	if len(p) < 16 {
		return false
	}
	printable, letters, spaces, counting := 0, 0, 0, 0
	for i, c := range p {
		switch {
		case c == ' ':
			spaces++
			printable++
		case c >= 0x21 && c <= 0x7e:
			printable++
			if lc := c | 0x20; lc >= 'a' && lc <= 'z' {
				letters++
			}
		case c == '\n' || c == '\r' || c == '\t':
			printable++
		case c == 0 && i == len(p)-1:
			printable++ // a C string's terminator
		}
		if i > 0 && c == p[i-1]+1 {
			counting++
		}
	}
	n := len(p)
	return printable*100 >= n*95 && letters*2 >= n && spaces >= 2 && counting*4 < n
}

var protoMarkers = []struct {
	b    []byte
	name string
}{
	{[]byte("SSH-2.0-"), "an SSH banner"},
	{[]byte("SSH-1."), "an SSH banner"},
	{[]byte("HTTP/1."), "HTTP"},
	{[]byte("GET /"), "HTTP"},
	{[]byte("POST /"), "HTTP"},
	{[]byte("\x16\x03\x01"), "TLS"},
	{[]byte("\x16\x03\x03"), "TLS"},
}

func (d *Detector) expireICMPTunnel(now time.Time) { d.tun.expire(now.Add(-10 * time.Minute)) }

func (d *Detector) icmpTunnelStats(out map[string]uint64) { d.tun.stats(out) }

func init() {
	registerFamily(family{name: "icmp.tunnel", init: (*Detector).initICMPTunnel, expire: (*Detector).expireICMPTunnel, stats: (*Detector).icmpTunnelStats})
}
