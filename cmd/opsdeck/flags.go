package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// options are the flags the subcommands share. Names follow tcpdump where
// tcpdump has one.
type options struct {
	ifaces      ifaceList
	read        string
	noResolve   bool
	output      string
	alertsOnly  bool
	showSecrets bool
	seed        uint
	maxFlows    int
	noDetect    bool
	noExtract   bool
	noFlows     bool
	snaplen     int
	configPath  string
	filter      string
	sensorName  string
	dnsVersion  int
	fileMode    string
	count       uint64 // -c: stop after this many packets (0 = no limit)
	writePcap   string // -w: write the packets as pcap to this file
	notPromisc  bool   // -p
	fanout      int    // --fanout: capture sockets per interface (0, 1: one)
	// set names the flags given on the command line, which override the
	// configuration file.
	set map[string]bool
}

func (o *options) register(fs *flag.FlagSet, headless bool) {
	fs.Var(&o.ifaces, "i", "capture on `IFACE` (repeatable; \"any\" for all)")
	fs.StringVar(&o.read, "r", "", "read packets from `FILE` (pcap or pcapng; - for stdin)")
	fs.BoolVar(&o.noResolve, "n", false, "show addresses only; by default the console shows the name a DNS answer seen on the wire gave an address (no query is ever sent)")
	fs.BoolVar(&o.showSecrets, "show-secrets", false, "show passwords seen in clear instead of masking them")
	fs.UintVar(&o.seed, "community-id-seed", 0, "Community ID `seed`")
	fs.IntVar(&o.maxFlows, "max-flows", 0, "flow table bound (default 65536)")
	fs.BoolVar(&o.noDetect, "no-detect", false, "turn the detectors off")
	fs.BoolVar(&o.noExtract, "no-extract", false, "turn protocol extraction off")
	o.snaplen = defaultSnapLen
	fs.Var((*snapLenFlag)(&o.snaplen), "snaplen", "`BYTES` captured per packet on live interfaces (0 = 262144, as tcpdump)")
	fs.Var((*snapLenFlag)(&o.snaplen), "s", "same as --snaplen (tcpdump's -s `SNAPLEN`)")
	fs.BoolVar(&o.notPromisc, "p", false, "do not put the interfaces into promiscuous mode; accepted for tcpdump's habit, and opsdeck's default (tcpdump's default is promiscuous; watch --promisc turns it on)")
	fs.StringVar(&o.configPath, "config", "", "configuration `FILE` (default $XDG_CONFIG_HOME/opsdeck/config.toml)")
	if headless {
		fs.StringVar(&o.output, "o", "", "write EVE JSON to `FILE` instead of stdout; unix:PATH (or unix-dgram:PATH) writes to a unix socket another program listens on, as Suricata's unix_stream (unix_dgram)")
		fs.BoolVar(&o.alertsOnly, "alerts-only", false, "write only alert records")
		fs.BoolVar(&o.noFlows, "no-flows", false, "do not write flow records")
		fs.StringVar(&o.sensorName, "sensor-name", "", "write `NAME` as \"host\" in every record, as Suricata's sensor-name (config eve.sensor_name)")
		fs.IntVar(&o.dnsVersion, "dns-version", 3, "DNS record format: 3 (Suricata 8) or 2 (Suricata 7; Filebeat's module) (config eve.dns_version)")
		fs.StringVar(&o.fileMode, "file-mode", "0640", "permission of the -o file when opsdeck creates it, in octal (config eve.file_mode)")
		fs.Uint64Var(&o.count, "c", 0, "stop after `N` packets that pass the capture filter, as tcpdump -c")
		fs.StringVar(&o.writePcap, "w", "", "also write the packets that pass the capture filter to `FILE` as pcap, as tcpdump -w (mode 0600; - for stdout when -o sends EVE elsewhere)")
	}
}

// registerLive registers the flags of live capture (watch, the console).
func (o *options) registerLive(fs *flag.FlagSet) {
	fs.Var((*fanoutFlag)(&o.fanout), "fanout", "spread the kernel's capture ring and its reading over `N` sockets per interface (PACKET_FANOUT by flow hash, up to 16), for multi-queue NICs whose packets one reader cannot keep up with; the analysis stays one (default 0: one socket)")
}

// fanoutFlag is --fanout: a socket count, 0 to capture.MaxFanout.
type fanoutFlag int

func (f *fanoutFlag) String() string { return strconv.Itoa(int(*f)) }

func (f *fanoutFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > capture.MaxFanout {
		return fmt.Errorf("want a number of sockets from 0 to %d", capture.MaxFanout)
	}
	*f = fanoutFlag(n)
	return nil
}

// defaultSnapLen is tcpdump's default and what its -s 0 means.
const defaultSnapLen = 262144

// snapLenFlag is -s/--snaplen: a byte count, 0 meaning the default.
type snapLenFlag int

func (s *snapLenFlag) String() string { return strconv.Itoa(int(*s)) }

func (s *snapLenFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("want a number of bytes, 0 or more")
	}
	if n == 0 {
		n = defaultSnapLen
	}
	*s = snapLenFlag(n)
	return nil
}

// given records which flags the command line set (after parsing).
func (o *options) given(fs *flag.FlagSet) {
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
}

// eveOptions resolves the EVE settings: a flag given wins over the
// configuration file.
func (o *options) eveOptions(c config.EVE) (config.EVE, error) {
	if o.set["sensor-name"] {
		c.SensorName = o.sensorName
	}
	if o.set["dns-version"] {
		if o.dnsVersion != 2 && o.dnsVersion != 3 {
			return c, fmt.Errorf("--dns-version %d: want 2 or 3", o.dnsVersion)
		}
		c.DNSVersion = o.dnsVersion
	}
	if o.set["file-mode"] {
		m, err := config.ParseFileMode(o.fileMode)
		if err != nil {
			return c, fmt.Errorf("--file-mode %w", err)
		}
		c.FileMode = m
	}
	return c, nil
}

// setupWriter applies the EVE settings every headless command shares.
func (o *options) setupWriter(w *eve.Writer, c config.EVE) {
	w.ShowSecrets = o.showSecrets
	w.CommunityIDSeed = uint16(o.seed)
	w.SensorName = c.SensorName
	w.DNSVersion = c.DNSVersion
	w.NoFlows = o.noFlows || o.alertsOnly
	w.NoProto = o.alertsOnly
}

// parseInterleaved parses flags that may come before, between or after
// positional arguments (opsdeck analyze a.pcap --alerts-only b.pcap).
//
// A wrong flag prints one line and a hint, not the whole usage; -h prints
// the usage (and the caller exits 0: see usageExit).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	full := fs.Usage
	// The flag package calls Usage for -h and after any error it printed;
	// which one it was is known only from the error Parse returns.
	fs.Usage = func() {}
	defer func() { fs.Usage = full }()
	if collectFlagSet != nil {
		collectFlagSet(fs)
		return nil, errUsagePrinted
	}
	var pos []string
	args = expandShortFlags(fs, args)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				full()
			} else {
				name := fs.Name()
				if name != "opsdeck" {
					name = "opsdeck " + name
				}
				fmt.Fprintf(fs.Output(), "Run '%s -h' for the flags.\n", name)
			}
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// expandShortFlags splits tcpdump-style combined short flags ("-nn",
// "-nnp", "-c10", "-i1", "-s0", "-weve.pcap") into the separate flags the
// flag package parses. An argument is split only when it names no flag
// itself and every letter up to the first one taking a value is a
// one-letter boolean flag; anything else is left for the flag package to
// accept or reject. Values of flags (--rotate-keep -1) and everything
// after "--" are left alone.
func expandShortFlags(fs *flag.FlagSet, args []string) []string {
	isBool := func(f *flag.Flag) bool {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		return ok && b.IsBoolFlag()
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") || len(a) < 3 {
			out = append(out, a)
			if f := flagNamed(fs, a); f != nil && !isBool(f) && !strings.Contains(a, "=") && i+1 < len(args) {
				i++
				out = append(out, args[i]) // the value of -o, --rotate-keep, ...
			}
			continue
		}
		if strings.Contains(a, "=") || fs.Lookup(a[1:]) != nil {
			out = append(out, a)
			if f := fs.Lookup(a[1:]); f != nil && !isBool(f) && !strings.Contains(a, "=") && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		var split []string
		ok := false
		for j := 1; j < len(a); j++ {
			f := fs.Lookup(a[j : j+1])
			if f == nil {
				break
			}
			split = append(split, "-"+a[j:j+1])
			if !isBool(f) {
				if rest := a[j+1:]; rest != "" {
					split = append(split, rest)
				} else if i+1 < len(args) {
					i++
					split = append(split, args[i]) // -nc 10
				}
				ok = true
				break
			}
			if j == len(a)-1 {
				ok = true
			}
		}
		if !ok {
			out = append(out, a)
			continue
		}
		out = append(out, split...)
	}
	return out
}

// flagNamed returns the flag arg names (-x or --name), or nil.
func flagNamed(fs *flag.FlagSet, arg string) *flag.Flag {
	name := strings.TrimLeft(arg, "-")
	if name == "" || len(arg)-len(name) > 2 {
		return nil
	}
	return fs.Lookup(name)
}

// usageExit is the error a command returns when its flags did not parse:
// exit 0 after -h (the usage was asked for), 2 otherwise (a usage error).
func usageExit(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return &exitError{code: 0}
	}
	return &exitError{code: 2, err: errUsagePrinted}
}

func newFlagSet(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func isPath(p string) bool {
	if p == "-" {
		return true
	}
	// Anything but "does not exist" (a permission error, say) is a file the
	// user meant: opening it then reports the real problem.
	_, err := os.Stat(p)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
