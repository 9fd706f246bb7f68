package filter

import (
	"net"
	"sort"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/testpkt"
)

var (
	macA = net.HardwareAddr{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
	macB = net.HardwareAddr{0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}
	macF = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

func ip4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func ip6(src, dst string, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
}

func tcp(sp, dp uint16, syn, ack bool) *layers.TCP {
	return &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: syn, ACK: ack, Window: 1024, DataOffset: 5}
}

func udp(sp, dp uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
}

func eth(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
}

// frames builds the synthesized Ethernet test frames by name.
func frames(t testing.TB) map[string][]byte {
	pl := gopacket.Payload("hello")
	f := map[string][]byte{}
	{
		i := ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP)
		tc := tcp(1234, 80, true, false)
		tc.SetNetworkLayerForChecksum(i)
		f["tcp4-syn-80"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv4), i, tc, pl)
	}
	{
		i := ip4("10.0.0.2", "10.0.0.1", layers.IPProtocolTCP)
		tc := tcp(80, 1234, true, true)
		tc.SetNetworkLayerForChecksum(i)
		f["tcp4-synack-80"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv4), i, tc)
	}
	{
		i := ip4("10.0.0.3", "8.8.8.8", layers.IPProtocolUDP)
		u := udp(5353, 53)
		u.SetNetworkLayerForChecksum(i)
		f["udp4-53"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv4), i, u, pl)
	}
	{
		i := ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolTCP)
		tc := tcp(40000, 443, false, true)
		tc.SetNetworkLayerForChecksum(i)
		f["tcp6-443"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv6), i, tc, pl)
	}
	{
		i := ip6("fe80::1", "ff02::fb", layers.IPProtocolUDP)
		u := udp(5353, 5353)
		u.SetNetworkLayerForChecksum(i)
		f["udp6-5353"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv6), i, u, pl)
	}
	f["icmp4-echo"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv4), ip4("192.168.1.5", "192.168.1.1", layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, pl)
	{
		i := ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolICMPv6)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		ic.SetNetworkLayerForChecksum(i)
		f["icmp6-echo"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv6), i, ic, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 1})
	}
	f["arp-req"] = testpkt.Frame(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macF, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: macA, SourceProtAddress: net.ParseIP("10.0.0.1").To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP("10.0.0.9").To4()})
	{
		i := ip4("10.1.0.1", "10.1.0.2", layers.IPProtocolTCP)
		tc := tcp(5555, 80, true, false)
		tc.SetNetworkLayerForChecksum(i)
		f["vlan100-tcp4-80"] = testpkt.Frame(t, eth(layers.EthernetTypeDot1Q),
			&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}, i, tc)
	}
	{
		i := ip4("10.2.0.1", "10.2.0.2", layers.IPProtocolUDP)
		u := udp(5000, 53)
		u.SetNetworkLayerForChecksum(i)
		f["qinq10-20-udp4-53"] = testpkt.Frame(t, eth(layers.EthernetTypeQinQ),
			&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 20, Type: layers.EthernetTypeIPv4}, i, u)
	}
	{
		// A non-first fragment: bytes where the ports would be are payload.
		i := ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP)
		i.FragOffset = 10
		f["tcp4-frag2"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv4), i, gopacket.Payload([]byte{0, 80, 0, 80, 1, 2, 3, 4}))
	}
	{
		// TCP behind an IPv6 fragment header: libpcap's "tcp" sees it, "port" does not.
		i := ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolIPv6Fragment)
		// gopacket cannot serialize IPv6Fragment; write the 8-byte header by hand.
		fragHdr := []byte{byte(layers.IPProtocolTCP), 0, 0, 0, 0, 0, 0, 7}
		f["tcp6-fraghdr"] = testpkt.Frame(t, eth(layers.EthernetTypeIPv6), i, gopacket.Payload(append(fragHdr, 0x04, 0xd2, 0, 80, 0, 0, 0, 0)))
	}
	// An IPv4 TCP frame captured with a snaplen that cut it inside the IP header.
	f["tcp4-truncated"] = f["tcp4-syn-80"][:30]
	return f
}

func TestMatchEthernet(t *testing.T) {
	fr := frames(t)
	cases := []struct {
		filter string
		want   string // space-separated names of the frames that match
	}{
		{"", "arp-req icmp4-echo icmp6-echo qinq10-20-udp4-53 tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated tcp6-443 tcp6-fraghdr udp4-53 udp6-5353 vlan100-tcp4-80"},
		{"tcp", "tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated tcp6-443 tcp6-fraghdr"},
		{"udp", "udp4-53 udp6-5353"},
		{"icmp", "icmp4-echo"},
		{"icmp6", "icmp6-echo"},
		{"arp", "arp-req"},
		{"ip", "icmp4-echo tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated udp4-53"},
		{"ip6", "icmp6-echo tcp6-443 tcp6-fraghdr udp6-5353"},
		{"host 10.0.0.1", "arp-req tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated"},
		{"ip host 10.0.0.1", "tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated"},
		{"src host 10.0.0.1", "arp-req tcp4-frag2 tcp4-syn-80 tcp4-truncated"},
		{"dst host 10.0.0.1", "tcp4-synack-80"},
		{"src and dst host 10.0.0.1", ""},
		{"host 10.0.0.1 and 10.0.0.2", "tcp4-frag2 tcp4-syn-80 tcp4-synack-80"},
		{"host 2001:db8::2", "icmp6-echo tcp6-443 tcp6-fraghdr"},
		{"net 10.0.0.0/24", "arp-req tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated udp4-53"},
		{"net 192.168.1.0 mask 255.255.255.0", "icmp4-echo"},
		{"dst net 8.0.0.0/8", "udp4-53"},
		{"net fe80::/10", "udp6-5353"},
		{"port 80", "tcp4-syn-80 tcp4-synack-80"},
		{"tcp dst port 80", "tcp4-syn-80"},
		{"udp port 53", "udp4-53"},
		{"port 53 or 443", "tcp6-443 udp4-53"},
		{"src port 5353 and dst port 53", "udp4-53"},
		{"portrange 400-500", "tcp6-443"},
		{"tcp portrange 1-1024", "tcp4-syn-80 tcp4-synack-80 tcp6-443"},
		{"vlan", "qinq10-20-udp4-53 vlan100-tcp4-80"},
		{"vlan 100", "vlan100-tcp4-80"},
		{"vlan 100 and tcp port 80", "vlan100-tcp4-80"},
		{"vlan and host 10.1.0.2", "vlan100-tcp4-80"},
		{"vlan 10 and vlan 20 and udp port 53", "qinq10-20-udp4-53"},
		{"vlan 20", ""},
		{"vlan and vlan 20", "qinq10-20-udp4-53"},
		{"ether host 00:11:22:33:44:55", "arp-req icmp4-echo icmp6-echo qinq10-20-udp4-53 tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated tcp6-443 tcp6-fraghdr udp4-53 udp6-5353 vlan100-tcp4-80"},
		{"ether dst ff:ff:ff:ff:ff:ff", "arp-req"},
		{"ether src 66:77:88:99:aa:bb", ""},
		{"proto 17", "udp4-53 udp6-5353"},
		{"ip proto tcp", "tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated"},
		{"ip6 proto 58", "icmp6-echo"},
		{"tcp[tcpflags] & tcp-syn != 0", "tcp4-syn-80 tcp4-synack-80"},
		{"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "tcp4-syn-80"},
		{"icmp[icmptype] = icmp-echo", "icmp4-echo"},
		{"icmp6[icmp6type] = icmp6-echo", "icmp6-echo"},
		{"ip[9] = 17", "udp4-53"},
		{"greater 68", "tcp6-443 tcp6-fraghdr"},
		// "len" is the wire length: the truncated frame has 30 bytes of 60.
		{"greater 50 and ip", "icmp4-echo tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated udp4-53"},
		{"less 61", "arp-req icmp4-echo qinq10-20-udp4-53 tcp4-frag2 tcp4-syn-80 tcp4-synack-80 tcp4-truncated udp4-53 vlan100-tcp4-80"},
		{"not ip and not ip6", "arp-req qinq10-20-udp4-53 vlan100-tcp4-80"},
		{"!(tcp || udp) && !arp", "icmp4-echo icmp6-echo qinq10-20-udp4-53 vlan100-tcp4-80"},
		// A load past the captured bytes rejects the whole packet, even under "not".
		{"not tcp port 80", "arp-req icmp4-echo icmp6-echo qinq10-20-udp4-53 tcp4-frag2 tcp6-443 tcp6-fraghdr udp4-53 udp6-5353 vlan100-tcp4-80"},
	}
	for _, c := range cases {
		p, err := Compile(c.filter, linkEthernet, 65535)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.filter, err)
			continue
		}
		var got []string
		for name, b := range fr {
			wire := len(b)
			if name == "tcp4-truncated" {
				wire = len(fr["tcp4-syn-80"])
			}
			if p.Match(b, wire) {
				got = append(got, name)
			}
		}
		sort.Strings(got)
		want := strings.Fields(c.want)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%q matches\n  %v\nwant\n  %v", c.filter, got, want)
		}
	}
}

// TestMatchOtherLinks re-wraps the IPv4 TCP frame for each link type.
func TestMatchOtherLinks(t *testing.T) {
	fr := frames(t)
	v4 := fr["tcp4-syn-80"][14:]
	v6 := fr["tcp6-443"][14:]
	sll := func(et uint16, pl []byte) []byte {
		return append([]byte{0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, byte(et >> 8), byte(et)}, pl...)
	}
	sll2 := func(et uint16, pl []byte) []byte {
		return append([]byte{byte(et >> 8), byte(et), 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0}, pl...)
	}
	cases := []struct {
		link   uint16
		v4, v6 []byte
	}{
		{linkSLL, sll(0x800, v4), sll(0x86dd, v6)},
		{linkSLL2, sll2(0x800, v4), sll2(0x86dd, v6)},
		{linkRaw, v4, v6},
		{linkRaw12, v4, v6},
		{linkRaw14, v4, v6},
		{linkIPv4, v4, nil},
		{linkIPv6, nil, v6},
		{linkNull, append([]byte{2, 0, 0, 0}, v4...), append([]byte{30, 0, 0, 0}, v6...)},
		{linkLoop, append([]byte{0, 0, 0, 2}, v4...), append([]byte{0, 0, 0, 24}, v6...)},
	}
	filters := []struct {
		expr   string
		v4, v6 bool
	}{
		{"tcp port 80 and host 10.0.0.1", true, false},
		{"ip", true, false},
		{"ip6", false, true},
		{"tcp", true, true},
		{"port 443", false, true},
		{"net 2001:db8::/32", false, true},
		{"tcp[tcpflags] & tcp-syn != 0", true, false},
		{"arp or udp", false, false},
	}
	for _, c := range cases {
		for _, f := range filters {
			p, err := Compile(f.expr, c.link, 65535)
			if err != nil {
				t.Errorf("link %d %q: %v", c.link, f.expr, err)
				continue
			}
			if c.v4 != nil && p.Match(c.v4, len(c.v4)) != f.v4 {
				t.Errorf("link %d %q on IPv4: got %v", c.link, f.expr, !f.v4)
			}
			if c.v6 != nil && p.Match(c.v6, len(c.v6)) != f.v6 {
				t.Errorf("link %d %q on IPv6: got %v", c.link, f.expr, !f.v6)
			}
		}
	}
	for _, lt := range []uint16{linkSLL, linkRaw, linkNull} {
		if _, err := Compile("vlan", lt, 65535); err == nil {
			t.Errorf("vlan on link %d compiled; libpcap rejects it", lt)
		}
		if _, err := Compile("ether host 00:11:22:33:44:55", lt, 65535); err == nil {
			t.Errorf("ether host on link %d compiled; libpcap rejects it", lt)
		}
	}
	if _, err := Compile("tcp", 9999, 65535); err == nil {
		t.Error("unknown link type compiled")
	}
}

func TestEmptyAndSnaplen(t *testing.T) {
	p, err := Compile("  ", linkEthernet, 1500)
	if err != nil {
		t.Fatal(err)
	}
	ins := p.Instructions()
	if len(ins) != 1 || ins[0].Op != 0x06 || ins[0].K != 1500 {
		t.Fatalf("empty filter = %v, want ret #1500", ins)
	}
	if !p.Match(nil, 0) || !p.Match([]byte{1}, 1) {
		t.Error("empty filter rejected a packet")
	}
	p, _ = Compile("ip", linkEthernet, 0)
	last := p.Instructions()[len(p.Instructions())-2]
	if last.K != defaultSnaplen {
		t.Errorf("accepting return = %d, want default snaplen %d", last.K, defaultSnaplen)
	}
	if p.String() != "ip" {
		t.Errorf("String() = %q", p.String())
	}
}

// TestLongFilter forces conditional jumps longer than 255 instructions.
func TestLongFilter(t *testing.T) {
	var parts []string
	for i := 0; i < 100; i++ {
		parts = append(parts, "host 10.9.0."+itoa(i))
	}
	expr := "(" + strings.Join(parts, " or ") + ") and tcp port 80"
	p, err := Compile(expr, linkEthernet, 65535)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Instructions()) < 300 {
		t.Fatalf("program has only %d instructions", len(p.Instructions()))
	}
	newXVM(t, p.Instructions())
	fr := frames(t)
	if p.Match(fr["tcp4-syn-80"], len(fr["tcp4-syn-80"])) {
		t.Error("matched a host not in the list")
	}
	p2, _ := Compile(strings.Replace(expr, "10.9.0.99", "10.0.0.2", 1), linkEthernet, 65535)
	if !p2.Match(fr["tcp4-syn-80"], len(fr["tcp4-syn-80"])) {
		t.Error("missed the last host in the list")
	}
	var huge []string
	for i := 0; i < 2000; i++ {
		huge = append(huge, "host 10.9."+itoa(i/256)+"."+itoa(i%256))
	}
	if _, err := Compile(strings.Join(huge, " or "), linkEthernet, 65535); err == nil {
		t.Error("a program over the kernel's 4096-instruction limit compiled")
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func BenchmarkMatch(b *testing.B) {
	fr := frames(b)["tcp4-syn-80"]
	p, err := Compile("tcp port 80 and host 10.0.0.1", linkEthernet, 65535)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("interpreter", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if !p.Match(fr, len(fr)) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("x-net-bpf-VM", func(b *testing.B) {
		vm := newXVM(&testing.T{}, p.Instructions())
		for i := 0; i < b.N; i++ {
			if n, _ := vm.Run(fr); n == 0 {
				b.Fatal("no match")
			}
		}
	})
}
