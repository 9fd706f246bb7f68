package system

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"syscall"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// PartPressure is the key of pressure stall failures in Snapshot.Errors.
const PartPressure = "pressure"

// parsePressure parses one /proc/pressure file:
//
//	some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//
// A "some" line is required; "full" is absent for cpu before Linux 5.13.
// Unknown keys are skipped (a later kernel may add some), but averages must
// be percentages in [0, 100] and the total a microsecond count.
func parsePressure(b []byte) (hoststat.PressureResource, error) {
	var r hoststat.PressureResource
	seenSome := false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		var fa [64][]byte
		f := fields(fa[:0], line)
		if len(f) == 0 {
			continue
		}
		var dst *hoststat.PressureLine
		switch string(f[0]) {
		case "some":
			if seenSome {
				return r, errors.New("pressure: two some lines")
			}
			dst, seenSome = &r.Some, true
		case "full":
			if r.HasFull {
				return r, errors.New("pressure: two full lines")
			}
			dst, r.HasFull = &r.Full, true
		default:
			return r, fmt.Errorf("pressure: line %q is neither some nor full", clip(line))
		}
		seen := 0
		for _, kv := range f[1:] {
			k, v, ok := bytes.Cut(kv, []byte("="))
			if !ok {
				return r, fmt.Errorf("pressure %s: field %q is not key=value", f[0], clip(kv))
			}
			var avg *float64
			switch string(k) {
			case "avg10":
				avg = &dst.Avg10
			case "avg60":
				avg = &dst.Avg60
			case "avg300":
				avg = &dst.Avg300
			case "total":
				n, err := parseUint(v)
				if err != nil {
					return r, fmt.Errorf("pressure %s total: %w", f[0], err)
				}
				dst.TotalUs = n
				seen++
				continue
			default:
				continue
			}
			x, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsNaN(x) || x < 0 || x > 100 {
				return r, fmt.Errorf("pressure %s %s: %q is not a percentage", f[0], k, clip(v))
			}
			*avg = x
			seen++
		}
		if seen < 4 {
			return r, fmt.Errorf("pressure %s: %w", f[0], errShort)
		}
	}
	if !seenSome {
		return r, errors.New("pressure: no some line")
	}
	return r, nil
}

// clip bounds a piece of hostile input quoted in an error.
func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// stallPct is the share of dt (seconds) stalled, from two totals (µs). A
// total that went back (it cannot, short of a new boot) gives 0.
func stallPct(prev, cur uint64, dt float64) float64 {
	if dt <= 0 || cur < prev {
		return 0
	}
	return min(100, float64(cur-prev)/1e4/dt)
}

// samplePressure reads /proc/pressure/{cpu,memory,io}. A kernel without PSI
// has no directory (no CONFIG_PSI) or refuses to open the files
// (EOPNOTSUPP: booted with psi=0); the snapshot then has no Pressure and the
// error says why. Pressure needs no privilege.
func (s *Sampler) samplePressure(snap *hoststat.Snapshot, dt float64) error {
	p := &hoststat.Pressure{}
	var errs []error
	readable := 0
	for _, r := range []struct {
		name string
		dst  *hoststat.PressureResource
		prev *hoststat.PressureResource
	}{{"cpu", &p.CPU, &s.prevPSI.CPU}, {"memory", &p.Memory, &s.prevPSI.Memory}, {"io", &p.IO, &s.prevPSI.IO}} {
		path := s.path("pressure", r.name)
		b, err := s.read(path)
		if err != nil {
			switch {
			case errors.Is(err, fs.ErrNotExist):
				err = fmt.Errorf("%s: kernel without pressure stall information (CONFIG_PSI)", path)
			case errors.Is(err, syscall.EOPNOTSUPP):
				err = fmt.Errorf("%s: pressure stall information disabled (boot with psi=1)", path)
			}
			errs = append(errs, err)
			continue
		}
		v, err := parsePressure(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("parse %s: %w", path, err))
			continue
		}
		v.Readable = true
		readable++
		if s.havePSI && r.prev.Readable {
			v.Some.StallPct = stallPct(r.prev.Some.TotalUs, v.Some.TotalUs, dt)
			v.Full.StallPct = stallPct(r.prev.Full.TotalUs, v.Full.TotalUs, dt)
		}
		*r.dst = v
	}
	s.prevPSI, s.havePSI = *p, true
	if readable > 0 {
		snap.Pressure = p
	}
	return errors.Join(errs...)
}
