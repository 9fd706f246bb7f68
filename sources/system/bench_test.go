package system

import (
	"context"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// withProcesses starts sleep processes until the host has at least n, so
// the benchmark measures the budget's case (300 processes).
func withProcesses(b *testing.B, n int) int {
	b.Helper()
	if runtime.GOOS != "linux" {
		b.Skip("needs /proc")
	}
	s := New()
	s.setup()
	pids, err := s.listPIDs()
	if err != nil {
		b.Fatal(err)
	}
	var cmds []*exec.Cmd
	for i := len(pids); i < n; i++ {
		c := exec.Command("sleep", "600")
		if err := c.Start(); err != nil {
			b.Skipf("start helper process: %v", err)
		}
		cmds = append(cmds, c)
	}
	b.Cleanup(func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	})
	pids, _ = s.listPIDs()
	return len(pids)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSample is one full sample in steady state (the sampler has seen
// every process before), which is what runs every second. It reports CPU
// time per sample (cpu-ns/op) besides wall time.
func BenchmarkSample(b *testing.B) {
	n := withProcesses(b, 300)
	s := New()
	ctx := context.Background()
	s.Sample(ctx)
	s.Sample(ctx)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		snap, _ := s.Sample(ctx)
		if len(snap.Processes) < 290 {
			b.Fatalf("%d processes sampled", len(snap.Processes))
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(n), "procs")
}

// BenchmarkSampleCold is the first sample of a new Sampler: every process's
// status and cmdline are read and every fd is scanned for socket owners.
func BenchmarkSampleCold(b *testing.B) {
	n := withProcesses(b, 300)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		New().Sample(ctx)
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(n), "procs")
}
