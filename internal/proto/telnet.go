package proto

import (
	"bytes"
	"strings"
)

// Telnet command bytes (RFC 854).
const (
	telIAC  = 0xff
	telSB   = 0xfa
	telSE   = 0xf0
	telWILL = 0xfb
)

// Telnet: a flow is Telnet when it opens with option negotiation (IAC and a
// command), or on port 23. Its login dialogue makes a credential event.
func init() {
	registerProtocol(protocol{name: "telnet", ports: []uint16{23},
		tcp: []probe{{order: tierSignature + 40, first: "\xff", match: func(b []byte, _ bool, _, _ uint16) bool {
			return len(b) >= 2 && b[0] == telIAC && b[1] >= telSE
		}}},
		// IAC WILL/WONT/DO/DONT <option> is a whole opening in three bytes.
		short: func(b []byte) bool {
			return len(b) >= 3 && b[0] == telIAC && b[1] >= telWILL
		},
		newTCP: func(*State) parser { return &telnetParser{} }})
}

// telnetMaxLine bounds the client line being typed and the server text kept
// to recognise prompts.
const telnetMaxLine = 128

// iacState strips option negotiation from one direction, across segments.
type iacState uint8

const (
	iacData   iacState = iota
	iacCmd             // after IAC
	iacOpt             // after IAC WILL/WONT/DO/DONT
	iacSub             // inside IAC SB ... IAC SE
	iacSubIAC          // IAC inside a subnegotiation
)

// strip appends the data bytes of b (without Telnet commands) to out.
func (s *iacState) strip(out, b []byte) []byte {
	for _, c := range b {
		switch *s {
		case iacData:
			if c == telIAC {
				*s = iacCmd
			} else {
				out = append(out, c)
			}
		case iacCmd:
			switch {
			case c == telIAC:
				out = append(out, c)
				*s = iacData
			case c >= telWILL:
				*s = iacOpt
			case c == telSB:
				*s = iacSub
			default:
				*s = iacData
			}
		case iacOpt:
			*s = iacData
		case iacSub:
			if c == telIAC {
				*s = iacSubIAC
			}
		case iacSubIAC:
			if c == telSE {
				*s = iacData
			} else {
				*s = iacSub
			}
		}
	}
	return out
}

// Telnet login phases.
const (
	telWait    = iota // no prompt yet
	telUser           // a login prompt was shown: the next client line is the user
	telPass           // a password prompt was shown: the next line is the password
	telOutcome        // password sent: the server's next words decide
)

// telnetParser recovers "login:" / "Password:" dialogues. The client types
// char-at-a-time and the server echoes the user name, so the user and the
// password are taken from the client's keystrokes only, and the server text
// only decides which prompt is showing.
type telnetParser struct {
	iac        [2]iacState
	line       []byte // client line being typed
	srv        []byte // recent server text, lower-cased
	phase      int
	expect     int // what the last prompt asked for (telUser or telPass)
	user, pass string
	scratch    []byte
}

func (p *telnetParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	d := 1
	if toServer {
		d = 0
	}
	p.scratch = p.iac[d].strip(p.scratch[:0], b)
	if toServer {
		p.client(c, p.scratch)
	} else {
		p.server(c, p.scratch)
	}
	return len(b), false
}

func (p *telnetParser) client(c *ctx, b []byte) {
	for i, ch := range b {
		switch ch {
		case '\r', '\n':
			if ch == '\n' && i > 0 && b[i-1] == '\r' {
				continue
			}
			if len(p.line) == 0 && ch == '\n' {
				continue
			}
			p.endLine(c)
		case 0:
		case 0x08, 0x7f:
			if len(p.line) > 0 {
				p.line = p.line[:len(p.line)-1]
			}
		case 0x15: // ^U kills the line
			p.line = p.line[:0]
		default:
			if len(p.line) < telnetMaxLine {
				p.line = append(p.line, ch)
			}
		}
	}
}

func (p *telnetParser) endLine(c *ctx) {
	line := string(p.line)
	p.line = p.line[:0]
	p.srv = p.srv[:0]
	switch p.expect {
	case telUser:
		p.user, p.pass = line, ""
		p.phase, p.expect = telPass, 0
	case telPass:
		p.pass = line
		p.phase, p.expect = telOutcome, 0
	}
}

var (
	telUserPrompts = []string{"login:", "username:", "user name:", "user:"}
	telPassPrompts = []string{"password:", "passcode:"}
	telFailWords   = []string{"incorrect", "failed", "denied", "invalid", "bad password"}
)

func (p *telnetParser) server(c *ctx, b []byte) {
	for _, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if len(p.srv) >= telnetMaxLine*2 {
			p.srv = append(p.srv[:0], p.srv[telnetMaxLine:]...)
		}
		p.srv = append(p.srv, ch)
	}
	tail := strings.TrimRight(string(p.srv), " \t\r\n\x00")
	if p.phase == telOutcome {
		for _, w := range telFailWords {
			if strings.Contains(tail, w) {
				p.outcome(c, "failure", w)
				break
			}
		}
	}
	for _, pr := range telPassPrompts {
		if strings.HasSuffix(tail, pr) {
			if p.phase == telOutcome {
				p.outcome(c, "failure", "")
			}
			p.expect = telPass
			return
		}
	}
	for _, pr := range telUserPrompts {
		if strings.HasSuffix(tail, pr) {
			if p.phase == telOutcome {
				p.outcome(c, "failure", "")
			}
			p.expect, p.phase = telUser, telUser
			return
		}
	}
	if p.phase == telOutcome {
		if strings.Contains(tail, "last login") || strings.Contains(tail, "welcome") {
			p.outcome(c, "success", "")
			return
		}
		if t := strings.TrimRight(tail, " "); len(t) > 0 && bytes.IndexByte([]byte("$#>%"), t[len(t)-1]) >= 0 {
			p.outcome(c, "success", "")
		}
	}
}

func (p *telnetParser) outcome(c *ctx, outcome, reply string) {
	if p.phase != telOutcome {
		return
	}
	p.phase = telWait
	c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "telnet", User: p.user, Password: p.pass,
		Outcome: outcome, Reply: reply}}, false)
}

func (p *telnetParser) close(c *ctx) {
	if p.phase == telOutcome {
		p.phase = telWait
		c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "telnet", User: p.user, Password: p.pass,
			Outcome: "unknown"}}, true)
	}
}

func (p *telnetParser) done() bool { return false }
