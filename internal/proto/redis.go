package proto

import (
	"bytes"
	"strconv"
	"strings"
)

// Redis: the client's AUTH (and HELLO ... AUTH) carries the password in
// clear, in RESP (an array of bulk strings, what every client library
// sends) or as an inline command (redis-cli's and telnet's text). The
// reply paired with it in order says whether it was accepted.

func init() {
	registerProtocol(protocol{name: "redis",
		tcp: []probe{{order: tierText + 10, match: func(b []byte, toServer bool, sport, _ uint16) bool {
			return toServer && looksRedis(b, sport)
		}}},
		newTCP: func(*State) parser { return &redisParser{} }})
}

// maxRedisCmds bounds the commands (and replies) of a connection that are
// looked at: logins come first, and a long session is data.
const maxRedisCmds = 16

// maxRESPArg bounds an argument kept from a command; a longer bulk string
// is skipped (a value being SET), not held.
const maxRESPArg = 512

// maxRESPDepth bounds nested aggregates in a reply.
const maxRESPDepth = 8

// respReader walks one direction's RESP elements and reports each
// top-level one: a command (its arguments) or a reply (its first line).
type respReader struct {
	skip  int64 // bytes of a long bulk string (and its CRLF) still to pass
	stack [maxRESPDepth]int64
	depth int
	args  []string
	first string // first line of the top-level element
	count int    // top-level elements seen
}

// feed consumes complete elements of b; top is called for each top-level
// element as it completes. It returns how many bytes it used, and stop
// when the stream is not RESP or its bounds are reached.
func (r *respReader) feed(b []byte, client bool, top func(r *respReader)) (n int, stop bool) {
	for n < len(b) {
		if r.count >= maxRedisCmds {
			return len(b), true
		}
		if r.skip > 0 {
			k := min(int64(len(b)-n), r.skip)
			n += int(k)
			r.skip -= k
			if r.skip == 0 {
				r.elemDone(top)
			}
			continue
		}
		i := bytes.IndexByte(b[n:], '\n')
		if i < 0 {
			if len(b)-n > maxLine {
				return len(b), true
			}
			return n, false
		}
		line := bytes.TrimRight(b[n:n+i], "\r")
		used := i + 1
		if len(line) == 0 {
			n += used
			if r.depth > 0 {
				return len(b), true // an empty line inside an aggregate
			}
			continue
		}
		if r.depth == 0 {
			r.first = string(line[:min(len(line), maxLine)])
			r.args = r.args[:0]
		}
		switch t := line[0]; t {
		case '$', '!', '=':
			size, err := strconv.ParseInt(string(line[1:]), 10, 64)
			if err != nil {
				return len(b), true
			}
			if size < 0 {
				n += used
				r.elemDone(top)
				continue
			}
			if size > maxRESPArg {
				n += used
				r.skip = size + 2
				r.arg("")
				continue
			}
			end := n + used + int(size)
			if end+2 > len(b) {
				return n, false // the whole argument is waited for
			}
			r.arg(string(b[n+used : end]))
			n = end + 2
			r.elemDone(top)
		case '*', '~', '>', '%', '|':
			size, err := strconv.ParseInt(string(line[1:]), 10, 64)
			if err != nil || (client && t != '*') {
				return len(b), true
			}
			if t == '%' || t == '|' {
				size *= 2
			}
			n += used
			if size <= 0 {
				r.elemDone(top)
				continue
			}
			if r.depth >= maxRESPDepth || (client && r.depth > 0) {
				return len(b), true
			}
			r.stack[r.depth] = size
			r.depth++
		case '+', '-', ':', '_', ',', '#', '(':
			if client && r.depth == 0 {
				r.inline(line)
			}
			n += used
			r.elemDone(top)
		default:
			if !client || r.depth > 0 {
				return len(b), true
			}
			// An inline command: words separated by spaces.
			r.inline(line)
			n += used
			r.elemDone(top)
		}
	}
	return n, false
}

func (r *respReader) inline(line []byte) {
	for _, f := range strings.Fields(string(line)) {
		if len(r.args) >= 4 {
			break
		}
		r.args = append(r.args, f)
	}
}

// arg keeps one argument of the command being read (the first few: the
// login's fields come first).
func (r *respReader) arg(s string) {
	if r.depth == 1 && len(r.args) < 6 {
		r.args = append(r.args, s)
	}
}

// elemDone counts one complete element against the aggregates it is in.
func (r *respReader) elemDone(top func(*respReader)) {
	for r.depth > 0 {
		r.stack[r.depth-1]--
		if r.stack[r.depth-1] > 0 {
			return
		}
		r.depth--
	}
	top(r)
	r.count++
}

// redisAuth is a login seen in the client's commands: which command it
// was, so the reply of the same rank answers it.
type redisAuth struct {
	idx        int
	user, pass string
}

// redisParser pairs the client's AUTH commands with their replies.
type redisParser struct {
	cli, srv respReader
	auths    []redisAuth
	// replies holds the first line of each reply, by rank, until the
	// command it answers is known.
	replies [maxRedisCmds]string
}

func (p *redisParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	if toServer {
		return p.cli.feed(b, true, func(r *respReader) { p.command(c, r) })
	}
	return p.srv.feed(b, false, func(r *respReader) { p.reply(c, r) })
}

// command notes AUTH [user] pass and HELLO ver AUTH user pass.
func (p *redisParser) command(c *ctx, r *respReader) {
	a := r.args
	if len(a) == 0 {
		return
	}
	au := redisAuth{idx: r.count, user: "default"}
	switch strings.ToUpper(a[0]) {
	case "AUTH":
		switch len(a) {
		case 2:
			au.pass = a[1]
		case 3:
			au.user, au.pass = a[1], a[2]
		default:
			return
		}
	case "HELLO":
		i := 2
		for i+2 < len(a) && !strings.EqualFold(a[i], "AUTH") {
			i++
		}
		if i+2 >= len(a) {
			return
		}
		au.user, au.pass = a[i+1], a[i+2]
	default:
		return
	}
	if reply := p.replies[au.idx]; reply != "" {
		p.emit(c, au, reply)
		return
	}
	if len(p.auths) < maxRedisCmds {
		p.auths = append(p.auths, au)
	}
}

func (p *redisParser) reply(c *ctx, r *respReader) {
	for i, au := range p.auths {
		if au.idx == r.count {
			p.auths = append(p.auths[:i], p.auths[i+1:]...)
			p.emit(c, au, r.first)
			return
		}
	}
	if r.count < maxRedisCmds && r.count >= p.cli.count {
		p.replies[r.count] = r.first
	}
}

// emit sends the login with the outcome its reply shows: an error reply
// (-WRONGPASS, -ERR) refused it; anything else (+OK, HELLO's map) took it.
func (p *redisParser) emit(c *ctx, au redisAuth, reply string) {
	outcome := "unknown"
	word := reply
	switch {
	case reply == "":
	case reply[0] == '-':
		outcome = "failure"
		word, _, _ = strings.Cut(reply, " ")
	default:
		outcome = "success"
		if reply[0] != '+' {
			word = reply[:1]
		}
	}
	c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "redis", User: au.user, Password: au.pass,
		Outcome: outcome, Reply: word}}, false)
}

func (p *redisParser) close(c *ctx) {
	for _, au := range p.auths {
		c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "redis", User: au.user, Password: au.pass,
			Outcome: "unknown"}}, true)
	}
	p.auths = nil
}

func (p *redisParser) done() bool {
	return p.cli.count >= maxRedisCmds && p.srv.count >= maxRedisCmds
}

// looksRedis reports whether a client's first bytes are a RESP command
// (an array of bulk strings: "*2\r\n$4\r\nAUTH..."), or on Redis's port
// an inline command.
func looksRedis(b []byte, sport uint16) bool {
	if len(b) >= 8 && b[0] == '*' {
		i := 1
		for i < len(b) && i < 4 && isDigit(b[i]) {
			i++
		}
		if i > 1 && bytes.HasPrefix(b[i:], []byte("\r\n$")) {
			j := i + 3
			k := j
			for k < len(b) && k < j+3 && isDigit(b[k]) {
				k++
			}
			return k > j && bytes.HasPrefix(b[k:], []byte("\r\n"))
		}
		return false
	}
	if sport != 6379 && sport != 6380 {
		return false
	}
	line, _, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return false
	}
	verb, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(" "))
	if len(verb) == 0 || len(verb) > 16 {
		return false
	}
	for _, ch := range verb {
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z') {
			return false
		}
	}
	return true
}
