// Package textsafe makes strings that came from outside (packets, /proc, user
// names, file names) safe to print on a terminal and measures them the way
// the layout code and the terminal will.
//
// Clean turns every character that could move the cursor, change terminal
// state, reorder text or occupy an unpredictable number of cells into a
// visible escape such as `\x1b` or `\u202e`. Width, Truncate and Pad work on
// the cleaned text, so a column computed from them is what the terminal shows.
package textsafe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/clipperhouse/displaywidth"
	"github.com/mattn/go-runewidth"
)

// Ellipsis marks text cut by Truncate.
const Ellipsis = "…"

// Clean returns s with control characters, escape sequences, bidi controls,
// other invisible format characters and invalid UTF-8 replaced by visible
// escapes. Printable text, including wide and combining characters, is kept.
// Clean is idempotent: Clean(Clean(s)) == Clean(s).
func Clean(s string) string {
	if isPlainASCII(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			writeHexByte(&b, 'x', s[i])
			i++
			continue
		}
		if unsafeRune(r) {
			writeRuneEscape(&b, r)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return splitAmbiguousClusters(b.String())
}

// splitAmbiguousClusters escapes the non-ASCII runes of any grapheme
// cluster whose width as a cluster (what lipgloss measures) differs from the
// sum of its runes' widths (what a wcwidth terminal draws): Hangul jamo
// sequences, prepended marks, emoji modifier sequences and the like.
func splitAmbiguousClusters(c string) string {
	if isPlainASCII(c) {
		return c
	}
	var b *strings.Builder
	g := displaywidth.StringGraphemes(c)
	pos := 0
	for g.Next() {
		cl := g.Value()
		start := pos
		pos += len(cl)
		if _, first := utf8.DecodeRuneInString(cl); first == len(cl) {
			if b != nil {
				b.WriteString(cl)
			}
			continue
		}
		sum := 0
		for _, r := range cl {
			sum += wcwidth.RuneWidth(r)
		}
		if sum == g.Width() {
			if b != nil {
				b.WriteString(cl)
			}
			continue
		}
		if b == nil {
			b = &strings.Builder{}
			b.Grow(len(c) + 16)
			b.WriteString(c[:start])
		}
		// Escaping every non-ASCII rune of the cluster, not only the
		// extenders, keeps Clean idempotent: a prepended mark left in place
		// would join the backslash of the next escape into a new cluster.
		for _, r := range cl {
			if r < 0x80 {
				b.WriteRune(r)
			} else {
				writeRuneEscape(b, r)
			}
		}
	}
	if b == nil {
		return c
	}
	return b.String()
}

// Width returns the number of terminal cells Clean(s) occupies: East Asian
// wide characters count 2, combining marks 0.
func Width(s string) int {
	c := Clean(s)
	if isPlainASCII(c) {
		return len(c)
	}
	return ansi.StringWidth(c)
}

// Truncate cleans s and cuts it to at most w cells, ending in "…" when
// something was cut. It never splits a wide character or an escape.
func Truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	c := Clean(s)
	if cw := widthClean(c); cw <= w {
		return c
	}
	if w == 1 {
		return Ellipsis
	}
	return ansi.Truncate(c, w, Ellipsis)
}

// Wrap cleans s and breaks it into at most maxLines lines of at most w
// cells, at spaces where it can and inside a word where it must. When text
// is left over, the last line ends in "…".
func Wrap(s string, w, maxLines int) []string {
	if w <= 0 || maxLines <= 0 {
		return nil
	}
	lines := strings.Split(ansi.Wrap(Clean(s), w, ""), "\n")
	cut := len(lines) > maxLines
	if cut {
		lines = lines[:maxLines]
	}
	for i, l := range lines {
		lines[i] = Truncate(strings.TrimRight(l, " "), w)
	}
	if last := &lines[len(lines)-1]; cut && !strings.HasSuffix(*last, Ellipsis) {
		*last = Truncate(*last+" "+Ellipsis, w)
		if !strings.HasSuffix(*last, Ellipsis) {
			*last = Truncate(*last, w-1) + Ellipsis
		}
	}
	return lines
}

// Pad cleans s and returns it cut or right-padded with spaces to exactly w
// cells (the empty string for w <= 0).
func Pad(s string, w int) string {
	t := Truncate(s, w)
	if n := w - widthClean(t); n > 0 {
		return t + strings.Repeat(" ", n)
	}
	return t
}

// PadLeft is Pad with the padding on the left, for right-aligned columns.
func PadLeft(s string, w int) string {
	t := Truncate(s, w)
	if n := w - widthClean(t); n > 0 {
		return strings.Repeat(" ", n) + t
	}
	return t
}

// widthClean measures text that is already clean.
func widthClean(c string) int {
	if isPlainASCII(c) {
		return len(c)
	}
	return ansi.StringWidth(c)
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// unsafeRune reports whether r must be escaped. Besides controls, this covers
// characters whose width terminals and the layout code disagree on: format
// characters (bidi controls, zero-width joiners and spaces, BOM), line and
// paragraph separators, private-use and unassigned code points, variation
// selectors that switch emoji to wide presentation, and regional indicators
// that pair into 2-cell flags. Finally, any rune whose width the two width
// tables in use (lipgloss's displaywidth and the wcwidth-style go-runewidth)
// disagree on is escaped: if the libraries disagree, so do terminals, and a
// column would shift.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0xfe0e, r == 0xfe0f: // variation selectors 15/16
		return true
	case r >= 0x1f1e6 && r <= 0x1f1ff: // regional indicators
		return true
	case r >= 0x1f3fb && r <= 0x1f3ff: // emoji skin-tone modifiers
		return true
	case r >= 0xe0000 && r <= 0xe0fff: // tags and variation selectors supplement
		return true
	}
	if unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp) ||
		!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) {
		return true
	}
	return displaywidth.Rune(r) != wcwidth.RuneWidth(r)
}

// wcwidth is read-only after init, so sharing it between goroutines is safe.
var wcwidth = &runewidth.Condition{EastAsianWidth: false, StrictEmojiNeutral: true}

const hexDigits = "0123456789abcdef"

func writeHexByte(b *strings.Builder, kind byte, c byte) {
	b.WriteByte('\\')
	b.WriteByte(kind)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

// writeRuneEscape writes Go-style escapes: \t \n \r for the common controls,
// \xNN for the rest of C0 and DEL, \uNNNN or \UNNNNNNNN above.
func writeRuneEscape(b *strings.Builder, r rune) {
	switch {
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r < 0x80:
		writeHexByte(b, 'x', byte(r))
	case r <= 0xffff:
		b.WriteString(`\u`)
		writePadded(b, r, 4)
	default:
		b.WriteString(`\U`)
		writePadded(b, r, 8)
	}
}

func writePadded(b *strings.Builder, r rune, n int) {
	h := strconv.FormatInt(int64(r), 16)
	for i := len(h); i < n; i++ {
		b.WriteByte('0')
	}
	b.WriteString(h)
}
