package detect

import (
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// FuzzDNSName feeds arbitrary query names (they come from packets) through
// the name analysis and both DNS rules.
func FuzzDNSName(f *testing.F) {
	for _, s := range []string{"vaaaakardli.pirate.sea", "dnscat.f97c01f5006c798b8d6e990002e3772bc8",
		"05e100a621c3620001636f6e736f6c65202873697276696d65732900.skullseclabs.org", "www.bbc.co.uk", "", ".", "..",
		"zi03aA-Aaahhh-Drink-mal-ein-J\xe4germeister-.pirate.sea", "1.0.0.10.in-addr.arpa", "a.b.c.d.e.f.g"} {
		f.Add(s, "NULL")
	}
	f.Fuzz(func(t *testing.T, name, typ string) {
		parent, sub := splitParent(name)
		if len(parent)+len(sub) > len(name)+1 {
			t.Fatalf("split of %q grew: %q + %q", name, parent, sub)
		}
		_ = randomLooking(name, 1)
		_ = longRandomLabel(sub, 1)
		d := New(DefaultConfig())
		fl := &flow.Flow{Client: addr("10.0.0.1"), Server: addr("10.0.0.53"), CPort: 5000, SPort: 53, Proto: packet.ProtoUDP}
		for i := range 3 {
			ev := &proto.Event{Type: "dns", TS: t0.Add(time.Duration(i) * time.Second), DNS: &proto.DNS{Type: "request", Queries: []proto.DNSQuery{{RRName: name, RRType: typ}}}}
			d.Event(ev, fl, func(*Alert) {})
			ev = &proto.Event{Type: "dns", TS: t0, DNS: &proto.DNS{Type: "response", RCode: "NXDOMAIN", Queries: []proto.DNSQuery{{RRName: name, RRType: typ}}}}
			d.Event(ev, fl, func(*Alert) {})
		}
	})
}

// FuzzDetectorFrame decodes arbitrary frames and runs them through the flow
// table and every packet rule: nothing from the wire may panic the detector.
func FuzzDetectorFrame(f *testing.F) {
	p := newPipe(f, DefaultConfig())
	p.icmp("10.0.0.1", "10.0.0.2", 8, 1, 1, []byte("\x45\x00\x00\x54SSH-2.0-x"))
	f.Add(append([]byte(nil), p.buf.Bytes()...))
	p.tcp("10.0.0.1", "10.0.0.2", 1, 2, fin|psh|urg, []byte("x"))
	f.Add(append([]byte(nil), p.buf.Bytes()...))
	p.arp(packet.ARPReply, macA, "10.0.0.1", macB, "10.0.0.2")
	f.Add(append([]byte(nil), p.buf.Bytes()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := New(DefaultConfig())
		tab := flow.NewTable(flow.Config{}, func(fl *flow.Flow, _ flow.EndReason) { d.FlowEnd(fl, func(*Alert) {}) })
		dec := packet.NewDecoder()
		var s packet.Summary
		for i := range 3 {
			_ = dec.Decode(packet.LinkEthernet, data, t0.Add(time.Duration(i)*time.Second), len(data), &s)
			fl, toServer, created := tab.Update(&s)
			d.Packet(&s, fl, toServer, created, func(*Alert) {})
			d.Tick(s.TS, func(*Alert) {})
		}
		tab.Flush(flow.EndShutdown)
		_ = protocolLike(data)
	})
}
