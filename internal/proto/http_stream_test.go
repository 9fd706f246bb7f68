package proto

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// httpBody is what scripts/mkhttpcaps.sh's server answers for path.
func httpBody(path string) int64 { return int64(min(len(path)*200, 3000)) }

// Issue 18: HTTP is parsed for the whole connection, not for its first
// 4096 bytes, and each transaction is logged with its own response. The
// captures are real peers on loopback (scripts/mkhttpcaps.sh): 40 requests
// pipelined in one write, and curl fetching 60 URLs over one connection;
// tshark dissects 40 and 60 responses in them.
func TestHTTPWholeConnectionCorpus(t *testing.T) {
	for _, tt := range []struct {
		file   string
		n      int
		prefix string
	}{{"http/pipelined.pcap", 40, "/p"}, {"http/keepalive.pcap", 60, "/k"}} {
		t.Run(tt.file, func(t *testing.T) {
			evs := ofType(runPcap(t, tt.file, &Config{}), "http")
			if len(evs) != tt.n {
				t.Fatalf("%d http events, want %d", len(evs), tt.n)
			}
			for i, e := range evs {
				h := e.HTTP
				want := fmt.Sprintf("%s%d", tt.prefix, i+map[bool]int{true: 0, false: 1}[tt.prefix == "/p"])
				if h.URL != want || h.Status != 200 || h.Length != httpBody(want) || h.TxID != i {
					t.Errorf("event %d: url %q status %d length %d tx_id %d; want %q 200 %d %d",
						i, h.URL, h.Status, h.Length, h.TxID, want, httpBody(want), i)
				}
			}
		})
	}
}

// dropFrames returns pkts without the ones keep rejects: capture loss.
func dropFrames(pkts []packet.Summary, drop func(i int, s *packet.Summary) bool) []packet.Summary {
	var out []packet.Summary
	for i := range pkts {
		if !drop(i, &pkts[i]) {
			out = append(out, pkts[i])
		}
	}
	return out
}

// A segment lost from the capture (the peer acknowledged it): inside a body
// of known length the parser counts it as body and goes on, as libhtp does;
// where it took a message head the direction resynchronises at the next
// status line. Either way what follows is logged and the gap is counted.
func TestHTTPAfterGapCorpus(t *testing.T) {
	pkts := readPcap(t, "http/keepalive.pcap")
	var bodies, heads []int
	for i, s := range pkts {
		if s.SrcPort == 18081 && len(s.Payload) > 0 {
			if strings.HasPrefix(string(s.Payload), "HTTP/1.1") {
				heads = append(heads, i)
			} else {
				bodies = append(bodies, i)
			}
		}
	}
	if len(bodies) < 30 || len(heads) < 30 {
		t.Skipf("capture has %d head and %d body segments; the test wants them apart", len(heads), len(bodies))
	}
	t.Run("body", func(t *testing.T) {
		lost := bodies[10]
		cfg := &Config{Budget: &Budget{}}
		evs := ofType(runSummaries(dropFrames(pkts, func(i int, _ *packet.Summary) bool { return i == lost }), cfg), "http")
		if len(evs) != 60 {
			t.Fatalf("%d http events, want 60", len(evs))
		}
		for i, e := range evs {
			if want := fmt.Sprintf("/k%d", i+1); e.HTTP.URL != want || e.HTTP.Status != 200 || e.HTTP.Length != httpBody(want) {
				t.Errorf("event %d: %q %d %d, want %q 200 %d", i, e.HTTP.URL, e.HTTP.Status, e.HTTP.Length, want, httpBody(want))
			}
		}
		if g := cfg.Budget.Stats().GapDrops; g != 1 {
			t.Errorf("%d gaps counted, want 1", g)
		}
	})
	t.Run("head", func(t *testing.T) {
		lost := heads[10]
		cfg := &Config{Budget: &Budget{}}
		evs := ofType(runSummaries(dropFrames(pkts, func(i int, _ *packet.Summary) bool { return i == lost }), cfg), "http")
		var statuses int
		for _, e := range evs {
			if e.HTTP.Status == 200 {
				statuses++
			}
		}
		// The response whose head was lost is gone; every other one is
		// logged with its status.
		if statuses != 59 {
			t.Errorf("%d responses logged after losing one head, want 59", statuses)
		}
		if g := cfg.Budget.Stats().GapDrops; g != 1 {
			t.Errorf("%d gaps counted, want 1", g)
		}
	})
}

func TestHTTPStreamEdges(t *testing.T) {
	t.Run("logged at the end of the response body", func(t *testing.T) {
		segs := []seg{{true, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"},
			{false, "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + strings.Repeat("x", 1000)},
			{false, strings.Repeat("x", 1000)}, {false, strings.Repeat("x", 1000)}}
		pkts := stream(40000, 80, segs)
		var evs []Event
		emit := func(e *Event) { evs = append(evs, *e) }
		st := &State{}
		cfg := &Config{}
		for i := range pkts {
			st.Packet(cfg, pkts[i].DstPort == 80, &pkts[i], emit)
			if len(evs) > 0 && pkts[i].Index < 8 {
				t.Fatalf("logged at frame %d, before the body's last segment (7) was acknowledged (8)", pkts[i].Index)
			}
		}
		if len(evs) != 1 || evs[0].HTTP.Length != 3000 || evs[0].PcapCnt != 8 {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("request cut by RST", func(t *testing.T) {
		pkts := stream(40000, 80, []seg{{true, "GET /cut HTTP/1.1\r\nHost: h\r\nUser-Agent: u"}})
		pkts[len(pkts)-2].TCPFlags |= packet.TCPRst
		evs := runStream(&State{}, &Config{}, pkts)
		if len(evs) != 1 || evs[0].HTTP.URL != "/cut" || evs[0].HTTP.Hostname != "h" || evs[0].HTTP.Method != "GET" {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("response seen without its request", func(t *testing.T) {
		pkts := stream(40000, 80, []seg{{false, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n"}})
		evs := runStream(&State{}, &Config{}, pkts[3:]) // picked up mid-stream
		if len(evs) != 1 || evs[0].HTTP.Status != 404 || evs[0].HTTP.Length != 3 || evs[0].HTTP.URL != "" {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("a head past the hold bound is dropped, the next request parsed", func(t *testing.T) {
		cfg := &Config{Budget: &Budget{}}
		huge := "GET /huge HTTP/1.1\r\nX-Pad: " + strings.Repeat("a", 3*DefaultMaxBytes)
		var segs []seg
		for i := 0; i < len(huge); i += 1000 {
			segs = append(segs, seg{true, huge[i:min(i+1000, len(huge))]})
		}
		segs = append(segs, seg{true, "\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"}, seg{false, "HTTP/1.1 204 No Content\r\n\r\n"})
		st := &State{}
		evs := runStream(st, cfg, stream(40000, 80, segs))
		if len(evs) != 1 || evs[0].HTTP.URL != "/next" || evs[0].HTTP.Status != 204 {
			t.Fatalf("events %+v", evs)
		}
		if s := cfg.Budget.Stats(); s.GapDrops == 0 || s.Peak > 3*DefaultMaxBytes || s.Memuse != 0 {
			t.Errorf("budget %+v: want a gap counted, at most %d bytes held, none after Close", s, 3*DefaultMaxBytes)
		}
	})
	t.Run("transactions per flow are capped and counted", func(t *testing.T) {
		cfg := &Config{Budget: &Budget{}}
		var segs []seg
		for i := 0; i < maxTxPerFlow+100; i++ {
			segs = append(segs, seg{true, fmt.Sprintf("GET /%d HTTP/1.1\r\n\r\n", i)}, seg{false, "HTTP/1.1 204 No Content\r\n\r\n"})
		}
		evs := runStream(&State{}, cfg, stream(40000, 80, segs))
		if len(evs) != maxTxPerFlow || cfg.Budget.Stats().TxCapDrops != 1 {
			t.Fatalf("%d events, %d capped flows; want %d and 1", len(evs), cfg.Budget.Stats().TxCapDrops, maxTxPerFlow)
		}
	})
}

// DNS over TCP carries on after a gap at the next message, as Suricata's
// DNS parser does; messages past 4096 bytes of the connection are parsed.
func TestDNSOverTCPAfterGap(t *testing.T) {
	var segs []seg
	for i := 0; i < 100; i++ {
		for _, resp := range []bool{false, true} {
			m := dnsMsg(t, uint16(i), resp, 0, fmt.Sprintf("n%d.example.com.", i))
			segs = append(segs, seg{!resp, string([]byte{byte(len(m) >> 8), byte(len(m))}) + string(m)})
		}
	}
	pkts := stream(40000, 53, segs)
	lost := 3 + 2*50 // the 51st query; its response acknowledges it
	cfg := &Config{Budget: &Budget{}}
	evs := runStream(&State{}, cfg, dropFrames(pkts, func(i int, _ *packet.Summary) bool { return i == lost }))
	if len(evs) != 199 {
		t.Fatalf("%d dns events, want 199", len(evs))
	}
	var queries []uint16
	for _, e := range evs {
		if e.ToServer {
			queries = append(queries, e.DNS.ID)
		}
	}
	if len(queries) != 99 || queries[50] != 51 || cfg.Budget.Stats().GapDrops != 1 {
		t.Fatalf("queries after the gap: %v; gaps %d", queries[49:], cfg.Budget.Stats().GapDrops)
	}
}
