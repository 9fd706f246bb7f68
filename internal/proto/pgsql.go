package proto

import (
	"bytes"
	"encoding/binary"
)

func init() {
	registerProtocol(protocol{name: "pgsql",
		tcp:    []probe{{order: tierStructured + 10, first: "\x00", match: func(b []byte, toServer bool, _, _ uint16) bool { return toServer && looksPgsql(b) }}},
		newTCP: func(*State) parser { return &pgsqlParser{} }})
}

// PostgreSQL's start of a connection (frontend/backend protocol 3.0):
// an SSLRequest that the server answers 'S' hands the connection to TLS,
// as Suricata's pgsql parser requests the upgrade; in clear, the
// StartupMessage names the user and a server that asks for a cleartext
// password (AuthenticationCleartextPassword) gets it in the next
// PasswordMessage.

const (
	pgSSLRequest    = 80877103
	pgGSSENCRequest = 80877104
	pgProtocol3     = 196608 // 3.0
	// maxPGMsg bounds a message held whole: the start-up exchange is
	// small; a longer one ends parsing of that direction.
	maxPGMsg = 4096
)

// pgsqlParser follows the start of a PostgreSQL connection.
type pgsqlParser struct {
	started   bool // the client's StartupMessage was read
	sslAsked  bool // an SSLRequest (or GSSENCRequest) waits for its one-byte answer
	cleartext bool // the server asked for the password in clear
	waiting   bool // the password was sent; the server's answer decides
	user      string
	pass      string
	sent      bool
}

func (p *pgsqlParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	if toServer {
		return p.client(c, b)
	}
	return p.server(c, b)
}

func (p *pgsqlParser) client(c *ctx, b []byte) (int, bool) {
	n := 0
	for n < len(b) {
		rest := b[n:]
		if !p.started {
			// Untyped messages: length(4) code(4) ...
			if len(rest) < 8 {
				return n, false
			}
			l := int(binary.BigEndian.Uint32(rest))
			if l < 8 || l > maxPGMsg {
				return len(b), true
			}
			if len(rest) < l {
				return n, false
			}
			switch binary.BigEndian.Uint32(rest[4:]) {
			case pgSSLRequest, pgGSSENCRequest:
				p.sslAsked = true
			case pgProtocol3:
				p.started = true
				p.user = pgParam(rest[8:l], "user")
			default:
				// CancelRequest and unknown codes end the
				// connection's interest.
				return len(b), true
			}
			n += l
			continue
		}
		l := pgMessage(rest)
		if l < 0 {
			return len(b), true
		}
		if l == 0 {
			return n, false
		}
		if rest[0] == 'p' && p.cleartext && !p.waiting {
			pw, _, _ := bytes.Cut(rest[5:1+l], []byte{0})
			p.pass, p.waiting = string(pw), true
		}
		n += 1 + l
		if p.waiting {
			return n, true // what follows is queries
		}
	}
	return n, false
}

// pgMessage returns the length field of the typed message at the start of
// b (a type byte, then a 4-byte length that counts itself), 0 when more
// bytes are needed, or -1 when the length is impossible.
func pgMessage(b []byte) int {
	if len(b) < 5 {
		return 0
	}
	l := int(binary.BigEndian.Uint32(b[1:]))
	if l < 4 || l > maxPGMsg {
		return -1
	}
	if len(b) < 1+l {
		return 0
	}
	return l
}

func (p *pgsqlParser) server(c *ctx, b []byte) (int, bool) {
	n := 0
	for n < len(b) {
		rest := b[n:]
		if p.sslAsked && !p.started {
			p.sslAsked = false
			switch rest[0] {
			case 'S':
				c.upgrade(appTLS)
				return len(b), false
			case 'N', 'G':
				// Refused: the client goes on in clear (or with GSSAPI
				// encryption, which is not read).
				n++
				if rest[0] == 'G' {
					return len(b), true
				}
				continue
			}
			return len(b), true
		}
		l := pgMessage(rest)
		if l < 0 {
			return len(b), true
		}
		if l == 0 {
			return n, false
		}
		msg := rest[5 : 1+l]
		switch rest[0] {
		case 'R':
			if len(msg) >= 4 {
				switch binary.BigEndian.Uint32(msg) {
				case 3: // AuthenticationCleartextPassword
					p.cleartext = true
				case 0: // AuthenticationOk
					p.answer(c, "success", "AuthenticationOk")
				}
			}
		case 'E':
			p.answer(c, "failure", pgErrorCode(msg))
		}
		n += 1 + l
		if p.sent {
			return len(b), true
		}
	}
	return n, false
}

// answer logs the cleartext password once the server took or refused it.
func (p *pgsqlParser) answer(c *ctx, outcome, reply string) {
	if !p.waiting || p.sent {
		return
	}
	p.sent = true
	c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "pgsql", User: p.user, Password: p.pass,
		Outcome: outcome, Reply: reply}}, false)
}

func (p *pgsqlParser) close(c *ctx) {
	if p.waiting && !p.sent {
		p.sent = true
		c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "pgsql", User: p.user, Password: p.pass,
			Outcome: "unknown"}}, true)
	}
}

func (p *pgsqlParser) done() bool { return p.sent }

// pgParam returns a StartupMessage parameter: NUL-terminated name and
// value pairs.
func pgParam(b []byte, name string) string {
	for len(b) > 0 {
		k, rest, ok := bytes.Cut(b, []byte{0})
		if !ok || len(k) == 0 {
			return ""
		}
		v, rest, ok := bytes.Cut(rest, []byte{0})
		if !ok {
			return ""
		}
		if string(k) == name {
			return string(v)
		}
		b = rest
	}
	return ""
}

// pgErrorCode is the SQLSTATE field (C) of an ErrorResponse: 28P01 is a
// wrong password.
func pgErrorCode(b []byte) string {
	for len(b) > 1 && b[0] != 0 {
		f, rest, ok := bytes.Cut(b[1:], []byte{0})
		if !ok {
			break
		}
		if b[0] == 'C' {
			return string(f)
		}
		b = rest
	}
	return "ErrorResponse"
}

// looksPgsql reports whether a client's first bytes are PostgreSQL's
// SSLRequest, GSSENCRequest or a protocol 3.0 StartupMessage.
func looksPgsql(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	l := binary.BigEndian.Uint32(b)
	switch binary.BigEndian.Uint32(b[4:]) {
	case pgSSLRequest, pgGSSENCRequest:
		return l == 8
	case pgProtocol3:
		return l > 8 && l <= maxPGMsg
	}
	return false
}
