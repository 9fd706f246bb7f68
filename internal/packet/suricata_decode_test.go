package packet

import (
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TestDecodeAsSuricata: what Suricata's decoder keeps that flows are keyed
// on: SCTP ports and all three VLAN tags.
func TestDecodeAsSuricata(t *testing.T) {
	sctp := []byte{0x0b, 0x59, 0x0e, 0x1c, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 4} // 2905 -> 3612, verification tag 1, a chunk
	udp := func(ip gopacket.NetworkLayer) *layers.UDP {
		u := &layers.UDP{SrcPort: 5000, DstPort: 53}
		u.SetNetworkLayerForChecksum(ip)
		return u
	}
	ip := v4(layers.IPProtocolUDP)
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolSCTP, SrcIP: ip6A, DstIP: ip6B}
	for _, c := range []struct {
		name         string
		frame        []byte
		sport, dport uint16
		vlan         [3]uint16
	}{
		{"sctp over ipv4", ser(t, eth(layers.EthernetTypeIPv4), v4(layers.IPProtocolSCTP), gopacket.Payload(sctp)), 2905, 3612, [3]uint16{}},
		{"sctp over ipv6", ser(t, eth(layers.EthernetTypeIPv6), ip6, gopacket.Payload(sctp)), 2905, 3612, [3]uint16{}},
		{"three vlan tags", ser(t, eth(layers.EthernetTypeDot1Q),
			&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 20, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 30, Type: layers.EthernetTypeIPv4},
			ip, udp(ip), gopacket.Payload("x")), 5000, 53, [3]uint16{10, 20, 30}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s Summary
			if err := NewDecoder().Decode(LinkEthernet, c.frame, time.Unix(0, 0), len(c.frame), &s); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !s.HasL4 || s.SrcPort != c.sport || s.DstPort != c.dport {
				t.Errorf("ports %d -> %d (l4 %v), want %d -> %d", s.SrcPort, s.DstPort, s.HasL4, c.sport, c.dport)
			}
			if got := [3]uint16{s.VLAN[0], s.VLAN[1], s.VLAN3}; got != c.vlan {
				t.Errorf("vlan %v, want %v", got, c.vlan)
			}
		})
	}
}
