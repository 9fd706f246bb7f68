package eve

import (
	"encoding/json"
	"testing"

	"github.com/opsdeck/opsdeck/internal/proto"
)

// FuzzAppendDNS parses arbitrary messages with proto.ParseDNS and checks
// that the hand encoder writes what encoding/json writes for them, grouped
// answers included, additionals and EDNS options, SSHFP, SOA and SRV
// objects whatever bytes they came from.
func FuzzAppendDNS(f *testing.F) {
	for _, s := range []string{
		// a.lab A request with an EDNS cookie, as dig sends it
		"\x25\x2d\x01\x20\x00\x01\x00\x00\x00\x00\x00\x01\x01a\x03lab\x00\x00\x01\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x0c\x00\x0a\x00\x08\x6d\x86\xab\x13\x02\x21\x9b\x30",
		// SSHFP, SRV and SOA answers, a glue A in additionals
		"\x00\x01\x81\x80\x00\x01\x00\x03\x00\x00\x00\x01\x01x\x03lab\x00\x00\x01\x00\x01" +
			"\xc0\x0c\x00\x2c\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x01\xab\xcd" +
			"\xc0\x0c\x00\x21\x00\x01\x00\x00\x00\x3c\x00\x08\x00\x01\x00\x02\x01\xbb\xc0\x0c" +
			"\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x3c\x00\x18\xc0\x0c\xc0\x0c\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05" +
			"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := proto.ParseDNS(b)
		if err != nil {
			return
		}
		got := appendDNS(nil, d)
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var g any
		var w map[string]any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		json.Unmarshal(want, &w)
		if gr := d.Grouped(); gr != nil {
			j, _ := json.Marshal(gr)
			var v any
			json.Unmarshal(j, &v)
			w["grouped"] = v
		}
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Fatalf("\n got %s\nwant %s", gb, wb)
		}
	})
}
