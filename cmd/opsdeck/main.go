// Command opsdeck is a terminal console for the engineer on call: host health,
// live flows with their processes, and security detections on one screen.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `opsdeck: host health and network security on one screen

Usage:
  opsdeck [flags] [capture filter]          live console: health + network + alerts
  opsdeck -r FILE|- [flags] [filter]        console over a pcap/pcapng file or stdin
  opsdeck --demo                            console on built-in generated traffic
  opsdeck analyze [flags] FILE... [filter]  headless: read captures, print EVE JSON lines
  opsdeck watch [flags] [filter]            headless live: EVE JSON lines to stdout or a file
  opsdeck config                            print the effective configuration
  opsdeck -D                                list the capture interfaces, numbered as tcpdump -D
  opsdeck completion bash                   print a bash completion script
  opsdeck version

Run "opsdeck COMMAND -h" or "opsdeck help COMMAND" for a command's flags;
"man opsdeck" (docs/opsdeck.1) describes them all.

tcpdump's habits work: -i 2 (a number from -D), -c N, -w FILE, -s SNAPLEN,
-nn, -p (opsdeck is not promiscuous unless watch --promisc), -Z USER.

Exit status: 0 success; 1 a runtime failure (a capture file that could not
be read, capture stopped, output failed); 2 a usage or configuration error.
`

// exitError carries an exit code with an error already printed or to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT says otherwise.
// Every table is bounded, but at the default bounds a flood can hold ~150 MB
// of live state; without a limit the collector lets the heap reach twice
// that before it runs. Under the limit it collects sooner instead, so the
// process stays within docs/design.md's 256 MB during a million-flow flood.
const memoryLimit = 192 << 20

// gcPercent lets the heap grow to 1.7 times the live data between
// collections instead of Go's default 2: on the benchmark capture this keeps
// analyze within docs/design.md's 64 MB with no measurable CPU cost (README,
// Performance). GOGC overrides it.
const gcPercent = 70

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("OPSDECK_MEMPROFILE") != "" {
		runtime.MemProfileRate = 4096 // a console at rest allocates little: sample finely
	}
	// OPSDECK_CPUPROFILE=FILE profiles a whole run (go tool pprof FILE),
	// for measuring the console or analyze as users run them.
	if path := os.Getenv("OPSDECK_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			code := run(os.Args[1:])
			pprof.StopCPUProfile()
			f.Close()
			exitProfiled(code)
		}
	}
	exitProfiled(run(os.Args[1:]))
}

// exitProfiled exits with code, first writing $OPSDECK_MEMPROFILE for the
// console and watch (analyze writes it at the end of its input): the
// profile's alloc_space is what the run allocated, for the console at rest
// (go tool pprof -sample_index=alloc_space FILE; quit with q, a killed
// console writes nothing).
func exitProfiled(code int) {
	if len(os.Args) < 2 || os.Args[1] != "analyze" {
		writeHeapProfile()
	}
	os.Exit(code)
}

func run(args []string) int {
	var err error
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "analyze":
		err = cmdAnalyze(args[1:], os.Stdout)
	case "watch":
		err = cmdWatch(args[1:])
	case "config":
		err = cmdConfig(args[1:], os.Stdout)
	case "-D", "--list-interfaces":
		err = listInterfaces(os.Stdout)
	case "completion":
		err = cmdCompletion(args[1:], os.Stdout)
	case "version", "--version":
		fmt.Println("opsdeck", moduleVersion())
	case "help", "-h", "--help":
		if len(args) > 1 && cmd == "help" && args[1] != "help" {
			// "opsdeck help analyze" is "opsdeck analyze -h".
			return run([]string{args[1], "-h"})
		}
		fmt.Print(usage)
	default:
		if near := nearCommand(cmd); near != "" {
			err = &exitError{code: 2, err: fmt.Errorf("unknown command %q; did you mean %q? (a capture filter that starts with a word like this one: put it after --)", cmd, near)}
			break
		}
		err = cmdConsole(args)
	}
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	if !errors.Is(err, errUsagePrinted) {
		fmt.Fprintln(os.Stderr, "opsdeck:", err)
	}
	return code
}

var errUsagePrinted = errors.New("usage printed")

// commands are the subcommands, for nearCommand.
var commands = []string{"analyze", "watch", "config", "version", "help", "completion"}

// nearCommand returns the subcommand word is a likely typo of ("anlyze"),
// or "" when it is not one: a word one or two edits from a command name
// that is no capture filter keyword. Without this a typo became a filter.
func nearCommand(word string) string {
	if word == "" || strings.HasPrefix(word, "-") || filterKeyword(word) {
		return ""
	}
	for _, c := range commands {
		if d := editDistance(word, c); d > 0 && d <= 2 && len(word) >= 4 {
			return c
		}
	}
	return ""
}

// filterKeyword reports whether word can begin a capture filter.
func filterKeyword(word string) bool {
	switch word {
	case "host", "net", "port", "portrange", "src", "dst", "ether", "ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6",
		"not", "vlan", "mpls", "proto", "less", "greater", "broadcast", "multicast", "gateway", "inbound", "outbound", "len":
		return true
	}
	return false
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// moduleVersion is the version set at build time (make), else the module
// version go install recorded, else the VCS revision, else "dev".
func moduleVersion() string {
	if version != "dev" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}
