package proto

import (
	"testing"
	"unsafe"
)

// A UDP flow's state is what a flood of short datagram flows holds until
// they time out: it carries no TCP directions, even from a pool that
// served TCP flows before, and stays within a small allocation.
func TestUDPStateSmall(t *testing.T) {
	if n := unsafe.Sizeof(State{}); n > 160 {
		t.Errorf("State is %d bytes, want at most 160 (the TCP directions live behind a pointer)", n)
	}
	var pool Pool
	cfg := &Config{}
	emit := func(*Event) {}
	tcp := seg1(80, 1000, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	st := pool.Get()
	st.Packet(cfg, true, &tcp, emit)
	if st.h == nil {
		t.Fatal("a TCP flow's state has no directions")
	}
	st.Close(cfg, emit)
	pool.Put(st)
	q, _ := dnsPair(t, "www.example.com")
	for _, payload := range [][]byte{q, []byte("not a known protocol")} {
		s := udpSummary(true, payload, 1)
		st := pool.Get()
		st.Packet(cfg, true, &s, emit)
		if st.h != nil {
			t.Errorf("a UDP flow (%q...) holds TCP directions", payload[:4])
		}
		st.Close(cfg, emit)
		pool.Put(st)
	}
}

// Every HTTP or TLS flow the table holds keeps its parser until the flow
// ends; a flood of short flows holds thousands. Each parser fits the
// allocator's 512-byte class: an HTTP request's credentials and pipelined
// requests, which few requests carry, live outside it.
func TestHTTPParserSmall(t *testing.T) {
	if n := unsafe.Sizeof(httpParser{}); n > 512 {
		t.Errorf("httpParser is %d bytes, want at most 512", n)
	}
	if n := unsafe.Sizeof(tlsParser{}); n > 512 {
		t.Errorf("tlsParser is %d bytes, want at most 512", n)
	}
}
