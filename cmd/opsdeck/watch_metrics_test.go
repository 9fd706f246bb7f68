package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWatchMetricsOutputHealth: a live watch's /metrics says when its -o
// file cannot take records (a full tmpfs): opsdeck_output_up falls to 0
// and opsdeck_output_held_bytes grows; once space is freed it is 1 again
// and nothing is held. The live scrape carries opsdeck_build_info and
// passes promtool check metrics when promtool is installed.
func TestWatchMetricsOutputHealth(t *testing.T) {
	needCapture(t)
	bin := buildOpsdeck(t)
	dir := tmpfs(t, 64<<10)
	out := filepath.Join(dir, "eve.json")
	fill(t, filepath.Join(dir, "filler"), 6000)
	wp := startWatch(t, bin, "-i", "lo", "-o", out, "--host-interval", "20ms", "tcp port 1")

	waitFor(t, "opsdeck_output_up 0 on a full disk", func() bool {
		m := scrape(t, wp.metrics)
		return m["opsdeck_output_up"] == 0 && m["opsdeck_output_held_bytes"] > 0
	})
	os.Remove(filepath.Join(dir, "filler"))
	waitFor(t, "opsdeck_output_up 1 once space is freed", func() bool {
		m := scrape(t, wp.metrics)
		return m["opsdeck_output_up"] == 1 && m["opsdeck_output_held_bytes"] == 0
	})
	m := scrape(t, wp.metrics)
	if m["opsdeck_output_lost_records_total"] != 0 {
		t.Errorf("opsdeck_output_lost_records_total %v: the backlog should have held the short outage", m["opsdeck_output_lost_records_total"])
	}
	found := false
	for k, v := range m {
		if strings.HasPrefix(k, "opsdeck_build_info,") && strings.Contains(k, ",goversion=go") && v == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no opsdeck_build_info{version,goversion} 1 in the scrape")
	}

	if promtool, err := exec.LookPath("promtool"); err == nil {
		resp, err := http.Get(wp.metrics)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics on a live watch: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed (Debian package prometheus): live scrape not checked with it")
	}
	wp.stop(t)
}
