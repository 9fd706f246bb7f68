package detect

import (
	"os"
	"testing"
)

func TestDumpAlerts(t *testing.T) {
	f := os.Getenv("DETECT_DUMP")
	if f == "" {
		t.Skip("set DETECT_DUMP=<corpus file> to list its alerts")
	}
	for _, a := range runCapture(t, f, DefaultConfig()) {
		t.Logf("%s sev=%d upd=%v sup=%d %s->%s:%d %v", a.Rule.Name, a.Severity, a.Update, a.Suppressed, a.Src, a.Dst, a.DstPort, a.Signature)
	}
}
