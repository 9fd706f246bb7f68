package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// suricataSchema compiles Suricata's EVE schema (testdata/suricata-schema,
// vendored unchanged) with one addition: the top-level "opsdeck" object, the
// one place opsdeck's own keys go. Suricata's schema forbids unknown keys
// at every level, so everything else must be exactly as Suricata defines it.
func suricataSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "suricata-schema", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	props := doc.(map[string]any)["properties"].(map[string]any)
	if _, ok := props["opsdeck"]; ok {
		t.Fatal("Suricata's schema defines an opsdeck key: the extension object may collide")
	}
	props["opsdeck"] = map[string]any{"type": "object"}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("suricata-eve.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("suricata-eve.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validateEVE validates every line of out and returns one message per
// distinct violation (event type and error), with how often it occurred.
func validateEVE(t *testing.T, s *jsonschema.Schema, out []byte) (lines int, problems map[string]int) {
	t.Helper()
	problems = map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines++
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(sc.Bytes()))
		if err != nil {
			problems["not JSON: "+err.Error()]++
			continue
		}
		if err := s.Validate(v); err != nil {
			typ, _ := v.(map[string]any)["event_type"].(string)
			problems[fmt.Sprintf("%s: %v", typ, leafErrors(err))]++
		}
	}
	return lines, problems
}

// leafErrors flattens a validation error to its innermost causes.
func leafErrors(err error) string {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err.Error()
	}
	var leaves []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, "/"+strings.Join(e.InstanceLocation, "/")+": "+e.ErrorKind.LocalizedString(message.NewPrinter(language.English)))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(leaves)
	return strings.Join(leaves, "; ")
}

// TestEVEValidatesAgainstSuricataSchema: every record "opsdeck analyze"
// writes on every corpus capture validates against Suricata's own schema.
func TestEVEValidatesAgainstSuricataSchema(t *testing.T) {
	s := suricataSchema(t)
	total := 0
	for _, f := range corpusFiles(t) {
		for _, extra := range [][]string{nil, {"--show-secrets", "--dns-version", "2", "--sensor-name", "sensor-1"}} {
			var out bytes.Buffer
			args := append(append([]string{}, extra...), f)
			if err := cmdAnalyze(args, &out); err != nil {
				t.Fatalf("analyze %v: %v", args, err)
			}
			n, problems := validateEVE(t, s, out.Bytes())
			total += n
			for p, c := range problems {
				t.Errorf("%s %v: %d records: %s", filepath.Base(f), extra, c, p)
			}
		}
	}
	t.Logf("%d records validated", total)
}
