package proto

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

const corpusDir = "../../testdata/corpus"

// got is one emitted event with the flow it belongs to.
type got struct {
	Event
	sport, cport uint16
}

// readPcap decodes every frame of a corpus capture.
func readPcap(tb testing.TB, name string) []packet.Summary {
	tb.Helper()
	f, err := os.Open(filepath.Join(corpusDir, name))
	if err != nil {
		tb.Fatalf("open capture %q: %v", name, err)
	}
	defer f.Close()
	var link uint16
	var next func() ([]byte, gopacketCI, error)
	if filepath.Ext(name) == ".pcapng" {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			tb.Fatalf("read capture %q: %v", name, err)
		}
		link = uint16(r.LinkType())
		next = func() ([]byte, gopacketCI, error) {
			d, ci, err := r.ReadPacketData()
			return d, gopacketCI{ci.Timestamp.UnixNano(), ci.Length}, err
		}
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			tb.Fatalf("read capture %q: %v", name, err)
		}
		link = uint16(r.LinkType())
		next = func() ([]byte, gopacketCI, error) {
			d, ci, err := r.ReadPacketData()
			return d, gopacketCI{ci.Timestamp.UnixNano(), ci.Length}, err
		}
	}
	dec := packet.NewDecoder()
	var out []packet.Summary
	for i := uint64(1); ; i++ {
		data, ci, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("read capture %q frame %d: %v", name, i, err)
		}
		var s packet.Summary
		if err := dec.Decode(link, data, unixNano(ci.ts), ci.length, &s); err != nil {
			continue
		}
		s.Index = i
		// Summaries are kept past the next read: own the payload.
		s.Payload = append([]byte(nil), s.Payload...)
		out = append(out, s)
	}
	return out
}

type gopacketCI struct {
	ts     int64
	length int
}

// runSummaries feeds decoded packets through a flow table and per-flow State,
// as the engine does, and returns the events in order.
func runSummaries(pkts []packet.Summary, cfg *Config) []got {
	var out []got
	var f *flow.Flow
	emit := func(e *Event) {
		out = append(out, got{Event: *e, sport: f.SPort, cport: f.CPort})
	}
	t := flow.NewTable(flow.Config{}, nil)
	var flows []*flow.Flow
	for i := range pkts {
		s := &pkts[i]
		var toServer, created bool
		f, toServer, created = t.Update(s)
		if f == nil {
			continue
		}
		if created {
			f.App = &State{}
			flows = append(flows, f)
		}
		st := f.App.(*State)
		st.Packet(cfg, toServer, s, emit)
	}
	for _, f = range flows {
		st := f.App.(*State)
		st.Close(cfg, emit)
	}
	return out
}

func runPcap(tb testing.TB, name string, cfg *Config) []got {
	return runSummaries(readPcap(tb, name), cfg)
}

func ofType(evs []got, typ string) []got {
	var out []got
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// appProtos runs a capture and returns the app_proto of each flow by server port.
func appProtos(pkts []packet.Summary, cfg *Config) map[uint16]string {
	m := map[uint16]string{}
	t := flow.NewTable(flow.Config{}, nil)
	var flows []*flow.Flow
	for i := range pkts {
		s := &pkts[i]
		f, toServer, created := t.Update(s)
		if f == nil {
			continue
		}
		if created {
			f.App = &State{}
			flows = append(flows, f)
		}
		f.App.(*State).Packet(cfg, toServer, s, func(*Event) {})
	}
	for _, f := range flows {
		m[f.SPort] = f.App.(*State).AppProto()
	}
	return m
}

func unixNano(n int64) time.Time { return time.Unix(0, n).UTC() }
