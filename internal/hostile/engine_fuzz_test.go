package hostile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
)

// packFrames encodes frames as the FuzzEngine input: per frame, a link
// type byte, a 2-byte length and the bytes.
func packFrames(link uint16, frames [][]byte) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, byte(link))
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

// FuzzEngine runs sequences of frames through the whole pipeline (decode,
// flow table, extractors, detectors, EVE writer) with tiny table bounds, so
// eviction paths run too. Seeds: runs of consecutive frames of every corpus
// capture and the start of every hostile capture. Every EVE line written
// must be valid JSON, the counters must add up, and a console snapshot must
// be taken without trouble at the end.
func FuzzEngine(f *testing.F) {
	frames, err := CorpusFrames(filepath.Join("..", "..", "testdata", "corpus"))
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < len(frames); i += 16 {
		var run [][]byte
		for j := i; j < min(i+16, len(frames)) && frames[j].File == frames[i].File; j++ {
			run = append(run, frames[j].Data)
		}
		f.Add(packFrames(frames[i].Link, run))
	}
	for _, k := range Kinds() {
		var run [][]byte
		k.Write(SinkFunc(func(_ time.Time, data []byte, _ int) error {
			run = append(run, append([]byte(nil), data...))
			return nil
		}), 24, 1)
		f.Add(packFrames(1, run[:min(len(run), 24)]))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := engine.DefaultConfig()
		cfg.Flow.MaxFlows = 8
		cfg.Detect.MaxEntries = 8
		cfg.RecentAlerts, cfg.RecentEvents = 4, 4
		var out bytes.Buffer
		w := eve.NewWriter(&out)
		eng := engine.New(cfg, w)
		ts := Start
		var n uint64
		for len(in) >= 3 {
			link := uint16(in[0])
			l := min(int(binary.BigEndian.Uint16(in[1:])), len(in)-3)
			data := in[3 : 3+l]
			in = in[3+l:]
			n++
			// Irregular steps cross windows, ticks and timeouts.
			ts = ts.Add(time.Duration(l%7) * 700 * time.Millisecond)
			eng.HandleFrame(link, data, ts, len(data), n)
		}
		s := eng.Snapshot(engine.SnapshotOptions{Flows: 10, Talkers: 10, Alerts: 10, Events: 10})
		if s.Counters.Pkts != n {
			t.Fatalf("%d frames in, %d counted", n, s.Counters.Pkts)
		}
		if s.Flows.MaxActive > cfg.Flow.MaxFlows {
			t.Fatalf("flow table reached %d, bound %d", s.Flows.MaxActive, cfg.Flow.MaxFlows)
		}
		eng.Finish()
		if st := eng.FlowStats(); st.Active != 0 {
			t.Fatalf("%d flows left after Finish", st.Active)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.Len() == 0 && s.Counters.Pkts > 0 && s.Flows.Created > 0 {
			t.Fatal("flows were created but no EVE record was written")
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			if !json.Valid(sc.Bytes()) {
				t.Fatalf("invalid EVE line: %s", sc.Bytes())
			}
		}
	})
}
