package proto

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// dribble is an HTTP exchange whose request head (about 3.5 KB, within
// the bytes a direction holds) comes in size-byte segments, each
// acknowledged by the server before the next: a slow client, or one that
// splits its headers to wear the inspector down.
func dribble(size int) []packet.Summary {
	var h strings.Builder
	h.WriteString("GET /slow HTTP/1.1\r\nHost: www.example.com\r\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&h, "X-Pad-%02d: 0123456789abcdef0123\r\n", i)
	}
	h.WriteString("\r\n")
	req := h.String()
	var segs []seg
	for i := 0; i < len(req); i += size {
		segs = append(segs, seg{true, req[i:min(i+size, len(req))]}, seg{false, ""})
	}
	segs = append(segs, seg{false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"})
	return stream(40000, 80, segs)
}

// A request head that arrives a few bytes at a time is searched for its
// end once, not once per segment from its start: the log is the same
// whatever the segment size.
func TestHTTPHeadInSmallSegments(t *testing.T) {
	var want string
	for _, size := range []int{4000, 1460, 100, 7, 3, 2, 1} {
		var got []string
		for _, e := range runStream(&State{}, &Config{}, dribble(size)) {
			if e.HTTP != nil {
				got = append(got, fmt.Sprintf("%s %s %s %d", e.HTTP.Method, e.HTTP.Hostname, e.HTTP.URL, e.HTTP.Status))
			}
		}
		if len(got) != 1 {
			t.Fatalf("segments of %d bytes: %d http events, want 1", size, len(got))
		}
		if want == "" {
			want = got[0]
		}
		if got[0] != want || want != "GET www.example.com /slow 200" {
			t.Errorf("segments of %d bytes: %q, want %q", size, got[0], want)
		}
	}
}

// BenchmarkHTTPHeadSmallSegments is a 3.5 KB request head in 8-byte
// segments, each acknowledged: the cost of a dribbling client.
func BenchmarkHTTPHeadSmallSegments(b *testing.B) {
	benchFlows(b, dribble(8), 80, 1, func(e *Event) bool { return e.HTTP != nil })
}

// Searching a header block for its end from where an earlier search of a
// shorter prefix stopped finds what a search from the start finds.
func FuzzHeaderEndFrom(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), uint16(25))
	f.Add([]byte("GET / HTTP/1.1\nHost: a\n\nmore\r\n\r\n"), uint16(22))
	f.Add([]byte("a\r\n\r"), uint16(3))
	f.Fuzz(func(t *testing.T, b []byte, from uint16) {
		k := int(from) % (len(b) + 1)
		if headerEnd(b[:k], 0) >= 0 {
			return // the earlier search would have found the end
		}
		if got, want := headerEnd(b, k), headerEnd(b, 0); got != want {
			t.Fatalf("headerEnd(%q, %d) = %d, from the start %d", b, k, got, want)
		}
	})
}

// tlsDribble is a TLS 1.2 handshake from the corpus (ClientHello, then the
// server's flight with its certificate) with the server's bytes in
// size-byte segments, each acknowledged by the client.
func tlsDribble(tb testing.TB, size int) []packet.Summary {
	const file = "suricata-verify/tls12-sni-flow-bug-2646-01.pcap"
	cli := streamOf(corpusPayloads(tb, file, 443, true), 1<<20)
	srv := streamOf(corpusPayloads(tb, file, 443, false), 1<<20)
	// The client's hello, then the server's flight.
	hello := int(cli[3])<<8 | int(cli[4]) + 5
	segs := []seg{{true, string(cli[:hello])}}
	for i := 0; i < len(srv); i += size {
		segs = append(segs, seg{false, string(srv[i:min(i+size, len(srv))])}, seg{true, ""})
	}
	return stream(40000, 443, segs)
}

// A server flight that comes a few bytes a segment gives the same tls
// event as one in full-sized segments.
func TestTLSFlightInSmallSegments(t *testing.T) {
	var want string
	for _, size := range []int{1460, 100, 16, 3, 1} {
		var got []string
		for _, e := range runStream(&State{}, &Config{}, tlsDribble(t, size)) {
			if e.TLS != nil {
				got = append(got, fmt.Sprintf("%s|%s|%s|%s", e.TLS.SNI, e.TLS.Subject, e.TLS.Fingerprint, e.TLS.JA3S.Hash))
			}
		}
		if len(got) != 1 {
			t.Fatalf("segments of %d bytes: %d tls events, want 1", size, len(got))
		}
		if want == "" {
			want = got[0]
			if strings.Contains(want, "||") {
				t.Fatalf("tls event lacks fields: %s", want)
			}
		}
		if got[0] != want {
			t.Errorf("segments of %d bytes: %s, want %s", size, got[0], want)
		}
	}
}

// BenchmarkTLSFlightSmallSegments is a TLS 1.2 server flight with its
// certificate in 16-byte acknowledged segments.
func BenchmarkTLSFlightSmallSegments(b *testing.B) {
	benchFlows(b, tlsDribble(b, 16), 443, 1, func(e *Event) bool { return e.TLS != nil })
}
