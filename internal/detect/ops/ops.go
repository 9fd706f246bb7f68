// Package ops holds the ops rules: host.cpu, host.memory, host.disk,
// host.listener, host.pressure, host.restart and host.clock, raised from
// the system source's host samples. They share the network detector's
// alert model (detect.Alert, detect.Rule, the catalog, severities) and its
// suppressor (detect.Suppressor); what is theirs is their own state and
// configuration (Config, the [host] table).
//
// Each rule lives in its own file: it registers its catalog entry and how
// its state is made (register), and Rules runs every registered rule on
// each sample. Adding one is that file, its thresholds in Config, its test
// and its entry in docs/detection.md.
package ops

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// maxIncidents bounds the suppressor's table (listeners can churn).
const maxIncidents = 4096

// check is the running state of one rule.
type check interface {
	// observe looks at one sample and raises through out.
	observe(s *hoststat.Snapshot, out *raiser)
}

// def is one rule as the registry holds it.
type def struct {
	rule *detect.Rule
	// partial: the rule also runs on socket-only samples (the attribution
	// refreshes between full samples); the others run on full samples only.
	partial bool
	// newCheck builds the rule's state; the *Config has its defaults filled.
	newCheck func(cfg *Config) check
	// stats, when set, adds the rule's counters (bounded tables' drops).
	stats func(c check, out map[string]uint64)
}

var registry []def

// register adds d.rule to the detection catalog and d to the rules New
// builds; it returns d.rule, so a rule file declares
// var RuleX = register(def{...}).
func register(d def) *detect.Rule {
	detect.Register(d.rule)
	registry = append(registry, d)
	return d.rule
}

// Rules raises the ops alerts from host samples. It uses each sample's
// timestamp, never the wall clock. Not safe for concurrent use: feed it
// from the goroutine that receives the system source's snapshots.
type Rules struct {
	cfg    Config
	defs   []def
	checks []check
	out    raiser
}

// New returns the ops rules with cfg (zero fields take defaults).
func New(cfg Config) *Rules {
	cfg.fill()
	r := &Rules{cfg: cfg}
	r.out.sup = detect.NewSuppressor[string]("host.suppress", cfg.Suppress, maxIncidents)
	// Rules run in catalog-name order, whatever the order their files
	// were initialised in, so the alerts of one sample come out the same.
	r.defs = slices.SortedFunc(slices.Values(registry), func(a, b def) int { return cmp.Compare(a.rule.Name, b.rule.Name) })
	for _, d := range r.defs {
		r.checks = append(r.checks, d.newCheck(&r.cfg))
	}
	return r
}

// Observe runs the ops rules on one sample and emits the alerts they
// raise. Socket-only (partial) samples feed only the rules that read
// sockets (host.listener).
func (r *Rules) Observe(s *hoststat.Snapshot, emit func(*detect.Alert)) {
	if s == nil {
		return
	}
	r.out.sup.Expire(s.Time)
	r.out.emit = emit
	for i, c := range r.checks {
		if s.Partial && !r.defs[i].partial {
			continue
		}
		c.observe(s, &r.out)
	}
	r.out.emit = nil
}

// Stats reports the rules' table sizes and drops: the suppressor's, and
// those of rules that keep bounded tables.
func (r *Rules) Stats() map[string]uint64 {
	out := map[string]uint64{}
	r.out.sup.Stats(out)
	for i, d := range r.defs {
		if d.stats != nil {
			d.stats(r.checks[i], out)
		}
	}
	return out
}

// raiser applies suppression to the rules' alerts and emits them.
type raiser struct {
	sup  *detect.Suppressor[string]
	emit func(*detect.Alert)
}

// raise reports an occurrence of incident key at ts. The key names rule
// and target ("host.disk//var", "host.restart/unit nginx.service") and is
// the alert's Incident, so the console keeps one row per incident. The
// first occurrence in a window is built and emitted; later ones are
// counted, and emitted as an Update when sev is higher than reported or
// worse(reported bad, bad) says the condition grew worse (worse nil: only
// a higher severity). build is called only for what is emitted.
func (o *raiser) raise(key string, ts time.Time, sev detect.Severity, bad float64, worse func(prev, cur float64) bool, build func() *detect.Alert) {
	if worse == nil {
		worse = never
	}
	v, n, sev := o.sup.Check(key, ts, bad, sev, worse)
	if v == detect.VerdictFold {
		return
	}
	a := build()
	a.Severity, a.TS, a.Incident = sev, ts, key
	a.Update, a.Suppressed = v == detect.VerdictUpdate, n
	o.emit(a)
}

// open reports whether incident key has a window open at ts.
func (o *raiser) open(key string, ts time.Time) bool { return o.sup.Open(key, ts) }

func never(prev, cur float64) bool { return false }

// worseBy: the condition grew worse by at least step (points of a share).
func worseBy(step float64) func(prev, cur float64) bool {
	return func(prev, cur float64) bool { return cur >= prev+step }
}

// doubled: the measure at least doubled.
func doubled(prev, cur float64) bool { return cur >= 2*prev }

// sustained tracks how long cond has held; it returns the start time and
// whether the condition has lasted at least d.
func sustained(since *time.Time, cond bool, now time.Time, d time.Duration) (time.Time, bool) {
	if !cond {
		*since = time.Time{}
		return time.Time{}, false
	}
	if since.IsZero() {
		*since = now
	}
	return *since, now.Sub(*since) >= d
}

// procFacts lists processes for evidence.
func procFacts(ps []hoststat.Process) []map[string]any {
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		out = append(out, map[string]any{
			"pid": p.PID, "name": p.Name, "user": p.User,
			"cpu_pct": round1(finiteRate(p.CPUPct)), "rss": p.RSS,
		})
	}
	return out
}

// procList names the processes a rule blames: for the signature, each as
// "name (pid N) <what>" joined by commas, and for the evidence, each
// one's facts (procFacts) with the rule's own added by more, when set.
func procList(ps []hoststat.Process, what func(p *hoststat.Process) string, more func(p *hoststat.Process, fact map[string]any)) (string, []map[string]any) {
	names := make([]string, len(ps))
	facts := procFacts(ps)
	for i := range ps {
		p := &ps[i]
		names[i] = fmt.Sprintf("%s (pid %d) %s", p.Name, p.PID, what(p))
		if more != nil {
			more(p, facts[i])
		}
	}
	return strings.Join(names, ", "), facts
}

// blame sets the alert's process to the first of top, when there is one.
func blame(a *detect.Alert, top []hoststat.Process) {
	if len(top) > 0 {
		a.PID, a.Process = top[0].PID, top[0].Name
	}
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// topBy returns the first n processes ordered by less (stable).
func topBy(ps []hoststat.Process, n int, less func(a, b *hoststat.Process) bool) []hoststat.Process {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(&ps[idx[i]], &ps[idx[j]]) })
	if len(idx) > n {
		idx = idx[:n]
	}
	out := make([]hoststat.Process, len(idx))
	for i, k := range idx {
		out[i] = ps[k]
	}
	return out
}

// formatSeconds formats a span for a signature: "42s", "1h30m0s", or
// "3.2e+12 s" past what a Duration holds.
func formatSeconds(sec float64) string {
	if sec >= 1e9 {
		return fmt.Sprintf("%.3g s", sec)
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Millisecond).String()
}

// finitePct maps NaN and infinities (a corrupt sample) to 0 and clamps to
// [0, 100], so they neither fire a rule nor break the EVE encoder.
func finitePct(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return 0
	}
	return min(x, 100)
}

// finiteRate maps NaN, infinities and negatives (a corrupt sample) to 0,
// without finitePct's clamp to 100 (rates are not percentages).
func finiteRate(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return 0
	}
	return x
}
