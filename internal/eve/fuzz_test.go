package eve

import (
	"encoding/json"
	"testing"
	"time"
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

// FuzzTimestampCache: the writer's two-second cache formats any sequence of
// times (any order, any zone, before 1970, past 9999) exactly as
// time.Format with Suricata's layout does.
func FuzzTimestampCache(f *testing.F) {
	f.Add(int64(1767258000), int64(19000), int64(1), int64(-1), int32(0))
	f.Add(int64(-1), int64(999999999), int64(86400), int64(-86401), int32(3600))
	f.Add(int64(253402300799), int64(0), int64(1), int64(0), int32(-7*3600))
	f.Fuzz(func(t *testing.T, sec, nsec, d1, d2 int64, zone int32) {
		var c tsCache
		loc := time.FixedZone("z", int(zone%(18*3600)))
		base := time.Unix(sec%(12000*365*86400), nsec%1e9).In(loc)
		for _, d := range []int64{0, d1, d2, d1, 0, d2, d1 + d2, 0} {
			ts := base.Add(time.Duration(d%(1e6*86400)) * time.Microsecond)
			if got, want := string(c.append(nil, ts)), ts.UTC().Format(TimeFormat); got != want {
				t.Fatalf("%v: %s, want %s", ts, got, want)
			}
		}
	})
}
