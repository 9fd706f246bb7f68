package engine

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// An idle console does not walk the flow table: a snapshot taken when no
// packet, expiry, owner or alert changed the flows since the last one
// copies that one's top flows, talkers and protocol shares (equal, and not
// shared with it), while a packet or an expiry makes the next one fresh.
func TestSnapshotIdleReusesAggregates(t *testing.T) {
	e := New(DefaultConfig(), nil)
	c := newConv(t, e)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for i := 0; i < 200; i++ {
		c.send(a, b, uint16(1000+i), 80, packet.TCPSyn, "")
	}
	o := SnapshotOptions{Flows: 20, Talkers: 5}
	s1 := e.Snapshot(o)
	w := e.snapAgg.walks
	s2 := e.Snapshot(o)
	if e.snapAgg.walks != w {
		t.Errorf("an idle snapshot walked the flow table again")
	}
	if !reflect.DeepEqual(s1.TopFlows, s2.TopFlows) || !reflect.DeepEqual(s1.Talkers, s2.Talkers) || !reflect.DeepEqual(s1.Protos, s2.Protos) {
		t.Fatalf("the reused aggregates differ from the walked ones")
	}
	s1.TopFlows[0].PktsToServer = 999
	if e.Snapshot(o).TopFlows[0].PktsToServer == 999 {
		t.Errorf("snapshots share their slices")
	}
	c.send(a, b, 1000, 80, packet.TCPAck|packet.TCPPsh, "more bytes")
	s3 := e.Snapshot(o)
	if e.snapAgg.walks != w+1 {
		t.Errorf("a packet did not make the next snapshot fresh")
	}
	if s3.TopFlows[0].Client.Port() != 1000 {
		t.Errorf("after more bytes the top flow is %v, want the one from port 1000", s3.TopFlows[0].Client)
	}
	e.Expire(c.t0.Add(time.Hour)) // every flow times out
	if s4 := e.Snapshot(o); len(s4.TopFlows) != 0 {
		t.Errorf("after expiry the snapshot still shows %d flows", len(s4.TopFlows))
	}
}
