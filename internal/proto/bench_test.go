package proto

import (
	"path/filepath"
	"testing"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// mixed is a decoded mixed corpus with each packet's flow and direction
// resolved once, so benchmarks measure State alone.
type mixed struct {
	pkts     []packet.Summary
	flowOf   []int
	toServer []bool
	flows    int
}

func loadMixed(tb testing.TB) *mixed {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*", "*.pcap*"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no corpus captures under %s", corpusDir)
	}
	m := &mixed{}
	for _, f := range files {
		rel, _ := filepath.Rel(corpusDir, f)
		m.pkts = append(m.pkts, readPcap(tb, rel)...)
	}
	t := flow.NewTable(flow.Config{}, nil)
	ids := map[*flow.Flow]int{}
	m.flowOf = make([]int, len(m.pkts))
	m.toServer = make([]bool, len(m.pkts))
	for i := range m.pkts {
		f, ts, _ := t.Update(&m.pkts[i])
		if f == nil {
			m.flowOf[i] = -1
			continue
		}
		id, ok := ids[f]
		if !ok {
			id = len(ids)
			ids[f] = id
		}
		m.flowOf[i], m.toServer[i] = id, ts
	}
	m.flows = len(ids)
	return m
}

// BenchmarkStatePacket runs every packet of the mixed corpus through fresh
// per-flow States and reports the cost per packet.
func BenchmarkStatePacket(b *testing.B) {
	m := loadMixed(b)
	cfg := &Config{}
	events := 0
	emit := func(*Event) { events++ }
	states := make([]State, m.flows)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		clear(states)
		for i := range m.pkts {
			if id := m.flowOf[i]; id >= 0 {
				states[id].Packet(cfg, m.toServer[i], &m.pkts[i], emit)
			}
		}
		for i := range states {
			states[i].Close(cfg, emit)
		}
	}
	b.StopTimer()
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(m.pkts))
	b.ReportMetric(per, "ns/pkt")
	b.ReportMetric(float64(len(m.pkts)), "pkts/op")
}

// BenchmarkStatePacketPooled is BenchmarkStatePacket with States from a
// Pool, put back when their flow ends, as the engine runs them.
func BenchmarkStatePacketPooled(b *testing.B) {
	m := loadMixed(b)
	cfg := &Config{Budget: &Budget{}}
	events := 0
	emit := func(*Event) { events++ }
	var pool Pool
	states := make([]*State, m.flows)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := range states {
			states[i] = pool.Get()
		}
		for i := range m.pkts {
			if id := m.flowOf[i]; id >= 0 {
				states[id].Packet(cfg, m.toServer[i], &m.pkts[i], emit)
			}
		}
		for _, st := range states {
			st.Close(cfg, emit)
			pool.Put(st)
		}
	}
	b.StopTimer()
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(m.pkts))
	b.ReportMetric(per, "ns/pkt")
	b.ReportMetric(float64(len(m.pkts)), "pkts/op")
}

// tlsDataFlow returns a TLS flow's State after its handshake, and one of the
// flow's later application-data packets.
func tlsDataFlow(tb testing.TB) (*State, packet.Summary) {
	pkts := readPcap(tb, "suricata-verify/tls12-sni-flow-bug-2646-01.pcap")
	st := &State{}
	var last packet.Summary
	for i := range pkts {
		st.Packet(&Config{}, pkts[i].DstPort == 443, &pkts[i], func(*Event) {})
		if len(pkts[i].Payload) > 0 && pkts[i].Payload[0] == 23 {
			last = pkts[i]
		}
	}
	if !st.Done() || last.Payload == nil {
		tb.Fatal("TLS flow not done after its handshake")
	}
	return st, last
}

// BenchmarkStatePacketTLSData is the common case: data packets of an
// established TLS flow after the handshake.
func BenchmarkStatePacketTLSData(b *testing.B) {
	st, s := tlsDataFlow(b)
	cfg := &Config{}
	emit := func(*Event) {}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		st.Packet(cfg, true, &s, emit)
	}
}

// TestHotPathNoAllocs holds the hot path to zero allocations: packets of a
// Done flow, and packets past the byte budget of a flow still parsing.
func TestHotPathNoAllocs(t *testing.T) {
	st, s := tlsDataFlow(t)
	cfg := &Config{}
	emit := func(*Event) {}
	if a := testing.AllocsPerRun(100, func() { st.Packet(cfg, true, &s, emit) }); a != 0 {
		t.Errorf("TLS data packet: %v allocs, want 0", a)
	}
	// An HTTP download past the server's budget, client side still open.
	pkts := stream(40000, 80, []seg{{true, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n" + string(make([]byte, 5000))}})
	st2 := &State{}
	for i := range pkts {
		st2.Packet(cfg, pkts[i].DstPort == 80, &pkts[i], emit)
	}
	more := pkts[len(pkts)-1]
	more.Seq += uint32(len(more.Payload))
	if a := testing.AllocsPerRun(100, func() { st2.Packet(cfg, false, &more, emit) }); a != 0 {
		t.Errorf("packet past the budget: %v allocs, want 0", a)
	}
	if st2.Done() {
		t.Error("flow Done while the client direction may still send requests")
	}
}
