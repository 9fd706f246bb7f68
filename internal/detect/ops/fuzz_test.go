package ops

import (
	"encoding/json"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// choices reads the fuzzer's bytes as a stream of decisions (0 once they
// run out).
type choices struct{ b []byte }

func (c *choices) byte() byte {
	if len(c.b) == 0 {
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

// value is a number a corrupt or extreme sample may carry, or an ordinary
// one near the rules' levels.
func (c *choices) value() float64 {
	switch v := c.byte(); v {
	case 0xff:
		return math.NaN()
	case 0xfe:
		return math.Inf(1)
	case 0xfd:
		return math.Inf(-1)
	case 0xfc:
		return -1
	case 0xfb:
		return 1e300
	default:
		return float64(v) / 2 // 0 to 125: around every level in Config
	}
}

// hostileRun feeds the samples the bytes describe (a clock that steps
// both ways, corrupt numbers, partial and failed lists, units that come
// and go) and checks what every alert must hold whatever the input.
func hostileRun(t *testing.T, data []byte) {
	c := &choices{data}
	r := New(Config{CPUFor: 2 * time.Second, MemFor: 2 * time.Second, SwapFor: 2 * time.Second, PressureFor: 2 * time.Second, RestartGap: 5 * time.Second, RestartCount: 2})
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	seen := map[string]bool{}
	for i := 0; len(c.b) > 0 && i < 2000; i++ {
		op := c.byte()
		at = at.Add(time.Duration(int8(c.byte())) * time.Second)
		s := &hoststat.Snapshot{Time: at, IntervalS: c.value(), ClockStepS: (c.value() - 60) * 10, SuspendedS: c.value(), Partial: op&1 != 0}
		s.CPU.Total.Busy, s.CPU.Total.IOWait = c.value(), c.value()
		s.Memory = hoststat.Memory{Total: uint64(c.byte()) << 20, Available: uint64(c.byte()) << 20, SwapInPerS: c.value() * 10, SwapOutPerS: c.value() * 10}
		if op&2 != 0 {
			s.Memory.OOMKillsNew = uint64(c.byte() & 3)
			s.Memory.OOMVictims = []hoststat.OOMVictim{{PID: int32(c.byte()), Name: "victim"}}
		}
		used := c.value()
		s.Filesystems = []hoststat.Filesystem{{Mount: "/m" + string(rune('0'+c.byte()%3)), Total: 100 << 30, Used: uint64(used) << 30, Free: 1 << 30,
			UsedPct: used, InodesTotal: 100, InodesUsedPct: c.value(), ReadOnly: op&4 != 0}}
		if op&8 != 0 {
			res := func() hoststat.PressureResource {
				return hoststat.PressureResource{Readable: true, HasFull: op&16 != 0,
					Some: hoststat.PressureLine{Avg10: c.value(), Avg60: c.value(), StallPct: c.value()},
					Full: hoststat.PressureLine{Avg10: c.value(), StallPct: c.value()}}
			}
			s.Pressure = &hoststat.Pressure{Memory: res(), IO: res()}
		}
		for n := c.byte() % 4; n > 0; n-- {
			p := hoststat.Process{PID: int32(c.byte()) + 2, PPID: 1, Name: "svc", RSS: uint64(c.byte()) << 20, CPUPct: c.value(),
				ReadBytesPerS: c.value(), WriteBytesPerS: c.value(), IOReadable: op&32 != 0}
			if u := c.byte() % 3; u > 0 {
				p.Unit = "u" + string(rune('0'+u)) + ".service"
			}
			s.Processes = append(s.Processes, p)
		}
		s.ProcessesRepeated = op&64 != 0
		for n := c.byte() % 3; n > 0; n-- {
			s.Sockets = append(s.Sockets, hoststat.Socket{Proto: []string{"TCP", "UDP"}[c.byte()&1], State: "LISTEN",
				Local: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, c.byte()}), uint16(c.byte())<<8|uint16(c.byte())), PID: int32(c.byte())})
		}
		if op&128 != 0 {
			s.Errors = map[string]string{"sockets": "denied", "processes": "denied"}
		}
		r.Observe(s, func(a *detect.Alert) {
			if detect.Catalog[a.Rule.Name] != a.Rule || !strings.HasPrefix(a.Incident, a.Rule.Name) {
				t.Fatalf("sample %d: alert of %q with incident %q", i, a.Rule.Name, a.Incident)
			}
			if s.Partial && a.Rule != RuleListener {
				t.Fatalf("sample %d: a socket-only sample raised %s", i, a.Rule.Name)
			}
			if a.Severity < detect.SevHigh || a.Severity > detect.SevLow || !a.TS.Equal(s.Time) || a.Signature == "" {
				t.Fatalf("sample %d: %s severity %d at %v: %q", i, a.Rule.Name, a.Severity, a.TS, a.Signature)
			}
			if a.Update && !seen[a.Incident] {
				t.Fatalf("sample %d: an update of %q before its first alert", i, a.Incident)
			}
			seen[a.Incident] = true
			if _, err := json.Marshal(a.Evidence); err != nil {
				t.Fatalf("sample %d: evidence of %q does not encode: %v", i, a.Signature, err)
			}
		})
	}
	for k, v := range r.Stats() {
		if strings.HasSuffix(k, ".entries") && v > maxListeners {
			t.Fatalf("%s = %d past its bound", k, v)
		}
	}
}

func FuzzObserve(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{8, 1, 200, 10, 240, 0, 200, 20, 100, 100, 180, 9, 0xff, 0xfe, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 1, 127, 0x1f, 0x90, 4})
	f.Add([]byte(strings.Repeat("\x0a\x01\x02\xc8\x0a\xf0\x01\xc8\x14\x64\x64\xb4\x09\x50\x50\x50\x50\x50\x03\x05\x40\x02\x30\x30\x30\x30\x01", 40)))
	f.Add([]byte(strings.Repeat("\x02\xfe\xfb\xfd\xff\xfc\x00\x01", 64)))
	f.Fuzz(hostileRun)
}
