package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// The checks in apply run on decoded values, which carry no position. They
// name the key; locate finds where the document writes it, so their errors
// point at a line like the decoder's do.

// withPosition fills in the line and column of a *Error that has none, when
// the document writes its key.
func withPosition(data []byte, err error) error {
	var ce *Error
	if !errors.As(err, &ce) || ce.Line > 0 {
		return err
	}
	key := ce.at
	if key == "" {
		key = ce.Key
	}
	if pos, ok := keyPositions(data)[key]; ok {
		ce.Line, ce.Column = pos.Line, pos.Column
	}
	return err
}

// keyPositions maps each key the document writes to where its first
// occurrence starts: "detect.scan_ports" however it is written (under a
// [detect] header, as a dotted key or in an inline table), and for arrays
// of tables both "allow.rule" and "allow[2].rule", with "allow[2]" the
// second entry itself.
func keyPositions(data []byte) map[string]unstable.Position {
	out := map[string]unstable.Position{}
	var p unstable.Parser
	p.Reset(data)
	record := func(path string, n *unstable.Node) {
		if _, ok := out[path]; !ok {
			out[path] = p.Shape(n.Raw).Start
		}
		if plain := stripIndexes(path); plain != path {
			if _, ok := out[plain]; !ok {
				out[plain] = p.Shape(n.Raw).Start
			}
		}
	}
	entries := map[string]int{}
	var walkValue func(path string, v *unstable.Node)
	walkKeyValue := func(prefix string, kv *unstable.Node) {
		path, first := joinKey(prefix, kv.Key())
		if first == nil {
			return
		}
		record(path, first)
		walkValue(path, kv.Value())
	}
	walkValue = func(path string, v *unstable.Node) {
		switch v.Kind {
		case unstable.InlineTable:
			for it := v.Children(); it.Next(); {
				if kv := it.Node(); kv.Kind == unstable.KeyValue {
					walkKeyValue(path, kv)
				}
			}
		case unstable.Array:
			i := 0
			for it := v.Children(); it.Next(); {
				if n := it.Node(); n.Kind == unstable.InlineTable {
					i++
					entry := fmt.Sprintf("%s[%d]", path, i)
					record(entry, n)
					walkValue(entry, n)
				}
			}
		}
	}
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			path, first := joinKey("", e.Key())
			if first == nil {
				continue
			}
			table = path
			if e.Kind == unstable.ArrayTable {
				entries[path]++
				table = fmt.Sprintf("%s[%d]", path, entries[path])
			}
			record(table, first)
		case unstable.KeyValue:
			walkKeyValue(table, e)
		}
	}
	return out
}

// joinKey appends a key's parts to prefix and returns its first part.
func joinKey(prefix string, it unstable.Iterator) (string, *unstable.Node) {
	var first *unstable.Node
	path := prefix
	for it.Next() {
		n := it.Node()
		if first == nil {
			first = n
		}
		if path != "" {
			path += "."
		}
		path += string(n.Data)
	}
	return path, first
}

// stripIndexes turns "allow[2].rule" into "allow.rule".
func stripIndexes(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '[')
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		b.WriteString(path[:i])
		j := strings.IndexByte(path[i:], ']')
		if j < 0 {
			return b.String()
		}
		path = path[i+j+1:]
	}
}
