package packet

import (
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TestQuotedAsSuricata: the packet an ICMPv4 error quotes names a flow only
// as Suricata's ICMPV4_DEST_UNREACH_IS_VALID allows: a destination
// unreachable quoting IPv4 and a whole TCP header or a UDP header.
func TestQuotedAsSuricata(t *testing.T) {
	inner := func(p layers.IPProtocol, l4 []byte) []byte {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 1, Protocol: p, SrcIP: ip4B, DstIP: ip4A, Length: uint16(20 + len(l4))}
		return ser(t, ip, gopacket.Payload(l4))
	}
	udp := []byte{0x9c, 0x40, 0x82, 0x9a, 0, 8, 0, 0}                                                 // 40000 -> 33434
	tcp := []byte{0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0} // 40000 -> 443
	for _, c := range []struct {
		name       string
		typ, code  uint8
		quoted     []byte
		want       Quoted
		wantQuoted bool
	}{
		{"port unreachable quoting udp", 3, 3, inner(layers.IPProtocolUDP, udp), Quoted{SrcPort: 40000, DstPort: 33434, Proto: ProtoUDP}, true},
		{"host unreachable quoting a whole tcp header", 3, 1, inner(layers.IPProtocolTCP, tcp), Quoted{SrcPort: 40000, DstPort: 443, Proto: ProtoTCP}, true},
		{"8 bytes of tcp name no flow", 3, 1, inner(layers.IPProtocolTCP, tcp[:8]), Quoted{}, false},
		{"time exceeded is not matched", 11, 0, inner(layers.IPProtocolUDP, udp), Quoted{}, false},
		{"unknown unreachable code", 3, 16, inner(layers.IPProtocolUDP, udp), Quoted{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ip := v4(layers.IPProtocolICMPv4)
			ip.SrcIP, ip.DstIP = ip4B, ip4A
			frame := ser(t, eth(layers.EthernetTypeIPv4), ip,
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(c.typ, c.code)}, gopacket.Payload(c.quoted))
			var s Summary
			if err := NewDecoder().Decode(LinkEthernet, frame, time.Unix(0, 0), len(frame), &s); err != nil {
				t.Fatal(err)
			}
			got := s.Quoted
			if c.wantQuoted {
				c.want.Src, c.want.Dst = addrFrom(ip4B), addrFrom(ip4A)
			}
			if got != c.want {
				t.Errorf("quoted %+v, want %+v", got, c.want)
			}
		})
	}
}
