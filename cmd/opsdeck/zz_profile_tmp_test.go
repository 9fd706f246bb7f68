package main

import (
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
)

// Throwaway profiling harness (perf helper); not to be committed.
func TestProfileAnalyzeTmp(t *testing.T) {
	out := os.Getenv("PROFILE_OUT")
	if out == "" {
		t.Skip("PROFILE_OUT not set")
	}
	f, _ := os.Create(out)
	pprof.StartCPUProfile(f)
	err := cmdAnalyze([]string{"-o", "/dev/null", "../../testdata/gen/mixed-1.5m.pcap"}, io.Discard)
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMemProfileAnalyzeTmp(t *testing.T) {
	out := os.Getenv("MEMPROFILE_OUT")
	if out == "" {
		t.Skip("MEMPROFILE_OUT not set")
	}
	runtime.MemProfileRate = 4096
	err := cmdAnalyze([]string{"-o", "/dev/null", "../../testdata/gen/mixed-1.5m.pcap"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create(out)
	pprof.Lookup("allocs").WriteTo(f, 0)
	f.Close()
}
