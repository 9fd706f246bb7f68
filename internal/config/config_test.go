package config

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
)

func TestSnake(t *testing.T) {
	tests := map[string]string{
		"ScanWindow":       "scan_window",
		"SynFloodSYNs":     "syn_flood_syns",
		"ARPMACIPs":        "arp_mac_ips",
		"ICMPFloodPackets": "icmp_flood_packets",
		"DGANXDomains":     "dga_nx_domains",
		"DNSTunnelQueries": "dns_tunnel_queries",
		"BruteSSH":         "brute_ssh",
		"MaxFlows":         "max_flows",
		"HostNewPerMinute": "host_new_per_minute",
		"Suppress":         "suppress",
	}
	for in, want := range tests {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseValid(t *testing.T) {
	doc := `
refresh = "500ms"
theme = "mono"

[network]
local_networks = ["10.1.0.0/16", "192.0.2.7"]
gateways = ["10.1.0.1"]

[flow]
max_flows = 1000
new_timeout = "10s"
closed_timeout = 7

[evidence]
max_bytes = "16MiB"
max_age = "2m"

[detect]
scan_ports = 40
scan_window = "1m"
syn_flood_syns = 1000
suspicious_ports = [4444]

[keys]
quit = ["x"]

[[allow]]
rule = "scan.port"
src = ["10.1.2.0/24"]
comment = "vulnerability scanner"

[[allow]]
rule = "host.*"
dst = ["10.1.0.9"]
`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	d := detect.DefaultConfig()
	checks := []struct {
		name      string
		got, want any
	}{
		{"refresh", c.Refresh, 500 * time.Millisecond},
		{"theme", c.Theme, "mono"},
		{"local nets", c.Detect.LocalNets, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.0.2.7/32")}},
		{"gateways", c.Detect.Gateways, []netip.Addr{netip.MustParseAddr("10.1.0.1")}},
		{"max flows", c.Flow.MaxFlows, 1000},
		{"new timeout", c.Flow.NewTimeout, 10 * time.Second},
		{"closed timeout in seconds", c.Flow.ClosedTimeout, 7 * time.Second},
		{"established timeout (default kept)", c.Flow.EstablishedTimeout, 300 * time.Second},
		{"evidence bytes", c.Evidence.MaxBytes, int64(16 << 20)},
		{"evidence age", c.Evidence.MaxAge, 2 * time.Minute},
		{"scan ports", c.Detect.ScanPorts, 40},
		{"scan window", c.Detect.ScanWindow, time.Minute},
		{"syn flood", c.Detect.SynFloodSYNs, 1000},
		{"suspicious ports", c.Detect.SuspiciousPorts, []uint16{4444}},
		{"sweep hosts (default kept)", c.Detect.SweepHosts, d.SweepHosts},
		{"quit keys", c.Keys["quit"], []string{"x"}},
		{"help keys (default kept)", c.Keys["help"], DefaultKeys["help"]},
		{"allow entries", len(c.Allow), 2},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	allowed := []struct {
		rule     string
		src, dst netip.Addr
		want     bool
	}{
		{"scan.port", a("10.1.2.3"), a("10.1.0.5"), true},
		{"scan.port", a("::ffff:10.1.2.3"), a("10.1.0.5"), true},
		{"scan.port", a("10.1.3.3"), a("10.1.0.5"), false},
		{"scan.sweep", a("10.1.2.3"), a("10.1.0.5"), false},
		{"host.listener", a("10.9.9.9"), a("10.1.0.9"), true},
		{"host.cpu", netip.Addr{}, netip.Addr{}, false},
	}
	for _, tc := range allowed {
		if got := c.Allowed(tc.rule, tc.src, tc.dst); got != tc.want {
			t.Errorf("Allowed(%s, %v, %v) = %v, want %v", tc.rule, tc.src, tc.dst, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // substring of the error, which starts with line:column
	}{
		{"syntax", "refresh = \"1s\"\ntheme = \n", "2:"},
		{"unknown top key", "refresh = \"1s\"\ncolour = \"red\"\n", "2:1: colour: unknown key"},
		{"unknown detect key", "[detect]\nscan_ports = 3\nscan_portz = 4\n", "3:1: detect.scan_portz: unknown key"},
		{"unknown key binding action", "[keys]\nfly = [\"f\"]\n", "2:1: keys.fly: unknown key"},
		{"bad duration", "[detect]\n\nscan_window = \"5 minutes\"\n", "3:"},
		{"duration as bool", "[flow]\nnew_timeout = true\n", "2:"},
		{"wrong type", "[detect]\nscan_ports = \"many\"\n", "2:"},
		{"bad theme", "theme = \"neon\"\n", "unknown theme"},
		{"bad cidr", "[network]\nlocal_networks = [\"10.0.0.0/33\"]\n", "2:"},
		{"unknown rule", "[[allow]]\nrule = \"scan.prot\"\n", "2:"},
		{"negative", "[detect]\nscan_ports = -1\n", "detect.scan_ports: must not be negative"},
		{"refresh range", "refresh = \"1h\"\n", "refresh"},
		{"empty binding", "[keys]\nquit = []\n", "keys.quit"},
		{"allow without rule", "[[allow]]\nsrc = [\"10.0.0.1\"]\n", "no rule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("no error for %q", tc.doc)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestErrorLineAndColumn(t *testing.T) {
	_, err := Parse([]byte("[detect]\nscan_ports = 5\n  scan_windw = \"1m\"\n"))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *config.Error", err)
	}
	if ce.Line != 3 || ce.Column != 3 || ce.Key != "detect.scan_windw" {
		t.Errorf("error at %d:%d key %q, want 3:3 detect.scan_windw", ce.Line, ce.Column, ce.Key)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if got, want := DefaultPath(), filepath.Join(dir, "opsdeck", "config.toml"); got != want {
		t.Errorf("DefaultPath = %q, want %q", got, want)
	}
	// No file at the default path: defaults.
	c, err := Load("")
	if err != nil || c.Path != "" || c.Refresh != time.Second {
		t.Fatalf("Load without file: %+v, %v", c, err)
	}
	// An explicit missing file is an error.
	if _, err := Load(filepath.Join(dir, "nope.toml")); err == nil {
		t.Error("explicit missing file accepted")
	}
	if err := os.MkdirAll(filepath.Join(dir, "opsdeck"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(DefaultPath(), []byte("refresh = \"2s\"\n[detect]\nbogus = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load("")
	if err == nil || !strings.Contains(err.Error(), DefaultPath()+":3:1: detect.bogus: unknown key") {
		t.Errorf("Load of a bad file: %v", err)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative/dir")
	if home, _ := os.UserHomeDir(); home != "" && DefaultPath() != filepath.Join(home, ".config", "opsdeck", "config.toml") {
		t.Errorf("relative XDG_CONFIG_HOME not ignored: %q", DefaultPath())
	}
}

// The printed configuration reads back to the same values.
func TestEncodeRoundTrip(t *testing.T) {
	c, err := Parse([]byte("[[allow]]\nrule = \"scan.*\"\nsrc = [\"10.0.0.0/8\"]\n[detect]\nsurge_factor = 2.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scan_window = '5m'", "[detect]", "[flow]", "max_bytes = '64MiB'", "surge_factor = 2.5", "[[allow]]"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("encoded config lacks %q:\n%s", want, out)
		}
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	back.Path = c.Path
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", back, c)
	}
	def, _ := Default().Encode()
	if _, err := Parse(def); err != nil {
		t.Errorf("defaults do not re-parse: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	def, _ := Default().Encode()
	f.Add(def)
	f.Add([]byte("[detect]\nscan_ports = 3\n[[allow]]\nrule = \"*\"\n"))
	f.Add([]byte("\ufeffrefresh = \"2s\"\n"))
	f.Add([]byte("refresh = \"1h\"\n"))
	f.Add([]byte("detect = { scan_ports = -1 }\n"))
	f.Add([]byte("allow = [{ rule = \"*\" }, { src = [\"10.0.0.1\"] }]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if _, berr := Parse(append([]byte("\ufeff"), data...)); !bytes.HasPrefix(data, utf8BOM) && (berr == nil) != (err == nil) {
			t.Fatalf("with a BOM: %v; without: %v", berr, err)
		}
		if err != nil {
			// An error that names a key the document writes says where.
			var ce *Error
			if errors.As(err, &ce) && ce.Line == 0 {
				key := ce.at
				if key == "" {
					key = ce.Key
				}
				if pos, ok := keyPositions(data)[key]; ok {
					t.Fatalf("error %q has no position, but %s is at %d:%d", err, key, pos.Line, pos.Column)
				}
			}
			return
		}
		out, err := c.Encode()
		if err != nil {
			t.Fatalf("encode of a parsed config: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
	})
}
