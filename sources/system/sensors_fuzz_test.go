package system

import (
	"math"
	"testing"
)

// FuzzSensorAttr feeds one sysfs attribute's bytes to every sensor parser
// and, as every attribute at once, to the battery parser: no panic, and
// what comes out is in range and finite.
func FuzzSensorAttr(f *testing.F) {
	for _, seed := range []string{"62000\n", "-273150\n", "3900000\n", "Package id 0\n", "Discharging\n",
		"Battery\n", "9223372036854775807\n", "-9223372036854775808", "", "\n\n", "1e3", "\x00\xff"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := parseMilliC(b); err == nil && (c < -273.15 || c > 1000) {
			t.Errorf("temperature %v out of range", c)
		}
		if mhz, err := parseFreqKHz(b); err == nil && (mhz <= 0 || mhz > 100000) {
			t.Errorf("frequency %v out of range", mhz)
		}
		if s, err := parseSysText(b); err == nil && (s == "" || len(s) > maxSensorText) {
			t.Errorf("text %q", s)
		}
		attr := map[string][]byte{"type": []byte("Battery\n")}
		for _, k := range batteryAttrs[1:] {
			attr[k] = b
		}
		bat, ok := parseBattery(string(b), attr)
		if !ok {
			return
		}
		for _, v := range []float64{bat.CapacityPct, bat.EnergyWh, bat.FullWh, bat.PowerW, bat.TimeLeftS} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Errorf("battery value %v in %+v", v, bat)
			}
		}
		if bat.CapacityPct > 100 || bat.TimeLeftS > maxBatteryLeft || len(bat.Name) > maxSensorText {
			t.Errorf("battery %+v", bat)
		}
	})
}
