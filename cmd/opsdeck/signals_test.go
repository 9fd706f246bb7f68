package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWatchSignalsMidWrite: while watch writes continuously (host records
// and the alerts of repeated scans), SIGHUP arrives again
// and again with the file moved away each time, then SIGINT (or SIGTERM)
// ends it. Every file must hold only whole JSON lines, the last record must
// be the final stats, and every alert must appear exactly once.
func TestWatchSignalsMidWrite(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	for _, stop := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(stop.String(), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "eve.json")
			base := 20000 + rand.IntN(20000)
			wp := startWatch(t, bin, "-i", "lo", "-o", out, "--host-interval", "20ms", fmt.Sprintf("tcp portrange %d-%d", base, base+499))
			var files []string
			for i := 0; i < 20; i++ {
				connectScan(t, "127.0.0.1", base+i*25, 25)
				moved := fmt.Sprintf("%s.moved%d", out, i)
				if err := os.Rename(out, moved); err == nil {
					files = append(files, moved)
				}
				if err := wp.cmd.Process.Signal(syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
				time.Sleep(150 * time.Millisecond)
			}
			if err := wp.cmd.Process.Signal(stop); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-wp.done:
				if err != nil {
					t.Fatalf("watch exited with %v after %s:\n%s", err, stop, wp.stderr)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("watch did not stop on %s", stop)
			}
			files = append(files, out)
			recs := eveFiles(t, files) // fails on any partial or non-JSON line
			if len(recs) == 0 || recs[len(recs)-1]["event_type"] != "stats" {
				t.Fatalf("the last record is not the final stats record")
			}
			seen := map[string]int{}
			hosts := 0
			for _, r := range recs {
				switch r["event_type"] {
				case "alert":
					seen[r.str("timestamp")+r.str("alert.signature")]++
				case "host":
					hosts++
				}
			}
			if hosts < 2 || len(seen) == 0 {
				t.Errorf("%d host records and %d alerts: the test did not write continuously", hosts, len(seen))
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("alert %s written %d times", k, n)
				}
			}
			if want := recs[len(recs)-1].str("stats.detect.alert"); want != fmt.Sprint(len(seen)) {
				t.Errorf("%d distinct alerts in the files, stats say %s", len(seen), want)
			}
		})
	}
}
