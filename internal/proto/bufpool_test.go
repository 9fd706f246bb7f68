package proto

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// appendBuf gives what append gives, whatever the buffers' sizes, grows by
// exactly what grows told the Budget, and a buffer it outgrows goes back to
// the pool for the next one.
func TestAppendBufIsAppend(t *testing.T) {
	var p Pool
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		var got, want []byte
		for j := rng.IntN(6); j >= 0; j-- {
			d := make([]byte, rng.IntN(3*bufMax/2))
			for k := range d {
				d[k] = byte(rng.Uint32())
			}
			g, was := p.grows(got, len(d)), cap(got)
			got = p.appendBuf(got, d)
			want = append(want, d...)
			if int64(cap(got)-was) != g {
				t.Fatalf("appendBuf grew the buffer by %d bytes, grows said %d: the Budget would be charged beyond what it allowed", cap(got)-was, g)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("appendBuf: %d bytes differ from append's %d", len(got), len(want))
			}
		}
		p.putBuf(got)
	}
	// Every free list holds only its class, empty, within its byte bound.
	for c, l := range p.bufs {
		size := 1 << (bufMinShift + c)
		if len(l)*size > bufFreeBytes {
			t.Errorf("class %d holds %d buffers of %d bytes, over the %d-byte bound", c, len(l), size, bufFreeBytes)
		}
		for _, b := range l {
			if cap(b) != size || len(b) != 0 {
				t.Fatalf("class %d holds a buffer of len %d cap %d", c, len(b), cap(b))
			}
		}
	}
	if len(p.bufs[bufClass(1000)]) == 0 {
		t.Error("no buffer came back to the pool")
	}
	// A buffer that is not one of the pool's classes is left alone.
	before := len(p.bufs[bufClass(100)])
	p.putBuf(make([]byte, 0, 100))
	if len(p.bufs[bufClass(100)]) != before {
		t.Error("the pool took a buffer of a size it does not make")
	}
}

// With a pool, an HTTP flow's stream buffers are borrowed and given back:
// flows after the first allocate none, and the Budget is back at zero
// after each flow (what the pool keeps free is not charged to flows).
func TestPooledHTTPFlowBuffers(t *testing.T) {
	pkts := stream(40000, 80, []seg{
		{true, "GET /page/17 HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1200\r\n\r\n"},
		{false, string(make([]byte, 1200))}})
	budget := &Budget{}
	cfg := &Config{Budget: budget}
	var pool Pool
	events := 0
	emit := func(e *Event) {
		if e.HTTP != nil {
			events++
		}
	}
	flow := func() {
		st := pool.Get()
		for i := range pkts {
			st.Packet(cfg, pkts[i].DstPort == 80, &pkts[i], emit)
		}
		st.Close(cfg, emit)
		pool.Put(st)
		if u := budget.Stats().Memuse; u != 0 {
			t.Fatalf("budget holds %d bytes after the flow ended", u)
		}
	}
	flow()
	if st := budget.Stats(); st.Peak == 0 {
		t.Fatal("the flow held no stream bytes: the test does not exercise the buffers")
	}
	free := 0
	for _, l := range pool.bufs {
		free += len(l)
	}
	if free == 0 {
		t.Fatal("the flow's buffers did not come back to the pool")
	}
	// What is left is the HTTP event's text, not stream buffers.
	if a := testing.AllocsPerRun(100, flow); a > 2 {
		t.Errorf("a pooled HTTP flow allocates %v times, want at most 2", a)
	}
	if events != 102 {
		t.Errorf("%d HTTP events, want 102", events)
	}
}
