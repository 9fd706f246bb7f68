package capture

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// sendNumbered sends count datagrams from the namespace, the i-th carrying
// prefix followed by i.
func (v *vethPair) sendNumbered(t *testing.T, port, count int, prefix string) {
	t.Helper()
	script := fmt.Sprintf("for i in $(seq %d); do printf %%s %q$i > /dev/udp/%s/%d; done", count, prefix, v.hostIP, port)
	v.run(t, "ip", "netns", "exec", v.ns, "bash", "-c", script)
}

// readBatches reads batches (never reset, each its own) until every
// payload prefix1..prefixN and the marker were seen, and returns how often
// each payload with prefix was seen and the batches read. The frames of
// every batch are checked only at the end, after later reads, to prove
// ReadBatch copied them. Members of a fanout group are read in parallel,
// so the marker may come before another member's earlier packets: only
// having seen them all ends the reading.
func readBatches(t *testing.T, br BatchReader, maxFrames int, prefix string, n int, marker string) (map[string]int, int) {
	t.Helper()
	type res struct {
		batches []*Batch
		err     error
	}
	done := make(chan res, 1)
	go func() {
		var bs []*Batch
		left := map[string]bool{marker: true}
		for i := 1; i <= n; i++ {
			left[fmt.Sprintf("%s%d", prefix, i)] = true
		}
		for {
			b := new(Batch)
			if err := br.ReadBatch(b, maxFrames); err != nil {
				done <- res{bs, err}
				return
			}
			bs = append(bs, b)
			for _, f := range b.Frames {
				if _, p, ok := udpDst(f); ok {
					delete(left, p)
				}
			}
			if len(left) == 0 {
				done <- res{bs, nil}
				return
			}
		}
	}()
	r := await(t, done, nil, "not every datagram was captured")
	if r.err != nil {
		t.Fatalf("ReadBatch after %d batches: %v", len(r.batches), r.err)
	}
	seen := map[string]int{}
	for _, b := range r.batches {
		if len(b.Frames) == 0 || len(b.Frames) > maxFrames {
			t.Errorf("a batch of %d frames (max %d)", len(b.Frames), maxFrames)
		}
		for _, f := range b.Frames {
			if f.CapLen != len(f.Data) || f.Iface == "" || f.TS.IsZero() {
				t.Errorf("frame %d: caplen %d of %d bytes, iface %q, ts %v", f.Index, f.CapLen, len(f.Data), f.Iface, f.TS)
			}
			if _, p, ok := udpDst(f); ok && strings.HasPrefix(p, prefix) {
				seen[p]++
			}
		}
	}
	return seen, len(r.batches)
}

// TestReadBatchVeth reads a real veth in batches: every datagram sent is in
// exactly one batch, in batches of at most the asked size, and a batch's
// frames stay intact while later batches are read (they are copies, not
// views of the ring, whose blocks went back to the kernel).
func TestReadBatchVeth(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	br, ok := src.(BatchReader)
	if !ok {
		t.Fatal("Linux live capture does not read batches")
	}
	const n = 300
	v.sendNumbered(t, 9999, n, "batch-")
	v.sendUDP(t, 9999, 1, "batch-end")
	seen, batches := readBatches(t, br, 16, "batch-", n, "batch-end")
	for i := 1; i <= n; i++ {
		if c := seen[fmt.Sprintf("batch-%d", i)]; c != 1 {
			t.Errorf("datagram %d seen %d times", i, c)
		}
	}
	if batches < n/16 {
		t.Errorf("%d datagrams came in %d batches of at most 16", n, batches)
	}
	if st := src.Stats(); st.KernelDrops != 0 || st.Packets < n+1 {
		t.Errorf("stats %+v: want %d packets or more and no drops", st, n+1)
	}
}

// TestReadBatchClose: Close wakes a ReadBatch waiting on an idle link, which
// returns io.EOF.
func TestReadBatchClose(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		for {
			var b Batch
			if err := src.(BatchReader).ReadBatch(&b, 64); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // let it wait in the poller (either way it must end)
	src.Close()
	if err := waitErr(t, errc, "io.EOF after Close"); err != io.EOF {
		t.Errorf("ReadBatch after Close: %v, want io.EOF", err)
	}
}
