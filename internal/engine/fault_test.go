package engine

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// Issue 12, finding 1, through the engine: data at S, then one byte at
// S+L+2^31, from a spoofed source with no handshake. Every flow is still
// written and the engine keeps working for later traffic.
func TestTwoSegmentCrash(t *testing.T) {
	var out bytes.Buffer
	w := eve.NewWriter(&out)
	e := New(DefaultConfig(), w)
	cli, srv := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("10.0.0.2")
	t0 := time.Unix(1000, 0)
	n := uint64(0)
	send := func(from, to netip.Addr, sp, dp uint16, seq uint32, flags uint8, payload []byte) {
		n++
		fr := tcpFrame(t, from, to, sp, dp, seq, 1, flags, payload)
		e.HandleFrame(packet.LinkEthernet, fr, t0.Add(time.Duration(n)*time.Millisecond), len(fr), n)
	}
	req := []byte("GET / HTTP/1.1\r\n")
	for _, port := range []uint16{80, 443, 21, 4444} {
		const s0 = 7000
		send(cli, srv, 40000, port, s0, packet.TCPAck|packet.TCPPsh, req)
		send(cli, srv, 40000, port, s0+uint32(len(req))+1<<31, packet.TCPAck|packet.TCPPsh, []byte("x"))
	}
	// Later traffic is still extracted.
	send(cli, srv, 40001, 80, 1, packet.TCPAck|packet.TCPPsh, []byte("GET /after HTTP/1.1\r\nHost: after.example\r\n\r\n"))
	e.Finish()
	w.Flush()
	if c := e.Counters(); c.Faults != [numStages]uint64{} {
		t.Errorf("faults %v: the sequence arithmetic panicked", c.Faults)
	}
	if !strings.Contains(out.String(), "after.example") {
		t.Errorf("the request after the crafted segments was not extracted:\n%s", out.String())
	}
	if got := strings.Count(out.String(), `"event_type":"flow"`); got != 5 {
		t.Errorf("%d flow records, want 5", got)
	}
}

// A panic in a parser costs that flow's extraction, in a detector that
// packet's detection, anywhere else that packet: counted, the first of
// each handed to the Fault hook with its flow, and the engine goes on.
func TestFaultsContained(t *testing.T) {
	var out bytes.Buffer
	w := eve.NewWriter(&out)
	e := New(DefaultConfig(), w)
	var seen []Fault
	boom := ""
	e.SetHooks(Hooks{
		Fault: func(f Fault) { seen = append(seen, f) },
		Frame: func(uint16, []byte, *packet.Summary) {
			if boom == "frame" {
				panic("frame hook")
			}
		},
	})
	emit := e.emitFn
	e.emitFn = func(ev *proto.Event) {
		if boom == "parser" {
			panic("parser")
		}
		emit(ev)
	}
	e.cfg.Mute = func(string, netip.Addr, netip.Addr) bool {
		if boom == "detect" {
			panic("detector")
		}
		return false
	}
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	cv := newConv(t, e)
	send := func(from, to netip.Addr, sp, dp uint16, payload string) {
		cv.send(from, to, sp, dp, packet.TCPAck|packet.TCPPsh, payload)
	}
	// Each connection opens with a handshake, so that its data is ACKed.
	open := func(sp, dp uint16) {
		cv.send(cli, srv, sp, dp, packet.TCPSyn, "")
		cv.send(srv, cli, dp, sp, packet.TCPSyn|packet.TCPAck, "")
		cv.send(cli, srv, sp, dp, packet.TCPAck, "")
	}
	req := func(host string) string { return "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n" }
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

	open(40000, 80)
	open(40001, 80)
	open(40003, 80)
	boom = "parser"
	send(cli, srv, 40000, 80, req("one.example"))
	send(srv, cli, 80, 40000, resp) // the transaction is emitted: the parser panics
	send(cli, srv, 40000, 80, req("two.example"))
	send(srv, cli, 80, 40000, resp) // same flow: its extraction stopped
	send(cli, srv, 40000, 80, "")
	boom = "frame"
	send(cli, srv, 40001, 80, req("lost.example"))
	boom = "detect"
	open(40002, 4444) // the handshake completes: port.suspicious fires, and its Mute panics
	send(cli, srv, 40002, 4444, "id\n")
	send(srv, cli, 4444, 40002, "uid=0(root)\n") // port.suspicious fires, and its Mute panics
	boom = ""
	send(cli, srv, 40003, 80, req("after.example"))
	send(srv, cli, 80, 40003, resp)
	e.Finish()
	w.Flush()

	c := e.Counters()
	if c.Faults[StageParser] != 1 || c.Faults[StageEngine] != 1 || c.Faults[StageDetect] == 0 {
		t.Fatalf("faults %v, want one parser, one engine, some detect", c.Faults)
	}
	if len(seen) != 3 {
		t.Fatalf("fault hook saw %d faults, want the first of each stage: %+v", len(seen), seen)
	}
	if seen[0].Stage != StageParser || !strings.Contains(seen[0].Flow, "10.0.0.1:40000") || seen[0].Stack == "" {
		t.Errorf("parser fault %+v: want its flow and stack", seen[0])
	}
	s := out.String()
	if strings.Contains(s, "two.example") || strings.Contains(s, "lost.example") {
		t.Error("work the faults were to cost was done anyway")
	}
	if !strings.Contains(s, "after.example") {
		t.Error("the engine stopped extracting after the faults")
	}
	if e.Reassembly().Memuse != 0 {
		t.Errorf("%d stream bytes still charged after Finish", e.Reassembly().Memuse)
	}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a whole JSON line: %q", line)
		}
	}
}

// conv sends the packets of TCP connections with real sequence and
// acknowledgement numbers: each segment ACKs everything the other side
// sent, as a stack does (the parsers get data when it is ACKed, and the
// detectors check that a handshake's ACK answers its SYN-ACK).
type conv struct {
	t    *testing.T
	e    *Engine
	t0   time.Time
	n    uint64
	next map[[2]netip.AddrPort]uint32 // next sequence number, by (from, to)
}

func newConv(t *testing.T, e *Engine) *conv {
	return &conv{t: t, e: e, t0: time.Unix(1000, 0), next: map[[2]netip.AddrPort]uint32{}}
}

func (c *conv) send(from, to netip.Addr, sp, dp uint16, flags uint8, payload string) {
	a, b := netip.AddrPortFrom(from, sp), netip.AddrPortFrom(to, dp)
	seq, ok := c.next[[2]netip.AddrPort{a, b}]
	if !ok {
		seq = 1000 + uint32(sp)
	}
	ack := c.next[[2]netip.AddrPort{b, a}]
	next := seq + uint32(len(payload))
	if flags&(packet.TCPSyn|packet.TCPFin) != 0 {
		next++
	}
	c.next[[2]netip.AddrPort{a, b}] = next
	c.n++
	fr := tcpFrame(c.t, from, to, sp, dp, seq, ack, flags, []byte(payload))
	c.e.HandleFrame(packet.LinkEthernet, fr, c.t0.Add(time.Duration(c.n)*time.Millisecond), len(fr), c.n)
}
