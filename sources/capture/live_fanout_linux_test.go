package capture

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFanoutVeth captures a real veth with two sockets in one fanout
// group: each datagram (every one its own flow: bash opens a new socket,
// so a new source port, for each) is seen exactly once across the members,
// both members carried some, and the frames are numbered once across them.
func TestFanoutVeth(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{Fanout: 2, Filter: func(link LinkType) ([]BPFInstruction, error) {
		return udpDstPort9999(t, 14), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fo, ok := src.(*fanoutSource)
	if !ok || len(fo.members) != 2 {
		t.Fatalf("Fanout 2 opened %T", src)
	}
	const n = 400
	v.sendNumbered(t, 9999, n, "fan-")
	v.sendUDP(t, 9999, 1, "fan-end")
	seen, _ := readBatches(t, fo, 1<<20, "fan-", n, "fan-end")
	for i := 1; i <= n; i++ {
		if c := seen[fmt.Sprintf("fan-%d", i)]; c != 1 {
			t.Errorf("datagram %d seen %d times across the members", i, c)
		}
	}
	// The kernel counts each packet a member's filter took: a datagram
	// delivered to two members would count twice, whether read yet or not.
	if st := src.Stats(); st.KernelPackets != n+1 || st.KernelDrops != 0 {
		t.Errorf("members' kernel counters %+v: want %d packets, no drops", st, n+1)
	}
	for i, m := range fo.members {
		if st := m.Stats(); st.KernelPackets == 0 {
			t.Errorf("member %d: %+v; want some packets (400 flows hash over both)", i, st)
		}
	}
	if fo.index < n+1 {
		t.Errorf("frames numbered up to %d, want %d or more", fo.index, n+1)
	}
}

// TestFanoutNext reads a fanout group frame by frame (Next): every
// datagram once, frame numbers strictly increasing across the members.
func TestFanoutNext(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{Fanout: 3, BPF: udpDstPort9999(t, 14)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const n = 200
	v.sendNumbered(t, 9999, n, "next-")
	type res struct {
		seen map[string]int
		err  error
	}
	done := make(chan res, 1)
	go func() {
		seen := map[string]int{}
		var last uint64
		for len(seen) < n {
			f, err := src.Next()
			if err != nil {
				done <- res{seen, err}
				return
			}
			if f.Index <= last {
				done <- res{seen, fmt.Errorf("frame number %d after %d", f.Index, last)}
				return
			}
			last = f.Index
			if _, p, ok := udpDst(f); ok {
				seen[p]++
			}
		}
		done <- res{seen, nil}
	}()
	r := await(t, done, src, "not every datagram was captured")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for i := 1; i <= n; i++ {
		if c := r.seen[fmt.Sprintf("next-%d", i)]; c != 1 {
			t.Errorf("datagram %d seen %d times", i, c)
		}
	}
	if st := src.Stats(); st.KernelPackets != n {
		t.Errorf("kernel counters %+v: want %d packets (each delivered to one member)", st, n)
	}
}

// TestFanoutDropsCounted overflows the members' rings (nothing reads while
// 60,000 datagrams arrive) and then drains them: no datagram is seen twice,
// and every one is either seen or counted as dropped by the kernel.
func TestFanoutDropsCounted(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{Fanout: 2, BufferSize: 4 << 20, BPF: udpDstPort9999(t, 14)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 60000
	v.sendNumbered(t, 9999, n, "drop-")
	// Drain until nothing has come for two seconds: the rings' last blocks
	// are retired within BlockTimeout (100 ms).
	got := make(chan *Batch)
	go func() {
		for {
			b := new(Batch)
			if err := src.(BatchReader).ReadBatch(b, 4096); err != nil {
				close(got)
				return
			}
			got <- b
		}
	}()
	seen := map[string]int{}
	for idle := false; !idle; {
		select {
		case b := <-got:
			for _, f := range b.Frames {
				if _, p, ok := udpDst(f); ok && strings.HasPrefix(p, "drop-") {
					seen[p]++
				}
			}
		case <-time.After(2 * time.Second):
			idle = true
		}
	}
	src.Close()
	for range got {
	}
	st := src.Stats()
	twice := 0
	for _, c := range seen {
		if c > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d datagrams seen more than once", twice)
	}
	if st.KernelDrops == 0 {
		t.Fatalf("no drops counted after %d datagrams into 4 MiB of rings nobody read: %+v", n, st)
	}
	if uint64(len(seen))+st.KernelDrops < n {
		t.Errorf("%d datagrams seen + %d counted as dropped < %d sent: some were lost uncounted (%+v)", len(seen), st.KernelDrops, n, st)
	}
	if st.KernelPackets < uint64(len(seen))+st.KernelDrops {
		t.Errorf("kernel saw %d packets, fewer than %d seen + %d dropped", st.KernelPackets, len(seen), st.KernelDrops)
	}
	t.Logf("%d sent, %d seen, %d dropped (kernel: %d packets)", n, len(seen), st.KernelDrops, st.KernelPackets)
}

// TestFanoutKeepsFragments: a datagram larger than the veth's MTU reaches
// the members as the IP fragments that crossed the link, not reassembled
// (the kernel's FLAG_DEFRAG would have handed them one datagram, and the
// engine would never have seen a fragment).
func TestFanoutKeepsFragments(t *testing.T) {
	v := newVeth(t)
	src, err := OpenLive(v.host, LiveOptions{Fanout: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fo := src.(*fanoutSource)
	v.sendUDP(t, 9999, 1, strings.Repeat("f", 4000))
	v.sendUDP(t, 9999, 1, "frag-end")
	type res struct{ frags, biggest int }
	done := make(chan res, 1)
	go func() {
		var r res
		for {
			b := new(Batch)
			if err := fo.ReadBatch(b, 1<<10); err != nil {
				done <- r
				return
			}
			for _, f := range b.Frames {
				d := f.Data
				r.biggest = max(r.biggest, len(d))
				// Ethernet, IPv4, UDP: more fragments, or an offset.
				if len(d) >= 34 && d[12] == 0x08 && d[13] == 0x00 && d[23] == 17 && (d[20]&0x3f != 0 || d[21] != 0) {
					r.frags++
				}
				if _, p, ok := udpDst(f); ok && p == "frag-end" {
					done <- r
					return
				}
			}
		}
	}()
	r := await(t, done, src, "the marker was not captured")
	if r.frags < 3 || r.biggest > 1514 {
		t.Fatalf("%d fragments seen, largest frame %d bytes: want the 3 fragments as they crossed the link", r.frags, r.biggest)
	}
}
