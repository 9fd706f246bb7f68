package ops

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
)

func TestHostDiskUsage(t *testing.T) {
	for _, tc := range []struct {
		pct     float64
		wantSev detect.Severity // 0: none
	}{{89.9, 0}, {90, detect.SevMedium}, {96.9, detect.SevMedium}, {97, detect.SevHigh}, {99.5, detect.SevHigh}} {
		r := newHostRun(Config{})
		s := hostSnap(0)
		s.Filesystems[0].UsedPct = tc.pct
		got := r.observe(s)
		if tc.wantSev == 0 {
			if len(got) != 0 {
				t.Errorf("%.1f%%: %d alerts, want none", tc.pct, len(got))
			}
			continue
		}
		if len(got) != 1 || got[0].Severity != tc.wantSev || got[0].Rule != RuleDisk || got[0].Evidence["mount"] != "/" {
			t.Errorf("%.1f%%: alerts %+v, want one of severity %v", tc.pct, got, tc.wantSev)
		}
	}
	// Growing from 90 to 97 in a window: an Update at severity 1.
	r := newHostRun(Config{})
	for i, pct := range []float64{90, 91, 97} {
		s := hostSnap(i)
		s.Filesystems[0].UsedPct = pct
		r.observe(s)
	}
	got := r.rule("host.disk")
	if len(got) != 2 || !got[1].Update || got[1].Severity != detect.SevHigh {
		t.Errorf("escalation: %d alerts (%+v)", len(got), got)
	}
	// Read-only filesystems are full by design.
	r = newHostRun(Config{})
	s := hostSnap(0)
	s.Filesystems[0].UsedPct, s.Filesystems[0].ReadOnly = 100, true
	if got := r.observe(s); len(got) != 0 {
		t.Errorf("read-only full fs raised %d alerts", len(got))
	}
	// Inodes.
	r = newHostRun(Config{})
	s = hostSnap(0)
	s.Filesystems[0].InodesUsedPct, s.Filesystems[0].InodesFree = 95, 50
	got = r.observe(s)
	if len(got) != 1 || !strings.Contains(got[0].Signature, "out of inodes") {
		t.Errorf("inode alert = %+v", got)
	}
}

func TestHostDiskFilling(t *testing.T) {
	const total = 100 << 30
	// Free space shrinks linearly so that, at the end, it is full in ttf.
	run := func(ttf time.Duration) []*detect.Alert {
		r := newHostRun(Config{})
		free0 := float64(40 << 30)
		// rate such that after 10 minutes free/rate == ttf.
		rate := free0 / (ttf.Seconds() + 600)
		for i := 0; i <= 600; i += 10 {
			s := hostSnap(i)
			used := float64(60<<30) + rate*float64(i)
			fs := &s.Filesystems[0]
			fs.Used, fs.Free = uint64(used), uint64(total-used)
			fs.UsedPct = 100 * used / total
			r.observe(s)
		}
		return r.rule("host.disk")
	}
	if got := run(61 * time.Minute); len(got) != 0 {
		t.Errorf("full in 61 min: %d alerts (%s)", len(got), got[0].Signature)
	}
	got := run(59 * time.Minute)
	if len(got) != 1 {
		t.Fatalf("full in 59 min: %d alerts, want 1", len(got))
	}
	// It fires at the first sample where the estimate drops under 1 h: at
	// t=550 s, with 3590 s left.
	ttf, ok := got[0].Evidence["time_to_full_s"].(float64)
	if !ok || ttf > 3600 || ttf < 3580 || got[0].TS != hostT0.Add(550*time.Second) {
		t.Errorf("time_to_full_s = %v at %v, want 3590 at 550s", got[0].Evidence["time_to_full_s"], got[0].TS.Sub(hostT0))
	}
	if !strings.Contains(got[0].Signature, "full in about 1h0m0s at 9.9 MiB/s") {
		t.Errorf("signature %q lacks the time to full", got[0].Signature)
	}
	// Not enough history (under half the rate window): no estimate yet.
	r := newHostRun(Config{})
	for i := 0; i <= 200; i += 10 {
		s := hostSnap(i)
		fs := &s.Filesystems[0]
		fs.Used = uint64(60<<30) + uint64(i)*(100<<20) // 10 MB/s: full in ~1.1 h, fast enough later
		fs.Free = total - fs.Used
		r.observe(s)
	}
	if got := r.rule("host.disk"); len(got) != 0 {
		t.Errorf("with %ds of history: %d alerts", 200, len(got))
	}
}
