package eve

import (
	"github.com/opsdeck/opsdeck/internal/proto"
)

// appendTLS and appendHTTP encode the two most frequent records after DNS
// by hand, like appendDNS; TestAppendTLSHTTPMatchJSON holds them to
// encoding/json's output.

// appendKey starts a member of an object being written: the comma that
// separates it from the previous one, and its name.
func appendKey(b []byte, first *bool, name string) []byte {
	if !*first {
		b = append(b, ',')
	}
	*first = false
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendField(b []byte, first *bool, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(appendKey(b, first, name), v)
}

func appendList(b []byte, first *bool, name string, l []string) []byte {
	if len(l) == 0 {
		return b
	}
	b = append(appendKey(b, first, name), '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func appendJA(b []byte, first *bool, name string, ja *proto.JA) []byte {
	if ja == nil {
		return b
	}
	b = append(appendKey(b, first, name), `{"hash":`...)
	b = appendString(b, ja.Hash)
	b = append(b, `,"string":`...)
	b = appendString(b, ja.String)
	return append(b, '}')
}

func appendTLS(b []byte, t *proto.TLS) []byte {
	first := true
	b = append(b, '{')
	b = appendField(b, &first, "sni", t.SNI)
	b = appendField(b, &first, "version", t.Version)
	b = appendField(b, &first, "subject", t.Subject)
	b = appendField(b, &first, "issuerdn", t.IssuerDN)
	b = appendField(b, &first, "serial", t.Serial)
	b = appendField(b, &first, "fingerprint", t.Fingerprint)
	b = appendField(b, &first, "notbefore", t.NotBefore)
	b = appendField(b, &first, "notafter", t.NotAfter)
	b = appendList(b, &first, "client_alpns", t.ALPN)
	b = appendList(b, &first, "server_alpns", t.ALPNServer)
	b = appendJA(b, &first, "ja3", t.JA3)
	b = appendJA(b, &first, "ja3s", t.JA3S)
	b = appendField(b, &first, "ja4", t.JA4)
	return append(b, '}')
}

func appendNumber(b []byte, first *bool, name string, v int64) []byte {
	if v == 0 {
		return b
	}
	return appendInt(appendKey(b, first, name), v)
}

func appendHTTP(b []byte, h *proto.HTTP) []byte {
	first := true
	b = append(b, '{')
	b = appendField(b, &first, "hostname", h.Hostname)
	b = appendNumber(b, &first, "http_port", int64(h.Port))
	b = appendField(b, &first, "url", h.URL)
	b = appendField(b, &first, "http_user_agent", h.UserAgent)
	b = appendField(b, &first, "http_content_type", h.ContentType)
	b = appendField(b, &first, "http_method", h.Method)
	b = appendField(b, &first, "protocol", h.Protocol)
	b = appendNumber(b, &first, "status", int64(h.Status))
	// Suricata always writes length, 0 for a request without a response body.
	b = appendInt(appendKey(b, &first, "length"), h.Length)
	b = appendField(b, &first, "http_refer", h.Referer)
	return append(b, '}')
}
