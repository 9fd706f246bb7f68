// Command opsdeck-gen writes a deterministic mixed capture for benchmarks:
//
//	go run ./cmd/opsdeck-gen -n 1500000 -o testdata/gen/mixed-1.5m.pcap
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
	attacks := flag.Bool("attacks", true, "mix in attack episodes")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck-gen:", err)
		os.Exit(1)
	}
	if err := gen.WritePcap(f, *n, gen.Options{Seed: *seed, Attacks: *attacks}); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck-gen:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck-gen:", err)
		os.Exit(1)
	}
}
