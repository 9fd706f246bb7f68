package packet

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/testpkt"
)

var (
	macA = net.HardwareAddr{0, 1, 2, 3, 4, 5}
	macB = net.HardwareAddr{0, 1, 2, 3, 4, 6}
	ip4A = net.IP{192, 0, 2, 1}
	ip4B = net.IP{198, 51, 100, 7}
	ip6A = net.ParseIP("2001:db8::1")
	ip6B = net.ParseIP("2001:db8::2")
)

func ser(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	return testpkt.Frame(t, ls...)
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func v4(p layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: p, SrcIP: ip4A, DstIP: ip4B}
}

func tcpSeg(ip gopacket.NetworkLayer, syn, ack bool) *layers.TCP {
	t := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 100, Ack: 7, SYN: syn, ACK: ack, Window: 512}
	t.SetNetworkLayerForChecksum(ip)
	return t
}

func TestDecode(t *testing.T) {
	ip := v4(layers.IPProtocolTCP)
	tcpFrame := ser(t, eth(layers.EthernetTypeIPv4), ip, tcpSeg(ip, true, false), gopacket.Payload("hello"))

	ipU := v4(layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	udp.SetNetworkLayerForChecksum(ipU)
	vlanFrame := ser(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeIPv4}, ipU, udp, gopacket.Payload("q"))

	arpFrame := ser(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: 2, SourceHwAddress: macA, SourceProtAddress: ip4A,
		DstHwAddress: macB, DstProtAddress: ip4B})

	ip6 := &layers.IPv6{Version: 6, HopLimit: 60, NextHeader: layers.IPProtocolTCP, SrcIP: ip6A, DstIP: ip6B}
	v6Frame := ser(t, eth(layers.EthernetTypeIPv6), ip6, tcpSeg(ip6, false, true), gopacket.Payload("x"))

	ipI := v4(layers.IPProtocolICMPv4)
	pingFrame := ser(t, eth(layers.EthernetTypeIPv4), ipI, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 77, Seq: 3}, gopacket.Payload("abcdefgh"))

	ip6I := &layers.IPv6{Version: 6, HopLimit: 60, NextHeader: layers.IPProtocolICMPv6, SrcIP: ip6A, DstIP: ip6B}
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
	icmp6.SetNetworkLayerForChecksum(ip6I)
	ping6Frame := ser(t, eth(layers.EthernetTypeIPv6), ip6I, icmp6, &layers.ICMPv6Echo{Identifier: 9, SeqNumber: 4}, gopacket.Payload("zz"))

	// IPv4 fragments: first carries the UDP header, the second does not.
	frag1 := ser(t, eth(layers.EthernetTypeIPv4), &layers.IPv4{Version: 4, TTL: 9, Protocol: layers.IPProtocolUDP, SrcIP: ip4A, DstIP: ip4B, Flags: layers.IPv4MoreFragments},
		gopacket.Payload([]byte{0x13, 0x88, 0x00, 0x35, 0, 40, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}))
	frag2 := ser(t, eth(layers.EthernetTypeIPv4), &layers.IPv4{Version: 4, TTL: 9, Protocol: layers.IPProtocolUDP, SrcIP: ip4A, DstIP: ip4B, FragOffset: 2},
		gopacket.Payload([]byte{0x13, 0x88, 0x00, 0x35, 9, 9, 9, 9}))

	// IPv6 with hop-by-hop then a fragment header (non-first fragment).
	v6ext := func(offset uint16) []byte {
		ext := []byte{44, 0, 1, 4, 0, 0, 0, 0} // hop-by-hop: next=fragment, PadN
		fr := make([]byte, 8)
		fr[0] = 6 // next: TCP
		binary.BigEndian.PutUint16(fr[2:4], offset<<3)
		body := append(ext, fr...)
		body = append(body, make([]byte, 20)...)
		body[16+12] = 0x50
		binary.BigEndian.PutUint16(body[16:18], 1234)
		binary.BigEndian.PutUint16(body[18:20], 80)
		return ser(t, eth(layers.EthernetTypeIPv6), &layers.IPv6{Version: 6, HopLimit: 5, NextHeader: layers.IPProtocolIPv6HopByHop, SrcIP: ip6A, DstIP: ip6B}, gopacket.Payload(body))
	}

	raw := ser(t, ip, tcpSeg(ip, true, false))
	// Linux cooked v1: packet type, ARPHRD, address length, 8-byte address, protocol.
	sll := append([]byte{0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00}, raw...)
	sll2 := append(make([]byte, 20), raw...)
	binary.BigEndian.PutUint16(sll2[0:2], 0x0800)
	null := append([]byte{2, 0, 0, 0}, raw...)

	type want struct {
		ipv       uint8
		proto     uint8
		src, dst  string
		sp, dp    uint16
		flags     uint8
		payload   string
		vlan      [2]uint16
		arp       bool
		frag      bool
		hasL4     bool
		icmpID    uint16
		wantError bool
	}
	cases := []struct {
		name string
		link uint16
		data []byte
		want want
	}{
		{"ethernet ipv4 tcp", LinkEthernet, tcpFrame, want{ipv: 4, proto: 6, src: "192.0.2.1", dst: "198.51.100.7", sp: 40000, dp: 443, flags: TCPSyn, payload: "hello", hasL4: true}},
		{"qinq udp", LinkEthernet, vlanFrame, want{ipv: 4, proto: 17, src: "192.0.2.1", dst: "198.51.100.7", sp: 5353, dp: 53, payload: "q", vlan: [2]uint16{100, 200}, hasL4: true}},
		{"arp reply", LinkEthernet, arpFrame, want{arp: true}},
		{"ipv6 tcp", LinkEthernet, v6Frame, want{ipv: 6, proto: 6, src: "2001:db8::1", dst: "2001:db8::2", sp: 40000, dp: 443, flags: TCPAck, payload: "x", hasL4: true}},
		{"icmp echo", LinkEthernet, pingFrame, want{ipv: 4, proto: 1, src: "192.0.2.1", dst: "198.51.100.7", payload: "abcdefgh", hasL4: true, icmpID: 77}},
		{"icmpv6 echo", LinkEthernet, ping6Frame, want{ipv: 6, proto: 58, src: "2001:db8::1", dst: "2001:db8::2", payload: "zz", hasL4: true, icmpID: 9}},
		{"ipv4 first fragment", LinkEthernet, frag1, want{ipv: 4, proto: 17, src: "192.0.2.1", dst: "198.51.100.7", sp: 5000, dp: 53, frag: true, hasL4: true, payload: "\x01\x02\x03\x04\x05\x06\x07\x08"}},
		{"ipv4 later fragment", LinkEthernet, frag2, want{ipv: 4, proto: 17, src: "192.0.2.1", dst: "198.51.100.7", frag: true}},
		{"ipv6 ext first fragment", LinkEthernet, v6ext(0), want{ipv: 6, proto: 6, src: "2001:db8::1", dst: "2001:db8::2", sp: 1234, dp: 80, hasL4: true}},
		{"ipv6 ext later fragment", LinkEthernet, v6ext(100), want{ipv: 6, proto: 6, src: "2001:db8::1", dst: "2001:db8::2", frag: true}},
		{"linux sll", LinkLinuxSLL, sll, want{ipv: 4, proto: 6, src: "192.0.2.1", dst: "198.51.100.7", sp: 40000, dp: 443, flags: TCPSyn, hasL4: true}},
		{"linux sll2", LinkLinuxSLL2, sll2, want{ipv: 4, proto: 6, src: "192.0.2.1", dst: "198.51.100.7", sp: 40000, dp: 443, flags: TCPSyn, hasL4: true}},
		{"raw ip", LinkRaw, raw, want{ipv: 4, proto: 6, src: "192.0.2.1", dst: "198.51.100.7", sp: 40000, dp: 443, flags: TCPSyn, hasL4: true}},
		{"ipv4 link type", LinkIPv4, raw, want{ipv: 4, proto: 6, src: "192.0.2.1", dst: "198.51.100.7", sp: 40000, dp: 443, flags: TCPSyn, hasL4: true}},
		{"bsd null", LinkNull, null, want{ipv: 4, proto: 6, src: "192.0.2.1", dst: "198.51.100.7", sp: 40000, dp: 443, flags: TCPSyn, hasL4: true}},
		{"truncated tcp", LinkEthernet, tcpFrame[:14+20+6], want{ipv: 4, proto: 6, src: "192.0.2.1", dst: "198.51.100.7", wantError: true}},
		{"garbage", LinkEthernet, []byte{1, 2, 3}, want{wantError: true}},
		{"unknown link", 9999, tcpFrame, want{wantError: true}},
	}
	d := NewDecoder()
	ts := time.Unix(1700000000, 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Summary
			err := d.Decode(c.link, c.data, ts, len(c.data), &s)
			if (err != nil) != c.want.wantError {
				t.Fatalf("error = %v, want error %v", err, c.want.wantError)
			}
			w := c.want
			if s.IPVersion != w.ipv || s.Proto != w.proto && w.ipv != 0 {
				t.Errorf("ip version/proto = %d/%d, want %d/%d", s.IPVersion, s.Proto, w.ipv, w.proto)
			}
			if w.src != "" && (s.Src != netip.MustParseAddr(w.src) || s.Dst != netip.MustParseAddr(w.dst)) {
				t.Errorf("addrs = %v -> %v, want %s -> %s", s.Src, s.Dst, w.src, w.dst)
			}
			if s.SrcPort != w.sp || s.DstPort != w.dp {
				t.Errorf("ports = %d -> %d, want %d -> %d", s.SrcPort, s.DstPort, w.sp, w.dp)
			}
			if s.TCPFlags != w.flags {
				t.Errorf("flags = %#x, want %#x", s.TCPFlags, w.flags)
			}
			if w.payload != "" && string(s.Payload) != w.payload {
				t.Errorf("payload = %q, want %q", s.Payload, w.payload)
			}
			if s.VLAN != w.vlan {
				t.Errorf("vlan = %v, want %v", s.VLAN, w.vlan)
			}
			if s.IsARP != w.arp {
				t.Errorf("arp = %v, want %v", s.IsARP, w.arp)
			}
			if s.Fragment != w.frag {
				t.Errorf("fragment = %v, want %v", s.Fragment, w.frag)
			}
			if s.HasL4 != w.hasL4 {
				t.Errorf("hasL4 = %v, want %v", s.HasL4, w.hasL4)
			}
			if s.ICMPID != w.icmpID {
				t.Errorf("icmp id = %d, want %d", s.ICMPID, w.icmpID)
			}
			if s.CapLen != len(c.data) {
				t.Errorf("caplen = %d, want %d", s.CapLen, len(c.data))
			}
		})
	}
	if d.Errors != 3 {
		t.Errorf("decoder error count = %d, want 3", d.Errors)
	}
}

func TestDecodeARPFields(t *testing.T) {
	frame := ser(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: macA, SourceProtAddress: ip4A,
		DstHwAddress: make([]byte, 6), DstProtAddress: ip4B})
	var s Summary
	if err := NewDecoder().Decode(LinkEthernet, frame, time.Time{}, len(frame), &s); err != nil {
		t.Fatal(err)
	}
	if s.ARPOp != ARPRequest || s.ARPSenderMAC.String() != "00:01:02:03:04:05" || s.ARPSenderIP.String() != "192.0.2.1" || s.ARPTargetIP.String() != "198.51.100.7" {
		t.Errorf("arp = op %d %s %s -> %s", s.ARPOp, s.ARPSenderMAC, s.ARPSenderIP, s.ARPTargetIP)
	}
}

func FuzzDecode(f *testing.F) {
	ip := v4(layers.IPProtocolTCP)
	f.Add(uint16(LinkEthernet), ser(f, eth(layers.EthernetTypeIPv4), ip, tcpSeg(ip, true, false), gopacket.Payload("hello")))
	ip6 := &layers.IPv6{Version: 6, HopLimit: 60, NextHeader: layers.IPProtocolTCP, SrcIP: ip6A, DstIP: ip6B}
	f.Add(uint16(LinkEthernet), ser(f, eth(layers.EthernetTypeIPv6), ip6, tcpSeg(ip6, false, true)))
	f.Add(uint16(LinkLinuxSLL2), make([]byte, 40))
	f.Add(uint16(LinkRaw), []byte{0x45, 0, 0, 20})
	f.Add(uint16(LinkNull), []byte{2, 0, 0, 0, 0x60})
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		var s Summary
		_ = d.Decode(link, data, time.Time{}, len(data), &s)
		if len(s.Payload) > len(data) {
			t.Fatalf("payload longer than frame")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	ip := v4(layers.IPProtocolTCP)
	frame := ser(b, eth(layers.EthernetTypeIPv4), ip, tcpSeg(ip, false, true), gopacket.Payload(make([]byte, 1400)))
	d := NewDecoder()
	var s Summary
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := d.Decode(LinkEthernet, frame, time.Time{}, len(frame), &s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendAddrAsSuricata: EVE addresses as Suricata prints them.
func TestAppendAddrAsSuricata(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"10.16.1.11", "10.16.1.11"},
		{"fe80::20c:29ff:fef3:cf38", "fe80:0000:0000:0000:020c:29ff:fef3:cf38"},
		{"::1", "0000:0000:0000:0000:0000:0000:0000:0001"},
		{"2a00:800:1010::1", "2a00:0800:1010:0000:0000:0000:0000:0001"},
	} {
		if got := string(AppendAddr(nil, netip.MustParseAddr(c.in))); got != c.want {
			t.Errorf("AppendAddr(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
