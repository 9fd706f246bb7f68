package record

import (
	"testing"

	"github.com/opsdeck/opsdeck/internal/detect"
)

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Alert: "alert", AlertUpdate: "alert-update",
		ProtoEvent: "proto", FlowEnd: "flow-end", HostSample: "host", 0: "unknown", 99: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d) = %q, want %q", k, got, want)
		}
	}
}

func TestAlertKind(t *testing.T) {
	if k := AlertKind(&detect.Alert{}); k != Alert {
		t.Errorf("a new alert is %s", k)
	}
	if k := AlertKind(&detect.Alert{Update: true}); k != AlertUpdate {
		t.Errorf("an update is %s", k)
	}
}

func TestFunc(t *testing.T) {
	var got []Kind
	var s Subscriber = Func(func(r Record) { got = append(got, r.Kind) })
	s.Record(Record{Kind: FlowEnd})
	s.Record(Record{Kind: HostSample})
	if len(got) != 2 || got[0] != FlowEnd || got[1] != HostSample {
		t.Errorf("got %v", got)
	}
}
