package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	hostilecap "github.com/opsdeck/opsdeck/internal/hostile"
)

// TestAnalyzeStdoutClosed: "opsdeck analyze F >&-" and "opsdeck analyze F |
// head -c 100" on a capture whose output is far larger than a pipe holds.
//
// With fd 1 closed at exec, the Go runtime opens /dev/null in its place
// (runtime.checkfds, Go 1.22+), so the output is discarded without an
// error: exit 0 is what Go allows; anything else but a clean error is a
// failure. Into a pipe whose reader left, analyze must stop: SIGPIPE (the
// conventional end of a Unix filter) or one error line and exit 1.
func TestAnalyzeStdoutClosed(t *testing.T) {
	bin := opsdeckBinary(t)
	capFile := filepath.Join(t.TempDir(), "flood.pcap")
	f, err := os.Create(capFile)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := hostilecap.NewWriter(f, 0)
	hostilecap.SynFlood(w, 20000, 1) // 20,000 flow records, about 10 MB of EVE
	w.Flush()
	f.Close()

	t.Run("closed", func(t *testing.T) {
		// The shell closes fd 1 before exec, as ">&-" does.
		cmd := exec.Command("sh", "-c", `exec "$0" analyze "$1" >&-`, bin, capFile)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		switch code := cmd.ProcessState.ExitCode(); code {
		case 0:
			if stderr.Len() != 0 {
				t.Errorf("exit 0 with stderr %q", stderr.String())
			}
		case 1:
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "opsdeck: ") || !strings.Contains(lines[0], "write") {
				t.Errorf("want one line about the failed write, got %q", stderr.String())
			}
		default:
			t.Errorf("exit %d (%v); stderr %q", code, err, stderr.String())
		}
	})

	t.Run("closed-pipe", func(t *testing.T) {
		cmd := exec.Command(bin, "analyze", capFile)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = pw
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		// Read 100 bytes, then go away like head -c 100.
		io.ReadFull(pr, make([]byte, 100))
		pr.Close()
		err = cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case err == nil:
			t.Errorf("exit 0 although the output was lost; stderr %q", stderr.String())
		case ws.Signaled() && ws.Signal() == syscall.SIGPIPE:
			// The conventional end for a filter whose reader left.
		case ws.ExitStatus() == 1:
			if l := strings.TrimSpace(stderr.String()); strings.Count(l, "\n") != 0 || !strings.Contains(l, "opsdeck: ") {
				t.Errorf("want one error line, got %q", stderr.String())
			}
		default:
			t.Errorf("ended with %v; stderr %q", err, stderr.String())
		}
		if strings.Contains(stderr.String(), "panic") {
			t.Errorf("panic:\n%s", stderr.String())
		}
	})
}
