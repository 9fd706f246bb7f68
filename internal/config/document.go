package config

import (
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/detect/ops"
)

// The TOML document is decoded into a struct type built at run time: its
// [flow] and [detect] tables mirror flow.Config and detect.Config field by
// field (durations as "5m" strings), and [keys] has one key per console
// action. Decoding into real struct fields lets the TOML decoder's strict
// mode report every unknown key and every bad value with its line and
// column, and new detector thresholds become configurable without touching
// this package.

// detectInNetwork are detect.Config fields set from [network] instead.
var detectInNetwork = []string{"LocalNets", "Gateways"}

type document struct {
	root reflect.Value // addressable value of the built root type
}

type networkSection struct {
	LocalNetworks []Net        `toml:"local_networks" comment:"networks of the local segment (replace the defaults: RFC 1918, CGNAT, link-local, ULA)"`
	Gateways      []netip.Addr `toml:"gateways" comment:"default gateways' addresses, when known (arp.spoof)"`
}

type evidenceSection struct {
	MaxBytes Size     `toml:"max_bytes" comment:"packet ring buffer bound (bytes; KiB, MiB, GiB suffixes)"`
	MaxAge   Duration `toml:"max_age" comment:"packets older than this (packet time) are dropped from the ring"`
}

type eveSection struct {
	SensorName    string   `toml:"sensor_name" comment:"written as \"host\" in every EVE record, as Suricata's sensor-name (\"\" = none)"`
	DNSVersion    int      `toml:"dns_version" comment:"DNS record format: 3 (Suricata 8) or 2 (Suricata 7, read by Filebeat's module)"`
	StatsInterval Duration `toml:"stats_interval" comment:"watch writes a stats record this often (Suricata: 8s); 0 = only at exit"`
	FileMode      string   `toml:"file_mode" comment:"permission of the EVE files opsdeck creates, in octal"`
}

type allowEntry struct {
	Rule    RuleName `toml:"rule"`
	Src     []Net    `toml:"src,omitempty"`
	Dst     []Net    `toml:"dst,omitempty"`
	Comment string   `toml:"comment,omitempty"`
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	detectType   = reflect.TypeFor[detect.Config]()
)

func rootType() reflect.Type {
	keyFields := make([]reflect.StructField, 0, len(DefaultKeys))
	for _, name := range sortedKeys(DefaultKeys) {
		keyFields = append(keyFields, reflect.StructField{Name: goName(name), Type: reflect.TypeFor[[]string](), Tag: reflect.StructTag(`toml:"` + name + `"`)})
	}
	return reflect.StructOf([]reflect.StructField{
		{Name: "Refresh", Type: reflect.TypeFor[Duration](), Tag: `toml:"refresh" comment:"console refresh rate (snapshot interval)"`},
		{Name: "Theme", Type: reflect.TypeFor[Theme](), Tag: `toml:"theme" comment:"console colors: auto, dark, light or mono (NO_COLOR also turns colors off)"`},
		{Name: "Network", Type: reflect.TypeFor[networkSection](), Tag: `toml:"network"`},
		{Name: "Flow", Type: mirrorType(reflect.TypeOf(Default().Flow), nil), Tag: `toml:"flow" comment:"flow table bounds and timeouts"`},
		{Name: "Evidence", Type: reflect.TypeFor[evidenceSection](), Tag: `toml:"evidence"`},
		{Name: "Detect", Type: mirrorType(detectType, detectInNetwork), Tag: `toml:"detect" comment:"detector thresholds and windows (docs/detection.md explains each)"`},
		{Name: "Host", Type: mirrorType(reflect.TypeFor[ops.Config](), nil), Tag: `toml:"host" comment:"thresholds of the ops rules host.cpu, host.memory, host.disk, host.listener, host.pressure, host.restart, host.clock (docs/detection.md)"`},
		{Name: "EVE", Type: reflect.TypeFor[eveSection](), Tag: `toml:"eve" comment:"EVE JSON output of analyze and watch"`},
		{Name: "Keys", Type: reflect.StructOf(keyFields), Tag: `toml:"keys" comment:"console key bindings: action = [keys] (bubbles key names); the process table adds sort_prev, sort_next, sort_invert (sort column and order), search (jump without filtering), kernel_threads, renice, unit_filter"`},
		{Name: "Allow", Type: reflect.TypeFor[[]allowEntry](), Tag: `toml:"allow" comment:"allow list: [[allow]] rule = \"scan.port\" (or \"scan.*\", \"*\"), src/dst = [CIDRs]; matching alerts are muted"`},
	})
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// goName turns an action name into an exported Go field name.
func goName(action string) string {
	var b strings.Builder
	b.WriteString("K")
	for _, r := range action {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		} else {
			b.WriteString("_")
		}
	}
	return b.String()
}

// mirrorType builds a struct with t's configurable fields, durations as
// Duration, tagged with their TOML keys.
func mirrorType(t reflect.Type, skip []string) reflect.Type {
	var fields []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || slices.Contains(skip, f.Name) {
			continue
		}
		mt, ok := mirrorField(f.Type)
		if !ok {
			continue
		}
		fields = append(fields, reflect.StructField{Name: f.Name, Type: mt, Tag: reflect.StructTag(`toml:"` + tomlName(f) + `"`)})
	}
	return reflect.StructOf(fields)
}

func mirrorField(t reflect.Type) (reflect.Type, bool) {
	if t == durationType {
		return reflect.TypeFor[Duration](), true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t, true
	case reflect.Slice:
		et, ok := mirrorField(t.Elem())
		if !ok {
			return nil, false
		}
		return reflect.SliceOf(et), true
	case reflect.Struct:
		// netip.Prefix, netip.Addr and friends decode from text.
		if reflect.PointerTo(t).Implements(textUnmarshalerType) && t.Implements(textMarshalerType) {
			return t, true
		}
	}
	return nil, false
}

// tomlName is the field's toml tag, or its name in snake case with the
// acronyms the detectors use kept whole (ARPMACIPs -> arp_mac_ips).
func tomlName(f reflect.StructField) string {
	if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag != "" {
		return tag
	}
	return snake(f.Name)
}

var acronyms = []string{"ARP", "CPU", "DGA", "DNS", "FTP", "HTTP", "ICMP", "IDs", "ID", "IPs", "IP", "MAC", "NX", "RDP", "SSH", "SYNs", "SYN", "TCP", "TLS", "TTL", "UDP"}

func snake(name string) string {
	rs := []rune(name)
	var words []string
	for i := 0; i < len(rs); {
		j := i + 1
		if unicode.IsUpper(rs[i]) && j < len(rs) && unicode.IsUpper(rs[j]) {
			for j < len(rs) && unicode.IsUpper(rs[j]) {
				j++
			}
			if j < len(rs) && unicode.IsLower(rs[j]) {
				if rs[j] == 's' && (j+1 == len(rs) || !unicode.IsLower(rs[j+1])) {
					j++ // a plural acronym: SYNs, IPs
				} else {
					j-- // the last capital starts the next word
				}
			}
			words = append(words, splitAcronyms(string(rs[i:j]))...)
		} else {
			for j < len(rs) && !unicode.IsUpper(rs[j]) {
				j++
			}
			words = append(words, string(rs[i:j]))
		}
		i = j
	}
	return strings.ToLower(strings.Join(words, "_"))
}

func splitAcronyms(run string) []string {
	var out []string
	for run != "" {
		found := false
		for _, a := range acronyms {
			if strings.HasPrefix(run, a) {
				out, run, found = append(out, a), run[len(a):], true
				break
			}
		}
		if !found {
			return append(out, run)
		}
	}
	return out
}

// newDocument builds a root value holding c's values.
func newDocument(c *Config) *document {
	d := &document{root: reflect.New(rootType()).Elem()}
	r := d.root
	r.FieldByName("Refresh").Set(reflect.ValueOf(Duration{c.Refresh}))
	r.FieldByName("Theme").Set(reflect.ValueOf(Theme{c.Theme}))
	net := networkSection{Gateways: slices.Clone(c.Gateways)}
	for _, p := range c.LocalNets {
		net.LocalNetworks = append(net.LocalNetworks, Net(p))
	}
	r.FieldByName("Network").Set(reflect.ValueOf(net))
	copyMirror(r.FieldByName("Flow"), reflect.ValueOf(c.Flow))
	r.FieldByName("Evidence").Set(reflect.ValueOf(evidenceSection{MaxBytes: Size(c.Evidence.MaxBytes), MaxAge: Duration{c.Evidence.MaxAge}}))
	copyMirror(r.FieldByName("Detect"), reflect.ValueOf(c.Detect))
	copyMirror(r.FieldByName("Host"), reflect.ValueOf(c.Host))
	r.FieldByName("EVE").Set(reflect.ValueOf(eveSection{SensorName: c.EVE.SensorName, DNSVersion: c.EVE.DNSVersion,
		StatsInterval: Duration{c.EVE.StatsInterval}, FileMode: fmt.Sprintf("%04o", uint32(c.EVE.FileMode))}))
	keys := r.FieldByName("Keys")
	for name, v := range c.Keys {
		if f := keys.FieldByName(goName(name)); f.IsValid() {
			f.Set(reflect.ValueOf(slices.Clone(v)))
		}
	}
	var allow []allowEntry
	for _, a := range c.Allow {
		e := allowEntry{Rule: RuleName{a.Rule}, Comment: a.Comment}
		for _, p := range a.Src {
			e.Src = append(e.Src, Net(p))
		}
		for _, p := range a.Dst {
			e.Dst = append(e.Dst, Net(p))
		}
		allow = append(allow, e)
	}
	r.FieldByName("Allow").Set(reflect.ValueOf(allow))
	return d
}

// apply copies the decoded document into c and checks what the types
// could not.
func (d *document) apply(c *Config) error {
	r := d.root
	c.Refresh = r.FieldByName("Refresh").Interface().(Duration).D
	if c.Refresh < 50*time.Millisecond || c.Refresh > time.Minute {
		return &Error{Key: "refresh", Msg: fmt.Sprintf("%v is outside 50ms..1m", c.Refresh)}
	}
	c.Theme = r.FieldByName("Theme").Interface().(Theme).S
	net := r.FieldByName("Network").Interface().(networkSection)
	c.LocalNets = c.LocalNets[:0]
	for _, p := range net.LocalNetworks {
		c.LocalNets = append(c.LocalNets, netip.Prefix(p))
	}
	c.Gateways = nil
	if len(net.Gateways) > 0 {
		c.Gateways = net.Gateways
	}
	if err := copyBack(reflect.ValueOf(&c.Flow).Elem(), r.FieldByName("Flow"), "flow"); err != nil {
		return err
	}
	ev := r.FieldByName("Evidence").Interface().(evidenceSection)
	c.Evidence.MaxBytes, c.Evidence.MaxAge = int64(ev.MaxBytes), ev.MaxAge.D
	if c.Evidence.MaxBytes < 1<<20 {
		return &Error{Key: "evidence.max_bytes", Msg: "must be at least 1MiB"}
	}
	if c.Evidence.MaxAge <= 0 {
		return &Error{Key: "evidence.max_age", Msg: "must be positive"}
	}
	if err := copyBack(reflect.ValueOf(&c.Detect).Elem(), r.FieldByName("Detect"), "detect"); err != nil {
		return err
	}
	if err := copyBack(reflect.ValueOf(&c.Host).Elem(), r.FieldByName("Host"), "host"); err != nil {
		return err
	}
	eve := r.FieldByName("EVE").Interface().(eveSection)
	if eve.DNSVersion != 2 && eve.DNSVersion != 3 {
		return &Error{Key: "eve.dns_version", Msg: fmt.Sprintf("%d: want 2 or 3", eve.DNSVersion)}
	}
	if eve.StatsInterval.D < 0 {
		return &Error{Key: "eve.stats_interval", Msg: "must be 0 or more"}
	}
	mode, err := ParseFileMode(eve.FileMode)
	if err != nil {
		return &Error{Key: "eve.file_mode", Msg: err.Error()}
	}
	c.EVE = EVE{SensorName: eve.SensorName, DNSVersion: eve.DNSVersion, StatsInterval: eve.StatsInterval.D, FileMode: mode}
	c.Detect.LocalNets, c.Detect.Gateways = slices.Clone(c.LocalNets), slices.Clone(c.Gateways)
	keys := r.FieldByName("Keys")
	for name := range DefaultKeys {
		v := keys.FieldByName(goName(name)).Interface().([]string)
		if len(v) == 0 {
			return &Error{Key: "keys." + name, Msg: "needs at least one key"}
		}
		c.Keys[name] = v
	}
	c.Allow = nil
	for _, e := range r.FieldByName("Allow").Interface().([]allowEntry) {
		a := AllowRule{Rule: e.Rule.S, Comment: e.Comment}
		if a.Rule == "" {
			n := len(c.Allow) + 1
			return &Error{Key: "allow.rule", Msg: fmt.Sprintf("allow entry %d has no rule (use \"*\" for every rule)", n), at: fmt.Sprintf("allow[%d]", n)}
		}
		for _, p := range e.Src {
			a.Src = append(a.Src, netip.Prefix(p))
		}
		for _, p := range e.Dst {
			a.Dst = append(a.Dst, netip.Prefix(p))
		}
		c.Allow = append(c.Allow, a)
	}
	return nil
}

// copyMirror fills the mirror struct m from the real struct v.
func copyMirror(m, v reflect.Value) {
	for i := 0; i < m.NumField(); i++ {
		convertInto(m.Field(i), v.FieldByName(m.Type().Field(i).Name))
	}
}

// copyBack fills the real struct v from the mirror m, refusing negative
// numbers (every threshold, bound and window is a count or a length).
func copyBack(v, m reflect.Value, section string) error {
	for i := 0; i < m.NumField(); i++ {
		sf := m.Type().Field(i)
		src := m.Field(i)
		if isNegative(src) {
			key, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
			return &Error{Key: section + "." + key, Msg: "must not be negative"}
		}
		convertInto(v.FieldByName(sf.Name), src)
	}
	return nil
}

func isNegative(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() < 0
	case reflect.Float32, reflect.Float64:
		return v.Float() < 0
	}
	return false
}

// convertInto sets dst from src where the two differ only by Duration vs
// time.Duration (possibly inside slices).
func convertInto(dst, src reflect.Value) {
	if src.Kind() == reflect.Slice && dst.Type() != src.Type() {
		if src.IsNil() {
			dst.Set(reflect.Zero(dst.Type()))
			return
		}
		out := reflect.MakeSlice(dst.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			convertInto(out.Index(i), src.Index(i))
		}
		dst.Set(out)
		return
	}
	if src.Kind() == reflect.Slice {
		dst.Set(reflect.AppendSlice(reflect.Zero(dst.Type()), src)) // a copy, never shared
		return
	}
	switch {
	case src.Type() == durationType && dst.Type() == reflect.TypeFor[Duration]():
		dst.Set(reflect.ValueOf(Duration{time.Duration(src.Int())}))
	case dst.Type() == durationType && src.Type() == reflect.TypeFor[Duration]():
		dst.SetInt(int64(src.Interface().(Duration).D))
	default:
		dst.Set(src.Convert(dst.Type()))
	}
}

// ParseFileMode parses a permission in octal ("0640", "640"): at most
// rwx for user, group and others, nothing else.
func ParseFileMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(s), "0o"), 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("%q: want an octal permission like 0640", s)
	}
	return os.FileMode(n), nil
}
