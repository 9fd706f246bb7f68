package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Checks that run after decoding (ranges, negative numbers, empty key
// lists, allow entries without a rule) name the key and the line that
// wrote it, never "0:0".
func TestErrorsAfterDecodingHavePositions(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"range", "theme = \"mono\"\nrefresh = \"1h\"\n", "2:1: refresh: 1h0m0s is outside 50ms..1m"},
		{"negative under a header", "[detect]\nscan_window = \"1m\"\n  scan_ports = -1\n", "3:3: detect.scan_ports: must not be negative"},
		{"negative as a dotted key", "\ndetect.scan_ports = -1\n", "2:1: detect.scan_ports: must not be negative"},
		{"negative in an inline table", "detect = { scan_window = \"1m\", scan_ports = -1 }\n", "1:32: detect.scan_ports: must not be negative"},
		{"flow section", "[flow]\nmax_flows = -5\n", "2:1: flow.max_flows: must not be negative"},
		{"host section", "[host]\n\ncpu_busy_pct = -1.5\n", "3:1: host.cpu_busy_pct: must not be negative"},
		{"evidence bound", "[evidence]\nmax_age = \"1m\"\nmax_bytes = 5\n", "3:1: evidence.max_bytes: must be at least 1MiB"},
		{"empty key list", "[keys]\nhelp = [\"h\"]\nquit = []\n", "3:1: keys.quit: needs at least one key"},
		{"second allow entry without a rule", "[[allow]]\nrule = \"*\"\n\n[[allow]]\nsrc = [\"10.0.0.1\"]\n", "4:3: allow.rule: allow entry 2 has no rule"},
		{"inline allow entry without a rule", "allow = [{ rule = \"*\" }, { src = [\"10.0.0.1\"] }]\n", "1:26: allow.rule: allow entry 2 has no rule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("no error for %q", tc.doc)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want it to start with %q", err, tc.want)
			}
		})
	}
}

func TestErrorWithoutPositionOmitsIt(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Key: "refresh", Msg: "too slow"}, "refresh: too slow"},
		{Error{Msg: "empty"}, "empty"},
		{Error{Line: 3, Column: 1, Key: "theme", Msg: "unknown"}, "3:1: theme: unknown"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
}

// Notepad and other Windows editors start UTF-8 files with a byte-order
// mark; it is not part of the document.
func TestByteOrderMark(t *testing.T) {
	const bom = "\ufeff"
	c, err := Parse([]byte(bom + "refresh = \"2s\"\n[detect]\nscan_ports = 7\n"))
	if err != nil {
		t.Fatalf("document with a BOM: %v", err)
	}
	if c.Refresh != 2*time.Second || c.Detect.ScanPorts != 7 {
		t.Errorf("document with a BOM read as refresh %v, scan_ports %d", c.Refresh, c.Detect.ScanPorts)
	}
	if _, err := Parse([]byte(bom)); err != nil {
		t.Errorf("a BOM alone: %v", err)
	}
	// Positions count from after the mark, as editors show them.
	_, err = Parse([]byte(bom + "colour = \"red\"\n"))
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 1 || ce.Column != 1 || ce.Key != "colour" {
		t.Errorf("unknown key after a BOM: %v, want 1:1: colour", err)
	}
	// Only a leading mark is dropped.
	if _, err := Parse([]byte("refresh = \"2s\"\n" + bom + "theme = \"mono\"\n")); err == nil {
		t.Error("a BOM inside the document was accepted")
	}

	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(bom+"theme = \"light\"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(path)
	if err != nil || c.Theme != "light" {
		t.Fatalf("Load of a file with a BOM: %+v, %v", c, err)
	}
}

// Load writes FILE:LINE:COLUMN: for positioned errors and "FILE: " for the
// others.
func TestLoadErrorPrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("[keys]\nquit = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := "config " + path + ":2:1: keys.quit: needs at least one key"; err == nil || err.Error() != want {
		t.Errorf("Load error %q, want %q", err, want)
	}
}
