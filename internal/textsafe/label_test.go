package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLabel(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain kept", "eth0", 64, "eth0"},
		{"non-UTF-8 interface name", "\xff\x01x", 64, `\xff\x01x`},
		{"escape sequence in a mount point", "/mnt/\x1b[31mred", 64, `/mnt/\x1b[31mred`},
		{"newline cannot end a label", "lo\n", 64, `lo\n`},
		{"bidi override", "a\u202eb", 64, `a\u202eb`},
		{"wide text kept", "データ", 64, "データ"},
		{"cut with ellipsis", strings.Repeat("a", 10), 8, "aaaaa…"},
		{"exact fit", strings.Repeat("a", 8), 8, strings.Repeat("a", 8)},
		{"cut never splits a character", "aaaaé", 8, "aaaaé"},
		{"cut before a multibyte character", "aaaaaéé", 8, "aaaaa…"},
		{"escapes count toward the bound", "\xff\xff\xff", 8, `\xff…`},
		{"bound below the ellipsis", "abcdef", 2, "ab"},
		{"zero", "abc", 0, ""},
		{"negative", "abc", -1, ""},
		{"empty", "", 10, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Label(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("Label(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			checkLabel(t, tc.in, tc.max, got)
		})
	}
}

// A huge input costs no more than its first maxBytes+1 bytes.
func TestLabelLongInputIsBounded(t *testing.T) {
	long := strings.Repeat("\x1b", 1<<20)
	allocs := testing.AllocsPerRun(10, func() { Label(long, 64) })
	got := Label(long, 64)
	if len(got) > 64 || !strings.HasSuffix(got, Ellipsis) {
		t.Errorf("Label of 1 MiB = %q", got)
	}
	if allocs > 10 {
		t.Errorf("Label of 1 MiB made %v allocations", allocs)
	}
}

// checkLabel is Label's contract.
func checkLabel(t *testing.T, s string, max int, got string) {
	t.Helper()
	if !utf8.ValidString(got) {
		t.Fatalf("Label(%q, %d) = %q is not valid UTF-8", s, max, got)
	}
	for _, r := range got {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			t.Fatalf("Label(%q, %d) = %q contains %U", s, max, got, r)
		}
	}
	if max < 0 {
		max = 0
	}
	if len(got) > max {
		t.Fatalf("Label(%q, %d) = %q is %d bytes", s, max, got, len(got))
	}
	if Clean(got) != got {
		t.Fatalf("Label(%q, %d) = %q is not clean: %q", s, max, got, Clean(got))
	}
	if c := Clean(s); len(c) <= max && got != c {
		t.Fatalf("Label(%q, %d) = %q, but Clean's %q fits", s, max, got, c)
	}
}

func FuzzLabel(f *testing.F) {
	for _, s := range []string{
		"", "eth0", "\xff\x01x", "/mnt/\xff\xfe", "veth\x1b[2J", "lo\n", "a\u202eb",
		"/home/u/\U0001F1FA\U0001F1F8", "e\u0301e\u0301e\u0301", "한\u1161\u11a8",
	} {
		f.Add(s, 8)
		f.Add(s, 256)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 1024
		checkLabel(t, s, max, Label(s, max))
	})
}
