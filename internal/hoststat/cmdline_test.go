package hoststat

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCmdlineEmissionBound: a Process whose Cmdline exceeds the budget (one
// built by anything but the sampler, which already bounds it) is still cut
// where it is written: in the EVE host event and in any JSON of the
// process, such as the evidence bundle's system.json. 1.8 MB per process,
// three of them, was the 5.4 MB host record of issue 12 finding 9.
func TestCmdlineEmissionBound(t *testing.T) {
	long := "x" + strings.Repeat("é", 900_000) // 1.8 MB
	s := &Snapshot{Processes: []Process{
		{PID: 1, Cmdline: long, CPUPct: 3},
		{PID: 2, Cmdline: long, CPUPct: 2},
		{PID: 3, Cmdline: long, CPUPct: 1},
		{PID: 4, Cmdline: "short", CPUPct: 0.5},
		{PID: 5, Cmdline: "already cut" + CmdlineCut, CmdlineTruncated: true},
	}}
	ev, err := json.Marshal(HostEvent(s, 5))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Processes []struct {
			PID       int32  `json:"pid"`
			Cmdline   string `json:"cmdline"`
			Truncated bool   `json:"cmdline_truncated"`
		} `json:"processes"`
	}
	if err := json.Unmarshal(ev, &body); err != nil {
		t.Fatal(err)
	}
	for _, p := range body.Processes {
		wantCut := p.PID <= 3 || p.PID == 5
		if len(p.Cmdline) > MaxCmdlineBytes || p.Truncated != wantCut || !utf8.ValidString(p.Cmdline) ||
			(p.PID <= 3 && !strings.HasSuffix(p.Cmdline, "é"+CmdlineCut)) || (p.PID == 4 && p.Cmdline != "short") {
			t.Errorf("host event pid %d: cmdline of %d bytes, truncated %v (want %v)", p.PID, len(p.Cmdline), p.Truncated, wantCut)
		}
	}
	if len(ev) > 5*MaxCmdlineBytes+4096 {
		t.Errorf("host event is %d bytes", len(ev))
	}

	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	for i, p := range back.Processes {
		if len(p.Cmdline) > MaxCmdlineBytes || p.CmdlineTruncated != (i != 3) {
			t.Errorf("snapshot JSON pid %d: cmdline of %d bytes, truncated %v", p.PID, len(p.Cmdline), p.CmdlineTruncated)
		}
	}
	if s.Processes[0].Cmdline != long {
		t.Error("encoding changed the snapshot it encoded")
	}
	if len(js) > 5*MaxCmdlineBytes+4096 {
		t.Errorf("snapshot JSON is %d bytes", len(js))
	}
}

// TestClipCmdline: the budget holds, cuts fall on character boundaries,
// short lines are untouched and clipping twice changes nothing.
func TestClipCmdline(t *testing.T) {
	for _, s := range []string{
		"", "a", strings.Repeat("a", MaxCmdlineBytes), strings.Repeat("a", MaxCmdlineBytes+1),
		"x" + strings.Repeat("é", MaxCmdlineBytes), "xx" + strings.Repeat("é", MaxCmdlineBytes),
		strings.Repeat("日", MaxCmdlineBytes), strings.Repeat("\xff", 2*MaxCmdlineBytes),
	} {
		c := ClipCmdline(s)
		switch {
		case len(c) > MaxCmdlineBytes:
			t.Errorf("ClipCmdline(%d bytes) = %d bytes", len(s), len(c))
		case len(s) <= MaxCmdlineBytes && c != s:
			t.Errorf("ClipCmdline changed a %d-byte line that fits", len(s))
		case len(s) > MaxCmdlineBytes && (!strings.HasSuffix(c, CmdlineCut) || !strings.HasPrefix(s, strings.TrimSuffix(c, CmdlineCut))):
			t.Errorf("ClipCmdline(%d bytes) = %q...: not a prefix and the mark", len(s), c[:min(len(c), 20)])
		case utf8.ValidString(s) && !utf8.ValidString(c):
			t.Errorf("ClipCmdline(%d bytes of valid UTF-8) cut inside a character", len(s))
		case ClipCmdline(c) != c:
			t.Errorf("ClipCmdline is not idempotent on %d bytes", len(s))
		}
		if c := CutCmdline(s); len(c) > MaxCmdlineBytes || !strings.HasSuffix(c, CmdlineCut) {
			t.Errorf("CutCmdline(%d bytes) = %d bytes", len(s), len(c))
		}
	}
}
