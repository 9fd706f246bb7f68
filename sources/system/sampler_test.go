package system

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
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
