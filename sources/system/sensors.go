package system

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// PartSensors is the key of sensor failures in Snapshot.Errors.
const PartSensors = "sensors"

// Bounds on what the sensors reader keeps.
const (
	maxSysAttr     = 4096 // a sysfs attribute is at most one page
	maxSensorText  = 48   // chip names, labels, battery names
	maxTemps       = 64
	maxBatteries   = 8
	maxFreqCPUs    = 4096
	sensorRescan   = 60 // samples between two scans of the sensor directories
	maxBatteryLeft = 7 * 24 * 3600
)

// parseSysInt parses a sysfs integer attribute: an optional sign and
// digits, then optional whitespace (the kernel ends every value with a
// newline).
func parseSysInt(b []byte) (int64, error) {
	t := bytes.TrimRight(b, " \t\n")
	if len(t) == 0 {
		return 0, errors.New("empty value")
	}
	n, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", clip(t))
	}
	return n, nil
}

// parseSysText parses a sysfs text attribute (a chip name, a label, a
// status): its first line without surrounding blanks, at most
// maxSensorText bytes. An empty one is an error.
func parseSysText(b []byte) (string, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return "", errors.New("empty text")
	}
	if len(line) > maxSensorText {
		line = line[:maxSensorText]
	}
	return string(line), nil
}

// parseMilliC parses a temperature in millidegrees Celsius, as hwmon's
// tempN_input and a thermal zone's temp give it
// (Documentation/hwmon/sysfs-interface.rst, ABI sysfs-class-thermal).
// Values below absolute zero or above 1000 °C are not temperatures:
// drivers report such numbers for absent sensors.
func parseMilliC(b []byte) (float64, error) {
	n, err := parseSysInt(b)
	if err != nil {
		return 0, err
	}
	if n < -273150 || n > 1000000 {
		return 0, fmt.Errorf("%d m°C is no temperature", n)
	}
	return float64(n) / 1000, nil
}

// parseFreqKHz parses cpufreq's scaling_cur_freq (kHz) into MHz.
func parseFreqKHz(b []byte) (float64, error) {
	n, err := parseSysInt(b)
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > 100_000_000 { // 100 GHz
		return 0, fmt.Errorf("%d kHz is no CPU frequency", n)
	}
	return float64(n) / 1000, nil
}

// batteryStatuses are the values ABI sysfs-class-power gives status.
var batteryStatuses = []string{"Unknown", "Charging", "Discharging", "Not charging", "Full"}

// parseBattery reads one power_supply directory's attributes (file name ->
// content; missing files absent). ok is false for anything that is not a
// system battery: mains, USB, and a peripheral's battery (scope Device).
// Energy comes from energy_now/energy_full (µWh) or, for drivers that
// report charge, charge_now/charge_full (µAh) times voltage_now (µV);
// power from power_now (µW) or current_now (µA) times voltage_now. A
// value that does not parse is left out.
func parseBattery(name string, attr map[string][]byte) (b hoststat.Battery, ok bool) {
	typ, _ := parseSysText(attr["type"])
	scope, _ := parseSysText(attr["scope"])
	if typ != "Battery" || scope == "Device" {
		return b, false
	}
	b.Name = name
	if len(b.Name) > maxSensorText {
		b.Name = b.Name[:maxSensorText]
	}
	num := func(k string) (float64, bool) {
		n, err := parseSysInt(attr[k])
		if err != nil {
			return 0, false
		}
		return float64(n), true
	}
	b.Status = "Unknown"
	if st, err := parseSysText(attr["status"]); err == nil && slices.Contains(batteryStatuses, st) {
		b.Status = st
	}
	volt, haveVolt := num("voltage_now")
	haveVolt = haveVolt && volt > 0
	wh := func(energy, charge string) float64 {
		if e, ok := num(energy); ok && e >= 0 {
			return e / 1e6
		}
		if c, ok := num(charge); ok && c >= 0 && haveVolt {
			return c * volt / 1e12
		}
		return 0
	}
	b.EnergyWh, b.FullWh = wh("energy_now", "charge_now"), wh("energy_full", "charge_full")
	if p, ok := num("power_now"); ok {
		b.PowerW = math.Abs(p) / 1e6 // some drivers sign it by direction
	} else if c, ok := num("current_now"); ok && haveVolt {
		b.PowerW = math.Abs(c) * volt / 1e12
	}
	if c, ok := num("capacity"); ok && c >= 0 && c <= 100 {
		b.CapacityPct = c
	} else if b.FullWh > 0 {
		b.CapacityPct = min(100, 100*b.EnergyWh/b.FullWh)
	}
	if b.PowerW > 0 {
		var left float64
		switch b.Status {
		case "Discharging":
			left = b.EnergyWh / b.PowerW * 3600
		case "Charging":
			left = max(b.FullWh-b.EnergyWh, 0) / b.PowerW * 3600
		}
		if left > 0 && left <= maxBatteryLeft {
			b.TimeLeftS = math.Round(left)
		}
	}
	for _, v := range []*float64{&b.EnergyWh, &b.FullWh, &b.PowerW} {
		if math.IsInf(*v, 0) || math.IsNaN(*v) {
			*v = 0
		}
	}
	return b, true
}

// sensorPaths are the sensor files found by the last scan of /sys; values
// are read from them every sample, the directories walked only every
// sensorRescan samples (or when a file went away).
type sensorPaths struct {
	scanned bool
	age     int
	freq    []string
	temps   []tempPath
	bats    []batPath
	dropped int
}

// batPath is one system battery found by the scan and which of
// batteryAttrs its driver provides (type and scope do not change, so
// mains adapters and peripherals are not read every sample).
type batPath struct {
	dir   string
	attrs []string
}

type tempPath struct {
	chip, label      string
	input, max, crit string
}

// numSuffix orders "cpu10" after "cpu9", "temp10_input" after "temp9_input".
func numSuffix(name, prefix string) (int, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	return n, err == nil
}

// scanSensors finds the sensor files under root (a /sys tree).
func (s *Sampler) scanSensors(root string) sensorPaths {
	var sp sensorPaths
	sp.scanned = true
	// CPU frequencies.
	cpuDir := root + "/devices/system/cpu"
	if ents, err := os.ReadDir(cpuDir); err == nil {
		type cpu struct {
			n    int
			path string
		}
		var cpus []cpu
		for _, e := range ents {
			n, ok := numSuffix(e.Name(), "cpu")
			if !ok || "cpu"+strconv.Itoa(n) != e.Name() {
				continue
			}
			p := cpuDir + "/" + e.Name() + "/cpufreq/scaling_cur_freq"
			if _, err := os.Stat(p); err != nil {
				continue
			}
			if len(cpus) >= maxFreqCPUs {
				sp.dropped++
				continue
			}
			cpus = append(cpus, cpu{n, p})
		}
		slices.SortFunc(cpus, func(a, b cpu) int { return a.n - b.n })
		for _, c := range cpus {
			sp.freq = append(sp.freq, c.path)
		}
	}
	// hwmon chips and their temperature inputs.
	chips := map[string]bool{}
	hw := root + "/class/hwmon"
	if ents, err := os.ReadDir(hw); err == nil {
		slices.SortFunc(ents, func(a, b os.DirEntry) int {
			x, _ := numSuffix(a.Name(), "hwmon")
			y, _ := numSuffix(b.Name(), "hwmon")
			return x - y
		})
		for _, e := range ents {
			dir := hw + "/" + e.Name()
			chip := e.Name()
			if b, _, err := s.readPrefix(dir+"/name", maxSysAttr); err == nil {
				if n, err := parseSysText(b); err == nil {
					chip = n
				}
			}
			files, err := os.ReadDir(dir)
			if err != nil {
				continue
			}
			var ins []int
			for _, f := range files {
				if n, ok := numSuffix(f.Name(), "temp"); ok && f.Name() == "temp"+strconv.Itoa(n)+"_input" {
					ins = append(ins, n)
				}
			}
			slices.Sort(ins)
			for _, n := range ins {
				if len(sp.temps) >= maxTemps {
					sp.dropped++
					continue
				}
				base := dir + "/temp" + strconv.Itoa(n)
				label := "temp" + strconv.Itoa(n)
				if b, _, err := s.readPrefix(base+"_label", maxSysAttr); err == nil {
					if l, err := parseSysText(b); err == nil {
						label = l
					}
				}
				sp.temps = append(sp.temps, tempPath{chip: chip, label: label, input: base + "_input", max: base + "_max", crit: base + "_crit"})
				chips[chip] = true
			}
		}
	}
	// Thermal zones that no hwmon chip reports already (the kernel
	// registers most zones as hwmon chips named after their type).
	th := root + "/class/thermal"
	if ents, err := os.ReadDir(th); err == nil {
		var zones []int
		for _, e := range ents {
			if n, ok := numSuffix(e.Name(), "thermal_zone"); ok && e.Name() == "thermal_zone"+strconv.Itoa(n) {
				zones = append(zones, n)
			}
		}
		slices.Sort(zones)
		for _, n := range zones {
			dir := th + "/thermal_zone" + strconv.Itoa(n)
			typ := "thermal_zone" + strconv.Itoa(n)
			if b, _, err := s.readPrefix(dir+"/type", maxSysAttr); err == nil {
				if t, err := parseSysText(b); err == nil {
					typ = t
				}
			}
			if chips[typ] {
				continue
			}
			if len(sp.temps) >= maxTemps {
				sp.dropped++
				continue
			}
			sp.temps = append(sp.temps, tempPath{chip: typ, label: "zone " + strconv.Itoa(n), input: dir + "/temp"})
		}
	}
	// Batteries: every power supply is looked at, not only BAT*, since
	// drivers name them as they like (CMB0, macsmc-battery).
	ps := root + "/class/power_supply"
	if ents, err := os.ReadDir(ps); err == nil {
		for _, e := range ents { // sorted by name
			dir := ps + "/" + e.Name()
			attr := map[string][]byte{}
			for _, a := range []string{"type", "scope"} {
				if b, _, err := s.readPrefix(dir+"/"+a, maxSysAttr); err == nil {
					attr[a] = bytes.Clone(b)
				}
			}
			if _, ok := parseBattery(e.Name(), attr); !ok {
				continue
			}
			if len(sp.bats) >= maxBatteries {
				sp.dropped++
				continue
			}
			bp := batPath{dir: dir}
			for _, a := range batteryAttrs {
				if _, err := os.Stat(dir + "/" + a); err == nil {
					bp.attrs = append(bp.attrs, a)
				}
			}
			sp.bats = append(sp.bats, bp)
		}
	}
	return sp
}

// batteryAttrs are the power_supply files parseBattery reads.
var batteryAttrs = []string{"type", "scope", "status", "capacity", "energy_now", "energy_full",
	"charge_now", "charge_full", "power_now", "current_now", "voltage_now"}

// sampleSensors reads CPU frequencies, temperatures and batteries from
// SysRoot. A host with none (a VM, a container) has no Sensors and no
// error: there is nothing to report. A sensor that reads no value (a
// powered-down device answers ENODATA or EIO) is left out of this sample.
func (s *Sampler) sampleSensors(snap *hoststat.Snapshot) error {
	sp := &s.sensors
	if !sp.scanned || sp.age >= sensorRescan {
		*sp = s.scanSensors(s.SysRoot)
	}
	sp.age++
	var out hoststat.Sensors
	var errs []error
	gone := false
	read := func(p string) ([]byte, bool) {
		b, _, err := s.readPrefix(p, maxSysAttr)
		if err != nil {
			gone = gone || errors.Is(err, os.ErrNotExist)
			return nil, false
		}
		return b, true
	}
	for _, p := range sp.freq {
		if b, ok := read(p); ok {
			f, err := parseFreqKHz(b)
			if err != nil {
				errs = append(errs, fmt.Errorf("parse %s: %w", p, err))
				continue
			}
			out.CPUFreqMHz = append(out.CPUFreqMHz, f)
		}
	}
	for _, t := range sp.temps {
		b, ok := read(t.input)
		if !ok {
			continue
		}
		c, err := parseMilliC(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("parse %s: %w", t.input, err))
			continue
		}
		v := hoststat.Temp{Chip: t.chip, Label: t.label, C: c}
		for _, lim := range []struct {
			path string
			dst  *float64
		}{{t.max, &v.HighC}, {t.crit, &v.CritC}} {
			if lim.path == "" {
				continue
			}
			if b, _, err := s.readPrefix(lim.path, maxSysAttr); err == nil {
				if x, err := parseMilliC(b); err == nil && x > 0 {
					*lim.dst = x
				}
			}
		}
		out.Temps = append(out.Temps, v)
	}
	for _, bp := range sp.bats {
		attr := make(map[string][]byte, len(bp.attrs))
		for _, a := range bp.attrs {
			if b, ok := read(bp.dir + "/" + a); ok {
				attr[a] = bytes.Clone(b)
			}
		}
		if b, ok := parseBattery(filepath.Base(bp.dir), attr); ok {
			out.Batteries = append(out.Batteries, b)
		}
	}
	if gone {
		sp.age = sensorRescan // hot-unplugged: look again next sample
	}
	out.Dropped = sp.dropped
	if len(out.CPUFreqMHz)+len(out.Temps)+len(out.Batteries) > 0 {
		snap.Sensors = &out
	}
	return errors.Join(errs...)
}
