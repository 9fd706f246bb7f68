package engine

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
	"github.com/opsdeck/opsdeck/internal/testpkt"
)

func udpFrame(t *testing.T, from, to netip.Addr, sp, dp uint16, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: from.AsSlice(), DstIP: to.AsSlice()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	udp.SetNetworkLayerForChecksum(ip)
	return testpkt.Frame(t, eth, ip, udp, gopacket.Payload(payload))
}

// A flood of short UDP flows of no known protocol holds no parser state
// while the flows wait for their timeout, nor does a DNS flow between its
// datagrams (it keeps its message count), and the DNS flow still gets its
// events, its transactions numbered across the datagrams.
func TestUDPFloodHoldsNoParserState(t *testing.T) {
	var out bytes.Buffer
	e := New(DefaultConfig(), eve.NewWriter(&out))
	t0 := time.Unix(1000, 0)
	srv := netip.MustParseAddr("10.9.0.1")
	n := uint64(0)
	send := func(from, to netip.Addr, sp, dp uint16, payload []byte) {
		n++
		frame := udpFrame(t, from, to, sp, dp, payload)
		e.HandleFrame(packet.LinkEthernet, frame, t0.Add(time.Duration(n)*time.Microsecond), len(frame), n)
	}
	for i := 0; i < 1000; i++ {
		src := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
		send(src, srv, uint16(20000+i), 33333, []byte("flood flood flood flood"))
	}
	// A DNS query for www.example.com, type A.
	q := []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01")
	cli := netip.MustParseAddr("10.9.0.2")
	send(cli, srv, 5353+1, 53, q)
	send(cli, srv, 5353+1, 53, q) // a retry: the flow's second transaction
	states, probing, dns := 0, 0, 0
	var parked proto.DNSFlow
	e.flows.Each(func(f *flow.Flow) bool {
		switch a := f.App.(type) {
		case *proto.State:
			states++
		case proto.UDPProbes:
			probing++
		case proto.DNSFlow:
			dns++
			parked = a
		}
		if f.AppProto == "dns" && f.App == nil {
			t.Error("the DNS flow was given up")
		}
		return true
	})
	if states != 0 || dns != 1 || parked != 2 || probing != 1000 {
		t.Errorf("%d parser states, %d DNS flows parked (count %d), %d flows probing; want none, 1 (2), 1000", states, dns, parked, probing)
	}
	e.Finish()
	for _, want := range []string{`"rrname":"www.example.com"`, `"tx_id":0`, `"tx_id":1`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %s in the DNS events:\n%.2000s", want, out.String())
		}
	}
}
