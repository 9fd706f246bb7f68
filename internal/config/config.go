// Package config reads opsdeck's configuration file
// ($XDG_CONFIG_HOME/opsdeck/config.toml): detector thresholds, flow table
// bounds, evidence ring bounds, refresh rate, theme, key bindings, local
// networks and allow lists. Every key has a default, so an absent file is a
// valid configuration; a file with an unknown key or a bad value is an error
// naming the key, its line and column.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
	"github.com/opsdeck/opsdeck/internal/evidence"
	"github.com/opsdeck/opsdeck/internal/flow"
)

// Config is the effective configuration.
type Config struct {
	// Path is the file read, or "" when only defaults apply.
	Path string
	// Refresh is the console's snapshot rate.
	Refresh time.Duration
	// Theme is the console's color theme: "auto", "dark", "light" or "mono".
	Theme string
	// Keys maps console actions to the keys that trigger them; an action
	// listed in the file replaces its default keys.
	Keys map[string][]string
	// LocalNets are the networks of the local segment (detectors, the
	// console's local/remote split); they replace the detector's defaults.
	LocalNets []netip.Prefix
	// Gateways are the default gateways' addresses, when known.
	Gateways []netip.Addr
	// Allow mutes rules for sources or targets.
	Allow []AllowRule
	// Flow bounds the flow table.
	Flow flow.Config
	// Evidence bounds the packet ring buffer.
	Evidence evidence.Options
	// Detect holds the detectors' thresholds; LocalNets and Gateways above
	// are copied into it.
	Detect detect.Config
	// Host holds the thresholds of the ops rules (internal/detect/ops).
	Host ops.Config
	// EVE shapes the EVE JSON that analyze and watch write.
	EVE EVE
}

// EVE shapes the EVE JSON output ([eve]); command-line flags override it.
type EVE struct {
	// SensorName is written as "host" in every record (Suricata's
	// sensor-name); "" writes none.
	SensorName string
	// DNSVersion is 3 (Suricata 8's format) or 2 (Suricata 7's).
	DNSVersion int
	// StatsInterval is how often watch writes a stats record (Suricata:
	// 8 s); 0 writes one only at exit.
	StatsInterval time.Duration
	// FileMode is the permission of the files watch and analyze create.
	FileMode os.FileMode
}

// AllowRule mutes alerts of Rule whose source is in Src and whose target is
// in Dst. An empty Src or Dst matches any address; Rule may end in ".*" (a
// family, "scan.*") or be "*".
type AllowRule struct {
	Rule    string
	Src     []netip.Prefix
	Dst     []netip.Prefix
	Comment string
}

// Themes the console knows.
var Themes = []string{"auto", "dark", "light", "mono"}

// Default returns the configuration used when no file exists.
func Default() *Config {
	d := detect.DefaultConfig()
	keys := make(map[string][]string, len(DefaultKeys))
	for k, v := range DefaultKeys {
		keys[k] = slices.Clone(v)
	}
	return &Config{
		Refresh:   time.Second,
		Theme:     "auto",
		Keys:      keys,
		LocalNets: slices.Clone(d.LocalNets),
		Gateways:  slices.Clone(d.Gateways),
		Flow:      flow.DefaultConfig(),
		Evidence:  evidence.Options{MaxBytes: evidence.DefaultMaxBytes, MaxAge: evidence.DefaultMaxAge},
		Detect:    d,
		Host:      ops.DefaultConfig(),
		EVE:       EVE{DNSVersion: 3, StatsInterval: 8 * time.Second, FileMode: 0o640},
	}
}

// DefaultPath is $XDG_CONFIG_HOME/opsdeck/config.toml, or
// ~/.config/opsdeck/config.toml when XDG_CONFIG_HOME is unset or relative
// (the XDG spec says to ignore relative values).
func DefaultPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "opsdeck", "config.toml")
}

// Load reads the configuration. With path "" it reads DefaultPath and a
// missing file means defaults; a path given explicitly must exist.
func Load(path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultPath()
		if path == "" {
			return Default(), nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return Default(), nil
		}
		if errors.Is(err, fs.ErrPermission) {
			// Often a command run as another user (setpriv, su) that kept
			// the first user's HOME: say how to point it elsewhere.
			fix := "make it readable by this user, or pass another --config FILE"
			if !explicit {
				fix = "set XDG_CONFIG_HOME to this user's configuration directory, or pass --config FILE"
			}
			return nil, fmt.Errorf("read config %q: %w: %s", path, err, fix)
		}
		return nil, fmt.Errorf("read config %q: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Line > 0 {
			return nil, fmt.Errorf("config %s:%w", path, err) // FILE:LINE:COLUMN: as a compiler writes it
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Error is a problem in a configuration file at a line and column.
type Error struct {
	Line, Column int    // 0 when the position is unknown
	Key          string // dotted key, when known
	Msg          string

	at string // where to look for the key when not at Key ("allow[2]")
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Column)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// utf8BOM is the byte-order mark some Windows editors write at the start of
// a UTF-8 file; TOML does not allow it, but it carries no meaning.
var utf8BOM = []byte("\xef\xbb\xbf")

// Parse decodes a configuration document over the defaults. Errors are
// *Error (or errors.Join of several for unknown keys), start with
// "LINE:COLUMN:" when the position is known, so that Load's "config FILE:"
// prefix reads like a compiler's message, and name the key.
func Parse(data []byte) (*Config, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	c := Default()
	doc := newDocument(c)
	if err := precheck(data, doc.root.Type()); err != nil {
		return nil, err
	}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(doc.root.Addr().Interface()); err != nil {
		return nil, tomlError(err)
	}
	if err := doc.apply(c); err != nil {
		return nil, withPosition(data, err)
	}
	return c, nil
}

func tomlError(err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		var errs []error
		for i := range sm.Errors {
			e := &sm.Errors[i]
			line, col := e.Position()
			errs = append(errs, &Error{Line: line, Column: col, Key: strings.Join(e.Key(), "."), Msg: "unknown key"})
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		return &Error{Line: line, Column: col, Key: strings.Join(de.Key(), "."), Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	}
	return err
}

// Allowed reports whether an allow-list entry mutes an alert of rule from
// src to dst: true means drop the alert.
func (c *Config) Allowed(rule string, src, dst netip.Addr) bool {
	src, dst = src.Unmap(), dst.Unmap()
	for i := range c.Allow {
		a := &c.Allow[i]
		if ruleMatch(a.Rule, rule) && prefixesMatch(a.Src, src) && prefixesMatch(a.Dst, dst) {
			return true
		}
	}
	return false
}

func ruleMatch(pattern, rule string) bool {
	if pattern == "*" || pattern == rule {
		return true
	}
	if fam, ok := strings.CutSuffix(pattern, ".*"); ok {
		return strings.HasPrefix(rule, fam+".")
	}
	return false
}

func prefixesMatch(ps []netip.Prefix, a netip.Addr) bool {
	if len(ps) == 0 {
		return true
	}
	if !a.IsValid() {
		return false
	}
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Encode writes the configuration as a TOML document that Parse reads back
// to the same values (opsdeck config).
func (c *Config) Encode() ([]byte, error) {
	doc := newDocument(c)
	var buf bytes.Buffer
	buf.WriteString("# opsdeck effective configuration (defaults included)\n")
	if c.Path != "" {
		fmt.Fprintf(&buf, "# read from %s\n", c.Path)
	} else {
		fmt.Fprintf(&buf, "# no configuration file; defaults only (file: %s)\n", DefaultPath())
	}
	buf.WriteString("\n")
	enc := toml.NewEncoder(&buf).SetIndentTables(false)
	if err := enc.Encode(doc.root.Addr().Interface()); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}
