package proto

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opsdeck/opsdeck/internal/flow"
)

// genCapture is a generated capture resolved to flows, with the index of
// each flow's last packet.
type genCapture struct {
	*mixed
	last []int
}

// loadGen is loadMixed for one of the generated benchmark captures
// (testdata/gen, made by `make perf`), or a skip when it is not there.
// Each flow the table creates gets its own State, as in the engine.
func loadGen(tb testing.TB, name string) genCapture {
	rel := filepath.Join("..", "gen", name)
	if _, err := os.Stat(filepath.Join(corpusDir, rel)); err != nil {
		tb.Skipf("no generated capture %s (make perf builds it): %v", name, err)
	}
	m := &mixed{pkts: readPcap(tb, rel)}
	t := flow.NewTable(flow.Config{}, nil)
	ids := map[*flow.Flow]int{}
	m.flowOf = make([]int, len(m.pkts))
	m.toServer = make([]bool, len(m.pkts))
	for i := range m.pkts {
		f, ts, created := t.Update(&m.pkts[i])
		if f == nil {
			m.flowOf[i] = -1
			continue
		}
		if created {
			ids[f] = m.flows
			m.flows++
		}
		m.flowOf[i], m.toServer[i] = ids[f], ts
	}
	last := make([]int, m.flows)
	for i, id := range m.flowOf {
		if id >= 0 {
			last[id] = i
		}
	}
	return genCapture{m, last}
}

// BenchmarkStatePacketGen runs the generated benchmark captures (attack-
// and browsing-heavy) through States from a Pool, each closed and put back
// after its flow's last packet, as the engine runs them: what extraction
// costs per packet on each kind of traffic.
func BenchmarkStatePacketGen(b *testing.B) {
	for _, name := range []string{"attack-1.5m.pcap", "mixed-1.5m.pcap"} {
		b.Run(name, func(b *testing.B) {
			m := loadGen(b, name)
			cfg := &Config{Budget: &Budget{}}
			emit := func(*Event) {}
			var pool Pool
			states := make([]*State, m.flows)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for i := range m.pkts {
					id := m.flowOf[i]
					if id < 0 {
						continue
					}
					st := states[id]
					if st == nil {
						st = pool.Get()
						states[id] = st
					}
					st.Packet(cfg, m.toServer[i], &m.pkts[i], emit)
					if m.last[id] == i {
						st.Close(cfg, emit)
						pool.Put(st)
						states[id] = nil
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(m.pkts)), "ns/pkt")
		})
	}
}
