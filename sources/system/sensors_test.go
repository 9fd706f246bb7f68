package system

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hoststat"
	"github.com/shirou/gopsutil/v3/host"
)

// The fixture tree testdata/sensors follows the kernel's documented formats
// (Documentation/hwmon/sysfs-interface.rst, ABI sysfs-class-thermal,
// sysfs-class-power, cpufreq's scaling_cur_freq in kHz): the machine these
// tests were written on (a VM) has no cpufreq, hwmon, thermal zone or
// battery to copy from.
func TestSensorsFixture(t *testing.T) {
	s := &Sampler{SysRoot: "testdata/sensors"}
	s.setup()
	snap := &hoststat.Snapshot{}
	if err := s.sampleSensors(snap); err != nil {
		t.Fatal(err)
	}
	se := snap.Sensors
	if se == nil {
		t.Fatal("no sensors")
	}
	if want := []float64{2400, 3900, 800}; !reflect.DeepEqual(se.CPUFreqMHz, want) {
		t.Errorf("frequencies %v, want %v (cpu0, cpu1, cpu10 in CPU order)", se.CPUFreqMHz, want)
	}
	wantT := []hoststat.Temp{
		{Chip: "coretemp", Label: "Package id 0", C: 62, HighC: 80, CritC: 100},
		{Chip: "coretemp", Label: "Core 0", C: 58, HighC: 80, CritC: 100},
		{Chip: "nvme", Label: "Composite", C: 41.85, HighC: 84.85, CritC: 84.85},
		{Chip: "acpitz", Label: "temp1", C: 27.8, CritC: 119},
		// thermal_zone0 (acpitz) is hwmon2 already; zone 1 is not.
		{Chip: "x86_pkg_temp", Label: "zone 1", C: 63},
	}
	if !reflect.DeepEqual(se.Temps, wantT) {
		t.Errorf("temps\n got %+v\nwant %+v", se.Temps, wantT)
	}
	wantB := []hoststat.Battery{
		{Name: "BAT0", CapacityPct: 87, Status: "Discharging", EnergyWh: 43.5, FullWh: 50, PowerW: 12.3, TimeLeftS: 12732},
		{Name: "CMB0", CapacityPct: 50, Status: "Charging", EnergyWh: 24, FullWh: 48, PowerW: 18, TimeLeftS: 4800},
	}
	if !reflect.DeepEqual(se.Batteries, wantB) {
		t.Errorf("batteries (no AC, no mouse)\n got %+v\nwant %+v", se.Batteries, wantB)
	}
	if se.Dropped != 0 {
		t.Errorf("dropped %d", se.Dropped)
	}
}

// TestSensorsNone: a VM or container with none of them has no Sensors and
// no error.
func TestSensorsNone(t *testing.T) {
	s := &Sampler{SysRoot: "testdata/nosys"}
	s.setup()
	snap := &hoststat.Snapshot{}
	if err := s.sampleSensors(snap); err != nil || snap.Sensors != nil {
		t.Errorf("sensors %+v, error %v", snap.Sensors, err)
	}
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, v := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSensorsHostile: a tree written by someone else (a fixture root, a
// buggy driver): bounded lists, clipped text, bad values reported and left
// out, sensors that go away skipped and looked for again.
func TestSensorsHostile(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"devices/system/cpu/cpu0/cpufreq/scaling_cur_freq": "-5\n",
		"devices/system/cpu/cpu1/cpufreq/scaling_cur_freq": "1200000\n",
		"class/hwmon/hwmon1/name":                          strings.Repeat("n", 10000) + "\x1b[31m",
		"class/hwmon/hwmon0/name":                          "bad\n",
		"class/hwmon/hwmon0/temp1_input":                   "99999999999\n",
		"class/hwmon/hwmon0/temp2_input":                   "1e3\n",
		"class/hwmon/hwmon0/temp3_input":                   "\n",
		"class/power_supply/BAT1/type":                     "Battery\n",
		"class/power_supply/BAT1/status":                   "Exploding\x1b[2J\n",
		"class/power_supply/BAT1/capacity":                 "250\n",
		"class/power_supply/BAT1/energy_now":               "9223372036854775807\n",
		"class/power_supply/BAT1/energy_full":              "1\n",
		"class/power_supply/BAT1/power_now":                "0\n",
	}
	for i := 1; i <= maxTemps+6; i++ {
		files[filepath.Join("class/hwmon/hwmon1", "temp"+itoa(i)+"_input")] = "40000\n"
	}
	for i := 0; i < maxBatteries+2; i++ {
		files["class/power_supply/zz"+itoa(i)+"/type"] = "Battery\n"
		files["class/power_supply/ac"+itoa(i)+"/type"] = "Mains\n" // not a battery: not followed, not counted
	}
	writeTree(t, root, files)
	s := &Sampler{SysRoot: root}
	s.setup()
	snap := &hoststat.Snapshot{}
	err := s.sampleSensors(snap)
	if err == nil || !strings.Contains(err.Error(), "no CPU frequency") || !strings.Contains(err.Error(), "no temperature") ||
		!strings.Contains(err.Error(), "not an integer") || !strings.Contains(err.Error(), "empty value") {
		t.Errorf("error %v does not name each bad value", err)
	}
	se := snap.Sensors
	if se == nil {
		t.Fatal("no sensors")
	}
	if !reflect.DeepEqual(se.CPUFreqMHz, []float64{1200}) {
		t.Errorf("frequencies %v", se.CPUFreqMHz)
	}
	// 73 temperature inputs: 64 followed (3 of them unreadable values,
	// reported above), 9 dropped; 11 batteries: 8 followed, 3 dropped.
	if len(se.Temps) != maxTemps-3 || se.Dropped != 9+3 {
		t.Errorf("%d temps, %d dropped; want the bound %d less the 3 bad and 12 counted", len(se.Temps), se.Dropped, maxTemps)
	}
	if c := se.Temps[0].Chip; len(c) != maxSensorText {
		t.Errorf("chip name of %d bytes, want clipped to %d", len(c), maxSensorText)
	}
	if len(se.Batteries) != maxBatteries || se.Batteries[0].Name != "BAT1" {
		t.Fatalf("batteries %+v", se.Batteries)
	}
	b := se.Batteries[0]
	if b.Status != "Unknown" || b.CapacityPct != 100 || b.TimeLeftS != 0 || math.IsInf(b.EnergyWh, 0) {
		t.Errorf("battery %+v", b)
	}
	// A sensor that goes away is skipped, and the tree is scanned again.
	if err := os.Remove(filepath.Join(root, "class/hwmon/hwmon1/temp1_input")); err != nil {
		t.Fatal(err)
	}
	snap = &hoststat.Snapshot{}
	_ = s.sampleSensors(snap)
	if len(snap.Sensors.Temps) != maxTemps-4 || s.sensors.age != sensorRescan {
		t.Errorf("%d temps after unplug, rescan age %d", len(snap.Sensors.Temps), s.sensors.age)
	}
	snap = &hoststat.Snapshot{}
	_ = s.sampleSensors(snap)
	if len(snap.Sensors.Temps) != maxTemps-3 {
		t.Errorf("%d temps after the rescan, want the bound again", len(snap.Sensors.Temps))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestParseBattery(t *testing.T) {
	tests := []struct {
		name string
		attr map[string]string
		ok   bool
		want hoststat.Battery
	}{
		{"mains", map[string]string{"type": "Mains\n", "online": "1\n"}, false, hoststat.Battery{}},
		{"a mouse", map[string]string{"type": "Battery\n", "scope": "Device\n", "capacity": "40\n"}, false, hoststat.Battery{}},
		{"full on AC", map[string]string{"type": "Battery\n", "status": "Full\n", "capacity": "100\n", "energy_now": "50000000\n", "energy_full": "50000000\n", "power_now": "0\n"},
			true, hoststat.Battery{Name: "B", CapacityPct: 100, Status: "Full", EnergyWh: 50, FullWh: 50}},
		{"signed power while discharging", map[string]string{"type": "Battery\n", "status": "Discharging\n", "capacity": "50\n", "energy_now": "36000000\n", "power_now": "-36000000\n"},
			true, hoststat.Battery{Name: "B", CapacityPct: 50, Status: "Discharging", EnergyWh: 36, PowerW: 36, TimeLeftS: 3600}},
		{"a trickle is no estimate", map[string]string{"type": "Battery\n", "status": "Discharging\n", "energy_now": "36000000\n", "power_now": "1\n"},
			true, hoststat.Battery{Name: "B", Status: "Discharging", EnergyWh: 36, PowerW: 1e-6}},
		{"nothing but the type", map[string]string{"type": "Battery\n"}, true, hoststat.Battery{Name: "B", Status: "Unknown"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attr := map[string][]byte{}
			for k, v := range tc.attr {
				attr[k] = []byte(v)
			}
			got, ok := parseBattery("B", attr)
			if ok != tc.ok || (ok && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("got %+v ok=%v, want %+v ok=%v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseSensorValues(t *testing.T) {
	for _, tc := range []struct {
		in       string
		c, mhz   float64
		cOK, fOK bool
	}{
		{"45000\n", 45, 45, true, true},
		{"-12500\n", -12.5, 0, true, false},
		{"0\n", 0, 0, true, false},
		{"-273150", -273.15, 0, true, false},
		{"-273151", 0, 0, false, false},
		{"1000001", 0, 1000.001, false, true},
		{"3900000 \n", 1000, 3900, false, true},
		{"", 0, 0, false, false},
		{"0x10\n", 0, 0, false, false},
		{"12 34\n", 0, 0, false, false},
	} {
		c, err := parseMilliC([]byte(tc.in))
		if (err == nil) != tc.cOK || (tc.cOK && c != tc.c) {
			t.Errorf("parseMilliC(%q) = %v, %v", tc.in, c, err)
		}
		f, err := parseFreqKHz([]byte(tc.in))
		if (err == nil) != tc.fOK || (tc.fOK && f != tc.mhz) {
			t.Errorf("parseFreqKHz(%q) = %v, %v", tc.in, f, err)
		}
	}
}

// Elsewhere than Linux, gopsutil's temperatures are used, with the same
// bounds and range checks.
func TestSensorsFromGopsutil(t *testing.T) {
	var ts []host.TemperatureStat
	ts = append(ts, host.TemperatureStat{SensorKey: "TC0P", Temperature: 55, High: 90, Critical: 105},
		host.TemperatureStat{SensorKey: "absent", Temperature: -300},
		host.TemperatureStat{SensorKey: "nan", Temperature: math.NaN()})
	for i := 0; i < maxTemps+5; i++ {
		ts = append(ts, host.TemperatureStat{SensorKey: strings.Repeat("k", 100), Temperature: 40, High: 5000})
	}
	se := sensorsFromGopsutil(ts)
	if se == nil || len(se.Temps) != maxTemps || se.Dropped != 6 {
		t.Fatalf("sensors %+v", se)
	}
	if se.Temps[0] != (hoststat.Temp{Chip: "TC0P", Label: "TC0P", C: 55, HighC: 90, CritC: 105}) || len(se.Temps[1].Chip) != maxSensorText || se.Temps[1].HighC != 0 {
		t.Errorf("temps %+v %+v", se.Temps[0], se.Temps[1])
	}
	if sensorsFromGopsutil(nil) != nil {
		t.Error("no temperatures gave sensors")
	}
}

// BenchmarkSensors is one sample's sensor reads on the fixture laptop (3
// CPUs, 5 temperatures, 4 power supplies), the directory scan amortised
// over sensorRescan samples as in use.
func BenchmarkSensors(b *testing.B) {
	s := &Sampler{SysRoot: "testdata/sensors"}
	s.setup()
	b.ReportAllocs()
	for b.Loop() {
		snap := &hoststat.Snapshot{}
		if err := s.sampleSensors(snap); err != nil || snap.Sensors == nil {
			b.Fatal(err)
		}
	}
}
