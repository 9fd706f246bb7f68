package proto

import "strconv"

// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929): the
// client's sub-negotiation carries both in clear; the server's status byte
// says whether they were accepted. A CONNECT the server grants turns the
// rest of the connection into the tunnelled protocol, which is detected
// afresh (as an HTTP CONNECT tunnel is).

func init() {
	registerProtocol(protocol{name: "socks5",
		tcp: []probe{{order: tierStructured + 20, first: "\x05", match: func(b []byte, toServer bool, _, _ uint16) bool {
			return toServer && looksSOCKS5(b)
		}}},
		newTCP: func(*State) parser { return &socksParser{} }})
}

const (
	socksGreet   = iota // client: VER NMETHODS METHODS / server: VER METHOD
	socksAuth           // RFC 1929 sub-negotiation (both sides)
	socksRequest        // client: the request / server: the reply
	socksDone
)

// socksParser follows both sides of the SOCKS5 handshake.
type socksParser struct {
	cli, srv   int // where each side is in the handshake
	method     byte
	user, pass string
	hasCred    bool
	status     int // the server's RFC 1929 status byte
	sent       bool
	cmd        byte // the request's command (1: CONNECT)
}

// socksAddrLen returns the length of an address of type atyp at b (with its
// port), or -1 when b is too short to tell, -2 when atyp is unknown.
func socksAddrLen(atyp byte, b []byte) int {
	switch atyp {
	case 1:
		return 4 + 2
	case 4:
		return 16 + 2
	case 3:
		if len(b) < 1 {
			return -1
		}
		return 1 + int(b[0]) + 2
	}
	return -2
}

// socksBad is socksMessageLen's answer for bytes that are not SOCKS5.
const socksBad = -2

// socksMessageLen returns the length of the request or reply at the start of
// b (VER CMD/REP RSV ATYP ADDR PORT, the same shape both ways), -1 when more
// bytes are needed, or socksBad.
func socksMessageLen(b []byte) int {
	if len(b) < 5 {
		return -1
	}
	if b[0] != 5 {
		return socksBad
	}
	al := socksAddrLen(b[3], b[4:])
	if al == -2 {
		return socksBad
	}
	if al < 0 || len(b) < 4+al {
		return -1
	}
	return 4 + al
}

func (p *socksParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	if toServer {
		return p.client(c, b)
	}
	return p.server(c, b)
}

func (p *socksParser) client(c *ctx, b []byte) (int, bool) {
	n := 0
	for n < len(b) {
		rest := b[n:]
		switch p.cli {
		case socksGreet:
			if len(rest) < 2 {
				return n, false
			}
			if rest[0] != 5 || rest[1] == 0 {
				return len(b), true
			}
			if len(rest) < 2+int(rest[1]) {
				return n, false
			}
			n += 2 + int(rest[1])
			// The sub-negotiation (VER 1) or the request (VER 5)
			// follows, once the server has chosen.
			p.cli = socksAuth
		case socksAuth:
			// VER(1) ULEN UNAME PLEN PASSWD
			if len(rest) < 2 {
				return n, false
			}
			if rest[0] != 1 {
				p.cli = socksRequest
				continue
			}
			ul := int(rest[1])
			if len(rest) < 2+ul+1 {
				return n, false
			}
			pl := int(rest[2+ul])
			if len(rest) < 3+ul+pl {
				return n, false
			}
			p.user, p.pass, p.hasCred = string(rest[2:2+ul]), string(rest[3+ul:3+ul+pl]), true
			n += 3 + ul + pl
			p.cli = socksRequest
			p.maybeSend(c)
		case socksRequest:
			// VER CMD RSV ATYP DST.ADDR DST.PORT
			l := socksMessageLen(rest)
			if l == socksBad {
				return len(b), true
			}
			if l < 0 {
				return n, false
			}
			p.cmd = rest[1]
			n += l
			p.cli = socksDone
		default:
			// Tunnelled data sent before the server's answer: it
			// waits for the switch (or the end of the direction).
			return n, false
		}
	}
	return n, false
}

func (p *socksParser) server(c *ctx, b []byte) (int, bool) {
	n := 0
	for n < len(b) {
		rest := b[n:]
		switch p.srv {
		case socksGreet:
			if len(rest) < 2 {
				return n, false
			}
			if rest[0] != 5 {
				return len(b), true
			}
			p.method = rest[1]
			n += 2
			switch p.method {
			case 2:
				p.srv = socksAuth
			case 0:
				p.srv = socksRequest
			default:
				// Refused (0xff) or a method whose exchange is not
				// readable (GSSAPI).
				p.srv = socksDone
				p.maybeSend(c)
				return len(b), true
			}
		case socksAuth:
			if len(rest) < 2 {
				return n, false
			}
			p.status = int(rest[1])
			n += 2
			p.srv = socksRequest
			p.maybeSend(c)
			if p.status != 0 {
				p.srv = socksDone
				return len(b), true
			}
		case socksRequest:
			// VER REP RSV ATYP BND.ADDR BND.PORT
			l := socksMessageLen(rest)
			if l == socksBad {
				return len(b), true
			}
			if l < 0 {
				return n, false
			}
			p.srv = socksDone
			if rest[1] == 0 && p.cmd == 1 {
				// Granted: what follows is the tunnelled protocol.
				c.upgrade(appNone)
				return len(b), false
			}
			return len(b), true
		default:
			return n, true
		}
	}
	return n, false
}

// maybeSend logs the login once both its fields and the server's status
// are known.
func (p *socksParser) maybeSend(c *ctx) {
	if !p.hasCred || p.sent || p.srv < socksRequest {
		return
	}
	p.sent = true
	outcome, reply := "failure", strconv.Itoa(p.status)
	switch {
	case p.method != 2:
		// Sent although the server chose no such method: refused.
		reply = "method " + strconv.Itoa(int(p.method))
	case p.status == 0:
		outcome = "success"
	}
	c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "socks5", User: p.user, Password: p.pass,
		Outcome: outcome, Reply: reply}}, false)
}

func (p *socksParser) close(c *ctx) {
	if p.hasCred && !p.sent {
		p.sent = true
		c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "socks5", User: p.user, Password: p.pass,
			Outcome: "unknown"}}, true)
	}
}

func (p *socksParser) done() bool { return p.cli == socksDone && p.srv == socksDone }

// looksSOCKS5 reports whether a client's first bytes are a SOCKS5 greeting
// (VER 5, NMETHODS, that many known methods) followed by nothing, the
// RFC 1929 sub-negotiation or a request.
func looksSOCKS5(b []byte) bool {
	if len(b) < 3 || b[0] != 5 || b[1] == 0 || b[1] > 16 {
		return false
	}
	m := int(b[1])
	if len(b) < 2+m {
		return false
	}
	for _, x := range b[2 : 2+m] {
		if x > 9 && (x < 0x80 || x == 0xff) {
			return false
		}
	}
	if len(b) == 2+m {
		return true
	}
	next := b[2+m]
	if next == 1 {
		// ULEN and PLEN must fit what follows, when it is all there.
		r := b[2+m:]
		if len(r) < 2 {
			return true
		}
		ul := int(r[1])
		if ul == 0 || len(r) < 3+ul {
			return ul > 0
		}
		return len(r) <= 3+ul+int(r[2+ul]) || r[3+ul+int(r[2+ul])] == 5
	}
	return next == 5 && len(b) >= 2+m+4 && b[2+m+1] >= 1 && b[2+m+1] <= 3 && b[2+m+2] == 0
}
