package proto

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// POP3, IMAP and SMTP share one parser (mailParser), which tells them apart
// by these ids (st.app); FTP has its own.
var (
	appPOP3 = registerProtocol(protocol{name: "pop3", ports: []uint16{110},
		tcp: []probe{{order: tierText + 20, first: "+", match: func(b []byte, toServer bool, _, _ uint16) bool {
			return !toServer && bytes.HasPrefix(b, []byte("+OK"))
		}}},
		newTCP: newMailParser})

	appIMAP = registerProtocol(protocol{name: "imap", ports: []uint16{143},
		tcp: []probe{{order: tierText + 30, first: "*", match: func(b []byte, toServer bool, _, _ uint16) bool {
			return !toServer && (bytes.HasPrefix(b, []byte("* OK")) || bytes.HasPrefix(b, []byte("* PREAUTH")))
		}}},
		newTCP: newMailParser})

	// A "220" banner is SMTP's when it says so, FTP's when it says so,
	// and otherwise SMTP's on the mail ports and FTP's elsewhere.
	appSMTP = registerProtocol(protocol{name: "smtp", ports: []uint16{25, 587},
		tcp: []probe{{order: tierText + 40, first: "2", match: func(b []byte, toServer bool, sport, _ uint16) bool {
			if !banner220(b, toServer) {
				return false
			}
			line := b
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			line = bytes.ToUpper(line)
			switch {
			case bytes.Contains(line, []byte("SMTP")) || bytes.Contains(line, []byte("MAIL")):
				return true
			case bytes.Contains(line, []byte("FTP")):
				return false
			}
			return sport == 25 || sport == 587 || sport == 465 || sport == 2525
		}}},
		newTCP: newMailParser})
)

func init() {
	registerProtocol(protocol{name: "ftp", ports: []uint16{21},
		tcp: []probe{{order: tierText + 50, first: "2", match: func(b []byte, toServer bool, _, _ uint16) bool {
			return banner220(b, toServer)
		}}},
		newTCP: func(*State) parser { return &ftpParser{} }})
}

func newMailParser(st *State) parser { return &mailParser{kind: st.app} }

// banner220 reports whether b is a server's "220 " or "220-" banner.
func banner220(b []byte, toServer bool) bool {
	return !toServer && len(b) >= 4 && string(b[:3]) == "220" && (b[3] == ' ' || b[3] == '-')
}

// maxLine bounds a command or reply line; a longer one ends parsing of that
// direction (it is not a line protocol, or it is abuse).
const maxLine = 1024

// maxPendingFTP bounds commands waiting for their replies.
const maxPendingFTP = 16

// nextLine returns the next line of b (without CR LF) and the bytes it used;
// used is 0 when no complete line is present. tooLong reports a line beyond
// maxLine.
func nextLine(b []byte) (line []byte, used int, tooLong bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, 0, len(b) > maxLine
	}
	return bytes.TrimRight(b[:i], "\r"), i + 1, false
}

type ftpCmd struct {
	cmd, arg string
	replies  []string
	codes    []string
}

// ftpParser pairs FTP commands with their final replies, emits one ftp event
// per command and a credential per login attempt.
type ftpParser struct {
	pending  []ftpCmd
	user     string
	multi    string // code of a multi-line reply in progress
	multiTxt []string
	greeted  bool
}

// feedLines hands each complete line of b to client or server by
// direction; it is the feed of the line-based protocols.
func feedLines(c *ctx, toServer bool, b []byte, client, server func(*ctx, string)) (int, bool) {
	handle := server
	if toServer {
		handle = client
	}
	n := 0
	for {
		line, used, tooLong := nextLine(b[n:])
		if tooLong {
			return len(b), true
		}
		if used == 0 {
			return n, false
		}
		n += used
		handle(c, string(line))
	}
}

func (p *ftpParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	return feedLines(c, toServer, b, p.command, p.reply)
}

func (p *ftpParser) command(c *ctx, line string) {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	cmd = strings.ToUpper(cmd)
	if cmd == "" {
		return
	}
	if len(p.pending) >= maxPendingFTP {
		p.flush(c, true)
	}
	if cmd == "USER" {
		p.user = arg
	}
	p.pending = append(p.pending, ftpCmd{cmd: cmd, arg: arg})
}

func isCode(s string) bool {
	return len(s) >= 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}

func (p *ftpParser) reply(c *ctx, line string) {
	if p.multi != "" {
		if strings.HasPrefix(line, p.multi+" ") || line == p.multi {
			text := strings.TrimSpace(line[3:])
			code := p.multi
			p.multi = ""
			p.final(c, code, append(p.multiTxt, text))
			p.multiTxt = nil
			return
		}
		if len(p.multiTxt) < 16 {
			t := line
			if strings.HasPrefix(line, p.multi+"-") {
				t = line[4:]
			}
			p.multiTxt = append(p.multiTxt, strings.TrimSpace(t))
		}
		return
	}
	if !isCode(line) {
		return
	}
	code := line[:3]
	if len(line) > 3 && line[3] == '-' {
		p.multi = code
		p.multiTxt = []string{strings.TrimSpace(line[4:])}
		return
	}
	text := ""
	if len(line) > 4 {
		text = strings.TrimSpace(line[4:])
	}
	p.final(c, code, []string{text})
}

// final attaches one complete reply to the oldest command. A 1xx reply is
// preliminary: the command waits for the next one.
func (p *ftpParser) final(c *ctx, code string, text []string) {
	if len(p.pending) == 0 {
		if !p.greeted {
			// Suricata logs the greeting as a transaction without a command.
			p.greeted = true
			codes := make([]string, len(text))
			for i := range codes {
				codes[i] = code
			}
			c.send(&Event{Type: "ftp", FTP: &FTP{Reply: text, CompletionCode: codes}}, false)
		}
		return
	}
	p.greeted = true
	cmd := &p.pending[0]
	for range text {
		cmd.codes = append(cmd.codes, code)
	}
	cmd.replies = append(cmd.replies, text...)
	if code[0] == '1' {
		return
	}
	// AUTH TLS (or SSL) accepted: the control connection goes on in TLS.
	tls := code == "234" && cmd.cmd == "AUTH"
	p.flush(c, false)
	if tls {
		c.upgrade(appTLS)
	}
}

// flush emits the oldest pending command with what replies it got.
func (p *ftpParser) flush(c *ctx, toServer bool) {
	cmd := p.pending[0]
	p.pending = p.pending[1:]
	if len(p.pending) == 0 {
		p.pending = nil
	}
	// PASS's argument is sent as it came, as a Credential's password is:
	// the outputs mask it (FTP.ShownData).
	c.send(&Event{Type: "ftp", FTP: &FTP{Command: cmd.cmd, CommandData: cmd.arg, Reply: cmd.replies, CompletionCode: cmd.codes}}, toServer)
	code := ""
	if n := len(cmd.codes); n > 0 {
		code = cmd.codes[n-1]
	}
	switch {
	case cmd.cmd == "PASS":
		c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "ftp", User: p.user, Password: cmd.arg,
			Outcome: replyOutcome(code), Reply: code}}, toServer)
	case cmd.cmd == "USER" && code != "" && code[0] != '3':
		// Accepted or refused without asking for a password.
		c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "ftp", User: p.user,
			Outcome: replyOutcome(code), Reply: code}}, toServer)
	}
}

// ShownData is the command's argument as an output writes it: PASS's is
// a secret, shown or masked by ShowSecret.
func (f *FTP) ShownData(show bool) string {
	if f.Command == "PASS" {
		return ShowSecret(f.CommandData, show)
	}
	return f.CommandData
}

// replyOutcome maps a three-digit reply to a login outcome.
func replyOutcome(code string) string {
	switch {
	case code == "":
		return "unknown"
	case code[0] == '2':
		return "success"
	case code[0] == '4' || code[0] == '5':
		return "failure"
	}
	return "unknown"
}

func (p *ftpParser) close(c *ctx) {
	for len(p.pending) > 0 {
		p.flush(c, true)
	}
}

func (p *ftpParser) done() bool { return false }

// mailParser follows the login dialogue of SMTP (AUTH), POP3 (USER/PASS,
// AUTH) and IMAP (LOGIN, AUTHENTICATE), the SASL mechanisms that carry the
// secret in clear (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER), and emits a
// credential when the server answers it.
type mailParser struct {
	kind       appID
	user, pass string
	mech       string // "PLAIN" or "LOGIN" while an AUTH exchange runs
	step       int    // client lines seen within the AUTH exchange
	waiting    bool   // credentials sent; the next final reply decides
	tag        string // IMAP tag of the login command
	starttls   bool   // STARTTLS (STLS) sent; the next final reply decides
	tlsTag     string // its IMAP tag
}

// startTLS notes the client's request to upgrade: SMTP and IMAP STARTTLS,
// POP3 STLS. The server's positive answer hands the flow to TLS.
func (p *mailParser) startTLS(line string) bool {
	f := strings.Fields(line)
	switch {
	case p.kind == appIMAP && len(f) == 2 && strings.EqualFold(f[1], "STARTTLS"):
		p.starttls, p.tlsTag = true, f[0]
	case p.kind == appSMTP && len(f) == 1 && strings.EqualFold(f[0], "STARTTLS"),
		p.kind == appPOP3 && len(f) == 1 && strings.EqualFold(f[0], "STLS"):
		p.starttls = true
	default:
		return false
	}
	return true
}

// tlsAnswer takes the server's answer to STARTTLS: a positive one (220,
// +OK, the tag's OK) starts TLS; handled reports that line was the answer.
func (p *mailParser) tlsAnswer(c *ctx, line string) (handled bool) {
	ok := false
	switch p.kind {
	case appSMTP:
		if !isCode(line) || (len(line) > 3 && line[3] == '-') {
			return true
		}
		ok = line[:3] == "220"
	case appPOP3:
		if !strings.HasPrefix(line, "+OK") && !strings.HasPrefix(line, "-ERR") {
			return true
		}
		ok = strings.HasPrefix(line, "+OK")
	case appIMAP:
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != p.tlsTag {
			return true
		}
		ok = strings.EqualFold(f[1], "OK")
	}
	p.starttls = false
	if ok {
		c.upgrade(appTLS)
	}
	return true
}

func (p *mailParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	return feedLines(c, toServer, b, p.clientLine, p.serverLine)
}

func (p *mailParser) clientLine(c *ctx, line string) {
	if p.mech == "" && p.startTLS(line) {
		return
	}
	if p.mech != "" {
		p.authData(c, strings.TrimSpace(line))
		return
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return
	}
	if p.kind == appIMAP {
		if len(fields) < 2 {
			return
		}
		tag, verb := fields[0], strings.ToUpper(fields[1])
		switch verb {
		case "LOGIN":
			args := imapArgs(strings.TrimSpace(line[len(fields[0]):])[len(fields[1]):])
			if len(args) >= 2 {
				p.user, p.pass, p.tag, p.waiting = args[0], args[1], tag, true
			}
		case "AUTHENTICATE":
			p.tag = tag
			p.startAuth(c, fields[2:])
		}
		return
	}
	verb := strings.ToUpper(fields[0])
	switch {
	case verb == "USER" && p.kind == appPOP3 && len(fields) > 1:
		p.user = strings.TrimSpace(line[5:])
	case verb == "PASS" && p.kind == appPOP3:
		if len(line) > 5 {
			p.pass = line[5:]
		}
		p.waiting = true
	case verb == "AUTH":
		p.startAuth(c, fields[1:])
	}
}

func (p *mailParser) startAuth(c *ctx, args []string) {
	if len(args) == 0 {
		return
	}
	mech := strings.ToUpper(args[0])
	switch mech {
	case "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER":
	default:
		return
	}
	p.mech, p.step, p.user, p.pass = mech, 0, "", ""
	if len(args) > 1 {
		p.authData(c, args[1])
	}
}

// authData takes one base64 client response of an AUTH exchange.
func (p *mailParser) authData(c *ctx, s string) {
	if s == "*" {
		p.mech = ""
		return
	}
	dec, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		p.mech = ""
		return
	}
	switch p.mech {
	case "PLAIN":
		// authzid NUL authcid NUL passwd
		parts := strings.SplitN(string(dec), "\x00", 3)
		if len(parts) == 3 {
			p.user, p.pass = parts[1], parts[2]
		}
		p.mech, p.waiting = "", true
	case "XOAUTH2", "OAUTHBEARER":
		// The bearer token is the secret: whoever holds it is the user
		// until it expires.
		p.user, p.pass = oauthFields(dec)
		p.mech, p.waiting = "", true
	case "LOGIN":
		if p.step == 0 {
			p.user = string(dec)
			p.step++
			return
		}
		p.pass = string(dec)
		p.mech, p.waiting = "", true
	}
}

// oauthFields reads the user and bearer token of a SASL XOAUTH2 response
// ("user=U\x01auth=Bearer T\x01\x01") or an OAUTHBEARER one (RFC 7628:
// "n,a=U,\x01host=H\x01auth=Bearer T\x01\x01").
func oauthFields(dec []byte) (user, token string) {
	for _, kv := range strings.Split(string(dec), "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "user":
			user = v
		case k == "auth":
			if s, t, ok := strings.Cut(v, " "); ok && strings.EqualFold(s, "Bearer") {
				token = strings.TrimSpace(t)
			} else {
				token = v
			}
		case strings.HasPrefix(kv, "n,") || strings.HasPrefix(kv, "y,") || strings.HasPrefix(kv, "p="):
			// GS2 header: the authorization identity follows "a=".
			for _, f := range strings.Split(kv, ",") {
				if a, ok := strings.CutPrefix(f, "a="); ok && user == "" {
					user = a
				}
			}
		}
	}
	return user, token
}

func (p *mailParser) serverLine(c *ctx, line string) {
	if p.starttls && p.tlsAnswer(c, line) {
		return
	}
	if !p.waiting {
		return
	}
	outcome, reply := "", ""
	switch p.kind {
	case appSMTP:
		if !isCode(line) || (len(line) > 3 && line[3] == '-') || strings.HasPrefix(line, "334") {
			return
		}
		reply = line[:3]
		outcome = replyOutcome(reply)
	case appPOP3:
		switch {
		case strings.HasPrefix(line, "+OK"):
			outcome, reply = "success", "+OK"
		case strings.HasPrefix(line, "-ERR"):
			outcome, reply = "failure", "-ERR"
		default:
			return
		}
	case appIMAP:
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != p.tag {
			return
		}
		reply = strings.ToUpper(f[1])
		outcome = "failure"
		if reply == "OK" {
			outcome = "success"
		}
	}
	p.waiting = false
	p.emitCred(c, outcome, reply, false)
}

func (p *mailParser) emitCred(c *ctx, outcome, reply string, toServer bool) {
	c.send(&Event{Type: "credential", Cred: &Credential{Protocol: appNames[p.kind], User: p.user,
		Password: p.pass, Outcome: outcome, Reply: reply}}, toServer)
}

func (p *mailParser) close(c *ctx) {
	if p.waiting {
		p.waiting = false
		p.emitCred(c, "unknown", "", true)
	}
}

func (p *mailParser) done() bool { return false }

// imapArgs splits IMAP astrings: atoms and quoted strings with \" and \\.
func imapArgs(s string) []string {
	var out []string
	for len(out) < 4 {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if s[0] != '"' {
			i := strings.IndexByte(s, ' ')
			if i < 0 {
				i = len(s)
			}
			out = append(out, s[:i])
			s = s[i:]
			continue
		}
		var sb strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			sb.WriteByte(s[i])
		}
		out = append(out, sb.String())
		if i >= len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}
