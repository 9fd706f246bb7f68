package system

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

func TestSampleDump(t *testing.T) {
	if os.Getenv("OPSDECK_DUMP") == "" {
		t.Skip("set OPSDECK_DUMP=1 to print a sample")
	}
	s := New()
	ctx := context.Background()
	if _, err := s.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	snap, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(snap, "", " ")
	os.Stdout.Write(b)
}

// TestProcessEvery: processes are read every N-th sample; the samples in
// between repeat the last list, and CPU% covers the whole interval.
func TestProcessEvery(t *testing.T) {
	s := New()
	s.ProcessEvery = 3
	ctx := context.Background()
	var lists [][]hoststat.Process
	for i := 0; i < 4; i++ {
		snap, err := s.Sample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Processes) == 0 {
			t.Fatalf("sample %d has no processes", i)
		}
		lists = append(lists, snap.Processes)
	}
	if &lists[1][0] == &lists[0][0] {
		t.Errorf("the repeated list shares memory with the sampled one")
	}
	if !reflect.DeepEqual(lists[0], lists[1]) || !reflect.DeepEqual(lists[0], lists[2]) {
		t.Errorf("samples 1 and 2 do not repeat sample 0's processes")
	}
	if s.procTurn != 1 {
		t.Errorf("sample 3 did not read processes again (turn %d)", s.procTurn)
	}
}

// TestSocketEvery: sockets are read every N-th sample and repeated in
// between, and a socket-only refresh (what attribution asks for on a miss)
// updates what the next samples repeat and counts as the periodic read.
func TestSocketEvery(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("socket sampling is Linux-only")
	}
	s := New()
	s.SocketEvery = 3
	ctx := context.Background()
	has := func(snap *hoststat.Snapshot, port uint16) bool {
		for _, sk := range snap.Sockets {
			if sk.Proto == "TCP" && sk.Local.Port() == port && sk.Listening() {
				return true
			}
		}
		return false
	}
	sample := func() *hoststat.Snapshot {
		t.Helper()
		snap, err := s.Sample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	first := sample() // reads sockets
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	if has(first, port) {
		t.Fatal("listener seen before it was opened")
	}
	second := sample() // repeats
	if has(second, port) {
		t.Errorf("sample 1 read sockets; SocketEvery = 3 should repeat sample 0's")
	}
	if len(second.Sockets) > 0 && &second.Sockets[0] == &first.Sockets[0] {
		t.Errorf("the repeated list shares memory with the sampled one")
	}
	if _, err := s.SampleSockets(ctx); err != nil {
		t.Fatal(err)
	}
	if !has(sample(), port) {
		t.Errorf("sample 2 repeats the sockets from before the socket-only refresh")
	}
	ln.Close()
	// The refresh counts as the periodic read: sample 3 still repeats its
	// list, and the third sample after it reads again.
	if third := sample(); !has(third, port) || !third.SocketsRepeated {
		t.Errorf("sample 3 read sockets again one sample after a refresh")
	}
	if fourth := sample(); has(fourth, port) || fourth.SocketsRepeated {
		t.Errorf("sample 4 did not read sockets again (turn %d)", s.sockTurn)
	}
}

// TestSocketsFollowTCPCounters: the periodic socket sample repeats its TCP
// list while the kernel's TCP counters are unchanged, so every change those
// counters see must show: a listener opened and closed, a connection made
// and ended.
func TestSocketsFollowTCPCounters(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("socket sampling is Linux-only")
	}
	s := New()
	ctx := context.Background()
	find := func(state string, port uint16, remote bool) bool {
		t.Helper()
		snap, err := s.Sample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sk := range snap.Sockets {
			p := sk.Local.Port()
			if remote {
				p = sk.Remote.Port()
			}
			if sk.Proto == "TCP" && p == port && sk.State == state {
				return true
			}
		}
		return false
	}
	s.Sample(ctx)
	s.Sample(ctx) // the counters are known now
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	if !find(hoststat.StateListen, port, false) {
		t.Fatal("a new listener is missing")
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if !find(hoststat.StateEstablished, port, true) {
		t.Error("a new connection is missing")
	}
	c.Close()
	ln.Close()
	if find(hoststat.StateListen, port, false) {
		t.Error("a closed listener is still listed")
	}
	if find(hoststat.StateEstablished, port, true) {
		t.Error("a closed connection is still listed as established")
	}
}
