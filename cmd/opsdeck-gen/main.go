// Command opsdeck-gen writes a deterministic capture for benchmarks. By
// default it is generated mixed traffic, browsing-heavy with a few attack
// episodes:
//
//	go run ./cmd/opsdeck-gen -n 1500000 -o testdata/gen/mixed-1.5m.pcap
//
// With -lab DIR it is attack-heavy: the captures recorded from real tools in
// DIR (testdata/lab) are replayed over and over, each replay with addresses
// of its own and spoofed sources made fresh, interleaved with generated
// browsing:
//
//	go run ./cmd/opsdeck-gen -n 1500000 -lab testdata/lab -o testdata/gen/attack-1.5m.pcap
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/opsdeck/opsdeck/internal/gen"
)

func main() {
	n := flag.Int("n", 1_500_000, "packets to write")
	out := flag.String("o", "mixed.pcap", "output `FILE`")
	seed := flag.Uint64("seed", 1, "random seed (the same seed gives the same file)")
	attacks := flag.Bool("attacks", true, "mix in attack episodes (generated mode)")
	lab := flag.String("lab", "", "replay the recorded captures in `DIR` (*.pcap) between generated browsing")
	lanes := flag.Int("lanes", 160, "with -lab: replays running at once")
	flag.Parse()
	if err := run(*out, *n, *seed, *attacks, *lab, *lanes); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck-gen:", err)
		os.Exit(1)
	}
}

func run(out string, n int, seed uint64, attacks bool, lab string, lanes int) error {
	var src gen.Source
	var mixer *gen.Mixer
	if lab != "" {
		caps, err := gen.LoadCaptures(lab)
		if err != nil {
			return err
		}
		mixer = gen.NewMixer(gen.MixOptions{Options: gen.Options{Seed: seed}, Lanes: lanes}, caps)
		src = mixer
	} else {
		src = gen.New(gen.Options{Seed: seed, Attacks: attacks})
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	st, err := gen.WritePcapFrom(f, n, src)
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", out, err)
	}
	fmt.Fprintf(os.Stderr, "%s: %d packets, %d flows (%.0f%% of packets open a new flow)", out, st.Packets, st.Flows, 100*st.NewFlowShare())
	if mixer != nil {
		fmt.Fprintf(os.Stderr, ", %d replays of recorded captures", mixer.Replays())
	}
	fmt.Fprintln(os.Stderr)
	return nil
}
