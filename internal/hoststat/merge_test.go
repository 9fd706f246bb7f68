package hoststat

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestMergeSockets(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	full := &Snapshot{Time: t0, IntervalS: 1, CPU: CPU{Total: CPUTimes{Busy: 42}}, Processes: []Process{{PID: 7, Name: "sshd"}},
		Sockets: []Socket{{PID: 7, Process: "sshd"}}, LocalAddrs: []netip.Addr{a}, SocketsRepeated: true,
		Errors: map[string]string{"sensors": "none"}}
	refresh := &Snapshot{Time: t0.Add(300 * time.Millisecond), Partial: true, Sockets: []Socket{{PID: 9, Process: "curl"}},
		LocalAddrs: []netip.Addr{a, b}, SocketOwnersComplete: true, Errors: map[string]string{"sockets": "partial"}}

	m := MergeSockets(full, refresh)
	want := *full
	want.Time, want.Partial, want.Sockets, want.LocalAddrs = refresh.Time, true, refresh.Sockets, refresh.LocalAddrs
	want.SocketOwnersComplete, want.SocketsRepeated = true, false
	want.Errors = map[string]string{"sensors": "none", "sockets": "partial"}
	if !reflect.DeepEqual(m, &want) {
		t.Errorf("merged\n got %+v\nwant %+v", m, &want)
	}
	if len(full.Errors) != 1 || full.Partial || full.Time != t0 {
		t.Errorf("the full sample changed: %+v", full)
	}

	tests := []struct {
		name          string
		full, refresh *Snapshot
		want          *Snapshot
	}{
		{"no full sample yet", nil, refresh, nil},
		{"a full sample passes", full, full, full},
		{"nil", full, nil, nil},
	}
	for _, tt := range tests {
		if got := MergeSockets(tt.full, tt.refresh); got != tt.want {
			t.Errorf("%s: got %p, want %p", tt.name, got, tt.want)
		}
	}
	// A refresh that could not read the addresses keeps the full sample's.
	r2 := *refresh
	r2.LocalAddrs, r2.Errors = nil, nil
	if m := MergeSockets(full, &r2); !reflect.DeepEqual(m.LocalAddrs, full.LocalAddrs) || !reflect.DeepEqual(m.Errors, full.Errors) {
		t.Errorf("addresses %v errors %v, want the full sample's", m.LocalAddrs, m.Errors)
	}
}
