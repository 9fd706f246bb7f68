package eve

import (
	"encoding/json"
	"testing"
)

// FuzzAppendString: every string that came off the wire (DNS names, SNI,
// user agents, user names) must come out of the hand-written JSON escaper
// as valid JSON that decodes to what encoding/json would have produced.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x1f\x7f", "\xff\xfe", "\xed\xa0\x80",
		"\u2028\u2029", "<script>&", "日本語", "\x1b]52;c;aGk=\x07", "e\u0301\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		if !json.Valid(got) {
			t.Fatalf("appendString(%q) = %s is not valid JSON", s, got)
		}
		var a, b string
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(s)
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("appendString(%q) decodes to %q, encoding/json to %q", s, a, b)
		}
		for _, c := range got {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("appendString(%q) = %q holds raw control byte %#x", s, got, c)
			}
		}
	})
}
