package proto

import (
	"net/netip"
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// seg1 builds one TCP segment to the server of a flow 10.0.0.1:40000 ->
// 10.0.0.2:port.
func seg1(port uint16, seq uint32, payload string) packet.Summary {
	return packet.Summary{IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true, TCPFlags: packet.TCPAck | packet.TCPPsh,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 40000, DstPort: port,
		Seq: seq, Payload: []byte(payload)}
}

// Issue 12, finding 1: a segment exactly 2^31 past the expected sequence
// number made the reassembly slice data[-diff:] with diff = -2^31.
func TestSequenceHalfSpaceAway(t *testing.T) {
	for _, port := range []uint16{80, 443, 21, 4444} {
		for _, delta := range []uint32{1 << 31, 1<<31 - 1, 1<<31 + 1, 1<<32 - 1} {
			st := &State{}
			cfg := &Config{Budget: &Budget{}}
			const s0 = 1000
			first := seg1(port, s0, "GET / HTTP/1.1\r\nHost: a\r\n")
			second := seg1(port, s0+uint32(len(first.Payload))+delta, "x")
			st.Packet(cfg, true, &first, func(*Event) {})
			st.Packet(cfg, true, &second, func(*Event) {})
			st.Close(cfg, func(*Event) {})
			if u := cfg.Budget.Stats().Memuse; u != 0 {
				t.Errorf("port %d delta %#x: %d bytes still charged after Close", port, delta, u)
			}
		}
	}
}

// Issue 12, finding 2: one partial request and out-of-order segments a few
// bytes ahead of the gap held about 34 KiB per flow. What a direction holds
// is now bounded by the bytes it would still inspect.
func TestOutOfOrderHeldBounded(t *testing.T) {
	cfg := &Config{Budget: &Budget{}}
	st := &State{}
	req := "GET /" + string(make([]byte, 3000)) // a request line not yet ended
	p := seg1(80, 1, req)
	st.Packet(cfg, true, &p, func(*Event) {})
	next := 1 + uint32(len(req))
	chunk := string(make([]byte, 1400))
	for i := 0; i < 8; i++ {
		s := seg1(80, next+2+uint32(i), chunk) // overlapping retransmissions past a 2-byte gap
		st.Packet(cfg, true, &s, func(*Event) {})
	}
	h := &st.h[0]
	if h.heldBytes() > 2*DefaultMaxBytes {
		t.Fatalf("direction holds %d bytes (buf %d, %d segments); bound is %d", h.heldBytes(), cap(h.buf), len(h.ooo), 2*DefaultMaxBytes)
	}
	if got := cfg.Budget.Stats().Memuse; got != h.heldBytes() {
		t.Fatalf("budget charged %d, direction holds %d", got, h.heldBytes())
	}
	st.Close(cfg, func(*Event) {})
	if u := cfg.Budget.Stats().Memuse; u != 0 {
		t.Fatalf("%d bytes charged after Close", u)
	}
}

// The shared budget bounds the total across flows: past it directions are
// given up and counted, and everything comes back when the flows close.
func TestBudgetBoundsAllFlows(t *testing.T) {
	b := &Budget{Limit: 64 << 10}
	cfg := &Config{Budget: b}
	var states []*State
	for i := 0; i < 200; i++ {
		st := &State{}
		states = append(states, st)
		p := seg1(80, 1, "GET /"+string(make([]byte, 2000)))
		st.Packet(cfg, true, &p, func(*Event) {})
		o := seg1(80, 3000, string(make([]byte, 1000)))
		st.Packet(cfg, true, &o, func(*Event) {})
		if u := b.Stats().Memuse; u > b.Limit+int64(DefaultMaxBytes) {
			t.Fatalf("flow %d: %d bytes charged, limit %d", i, u, b.Limit)
		}
	}
	s := b.Stats()
	if s.MemcapDrops == 0 {
		t.Fatalf("200 flows of 3 KB against a 64 KiB budget: nothing counted as dropped (%+v)", s)
	}
	for _, st := range states {
		st.Close(cfg, func(*Event) {})
	}
	if u := b.Stats().Memuse; u != 0 {
		t.Fatalf("%d bytes charged after every flow closed", u)
	}
}

// A reordered ClientHello still reassembles within the per-direction bound
// (TestReassembly covers the orders; this is the budget's side).
func TestBudgetReturnsOnDrain(t *testing.T) {
	b := &Budget{}
	cfg := &Config{Budget: b}
	a, c := seg1(80, 1, "GET / HTTP/1.1\r\n"), seg1(80, 17, "Host: x\r\n\r\n")
	st := &State{}
	st.Sync(true, 1) // the handshake was seen: c arrives ahead of a gap
	var reqs int
	emit := func(e *Event) {
		if e.HTTP != nil {
			reqs++
		}
	}
	st.Packet(cfg, true, &c, emit)
	if b.Stats().Memuse == 0 {
		t.Fatal("the stashed segment is not charged")
	}
	st.Packet(cfg, true, &a, emit)
	st.Close(cfg, emit)
	if reqs != 1 {
		t.Errorf("%d HTTP requests, want 1", reqs)
	}
	if u := b.Stats().Memuse; u != 0 {
		t.Fatalf("%d bytes charged after Close", u)
	}
}
