package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/opsdeck/opsdeck/internal/record"
)

type pcapFrame struct {
	data []byte
	ts   time.Time
	wire int
}

// readPcap reads every frame of a classic pcap file.
func readPcap(t *testing.T, path string) (uint16, []pcapFrame) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("capture %s: %v", path, err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []pcapFrame
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return uint16(r.LinkType()), out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, pcapFrame{data: data, ts: ci.Timestamp, wire: ci.Length})
	}
}

// TestRecordStreamOnCapture runs a real capture (an FTP brute force: logins
// in clear, alerts and their updates, protocol events, flows ending) with a
// host sample in the middle through the engine, with a subscriber and then
// the EVE writer subscribed. The subscriber sees every kind of record; the
// EVE writer, later in the list, writes its records in the very order the
// subscriber saw them, with the same flow ids; nothing about a flow comes
// after its end; and no alert a subscriber kept changed afterwards (an
// update is a new record).
func TestRecordStreamOnCapture(t *testing.T) {
	link, frames := readPcap(t, "../../testdata/corpus/zeek/ftp-bruteforce.pcap")
	type seen struct {
		kind   record.Kind
		typ    string // the EVE event_type it makes ("" for none)
		flowID uint64
		alert  []byte // the alert as it was when published
	}
	var got []seen
	kinds := map[record.Kind]int{}
	ended := map[uint64]bool{}
	var kept []*recordAlert
	sub := record.Func(func(r record.Record) {
		kinds[r.Kind]++
		if r.FlowID != 0 && ended[r.FlowID] {
			t.Errorf("%s record about flow %d after its end", r.Kind, r.FlowID)
		}
		s := seen{kind: r.Kind, flowID: r.FlowID}
		switch r.Kind {
		case record.Alert, record.AlertUpdate:
			if r.Alert == nil || record.AlertKind(r.Alert) != r.Kind || r.FlowID != r.Alert.FlowID || !r.Time.Equal(r.Alert.TS) {
				t.Fatalf("alert record %+v", r)
			}
			if r.Flow != nil && r.Flow.ID != r.FlowID {
				t.Errorf("alert record: flow %d, FlowID %d", r.Flow.ID, r.FlowID)
			}
			j, err := json.Marshal(r.Alert)
			if err != nil {
				t.Fatal(err)
			}
			s.typ, s.alert = "alert", j
			kept = append(kept, &recordAlert{r: r, json: j})
		case record.ProtoEvent:
			if r.Event == nil || (r.Flow != nil && r.Flow.ID != r.FlowID) {
				t.Fatalf("event record %+v", r)
			}
			s.typ = r.Event.Type
		case record.FlowEnd:
			if r.Flow == nil || r.Flow.ID != r.FlowID || r.FlowID == 0 || !r.Time.Equal(r.Flow.Last()) {
				t.Fatalf("flow end record %+v", r)
			}
			s.typ = "flow"
			ended[r.FlowID] = true
		case record.HostSample:
			if r.Host == nil || r.FlowID != 0 {
				t.Fatalf("host record %+v", r)
			}
		default:
			t.Fatalf("record of kind %d", r.Kind)
		}
		got = append(got, s)
	})
	var out bytes.Buffer
	w := eve.NewWriter(&out)
	e := New(DefaultConfig(), sub, w)
	hostAt := len(frames) / 2
	for i, fr := range frames {
		if i == hostAt {
			e.HandleHost(&hoststat.Snapshot{Time: fr.ts, IntervalS: 1})
		}
		e.HandleFrame(link, fr.data, fr.ts, fr.wire, uint64(i+1))
	}
	e.Finish()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []record.Kind{record.Alert, record.AlertUpdate, record.ProtoEvent, record.FlowEnd, record.HostSample} {
		if kinds[k] == 0 {
			t.Errorf("no %s record (saw %v)", k, kinds)
		}
	}
	// The EVE writer's lines are the subscriber's records, in its order.
	var want []seen
	for _, s := range got {
		if s.typ != "" {
			want = append(want, s)
		}
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	i := 0
	for ; sc.Scan(); i++ {
		var line struct {
			Type   string `json:"event_type"`
			FlowID uint64 `json:"flow_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("EVE line %d: %v", i, err)
		}
		if i >= len(want) {
			t.Fatalf("EVE line %d (%s) beyond the %d records seen", i, line.Type, len(want))
		}
		if line.Type != want[i].typ || line.FlowID != want[i].flowID {
			t.Fatalf("EVE line %d: %s of flow %d; the subscriber saw %s (%s) of flow %d",
				i, line.Type, line.FlowID, want[i].kind, want[i].typ, want[i].flowID)
		}
	}
	if i != len(want) {
		t.Errorf("%d EVE lines, %d records", i, len(want))
	}
	// Published alerts never change: the engine's later work (updates,
	// re-attribution) made new records.
	for _, k := range kept {
		if j, _ := json.Marshal(k.r.Alert); !bytes.Equal(j, k.json) {
			t.Errorf("alert changed after it was published:\n was %s\n now %s", k.json, j)
		}
	}
	t.Logf("records by kind: %v", kinds)
}

type recordAlert struct {
	r    record.Record
	json []byte
}

// TestFlowEndFlowValidDuringCallOnly holds the rule record.Record states:
// the *flow.Flow of a FlowEnd record is the table's, cleared and reused
// once the call returns, so a subscriber keeps values (FlowID), never the
// pointer.
func TestFlowEndFlowValidDuringCallOnly(t *testing.T) {
	link, frames := readPcap(t, "../../testdata/corpus/zeek/ftp-bruteforce.pcap")
	type end struct {
		f  *flow.Flow
		id uint64
	}
	var ends []end
	e := New(DefaultConfig(), record.Func(func(r record.Record) {
		if r.Kind == record.FlowEnd {
			ends = append(ends, end{r.Flow, r.FlowID})
		}
	}))
	for i, fr := range frames {
		e.HandleFrame(link, fr.data, fr.ts, fr.wire, uint64(i+1))
	}
	e.Finish()
	if len(ends) < 2 {
		t.Fatalf("%d flows ended", len(ends))
	}
	for _, x := range ends {
		if x.f.ID == x.id {
			t.Errorf("flow %d: the Flow still holds it after the call; the doc says it is recycled", x.id)
		}
	}
}

// TestPublishAllocatesNothing: publishing is on the packet path; handing a
// record to the engine's state and to subscribers allocates nothing.
func TestPublishAllocatesNothing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Headless = true
	n := 0
	e := New(cfg, record.Func(func(r record.Record) { n += int(r.Kind) }), eve.NewWriter(io.Discard))
	f := &flow.Flow{ID: 7}
	allocs := testing.AllocsPerRun(1000, func() {
		e.publish(record.Record{Kind: record.FlowEnd, FlowID: f.ID, Flow: f, Time: time.Unix(1, 0)})
	})
	if allocs != 0 {
		t.Errorf("%v allocations per record", allocs)
	}
	if n == 0 {
		t.Fatal("the subscriber saw nothing")
	}
}
