package proto

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// runEncoded runs pkts as the engine does and returns each event encoded at
// the moment it is emitted (pooled events live only that long). With a
// pool, a State goes back to it as soon as it is done, and at the end.
func runEncoded(t *testing.T, pkts []packet.Summary, pool *Pool) []string {
	t.Helper()
	var out []string
	emit := func(e *Event) {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	cfg := &Config{}
	tab := flow.NewTable(flow.Config{}, nil)
	var flows []*flow.Flow
	for i := range pkts {
		s := &pkts[i]
		f, toServer, created := tab.Update(s)
		if f == nil {
			continue
		}
		if created {
			if pool != nil {
				f.App = pool.Get()
			} else {
				f.App = &State{}
			}
			flows = append(flows, f)
		}
		st, _ := f.App.(*State)
		if st == nil {
			continue
		}
		st.Packet(cfg, toServer, s, emit)
		if st.Done() {
			st.Close(cfg, emit)
			f.App = nil
			if pool != nil {
				pool.Put(st)
			}
		}
	}
	for _, f := range flows {
		if st, ok := f.App.(*State); ok {
			st.Close(cfg, emit)
			if pool != nil {
				pool.Put(st)
			}
		}
	}
	return out
}

// Recycled states, parsers and DNS messages must carry nothing over: every
// corpus capture, run with one pool shared across all of them (so later
// captures parse with what earlier ones left), gives exactly the events of
// fresh state.
func TestPoolRecyclesCleanly(t *testing.T) {
	var names []string
	filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
			rel, _ := filepath.Rel(corpusDir, p)
			names = append(names, rel)
		}
		return nil
	})
	if len(names) < 20 {
		t.Fatalf("found %d corpus captures in %s, want the whole corpus", len(names), corpusDir)
	}
	pool := &Pool{}
	events := 0
	// Twice over, so that the second pass parses entirely in recycled memory.
	for pass := 0; pass < 2; pass++ {
		for _, name := range names {
			pkts := readPcap(t, name)
			want := runEncoded(t, pkts, nil)
			got := runEncoded(t, pkts, pool)
			if !slices.Equal(got, want) {
				t.Fatalf("pass %d, %s: pooled events differ\n got %d: %.2000s\nwant %d: %.2000s", pass, name, len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
			}
			events += len(want)
		}
	}
	if events < 200 || len(pool.states) == 0 || len(pool.tls) == 0 || len(pool.http) == 0 {
		t.Fatalf("the corpus did not exercise the pool: %d events, %d states, %d tls, %d http parsers pooled", events, len(pool.states), len(pool.tls), len(pool.http))
	}
}

// With a pool, a DNS lookup flow allocates only the text of its two
// messages: the State and the messages themselves are recycled.
func TestPooledDNSFlowAllocations(t *testing.T) {
	q, r := dnsPair(t, "www.example.com")
	sq, sr := udpSummary(true, q, 1), udpSummary(false, r, 2)
	cfg := &Config{}
	var pool Pool
	events := 0
	emit := func(e *Event) { events++ }
	flow := func() {
		st := pool.Get()
		st.Packet(cfg, true, &sq, emit)
		st.Packet(cfg, false, &sr, emit)
		st.Close(cfg, emit)
		pool.Put(st)
	}
	flow() // fill the pool
	if a := testing.AllocsPerRun(100, flow); a > 2 {
		t.Errorf("a pooled DNS lookup flow allocates %v times, want at most 2", a)
	}
	if events != 2*102 {
		t.Errorf("%d events, want %d", events, 2*102)
	}
}
