package tui

import "github.com/opsdeck/opsdeck/internal/textsafe"

// sanitize is textsafe.Clean, named for the call sites that mix our own
// text with outside text (status lines, host names).
func sanitize(s string) string { return textsafe.Clean(s) }
