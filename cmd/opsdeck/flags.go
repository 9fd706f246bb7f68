package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/eve"
)

// stringList is a repeatable string flag (-i eth0 -i eth1).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// options are the flags the subcommands share. Names follow tcpdump where
// tcpdump has one.
type options struct {
	ifaces      stringList
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
	fs.IntVar(&o.maxFlows, "max-flows", 0, "flow table bound (default 131072)")
	fs.BoolVar(&o.noDetect, "no-detect", false, "turn the detectors off")
	fs.BoolVar(&o.noExtract, "no-extract", false, "turn protocol extraction off")
	fs.IntVar(&o.snaplen, "snaplen", 262144, "bytes captured per packet on live interfaces")
	fs.StringVar(&o.configPath, "config", "", "configuration `FILE` (default $XDG_CONFIG_HOME/opsdeck/config.toml)")
	if headless {
		fs.StringVar(&o.output, "o", "", "write EVE JSON to `FILE` instead of stdout; unix:PATH (or unix-dgram:PATH) writes to a unix socket another program listens on, as Suricata's unix_stream (unix_dgram)")
		fs.BoolVar(&o.alertsOnly, "alerts-only", false, "write only alert records")
		fs.BoolVar(&o.noFlows, "no-flows", false, "do not write flow records")
		fs.StringVar(&o.sensorName, "sensor-name", "", "write `NAME` as \"host\" in every record, as Suricata's sensor-name (config eve.sensor_name)")
		fs.IntVar(&o.dnsVersion, "dns-version", 3, "DNS record format: 3 (Suricata 8) or 2 (Suricata 7; Filebeat's module) (config eve.dns_version)")
		fs.StringVar(&o.fileMode, "file-mode", "0640", "permission of the -o file when opsdeck creates it, in octal (config eve.file_mode)")
	}
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
}

// parseInterleaved parses flags that may come before, between or after
// positional arguments (opsdeck analyze a.pcap --alerts-only b.pcap).
//
// A wrong flag prints one line and a hint, not the whole usage; -h prints
// the usage (and the caller exits 0: see usageExit).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	full := fs.Usage
	fs.Usage = func() {
		name := fs.Name()
		if name != "opsdeck" {
			name = "opsdeck " + name
		}
		fmt.Fprintf(fs.Output(), "Run '%s -h' for the flags.\n", name)
	}
	defer func() { fs.Usage = full }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				full()
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
