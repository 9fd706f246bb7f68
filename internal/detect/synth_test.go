package detect

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// pipe drives synthesized frames (serialized with gopacket, decoded by the
// real decoder, accounted by the real flow table) through a Detector, the
// way the engine does, on a packet clock the test controls.
type pipe struct {
	tb     testing.TB
	d      *Detector
	tab    *flow.Table
	dec    *packet.Decoder
	now    time.Time
	tick   time.Time
	alerts []*Alert
	s      packet.Summary
	buf    gopacket.SerializeBuffer
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func newPipe(tb testing.TB, cfg Config) *pipe {
	p := &pipe{tb: tb, dec: packet.NewDecoder(), now: t0, tick: t0, buf: gopacket.NewSerializeBuffer()}
	p.d = New(cfg)
	p.tab = flow.NewTable(flow.Config{}, func(f *flow.Flow, _ flow.EndReason) { p.d.FlowEnd(f, p.emit) })
	return p
}

func (p *pipe) emit(a *Alert) { p.alerts = append(p.alerts, a) }

// advance moves packet time, ticking once per second as the engine does.
func (p *pipe) advance(d time.Duration) {
	end := p.now.Add(d)
	for p.tick.Add(time.Second).Before(end) || p.tick.Add(time.Second).Equal(end) {
		p.tick = p.tick.Add(time.Second)
		p.tab.Expire(p.tick)
		p.d.Tick(p.tick, p.emit)
	}
	p.now = end
}

// flush ends every flow (end of input).
func (p *pipe) flush() { p.tab.Flush(flow.EndShutdown); p.d.Finish(p.emit) }

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
)

func (p *pipe) frame(ls ...gopacket.SerializableLayer) (*flow.Flow, bool) {
	p.tb.Helper()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(p.buf, opts, ls...); err != nil {
		p.tb.Fatalf("serialize: %v", err)
	}
	data := p.buf.Bytes()
	if err := p.dec.Decode(packet.LinkEthernet, data, p.now, len(data), &p.s); err != nil {
		p.tb.Fatalf("decode synthesized frame: %v", err)
	}
	f, toServer, created := p.tab.Update(&p.s)
	p.d.Packet(&p.s, f, toServer, created, p.emit)
	return f, toServer
}

func ip4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

// tcp sends one TCP segment; flags use packet.TCP* bits.
func (p *pipe) tcp(src, dst string, sport, dport uint16, flags uint8, payload []byte) *flow.Flow {
	ip := ip4(src, dst, layers.IPProtocolTCP)
	// Both sides start at sequence 1000, so after the SYNs each side's
	// next sequence (and what the other acknowledges) is 1001, as a
	// handshake's third packet carries.
	t := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Window: 1024, Seq: 1001,
		FIN: flags&packet.TCPFin != 0, SYN: flags&packet.TCPSyn != 0, RST: flags&packet.TCPRst != 0,
		PSH: flags&packet.TCPPsh != 0, ACK: flags&packet.TCPAck != 0, URG: flags&packet.TCPUrg != 0}
	if t.SYN {
		t.Seq = 1000
	}
	if t.ACK {
		t.Ack = 1001
	}
	_ = t.SetNetworkLayerForChecksum(ip)
	f, _ := p.frame(eth(layers.EthernetTypeIPv4), ip, t, gopacket.Payload(payload))
	return f
}

// session plays a complete TCP session: handshake, n data exchanges of
// size bytes each way spread over dur, FIN/ACK close.
func (p *pipe) session(client, server string, cport, sport uint16, n, size int, dur time.Duration) *flow.Flow {
	const syn, ack, fin, psh = packet.TCPSyn, packet.TCPAck, packet.TCPFin, packet.TCPPsh
	p.tcp(client, server, cport, sport, syn, nil)
	p.tcp(server, client, sport, cport, syn|ack, nil)
	f := p.tcp(client, server, cport, sport, ack, nil)
	data := make([]byte, size)
	for i := 0; i < n; i++ {
		p.advance(dur / time.Duration(n+1))
		p.tcp(server, client, sport, cport, psh|ack, data)
		p.tcp(client, server, cport, sport, psh|ack, data)
	}
	p.tcp(client, server, cport, sport, fin|ack, nil)
	p.tcp(server, client, sport, cport, fin|ack, nil)
	p.tcp(client, server, cport, sport, ack, nil)
	return f
}

func (p *pipe) udp(src, dst string, sport, dport uint16, payload []byte) *flow.Flow {
	ip := ip4(src, dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = u.SetNetworkLayerForChecksum(ip)
	f, _ := p.frame(eth(layers.EthernetTypeIPv4), ip, u, gopacket.Payload(payload))
	return f
}

func (p *pipe) icmp(src, dst string, typ uint8, id, seq uint16, payload []byte) *flow.Flow {
	ip := ip4(src, dst, layers.IPProtocolICMPv4)
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq}
	f, _ := p.frame(eth(layers.EthernetTypeIPv4), ip, ic, gopacket.Payload(payload))
	return f
}

func (p *pipe) arp(op uint16, senderMAC net.HardwareAddr, senderIP string, targetMAC net.HardwareAddr, targetIP string) {
	a := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: op, SourceHwAddress: senderMAC, SourceProtAddress: net.ParseIP(senderIP).To4(),
		DstHwAddress: targetMAC, DstProtAddress: net.ParseIP(targetIP).To4()}
	e := &layers.Ethernet{SrcMAC: senderMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP}
	p.frame(e, a)
}

// event hands a protocol event for flow f to the detector.
func (p *pipe) event(f *flow.Flow, ev *proto.Event) {
	ev.TS = p.now
	p.d.Event(ev, f, p.emit)
}

// count returns the alerts of rule raised (new, not updates) and all of them.
func (p *pipe) count(rule string) (fresh, all int) {
	for _, a := range p.alerts {
		if a.Rule.Name == rule {
			all++
			if !a.Update {
				fresh++
			}
		}
	}
	return
}

func (p *pipe) first(rule string) *Alert {
	for _, a := range p.alerts {
		if a.Rule.Name == rule {
			return a
		}
	}
	return nil
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// below, at and above a threshold, as every rule test checks.
func around(th int) []struct {
	n    int
	want int
} {
	return []struct {
		n    int
		want int
	}{{th - 1, 0}, {th, 1}, {th + 1, 1}}
}
