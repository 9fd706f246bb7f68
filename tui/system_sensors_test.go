package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// sensorSnapshot is the fixture of the other goldens on a laptop: CPU
// frequencies, temperatures from hwmon and a thermal zone, a battery.
func sensorSnapshot(evil string) *engine.Snapshot {
	snap := fixtureSnapshot("")
	h := *snap.Host.Latest
	h.Sensors = &hoststat.Sensors{
		CPUFreqMHz: []float64{2400, 3900, 800, 1200},
		Temps: []hoststat.Temp{
			{Chip: "coretemp", Label: "Package id 0" + evil, C: 74, HighC: 80, CritC: 100},
			{Chip: "coretemp", Label: "Core 0", C: 58, HighC: 80, CritC: 100},
			{Chip: "nvme", Label: "Composite", C: 41.85, HighC: 84.85, CritC: 84.85},
			{Chip: "acpitz", Label: "temp1", C: 27.8, CritC: 119},
			{Chip: "x86_pkg_temp", Label: "zone 1", C: 93},
		},
		Batteries: []hoststat.Battery{{Name: "BAT0" + evil, CapacityPct: 18, Status: "Discharging", EnergyWh: 9, PowerW: 12.3, TimeLeftS: 2634}},
	}
	snap.Host.Latest = &h
	return snap
}

// TestViewGoldenSensors: the zoomed system pane of a laptop at the three
// sizes. (The other goldens' host has no sensors, so their rows are absent
// there: a row appears only when there is something to show.)
func TestViewGoldenSensors(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
		name := fmt.Sprintf("system_sensors_%dx%d", sz[0], sz[1])
		t.Run(name, func(t *testing.T) {
			m := newTestModel(sensorSnapshot(""), sz[0], sz[1], asciiRenderer())
			press(m, "1", "z")
			v := m.View()
			checkSize(t, v, sz[0], sz[1])
			checkGolden(t, name, v)
		})
	}
}

func TestSystemSensorRows(t *testing.T) {
	// Present: battery, hottest temperature first, the frequency range.
	m := newTestModel(sensorSnapshot(""), 120, 40, asciiRenderer())
	press(m, "1", "z")
	v := m.View()
	for _, want := range []string{"Bat  BAT0 18% discharging 12.3W 43m54s left", "Temp x86_pkg_temp 93C  Package id 0 74C  Core 0 58C",
		"Freq 2.08 GHz avg  min 0.80 GHz  max 3.90 GHz"} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q in\n%s", want, v)
		}
	}
	// Absent: no row, not an empty one.
	m = newTestModel(fixtureSnapshot(""), 120, 40, asciiRenderer())
	press(m, "1", "z")
	for _, no := range []string{"Bat ", "Temp ", "Freq "} {
		if strings.Contains(m.View(), no) {
			t.Errorf("a %q row without sensors", no)
		}
	}
	// Names from /sys pass through textsafe; a narrow pane clips, never
	// wraps or overflows.
	evil := "\x1b]52;c;cGF3bmVk\x07\x1b[2J"
	for _, w := range []int{40, 80} {
		m = newTestModel(sensorSnapshot(evil), w, 24, asciiRenderer())
		press(m, "1", "z")
		v = m.View()
		checkSize(t, v, w, 24)
		if strings.Contains(v, "\x1b]52") || strings.Contains(v, "\x1b[2J") {
			t.Errorf("escape sequence from a sensor name reached the screen at %d columns", w)
		}
	}
}
