package main

import (
	"path/filepath"
	"strconv"
	"testing"
)

// A flow table too small for a capture goes into emergency mode, and the
// stats record says so under Suricata's names (stats.flow.emerg_mode_entered,
// emerg_mode_over) beside the evictions: nmap's 1,000-port SYN scan against
// a 64-flow table.
func TestStatsCountEmergencies(t *testing.T) {
	bin := opsdeckBinary(t)
	in := filepath.Join("..", "..", "testdata", "corpus", "ndpi", "synscan-nmap-1000-ports.pcap")
	eve := filepath.Join(t.TempDir(), "eve.json")
	if code, _, errOut := runBin(t, bin, "analyze", "--max-flows", "64", "-o", eve, in); code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errOut)
	}
	stats := ofType(eveFiles(t, []string{eve}), "stats")
	if len(stats) != 1 {
		t.Fatalf("%d stats records", len(stats))
	}
	num := func(k string) int {
		n, err := strconv.Atoi(stats[0].str(k))
		if err != nil {
			t.Fatalf("%s: %q", k, stats[0].str(k))
		}
		return n
	}
	entered, over, evicted := num("stats.flow.emerg_mode_entered"), num("stats.flow.emerg_mode_over"), num("opsdeck.stats.flow.evicted")
	if entered < 1 || over > entered || entered-over > 1 || evicted == 0 {
		t.Errorf("emerg_mode_entered %d, emerg_mode_over %d, evicted %d", entered, over, evicted)
	}
}
