package proto

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// The fingerprint caches key on everything JA3, JA4 and JA3S are computed
// from: hellos that differ in any one input get their own fingerprints, and
// a repeated hello gets the same ones as a fresh computation.
func TestFingerprintCache(t *testing.T) {
	base := ClientHello{Version: 0x0303, Versions: []uint16{0x0a0a, 0x0304, 0x0303},
		Ciphers: []uint16{0x1a1a, 4865, 4866, 49195}, Extensions: []uint16{0x2a2a, 0, 10, 11, 16, 43, 13},
		Groups: []uint16{29, 23}, PointFormats: []uint8{0}, SigAlgs: []uint16{0x0403, 0x0804}, ALPN: []string{"h2", "http/1.1"}}
	variants := []func(*ClientHello){
		func(*ClientHello) {},
		func(c *ClientHello) { c.Versions = []uint16{0x0303} },
		func(c *ClientHello) { c.ALPN = []string{"http/1.1"} },
		func(c *ClientHello) { c.ALPN = []string{"h3"} },
		func(c *ClientHello) { c.ALPN = nil },
		func(c *ClientHello) { c.SigAlgs = []uint16{0x0804, 0x0403} },
		func(c *ClientHello) { c.SigAlgs = nil },
		func(c *ClientHello) { c.Extensions = []uint16{10, 0, 11, 16, 43, 13} },
		func(c *ClientHello) { c.Extensions = []uint16{10, 11, 16, 43, 13} },
		func(c *ClientHello) { c.Ciphers = []uint16{4866, 4865, 49195} },
		func(c *ClientHello) { c.Groups = []uint16{23, 29} },
		func(c *ClientHello) { c.PointFormats = nil },
		func(c *ClientHello) { c.Version = 0x0301 },
	}
	var pool Pool
	seen := map[string]int{}
	for round := 0; round < 2; round++ {
		for i, v := range variants {
			ch := base
			v(&ch)
			wantJA3, wantJA4 := ch.fingerprints()
			gotJA3, gotJA4 := pool.fingerprints(&ch)
			if gotJA3 != wantJA3 || gotJA4 != wantJA4 {
				t.Fatalf("round %d, variant %d: cached %v %s, want %v %s", round, i, gotJA3, gotJA4, wantJA3, wantJA4)
			}
			fp := gotJA3.Hash + " " + gotJA4
			if j, ok := seen[fp]; ok && j != i {
				t.Errorf("variants %d and %d share fingerprints %s", j, i, fp)
			}
			seen[fp] = i
		}
	}
	servers := []ServerHello{{Version: 0x0303, Cipher: 4865, Extensions: []uint16{43, 51}},
		{Version: 0x0303, Cipher: 4866, Extensions: []uint16{43, 51}}, {Version: 0x0303, Cipher: 4865, Extensions: []uint16{51, 43}},
		{Version: 0x0301, Cipher: 4865, Extensions: []uint16{43, 51}}, {Version: 0x0303, Cipher: 4865}}
	for round := 0; round < 2; round++ {
		for i := range servers {
			if got, want := pool.ja3s(&servers[i]), servers[i].ja3s(); got != want {
				t.Fatalf("round %d, server %d: cached %v, want %v", round, i, got, want)
			}
		}
	}
	if len(pool.fps) != len(variants) || len(pool.ja3S) != len(servers) {
		t.Errorf("caches hold %d and %d entries, want %d and %d", len(pool.fps), len(pool.ja3S), len(variants), len(servers))
	}
}

// DNSTypeName's array for low types agrees with the table for every type.
func TestDNSTypeName(t *testing.T) {
	for v := 0; v <= 0xffff; v++ {
		want, ok := dnsTypeNames[uint16(v)]
		if !ok {
			want = strconv.Itoa(v)
		}
		if got := DNSTypeName(uint16(v)); got != want {
			t.Fatalf("DNSTypeName(%d) = %q, want %q", v, got, want)
		}
	}
}

// The cache key cannot be forged. Without the JA3 string's length in front,
// these two hellos made the same key: point formats "0-1" then version
// 0x3233 ("23") then signature algorithms 0x0500 0x0102, against point
// formats "0-123" then version 0x0005 then 0x0102; the second would have
// borrowed the first's fingerprints.
func TestFingerprintCacheKeyUnambiguous(t *testing.T) {
	a := ClientHello{Version: 0x0303, Versions: []uint16{0x3233}, Ciphers: []uint16{4865}, PointFormats: []uint8{0, 1},
		SigAlgs: []uint16{0x0500, 0x0102}}
	b := ClientHello{Version: 0x0303, Versions: []uint16{0x0005}, Ciphers: []uint16{4865}, PointFormats: []uint8{0, 123},
		SigAlgs: []uint16{0x0102}}
	var pool Pool
	for _, ch := range []*ClientHello{&a, &b, &a, &b} {
		wantJA3, wantJA4 := ch.fingerprints()
		if gotJA3, gotJA4 := pool.fingerprints(ch); gotJA3 != wantJA3 || gotJA4 != wantJA4 {
			t.Fatalf("cached %v %s, want %v %s", gotJA3, gotJA4, wantJA3, wantJA4)
		}
	}
}
