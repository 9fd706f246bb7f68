package hostile

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/gen"
)

func soak() bool { return os.Getenv("OPSDECK_SOAK") == "1" }

// liveHeap is the heap still reachable after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestKindsDeterministic: the same seed gives the same bytes, a different
// seed different ones, and every kind writes what it was asked to.
func TestKindsDeterministic(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			sum := func(seed uint64) (string, int) {
				h := sha256.New()
				w, err := NewWriter(h, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := k.Write(w, 600, seed); err != nil {
					t.Fatal(err)
				}
				w.Flush()
				return fmt.Sprintf("%x", h.Sum(nil)), w.Frames()
			}
			a, n := sum(1)
			b, _ := sum(1)
			c, _ := sum(2)
			if a != b {
				t.Error("same seed, different bytes")
			}
			if a == c && k.Name != "arpclaims" {
				t.Error("different seeds, same bytes")
			}
			if n < 600 {
				t.Errorf("%d frames for n=600", n)
			}
		})
	}
}

// feed runs a kind through an engine in process.
func feed(t testing.TB, eng *engine.Engine, k Kind, n int) int {
	var idx uint64
	err := k.Write(SinkFunc(func(ts time.Time, data []byte, wire int) error {
		idx++
		eng.HandleFrame(1, data, ts, max(wire, len(data)), idx)
		return nil
	}), n, 1)
	if err != nil {
		t.Fatal(err)
	}
	return int(idx)
}

// TestFloodLiveHeap streams each table-filling kind through the engine in
// process with the documented bounds and measures the live heap while the
// tables are full: the part of the memory budget the bounds control.
func TestFloodLiveHeap(t *testing.T) {
	n := 200_000
	if soak() {
		n = 1_000_000
	} else if testing.Short() {
		n = 30_000
	}
	for _, name := range []string{"synflood", "dnsnames", "arpclaims"} {
		k, _ := KindByName(name)
		t.Run(name, func(t *testing.T) {
			cfg := engine.DefaultConfig()
			if n < 1_000_000 {
				cfg.Flow.MaxFlows = n / 4
			}
			before := liveHeap()
			eng := engine.New(cfg, eve.NewWriter(io.Discard))
			frames := feed(t, eng, k, n)
			live := liveHeap() - min(before, liveHeap())
			// OPSDECK_HEAPPROFILE=DIR writes a heap profile with the tables
			// full, to see what a flow costs (go tool pprof -sample_index=inuse_space).
			if dir := os.Getenv("OPSDECK_HEAPPROFILE"); dir != "" {
				f, err := os.Create(filepath.Join(dir, name+".heap"))
				if err == nil {
					pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
			st := eng.FlowStats()
			if st.MaxActive > cfg.Flow.MaxFlows {
				t.Errorf("flow table reached %d, bound %d", st.MaxActive, cfg.Flow.MaxFlows)
			}
			checkDetectorBounds(t, eng.DetectorStats(), cfg.Detect.MaxEntries)
			perFlow := uint64(0)
			if st.Active > 0 {
				perFlow = live / uint64(st.Active)
			}
			if live > 200<<20 {
				t.Errorf("live heap %d MiB with every table at its bound", live>>20)
			}
			// A full default flow table at this cost, with the GC's default
			// headroom (x2), must fit docs/design.md's 256 MB.
			if full := uint64(flow.DefaultConfig().MaxFlows); name == "synflood" && perFlow*full*2 > 256<<20 {
				t.Errorf("%d live bytes per flow: a full default table (%d flows) would need %d MiB with GC headroom, over 256",
					perFlow, full, perFlow*full*2>>20)
			}
			t.Logf("%s: %d frames, %d flows active (evicted %d), live heap %d MiB, %d B/flow, detector tables %v",
				name, frames, st.Active, st.Evicted, live>>20, perFlow, nonZero(eng.DetectorStats()))
			runtime.KeepAlive(eng)
		})
	}
}

func checkDetectorBounds(t *testing.T, ds map[string]uint64, bound int) {
	t.Helper()
	for k, v := range ds {
		if strings.HasSuffix(k, ".entries") && v > uint64(bound) {
			t.Errorf("detector table %s holds %d, bound %d", k, v, bound)
		}
	}
}

func nonZero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v > 0 && strings.HasSuffix(k, ".evicted") {
			out[k] = v
		}
	}
	return out
}

// TestSoak replays generated mixed traffic standing for a day of a busy
// server, time-compressed, through the whole engine (EVE output discarded,
// a console snapshot every 10,000 packets). It samples the live heap 64
// times and asserts that it stays flat: the largest sample of the last
// quarter within 20% (plus 2 MiB of noise) of the largest of the second
// quarter, with every table under its bound throughout.
//
// OPSDECK_SOAK=1 (make soak): 20 million packets over 24 h of packet time
// (231 packets/s). Default: 1 million packets over 6 h; -short: 200,000
// over 1 h.
func TestSoak(t *testing.T) {
	n, span := 1_000_000, 6*time.Hour
	switch {
	case soak():
		n, span = 20_000_000, 24*time.Hour
	case testing.Short():
		n, span = 200_000, time.Hour
	}
	const samples = 64
	cfg := engine.DefaultConfig()
	eng := engine.New(cfg, eve.NewWriter(io.Discard))
	g := gen.New(gen.Options{Seed: 7, PPS: float64(n) / span.Seconds(), Attacks: true, AttackEvery: max(n/40, 1000), Clients: 500})
	heap := make([]uint64, 0, samples)
	var maxFlows int
	maxDet := map[string]uint64{}
	var first, last time.Time
	for i := 1; i <= n; i++ {
		fr := g.Next()
		if i == 1 {
			first = fr.TS
		}
		last = fr.TS
		eng.HandleFrame(1, fr.Data, fr.TS, len(fr.Data), uint64(i))
		if i%10000 == 0 {
			s := eng.Snapshot(engine.SnapshotOptions{Flows: 50, Talkers: 10, Alerts: 100, Events: 100})
			maxFlows = max(maxFlows, s.Flows.Active)
			if len(s.Alerts) > cfg.RecentAlerts || len(s.Events) > cfg.RecentEvents {
				t.Fatalf("console rings grew: %d alerts, %d events", len(s.Alerts), len(s.Events))
			}
			for k, v := range s.Detectors {
				maxDet[k] = max(maxDet[k], v)
			}
		}
		if i%(n/samples) == 0 && len(heap) < samples {
			heap = append(heap, liveHeap())
		}
	}
	if maxFlows > cfg.Flow.MaxFlows {
		t.Errorf("flow table reached %d, bound %d", maxFlows, cfg.Flow.MaxFlows)
	}
	checkDetectorBounds(t, maxDet, cfg.Detect.MaxEntries)
	q := samples / 4
	maxOf := func(s []uint64) uint64 {
		var m uint64
		for _, v := range s {
			m = max(m, v)
		}
		return m
	}
	second, fourth := maxOf(heap[q:2*q]), maxOf(heap[3*q:])
	if float64(fourth) > 1.2*float64(second)+2<<20 {
		t.Errorf("live heap grew: max %d KiB in the second quarter, %d KiB in the last", second>>10, fourth>>10)
	}
	c := eng.Counters()
	if c.Alerts == 0 {
		t.Error("no alerts: the attack episodes went unseen")
	}
	var curve []string
	for i := 0; i < samples; i += samples / 8 {
		curve = append(curve, fmt.Sprintf("%.1f", float64(heap[i])/(1<<20)))
	}
	t.Logf("soak: %d packets, %v of packet time, flows max %d (created %d, evicted %d), alerts %d; live heap MiB at each eighth: %s; max Q2 %.1f MiB, max Q4 %.1f MiB",
		n, last.Sub(first).Round(time.Minute), maxFlows, eng.FlowStats().Created, eng.FlowStats().Evicted, c.Alerts,
		strings.Join(curve, " "), float64(second)/(1<<20), float64(fourth)/(1<<20))
}
