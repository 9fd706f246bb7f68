package textsafe

import (
	"strings"
	"unicode/utf8"
)

// Label returns s as a bounded identifier for a metric label value or a log
// field: Clean's escapes for control characters and invalid UTF-8, cut at a
// character boundary to at most maxBytes bytes and ending in Ellipsis when
// something was cut (for maxBytes < len(Ellipsis), cut without it).
//
// The result is valid UTF-8, contains nothing Clean would escape
// (Clean(Label(s, n)) == Label(s, n)), and equals Clean(s) whenever that
// fits. Different inputs may give the same label (Clean writes the byte
// 0x1b and the text `\x1b` alike, and cutting merges long names), so a
// caller that needs distinct labels must check for duplicates. The cost is
// bounded by maxBytes, not by len(s).
func Label(s string, maxBytes int) string {
	if maxBytes <= 0 {
		return ""
	}
	// Clean never makes text shorter, so input past maxBytes+1 bytes
	// cannot survive the cut; dropping it first bounds the work.
	if len(s) > maxBytes+1 {
		s = s[:maxBytes+1]
	}
	c := Clean(s)
	if len(c) <= maxBytes {
		return c
	}
	keep, tail := maxBytes-len(Ellipsis), Ellipsis
	if keep < 0 {
		keep, tail = maxBytes, ""
	}
	for keep > 0 && !utf8.RuneStart(c[keep]) {
		keep--
	}
	// Half an escape ("\xf") would read as different text: cut before it.
	for i := keep - 1; i >= 0 && i >= keep-9; i-- {
		if c[i] == '\\' {
			if end := escapeEnd(c, i); end > keep {
				keep = i
			}
			break
		}
	}
	return c[:keep] + tail
}

// escapeEnd returns the end of the escape Clean writes at c[i] (`\t`,
// `\xNN`, `\uNNNN`, `\UNNNNNNNN`), or -1 when there is none.
func escapeEnd(c string, i int) int {
	if i+1 >= len(c) {
		return -1
	}
	n := 0
	switch c[i+1] {
	case 't', 'n', 'r':
		return i + 2
	case 'x':
		n = 2
	case 'u':
		n = 4
	case 'U':
		n = 8
	default:
		return -1
	}
	end := i + 2 + n
	if end > len(c) {
		return -1
	}
	for j := i + 2; j < end; j++ {
		if !strings.ContainsRune(hexDigits, rune(c[j])) {
			return -1
		}
	}
	return end
}
