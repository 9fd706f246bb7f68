package system

import (
	"context"
	"encoding/json"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// longCmdlineProcs starts n processes whose command lines are each about
// 1.8 MB (18 arguments of 100,000 bytes; the kernel takes at most 128 KiB
// per argument and about 2 MB in all), as an unprivileged user can. They
// are shells blocked in the read builtin, so killing one leaves no child.
func longCmdlineProcs(t *testing.T, n int) []*exec.Cmd {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh to start the long-command-line processes")
	}
	// "é" is two bytes, placed so that the budget ends inside one: the cut
	// must back up to the character's start.
	arg := "xx" + strings.Repeat("é", 49_999)
	args := []string{"-c", "read x", "sh"}
	for range 18 {
		args = append(args, arg)
	}
	var cmds []*exec.Cmd
	for range n {
		c := exec.Command("sh", args...)
		stdin, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Skipf("start a process with a 1.8 MB command line: %v", err)
		}
		t.Cleanup(func() {
			stdin.Close()
			c.Process.Kill()
			c.Wait()
		})
		cmds = append(cmds, c)
	}
	return cmds
}

// TestLongCmdlineBounded is issue 12 finding 9 on real processes: three
// processes with 1.8 MB command lines. The sampler keeps at most
// MaxCmdlineBytes of each, marked as cut, without reading the rest (its
// read buffer does not grow), and the host event and the JSON of the
// snapshot (the evidence bundle's system.json) stay small.
func TestLongCmdlineBounded(t *testing.T) {
	cmds := longCmdlineProcs(t, 3)
	s := New()
	snap, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.buf) != 64<<10 {
		t.Errorf("read buffer grew to %d bytes: a command line was read whole", len(s.buf))
	}
	want := map[int32]bool{}
	for _, c := range cmds {
		want[int32(c.Process.Pid)] = true
	}
	var ours []hoststat.Process
	for _, p := range snap.Processes {
		if !want[p.PID] {
			continue
		}
		ours = append(ours, p)
		if len(p.Cmdline) > hoststat.MaxCmdlineBytes || !p.CmdlineTruncated || !p.CmdlineReadable ||
			!strings.HasPrefix(p.Cmdline, "sh -c read x sh xxé") || !strings.HasSuffix(p.Cmdline, "é"+hoststat.CmdlineCut) {
			t.Errorf("pid %d: cmdline of %d bytes (truncated %v), want at most %d ending in %q: %.40q...%q",
				p.PID, len(p.Cmdline), p.CmdlineTruncated, hoststat.MaxCmdlineBytes, hoststat.CmdlineCut,
				p.Cmdline, p.Cmdline[max(0, len(p.Cmdline)-8):])
		}
	}
	if len(ours) != len(cmds) {
		t.Fatalf("sample has %d of the %d processes", len(ours), len(cmds))
	}

	// The EVE host event with these three as the top processes: 5.4 MB
	// before the bound.
	snap.Processes = ours
	ev, err := json.Marshal(hoststat.HostEvent(snap, len(ours)))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(ev), `"cmdline_truncated":true`); n != 3 {
		t.Errorf("host event marks %d command lines as cut, want 3", n)
	}
	if limit := 64 << 10; len(ev) > limit {
		t.Errorf("host event is %d bytes with three long command lines, want at most %d", len(ev), limit)
	}
	// The processes as the snapshot carries them (the rest of the snapshot
	// grows with the machine's sockets and interfaces, not with them).
	js, err := json.Marshal(snap.Processes)
	if err != nil {
		t.Fatal(err)
	}
	if limit := 3 * (hoststat.MaxCmdlineBytes + 2<<10); len(js) > limit {
		t.Errorf("the three processes are %d bytes of JSON, want at most %d", len(js), limit)
	}
}
