package system

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
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
