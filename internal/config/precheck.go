package config

import (
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// precheck finds values of the wrong TOML type for the text-decoded types
// (durations, networks, addresses, rule and theme names). The decoder hands
// a number or a boolean to UnmarshalText as text and reports its error
// without a position; this walk reports it with the line and column.
// Syntax errors are left to the decoder, which positions them itself.
func precheck(data []byte, root reflect.Type) error {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyParts(e.Key())
		case unstable.KeyValue:
			path := append(append([]string(nil), table...), keyParts(e.Key())...)
			t := fieldType(root, path)
			if t == nil {
				continue // unknown keys are the decoder's to report
			}
			if err := checkValue(&p, e.Value(), t, path); err != nil {
				return err
			}
		}
	}
	return nil
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// fieldType follows path through t's toml-tagged fields (and into the
// element type of arrays of tables).
func fieldType(t reflect.Type, path []string) reflect.Type {
	for _, name := range path {
		for t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && !textOnly(t.Elem()) {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || textOnly(t) {
			return nil
		}
		var next reflect.Type
		for i := 0; i < t.NumField(); i++ {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag == name {
				next = t.Field(i).Type
				break
			}
		}
		if next == nil {
			return nil
		}
		t = next
	}
	return t
}

// textOnly reports whether t is decoded from text only.
func textOnly(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(textUnmarshalerType)
}

func checkValue(p *unstable.Parser, v *unstable.Node, t reflect.Type, path []string) error {
	if t.Kind() == reflect.Slice && v.Kind == unstable.Array {
		for it := v.Children(); it.Next(); {
			if err := checkValue(p, it.Node(), t.Elem(), path); err != nil {
				return err
			}
		}
		return nil
	}
	if !textOnly(t) || v.Kind == unstable.String {
		return nil
	}
	if t == reflect.TypeFor[Duration]() && (v.Kind == unstable.Integer || v.Kind == unstable.Float) {
		return nil
	}
	pos := p.Shape(v.Raw).Start
	want := "a string"
	if t == reflect.TypeFor[Duration]() {
		want = "a duration such as \"30s\" or a number of seconds"
	}
	return &Error{Line: pos.Line, Column: pos.Column, Key: strings.Join(path, "."), Msg: "expects " + want}
}
