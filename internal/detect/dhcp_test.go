package detect

import (
	"net"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// dhcpDiscover sends a DHCPDISCOVER for client chaddr from Ethernet source
// src.
func (p *pipe) dhcpDiscover(src, chaddr net.HardwareAddr) {
	e := &layers.Ethernet{SrcMAC: src, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeIPv4}
	ip := ip4("0.0.0.0", "255.255.255.255", layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 68, DstPort: 67}
	_ = u.SetNetworkLayerForChecksum(ip)
	d := &layers.DHCPv4{Operation: layers.DHCPOpRequest, HardwareType: layers.LinkTypeEthernet, HardwareLen: 6, Xid: 7,
		ClientHWAddr: chaddr, Options: layers.DHCPOptions{layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(layers.DHCPMsgTypeDiscover)})}}
	p.frame(e, ip, u, d)
}

func TestDHCPStarvation(t *testing.T) {
	mac := func(i int) net.HardwareAddr { return net.HardwareAddr{0x00, 0x16, 0x36, 0, byte(i >> 8), byte(i)} }
	th := DefaultConfig().DHCPStarveClients
	// Clients each asking from their own hardware address (a boot storm):
	// the count decides.
	checkAround(t, "dhcp.starvation", th, func(p *pipe, n int) {
		for i := range n {
			p.dhcpDiscover(mac(i), mac(i))
			p.advance(100 * time.Millisecond)
		}
	})
	// One Ethernet source asking for clients it is not (dhcpstarv):
	// a fifth of the count.
	checkAround(t, "dhcp.starvation", th/5, func(p *pipe, n int) {
		tool := net.HardwareAddr{2, 0, 0, 0, 0, 0x66}
		for i := range n {
			p.dhcpDiscover(tool, mac(i))
			p.advance(10 * time.Millisecond)
		}
	})
	t.Run("retries", func(t *testing.T) {
		// Three clients retrying for a minute are three clients.
		p := newPipe(t, DefaultConfig())
		for i := range 180 {
			p.dhcpDiscover(mac(i%3), mac(i%3))
			p.advance(300 * time.Millisecond)
		}
		if n, _ := p.count("dhcp.starvation"); n != 0 {
			t.Fatalf("fired on retries: %s", p.first("dhcp.starvation").Signature)
		}
	})
}
