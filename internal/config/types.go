package config

import (
	"encoding"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
)

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

// Duration is a time.Duration written as in Go ("30s", "5m", "1h30m"); a
// bare integer means seconds, as in Suricata's and Zeek's configuration. It
// is a struct so the TOML decoder hands bare numbers to UnmarshalText
// instead of storing them as nanoseconds.
type Duration struct{ D time.Duration }

// UnmarshalText parses a Go duration or a number of seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && f >= 0 && f < 1e9 {
		// Bare numbers arrive here without a position for an error
		// message, so every finite one is accepted as seconds.
		d.D = time.Duration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (write it as a string with a unit, like \"30s\", \"5m\" or \"1h\")", b)
	}
	d.D = v
	return nil
}

// MarshalText writes the shortest form ("5m" rather than "5m0s").
func (d Duration) MarshalText() ([]byte, error) {
	s := d.D.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return []byte(s), nil
}

// Size is a byte count written as a number or with a binary suffix
// ("64MiB", "512KiB", "1GiB").
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// UnmarshalText parses a size.
func (s *Size) UnmarshalText(b []byte) error {
	text := strings.TrimSpace(string(b))
	mult := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(text, u.suffix); ok {
			text, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("invalid size %q (write it like 67108864 or \"64MiB\")", b)
	}
	*s = Size(n * mult)
	return nil
}

// Set makes Size a flag.Value.
func (s *Size) Set(v string) error { return s.UnmarshalText([]byte(v)) }

// String formats the size as MarshalText does.
func (s *Size) String() string {
	b, _ := s.MarshalText()
	return string(b)
}

// MarshalText writes the largest exact binary unit.
func (s Size) MarshalText() ([]byte, error) {
	for _, u := range sizeUnits {
		if s != 0 && int64(s)%u.mult == 0 {
			return []byte(strconv.FormatInt(int64(s)/u.mult, 10) + u.suffix), nil
		}
	}
	return []byte("0B"), nil
}

// Theme is one of Themes. Like RuleName it is a struct so that the TOML
// decoder calls UnmarshalText (it assigns strings to string kinds itself).
type Theme struct{ S string }

// UnmarshalText checks the theme name.
func (t *Theme) UnmarshalText(b []byte) error {
	if !slices.Contains(Themes, string(b)) {
		return fmt.Errorf("unknown theme %q (one of %s)", b, strings.Join(Themes, ", "))
	}
	t.S = string(b)
	return nil
}

// MarshalText writes the theme name.
func (t Theme) MarshalText() ([]byte, error) { return []byte(t.S), nil }

// RuleName is a detection rule name, a family ("scan.*") or "*".
type RuleName struct{ S string }

// UnmarshalText checks that the name matches at least one catalog rule, so
// a typo never silently mutes nothing.
func (r *RuleName) UnmarshalText(b []byte) error {
	name := string(b)
	for rule := range detect.Catalog {
		if ruleMatch(name, rule) {
			r.S = name
			return nil
		}
	}
	return fmt.Errorf("unknown rule %q (names as in the detection catalog, e.g. \"scan.port\", \"scan.*\" or \"*\")", name)
}

// MarshalText writes the rule name.
func (r RuleName) MarshalText() ([]byte, error) { return []byte(r.S), nil }

// Net is a network in CIDR notation; a bare address means that one host.
type Net netip.Prefix

// UnmarshalText parses "10.0.0.0/8", "2001:db8::/32" or "192.0.2.7".
func (n *Net) UnmarshalText(b []byte) error {
	s := string(b)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("invalid address or network %q", s)
		}
		a = a.Unmap()
		*n = Net(netip.PrefixFrom(a, a.BitLen()))
		return nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("invalid network %q (CIDR notation, e.g. \"10.0.0.0/8\")", s)
	}
	*n = Net(p.Masked())
	return nil
}

// MarshalText writes CIDR notation.
func (n Net) MarshalText() ([]byte, error) { return []byte(netip.Prefix(n).String()), nil }
