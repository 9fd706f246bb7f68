package eve

import (
	"github.com/opsdeck/opsdeck/internal/proto"
)

// appendQUIC encodes a quic event's object as Suricata's quic logger
// writes it; TestAppendQUICMatchesJSON holds it to encoding/json's output.
func appendQUIC(b []byte, q *proto.QUIC) []byte {
	first := true
	b = append(b, '{')
	b = appendString(appendKey(b, &first, "version"), q.Version)
	b = appendField(b, &first, "sni", q.SNI)
	b = appendField(b, &first, "ua", q.UA)
	if len(q.CYU) > 0 {
		b = append(appendKey(b, &first, "cyu"), '[')
		for i := range q.CYU {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"hash":`...)
			b = appendString(b, q.CYU[i].Hash)
			b = append(b, `,"string":`...)
			b = appendString(b, q.CYU[i].String)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendJA(b, &first, "ja3", q.JA3)
	b = appendJA(b, &first, "ja3s", q.JA3S)
	b = appendField(b, &first, "ja4", q.JA4)
	if len(q.Extensions) > 0 {
		b = append(appendKey(b, &first, "extensions"), '[')
		for i := range q.Extensions {
			e := &q.Extensions[i]
			if i > 0 {
				b = append(b, ',')
			}
			ef := true
			b = append(b, '{')
			b = appendField(b, &ef, "name", e.Name)
			b = appendUint(appendKey(b, &ef, "type"), uint64(e.Type))
			b = appendList(b, &ef, "values", e.Values)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
