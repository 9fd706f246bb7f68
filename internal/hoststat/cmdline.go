package hoststat

import (
	"encoding/json"
	"unicode/utf8"
)

// MaxCmdlineBytes bounds a process's command line wherever opsdeck keeps or
// writes it: the sampler reads no more of /proc/<pid>/cmdline, and the host
// event, alert evidence and evidence bundle carry no more. Any local user
// can start processes with 2 MB command lines; whole, three of them made
// every host record 5.4 MB. 4 KiB is ps's default width for args. Encoded
// as JSON a command line takes at most 6 times this (every byte escaped as
// \u00XX), usually the same.
const MaxCmdlineBytes = 4096

// CmdlineCut ends a command line that was cut at MaxCmdlineBytes.
const CmdlineCut = "…"

// ClipCmdline returns s when it fits in MaxCmdlineBytes, and CutCmdline(s)
// otherwise. It is idempotent.
func ClipCmdline(s string) string {
	if len(s) <= MaxCmdlineBytes {
		return s
	}
	return CutCmdline(s)
}

// CutCmdline returns the start of s, cut before a UTF-8 character that would
// not fit whole, followed by CmdlineCut, in at most MaxCmdlineBytes bytes.
// Use it when s is known to be the start of a longer command line.
func CutCmdline(s string) string {
	n := min(len(s), MaxCmdlineBytes-len(CmdlineCut))
	// Back up over at most one character's continuation bytes; invalid
	// UTF-8 stays as it was.
	for i := 0; i < utf8.UTFMax-1 && n > 0 && n < len(s) && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return s[:n] + CmdlineCut
}

// MarshalJSON encodes the process with its command line bounded by
// ClipCmdline (and CmdlineTruncated set when that cut it), so no JSON of a
// process, such as an evidence bundle's system.json, carries more.
func (p Process) MarshalJSON() ([]byte, error) {
	type fields Process // the same fields without this method
	q := fields(p)
	if c := ClipCmdline(q.Cmdline); len(c) != len(q.Cmdline) {
		q.Cmdline, q.CmdlineTruncated = c, true
	}
	return json.Marshal(q)
}
