package proto

import (
	"encoding/json"
	"os"
	"testing"
)

func TestDump(t *testing.T) {
	name := os.Getenv("DUMP")
	if name == "" {
		t.Skip("set DUMP=file")
	}
	for _, e := range runPcap(t, name, &Config{ShowSecrets: true}) {
		b, _ := json.Marshal(e.Event)
		t.Logf("%d %s %s", e.PcapCnt, e.Type, b)
		if e.Cred != nil {
			t.Logf("   cred %+v", *e.Cred)
		}
	}
}
