package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/mattn/go-runewidth"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"ascii", "www.example.com", "www.example.com"},
		{"csi clear screen", "a\x1b[2Jb", `a\x1b[2Jb`},
		{"osc title with bel", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"osc 52 clipboard", "\x1b]52;c;cm0gLXJmIH4=\x1b\\", `\x1b]52;c;cm0gLXJmIH4=\x1b\`},
		{"tab newline cr", "a\tb\nc\rd", `a\tb\nc\rd`},
		{"nul and del", "a\x00b\x7f", `a\x00b\x7f`},
		{"c1 csi as utf8", "a\u009b31mb", `a\u009b31mb`},
		{"c1 nel", "x\u0085y", `x\u0085y`},
		{"raw c1 byte is invalid utf8", "a\x9bb", `a\x9bb`},
		{"invalid utf8", "ok\xff\xfe", `ok\xff\xfe`},
		{"truncated utf8", "\xe6\x97", `\xe6\x97`},
		{"bidi override", "invoice\u202egnp.exe", `invoice\u202egnp.exe`},
		{"bidi isolates", "\u2066a\u2069\u2067b\u2068c", `\u2066a\u2069\u2067b\u2068c`},
		{"lrm rlm alm", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"zero width space and joiner", "a\u200bb\u200dc", `a\u200bb\u200dc`},
		{"bom", "\ufeffhi", `\ufeffhi`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"soft hyphen", "a\u00adb", `a\u00adb`},
		{"tag characters", "x\U000E0041", `x\U000e0041`},
		{"private use", "\ue000", `\ue000`},
		{"variation selector 16", "\u2764\ufe0f", `❤\ufe0f`},
		{"flag", "\U0001F1FA\U0001F1F8", `\U0001f1fa\U0001f1f8`},
		{"wide kept", "日本語", "日本語"},
		{"combining kept", "e\u0301", "e\u0301"},
		{"latin kept", "Grüße ñ", "Grüße ñ"},
		{"emoji kept", "🙂", "🙂"},
		{"nbsp kept", "a\u00a0b", "a\u00a0b"},
		{"backslash kept", `C:\x1b`, `C:\x1b`},
		{"hangul jamo cluster", "\u115c\u1161", `\u115c\u1161`},
		{"hangul syllable kept", "한", "한"},
		{"prepended mark", "\u0d4e0", `\u0d4e0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clean(tt.in)
			if got != tt.want {
				t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := Clean(got); again != got {
				t.Errorf("Clean not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestWidth(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"日本", 4},
		{"e\u0301", 1},
		{"\x1b", 4},   // \x1b
		{"\u202e", 6}, // \u202e
		{"\xff", 4},   // \xff
		{"🙂", 2},
		{"a\x1b[31mb", 10}, // a\x1b[31mb
		{"ｱｲ", 2},          // halfwidth katakana
		{"한국어", 6},
	}
	for _, tt := range tests {
		if got := Width(tt.in); got != tt.want {
			t.Errorf("Width(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		w    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 4, "hel…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
		{"hello", -3, ""},
		{"日本語", 4, "日…"},
		{"日本語", 5, "日本…"},
		{"a\x1bb", 3, `a\…`},
		{"", 3, ""},
	}
	for _, tt := range tests {
		got := Truncate(tt.in, tt.w)
		if got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
		if w := ansi.StringWidth(got); w > max(tt.w, 0) {
			t.Errorf("Truncate(%q, %d) is %d cells", tt.in, tt.w, w)
		}
	}
}

func TestPad(t *testing.T) {
	tests := []struct {
		in         string
		w          int
		want, left string
	}{
		{"ab", 4, "ab  ", "  ab"},
		{"abcdef", 4, "abc…", "abc…"},
		{"日本", 5, "日本 ", " 日本"},
		{"日本語", 5, "日本…", "日本…"},
		{"日本語", 2, "… ", " …"}, // a wide char cannot fit before the ellipsis
		{"x", 0, "", ""},
	}
	for _, tt := range tests {
		if got := Pad(tt.in, tt.w); got != tt.want {
			t.Errorf("Pad(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
		if got := PadLeft(tt.in, tt.w); got != tt.left {
			t.Errorf("PadLeft(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.left)
		}
	}
}

func TestCleanPlainASCIIDoesNotAllocate(t *testing.T) {
	s := "www.example.com GET /index.html"
	if n := testing.AllocsPerRun(100, func() { _ = Clean(s) }); n != 0 {
		t.Errorf("Clean allocated %v times on plain ASCII", n)
	}
}

// perRuneWidth is how terminals that follow wcwidth(3) (xterm, tmux, most
// SSH clients) advance the cursor: one rune at a time, no grapheme clusters.
func perRuneWidth(s string) int {
	cond := &runewidth.Condition{EastAsianWidth: false, StrictEmojiNeutral: true}
	w := 0
	for _, r := range s {
		w += cond.RuneWidth(r)
	}
	return w
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{
		"", "plain", "\x1b[2J\x1b[H", "\x1b]0;title\x07", "\x1bP+q\x1b\\",
		"\u009b31m", "\xc2\x9b", "\x9b", "\u202eabc\u202c", "\u2066\u2069",
		"日本語", "e\u0301", "🙂", "👩\u200d💻", "\u2764\ufe0f", "\U0001F1FA\U0001F1F8",
		"\xff\xfe\xfd", "a\tb\r\nc", "\x7f", "\ufeff", "ｱ", "한\u1161",
		"evil.example\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
	} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, w int) {
		c := Clean(s)
		if !utf8.ValidString(c) {
			t.Fatalf("Clean(%q) = %q is not valid UTF-8", s, c)
		}
		for i := 0; i < len(c); i++ {
			if c[i] < 0x20 || c[i] == 0x7f {
				t.Fatalf("Clean(%q) = %q contains byte %#x", s, c, c[i])
			}
		}
		for _, r := range c {
			if (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) ||
				(r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c {
				t.Fatalf("Clean(%q) = %q contains %U", s, c, r)
			}
		}
		if Clean(c) != c {
			t.Fatalf("Clean not idempotent on %q", s)
		}
		if !strings.Contains(s, "\\") && len(s) > 0 && isPlainASCII(s) && c != s {
			t.Fatalf("plain ASCII %q changed to %q", s, c)
		}
		got := Width(s)
		if lg := ansi.StringWidth(c); got != lg {
			t.Fatalf("Width(%q) = %d, lipgloss measures %d", s, got, lg)
		}
		if pr := perRuneWidth(c); got != pr {
			t.Fatalf("Width(%q) = %d, a wcwidth terminal draws %d cells for %q", s, got, pr, c)
		}
		w = w%200 + 0
		if w < 0 {
			w = -w
		}
		tr := Truncate(s, w)
		if tw := ansi.StringWidth(tr); tw > w {
			t.Fatalf("Truncate(%q, %d) = %q is %d cells", s, w, tr, tw)
		}
		if pw := ansi.StringWidth(Pad(s, w)); pw != w {
			t.Fatalf("Pad(%q, %d) is %d cells", s, w, pw)
		}
	})
}

func TestWrap(t *testing.T) {
	cases := []struct {
		s      string
		w, max int
		want   []string
	}{
		{"capture on any needs CAP_NET_RAW: run with sudo", 20, 5, []string{"capture on any needs", "CAP_NET_RAW: run", "with sudo"}},
		{"short", 20, 3, []string{"short"}},
		{"averyveryverylongword here", 10, 5, []string{"averyveryv", "erylongwor", "d here"}},
		{"one two three four five six", 9, 2, []string{"one two", "three …"}},
		{"evil\x1b]52;c;aGk=\x07 text", 40, 3, []string{`evil\x1b]52;c;aGk=\x07 text`}},
		{"anything", 0, 3, nil},
	}
	for _, c := range cases {
		got := Wrap(c.s, c.w, c.max)
		if len(got) != len(c.want) {
			t.Errorf("Wrap(%q, %d, %d) = %q, want %q", c.s, c.w, c.max, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] || Width(got[i]) > c.w {
				t.Errorf("Wrap(%q, %d, %d) = %q, want %q", c.s, c.w, c.max, got, c.want)
				break
			}
		}
	}
}
