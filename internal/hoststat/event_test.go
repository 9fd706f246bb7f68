package hoststat

import (
	"encoding/json"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestHostEvent(t *testing.T) {
	s := &Snapshot{
		Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), IntervalS: 1.0004,
		Host:        Host{Hostname: "web1", UptimeS: 100.4},
		CPU:         CPU{Count: 2, Total: CPUTimes{Busy: 55.55, User: 50, System: 5.55, Idle: 44.45}, PerCore: []CPUTimes{{Busy: 100}, {Busy: 11.11}}},
		Memory:      Memory{Total: 1000, Available: 250, Used: 750},
		Load:        Load{Load1: 1.5},
		Disks:       []DiskIO{{Name: "vda", ReadBytesPerS: 1024.04}},
		Filesystems: []Filesystem{{Mount: "/", UsedPct: 12.345}},
		Interfaces:  []Interface{{Name: "eth0", RxBytesPerS: 10}},
		Processes: []Process{
			{PID: 3, Name: "c", CPUPct: 5}, {PID: 1, Name: "a", CPUPct: 50}, {PID: 2, Name: "b", CPUPct: 50}, {PID: 4, Name: "d"},
		},
		Sockets: []Socket{{Proto: "TCP", Local: netip.MustParseAddrPort("0.0.0.0:22"), State: StateListen}},
		Errors:  map[string]string{"sockets": "x"},
		Pressure: &Pressure{
			CPU:    PressureResource{Readable: true, Some: PressureLine{Avg10: 6.8, Avg60: 17.34, TotalUs: 338412880, StallPct: 12.345}},
			Memory: PressureResource{Readable: true, HasFull: true, Full: PressureLine{Avg10: 1.5, TotalUs: 9}},
		},
	}
	ev := HostEvent(s, 3)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, want := range []string{
		`"cpu":{"busy_pct":55.6,`, `"per_core_busy_pct":[100,11.1]`, `"available_pct":25`,
		`"load":{"load1":1.5,`, `"read_bytes_per_s":1024`, `"used_pct":12.3`, `"hostname":"web1"`,
		`"interval_s":1`, `"uptime_s":100`, `"errors":{"sockets":"x"}`,
		`"pressure":{"cpu":{"some":{"avg10":6.8,"avg300":0,"avg60":17.34,"stall_pct":12.3,"total_us":338412880}}`,
		`"memory":{"full":{"avg10":1.5,`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("event lacks %s:\n%s", want, js)
		}
	}
	if strings.Contains(js, `"io":`) {
		t.Errorf("unreadable io pressure written:\n%s", js)
	}
	procs := ev["processes"].([]map[string]any)
	if len(procs) != 3 || procs[0]["pid"] != int32(1) || procs[1]["pid"] != int32(2) || procs[2]["pid"] != int32(3) {
		t.Errorf("top processes = %v, want pids 1, 2 (tie by pid), 3", procs)
	}
	// Keys are snake_case.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				if strings.ToLower(k) != k || strings.ContainsAny(k, " -") {
					t.Errorf("key %q is not snake_case", k)
				}
				walk(vv)
			}
		case []map[string]any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(ev)
	if HostEvent(nil, 3) != nil {
		t.Error("HostEvent(nil) != nil")
	}
	if got := HostEvent(s, 0)["processes"].([]map[string]any); len(got) != 0 {
		t.Errorf("topN 0 gave %d processes", len(got))
	}
}

// Issue 19: the host event carries each process's nice value and unit,
// the sensors when the host has them, and a clock step; corrupt values
// do not break the encoder.
func TestHostEventSensorsUnitsClock(t *testing.T) {
	s := &Snapshot{
		Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), IntervalS: 1,
		Processes: []Process{{PID: 7, Name: "nginx", CPUPct: 9, Nice: -5, Unit: "nginx.service"}, {PID: 8, Name: "sh", CPUPct: 1, Nice: 10}},
		Sensors: &Sensors{
			CPUFreqMHz: []float64{2400.4, math.NaN(), 3899.6},
			Temps:      []Temp{{Chip: "coretemp", Label: "Package id 0", C: 62.04, HighC: 80, CritC: 100}, {Chip: "x", Label: "y", C: math.Inf(1)}},
			Batteries:  []Battery{{Name: "BAT0", CapacityPct: 87, Status: "Discharging", EnergyWh: 43.5, PowerW: math.NaN(), TimeLeftS: 12732}},
			Dropped:    2,
		},
		ClockStepS: -42.0004, SuspendedS: 3600,
	}
	b, err := json.Marshal(HostEvent(s, 5))
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, want := range []string{
		`"nice":-5`, `"unit":"nginx.service"`, `"nice":10`,
		`"cpu_freq_mhz":[2400,3900]`,
		`"temps":[{"c":62,"chip":"coretemp","crit_c":100,"high_c":80,"label":"Package id 0"}]`,
		`"batteries":[{"capacity_pct":87,"energy_wh":43.5,"name":"BAT0","status":"Discharging","time_left_s":12732}]`,
		`"dropped":2`, `"clock_step_s":-42`, `"suspended_s":3600`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("event lacks %s:\n%s", want, js)
		}
	}
	if strings.Count(js, `"unit"`) != 1 {
		t.Errorf("a process without a unit has one:\n%s", js)
	}
	s.Sensors, s.ClockStepS, s.SuspendedS = nil, 0, 0
	js2, _ := json.Marshal(HostEvent(s, 5))
	for _, no := range []string{"sensors", "clock_step_s", "suspended_s"} {
		if strings.Contains(string(js2), no) {
			t.Errorf("%s written for a host without it", no)
		}
	}
}
