package proto

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// asyncPipeline is the client side of a one-sided HTTP session (the SYN
// seen, nothing of the server): n pipelined requests, one a segment.
func asyncPipeline(n int) []packet.Summary {
	segs := make([]seg, n)
	for i := range segs {
		segs[i] = seg{true, fmt.Sprintf("GET /item/%d HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: bench\r\n\r\n", i)}
	}
	return oneSide(stream(40000, 80, segs), 80, true)
}

// A one-sided (async) session's data is parsed straight from the packet:
// nothing waits for an ACK that will not come, so nothing is copied into
// the direction's pending buffer, and what the parser leaves unconsumed
// (a request cut between two segments) is all it keeps.
func TestAsyncParsedInPlace(t *testing.T) {
	pkts := asyncPipeline(3)
	// Cut the second request in two segments.
	req := string(pkts[3].Payload)
	cut := strings.Index(req, "\r\n") + 2
	a, b := pkts[3], pkts[3]
	a.Payload = []byte(req[:cut])
	b.Payload, b.Seq = []byte(req[cut:]), a.Seq+uint32(cut)
	pkts = append(append(append([]packet.Summary{}, pkts[:3]...), a, b), pkts[4:]...)
	cfg := &Config{Budget: &Budget{}}
	st := &State{}
	var urls []string
	emit := func(e *Event) {
		if e.HTTP != nil {
			urls = append(urls, e.HTTP.URL)
		}
	}
	for i := range pkts {
		st.Packet(cfg, true, &pkts[i], emit)
		if st.h != nil && cap(st.h[0].pend) != 0 {
			t.Fatalf("packet %d: a one-sided session's data copied into pend (%d bytes)", i+1, len(st.h[0].pend))
		}
		if i == 3 && string(st.h[0].buf) != req[:cut] {
			t.Fatalf("after half a request the direction holds %q, want %q", st.h[0].buf, req[:cut])
		}
	}
	st.Close(cfg, emit)
	if want := []string{"/item/0", "/item/1", "/item/2"}; fmt.Sprint(urls) != fmt.Sprint(want) {
		t.Errorf("urls %v, want %v", urls, want)
	}
	if u := cfg.Budget.Stats().Memuse; u != 0 {
		t.Errorf("%d bytes charged after Close", u)
	}
}

// BenchmarkStatePacketAsync is a one-sided HTTP session (a capture that
// sees one direction): 64 pipelined requests through a pooled State.
func BenchmarkStatePacketAsync(b *testing.B) {
	pkts := asyncPipeline(64)
	benchFlowsN(b, pkts, 64)
}

// benchFlowsN runs pkts as one flow per iteration through a State from a
// Pool and checks that each flow gave perFlow HTTP events.
func benchFlowsN(b *testing.B, pkts []packet.Summary, perFlow int) {
	benchFlows(b, pkts, 80, perFlow, func(e *Event) bool { return e.HTTP != nil })
}

// The pending-request ring gives requests back oldest first through its
// wraps and growths, holds no strings of a request taken, and its newest
// is the last pushed: checked against a plain slice over random pushes
// and pops.
func TestReqQueueOrder(t *testing.T) {
	var q reqQueue
	var model []string
	next := 0
	rng := uint32(1)
	for step := 0; step < 20000; step++ {
		rng = rng*1664525 + 1013904223
		if (rng>>16)%3 != 0 && q.n < maxPendingHTTP {
			u := fmt.Sprintf("/%d", next)
			next++
			q.push(httpReq{h: HTTP{URL: u}})
			model = append(model, u)
			if got := q.last().h.URL; got != u {
				t.Fatalf("step %d: newest %q, want %q", step, got, u)
			}
		} else if q.n > 0 {
			i := q.head
			if got := q.pop().h.URL; got != model[0] {
				t.Fatalf("step %d: popped %q, want %q", step, got, model[0])
			}
			if q.buf[i].h.URL != "" {
				t.Fatalf("step %d: a taken request's strings stay in the ring", step)
			}
			model = model[1:]
		}
		if q.n != len(model) {
			t.Fatalf("step %d: %d queued, want %d", step, q.n, len(model))
		}
	}
	if len(q.buf) > maxPendingHTTP {
		t.Errorf("ring grew to %d, past maxPendingHTTP %d", len(q.buf), maxPendingHTTP)
	}
}

// A client that pipelines requests and never reads a response (a one-sided
// capture, or a flood) gets every request logged once, in order: the
// oldest ones when the pending bound is reached, the rest at flow end.
func TestPipelineNeverAnswered(t *testing.T) {
	pkts := asyncPipeline(300)
	var urls []string
	emit := func(e *Event) {
		if e.HTTP != nil {
			urls = append(urls, e.HTTP.URL)
		}
	}
	st := &State{}
	cfg := &Config{}
	for i := range pkts {
		st.Packet(cfg, true, &pkts[i], emit)
	}
	st.Close(cfg, emit)
	if len(urls) != 300 {
		t.Fatalf("%d requests logged, want 300", len(urls))
	}
	for i, u := range urls {
		if want := fmt.Sprintf("/item/%d", i); u != want {
			t.Fatalf("request %d is %q, want %q", i, u, want)
		}
	}
}
