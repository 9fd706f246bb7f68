package proto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

func init() {
	registerProtocol(protocol{name: "http",
		tcp: []probe{
			{order: tierSignature + 20, first: "H", match: func(b []byte, _ bool, _, _ uint16) bool { return bytes.HasPrefix(b, []byte("HTTP/1.")) }},
			{order: tierText, first: "GPHDOCT", match: func(b []byte, toServer bool, _, _ uint16) bool {
				if !toServer {
					return false
				}
				for _, m := range httpMethods {
					if bytes.HasPrefix(b, []byte(m)) {
						return true
					}
				}
				return false
			}},
		},
		newTCP: func(st *State) parser {
			if p := st.pool.httpParser(); p != nil {
				return p
			}
			return &httpParser{}
		}})
}

var httpMethods = [...]string{"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ", "TRACE ", "PROPFIND "}

// maxPendingHTTP bounds pipelined requests waiting for their responses;
// past it the oldest is logged without one.
const maxPendingHTTP = 64

type httpReq struct {
	h HTTP
	// creds is the credentials the request carries, nil when it carries
	// none, as nearly every request does: a parser holds up to two
	// requests (one waiting, one being answered) for as long as its flow
	// lives, and the credentials inline were 64 bytes of each.
	creds     *reqCreds
	formLogin bool // the request is a urlencoded or JSON POST: its body is read
	formJSON  bool // ... and it is JSON
}

// reqCreds is a request's credentials: Basic authorization's user and
// password, and a login form's fields (a urlencoded POST body with a
// password field), sent as its own credential.
type reqCreds struct {
	basic        formCred
	hasCred      bool
	form         formCred
	hasFormCreds bool
}

// cred returns r's credentials, made when it had none.
func (r *httpReq) cred() *reqCreds {
	if r.creds == nil {
		r.creds = new(reqCreds)
	}
	return r.creds
}

// formCred is the user and password fields of a login form.
type formCred struct{ user, pass string }

// bodySkip walks over a message body: a known length, chunked framing, or
// everything until the connection closes.
type bodySkip struct {
	remain    int64
	chunked   bool
	chunkData bool // inside chunk data (remain counts it) rather than at a size line
	trailer   bool
	tillClose bool
	// data counts the body's bytes (chunk data without its framing), what
	// Suricata logs as the response's length.
	data int64
}

func (s *bodySkip) active() bool { return s.remain > 0 || s.chunked || s.tillClose }

// skip consumes body bytes from b and returns how many it used. It returns
// short when it needs more input to finish a chunk-size line.
func (s *bodySkip) skip(b []byte) int {
	n := 0
	for n < len(b) {
		switch {
		case s.tillClose:
			s.data += int64(len(b) - n)
			return len(b)
		case s.remain > 0:
			k := int64(len(b) - n)
			if k > s.remain {
				k = s.remain
			}
			s.remain -= k
			n += int(k)
			if !s.chunked || s.chunkData {
				s.data += k
			}
			if s.remain == 0 && s.chunked && s.chunkData {
				s.chunkData = false
				s.remain = 2 // CRLF after the chunk data
			}
		case s.chunked:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				return n
			}
			line := bytes.TrimSpace(b[n : n+i])
			n += i + 1
			if s.trailer {
				if len(line) == 0 {
					s.chunked, s.trailer = false, false
					return n
				}
				continue
			}
			if j := bytes.IndexByte(line, ';'); j >= 0 {
				line = line[:j]
			}
			size, err := strconv.ParseInt(string(line), 16, 64)
			if err != nil || size < 0 {
				s.tillClose = true
				return len(b)
			}
			if size == 0 {
				s.trailer = true
				continue
			}
			s.remain, s.chunkData = size, true
		default:
			return n
		}
	}
	return n
}

// httpParser pairs HTTP/1.x requests with responses in order (pipelining
// included) and emits one http event per pair.
type httpParser struct {
	reqs     reqQueue
	reqBody  bodySkip
	respBody bodySkip
	txs      int // transactions logged so far: the next one's tx_id
	// resp is the response whose body is being read: Suricata logs a
	// transaction when its response is complete, with the body's length.
	resp   httpReq
	open   bool
	resync [2]bool // after a gap: skip to the next request (0) or response (1) line
	capped bool    // maxTxPerFlow reached
	// The flags sit together so that the parser (every HTTP flow holds
	// one for its life) fits the allocator's 512-byte class.
	formJSON bool // the form being read (form) is JSON
	// scanned is how much of each direction's incomplete header block
	// (the unconsumed bytes it is presented again) was searched for its
	// end (nextHead); a gap drops those bytes and so the count.
	scanned [2]int
	// form holds the first bytes of a urlencoded POST body while it is
	// read; formLeft is how many more are kept (0: none is being read).
	form     []byte
	formLeft int
}

// maxFormBody bounds the bytes of a form body kept to look for a login: a
// login form is a few fields, and its first maxFormBody bytes are parsed
// even when the body is longer.
const maxFormBody = 4096

func (p *httpParser) holdLimit(cfg *Config) int { return cfg.maxBytes() }

// gap is told that n bytes of a direction were lost (0: unknown) after held
// unconsumed bytes. Inside a body of known length the body just goes on, as
// libhtp consumes a gap as body data; otherwise the message's framing is
// lost and the direction resynchronises at its next request or status line.
func (p *httpParser) gap(c *ctx, toServer bool, n int64, held int) {
	body, d := &p.respBody, 1
	if toServer {
		body, d = &p.reqBody, 0
	}
	p.scanned[d] = 0
	if toServer && p.formLeft > 0 {
		// The form is parsed as far as it came; past a hole its fields
		// would be misread.
		p.formDone(c)
	}
	if held == 0 && n > 0 && !p.resync[d] {
		switch {
		case body.tillClose:
			body.data += n
			return
		case body.remain >= n && (!body.chunked || body.chunkData):
			body.remain -= n
			body.data += n
			if body.remain == 0 && body.chunked {
				body.chunkData, body.remain = false, 2
			}
			return
		}
	}
	if !toServer && p.open {
		p.endResponse(c)
	}
	*body = bodySkip{}
	p.resync[d] = true
}

// resyncAt finds where the first request (toServer) or response starts in
// b, at a line start or glued to the end of a body: skip is where it
// starts, or how much of b can be dropped when none is there yet (a last
// line not ended is kept, up to a bound).
func resyncAt(b []byte, toServer bool) (skip int, found bool) {
	i := 0
	for i < len(b) {
		end := bytes.IndexByte(b[i:], '\n')
		if end < 0 {
			if len(b)-i > maxResyncLine {
				return len(b), false
			}
			return i, false
		}
		if k := messageIn(b[i:i+end], toServer); k >= 0 {
			return i + k, true
		}
		i += end + 1
	}
	return i, false
}

// maxResyncLine bounds the unended line kept while resynchronising.
const maxResyncLine = 8192

// messageIn returns where in line a request or status line starts, or -1.
func messageIn(line []byte, toServer bool) int {
	if !toServer {
		for j := 0; j < len(line); {
			k := bytes.Index(line[j:], []byte("HTTP/"))
			if k < 0 {
				return -1
			}
			if startsMessage(line[j+k:], false) {
				return j + k
			}
			j += k + 1
		}
		return -1
	}
	if startsMessage(line, true) {
		return 0
	}
	best := -1
	for _, m := range httpMethods {
		if k := bytes.Index(line, []byte(m)); k > 0 && (best < 0 || k < best) && startsMessage(line[k:], true) {
			best = k
		}
	}
	return best
}

// startsMessage reports whether line is a request line (METHOD URI
// HTTP/x.y) or a status line (HTTP/x.y NNN).
func startsMessage(line []byte, toServer bool) bool {
	line = bytes.TrimRight(line, "\r")
	if !toServer {
		return len(line) >= 12 && bytes.HasPrefix(line, []byte("HTTP/")) && line[8] == ' ' &&
			isDigit(line[9]) && isDigit(line[10]) && isDigit(line[11])
	}
	method, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !validMethod(string(method)) {
		return false
	}
	i := bytes.LastIndexByte(rest, ' ')
	return i > 0 && bytes.HasPrefix(rest[i+1:], []byte("HTTP/"))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// resynced skips to the next message line of a direction that lost its
// framing; ok is false while none is in b (n bytes of it are consumed).
func (p *httpParser) resynced(toServer bool, b []byte, n int) (int, bool) {
	d := 1
	if toServer {
		d = 0
	}
	if !p.resync[d] {
		return n, true
	}
	k, found := resyncAt(b[n:], toServer)
	if found {
		p.resync[d] = false
	}
	return n + k, found
}

// full reports, once, that the flow reached maxTxPerFlow.
func (p *httpParser) full(c *ctx) bool {
	if p.txs+p.reqs.n < maxTxPerFlow {
		return false
	}
	if !p.capped {
		p.capped = true
		c.cfg.budget().capped()
	}
	return true
}

// headerEnd returns the length of the header block including its blank line,
// or -1 when it is not complete yet. The first from bytes of b are known to
// hold no end (they were searched before, when less had arrived): an end
// that starts more than three bytes before from would lie wholly within
// them, so the search starts there and finds what a search of all of b
// finds.
func headerEnd(b []byte, from int) int {
	s := max(min(from, len(b))-3, 0)
	if i := bytes.Index(b[s:], []byte("\r\n\r\n")); i >= 0 {
		return s + i + 4
	}
	if i := bytes.Index(b[s:], []byte("\n\n")); i >= 0 {
		return s + i + 2
	}
	return -1
}

// splitLines yields the header block's lines without their terminators.
func eachLine(b []byte, fn func(line []byte)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		fn(bytes.TrimRight(line, "\r"))
	}
}

func (p *httpParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	if toServer {
		return p.feedRequest(c, b)
	}
	return p.feedResponse(c, b)
}

// nextHead skips the rest of the current message body and any blank lines
// (stray CRLF between pipelined messages) and returns the next complete
// header block with the offset after it. When it returns no block, feed
// returns (n, done): more input is needed, or the direction is finished.
// scanned carries, from one call to the next, how much of an incomplete
// header block was searched for its end: the block is presented again at
// b[0] with more appended, and only what is new is searched (a head that
// comes a few bytes a segment costs its length, not its length squared).
func nextHead(body *bodySkip, b []byte, n int, scanned *int) (block []byte, next int, done bool) {
	from := *scanned
	*scanned = 0
	for n < len(b) {
		if body.active() {
			n += body.skip(b[n:])
			if body.tillClose {
				return nil, len(b), true
			}
			if body.active() {
				return nil, n, false
			}
			continue
		}
		if b[n] == '\r' || b[n] == '\n' {
			n++
			continue
		}
		if n != 0 {
			from = 0 // not the block searched before
		}
		end := headerEnd(b[n:], from)
		if end < 0 {
			*scanned = len(b) - n
			return nil, n, false
		}
		return b[n : n+end], n + end, false
	}
	return nil, n, false
}

func (p *httpParser) feedRequest(c *ctx, b []byte) (int, bool) {
	n := 0
	for {
		var ok bool
		if n, ok = p.resynced(true, b, n); !ok {
			return n, false
		}
		if p.formLeft > 0 {
			// The body of a urlencoded POST starts at n: keep what a
			// login form needs of it before it is skipped.
			k := int(min(int64(len(b)-n), int64(p.formLeft), p.reqBody.remain))
			p.form = append(p.form, b[n:n+k]...)
			p.formLeft -= k
			if k == int(p.reqBody.remain) {
				p.formLeft = 0
			}
			if p.formLeft == 0 {
				p.formDone(c)
			}
		}
		block, next, done := nextHead(&p.reqBody, b, n, &p.scanned[0])
		if block == nil {
			return next, done
		}
		n = next
		r, clen, chunked, ok := parseRequestHead(block)
		if !ok {
			return len(b), true
		}
		if p.full(c) {
			return len(b), true
		}
		if p.reqs.n >= maxPendingHTTP {
			p.flushOne(c, true)
		}
		p.reqs.push(r)
		switch {
		case chunked:
			p.reqBody = bodySkip{chunked: true}
		case clen > 0:
			p.reqBody = bodySkip{remain: clen}
			if r.formLogin {
				p.form, p.formLeft, p.formJSON = p.form[:0], int(min(clen, maxFormBody)), r.formJSON
			}
		}
	}
}

// formDone looks for a login in the form body read: its credential joins
// the request it belongs to (still waiting for its response, or being
// answered), or is sent alone when that request was already logged.
func (p *httpParser) formDone(c *ctx) {
	var fc formCred
	var ok bool
	if p.formJSON {
		fc, ok = jsonLogin(p.form)
	} else {
		fc, ok = formLogin(p.form)
	}
	p.form, p.formLeft = p.form[:0], 0
	if !ok {
		return
	}
	switch {
	case p.reqs.n > 0:
		cr := p.reqs.last().cred()
		cr.form, cr.hasFormCreds = fc, true
	case p.open:
		cr := p.resp.cred()
		cr.form, cr.hasFormCreds = fc, true
	default:
		c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "http", User: fc.user, Password: fc.pass, Outcome: "unknown"}}, true)
	}
}

// formLogin finds a login in a urlencoded form body: a field named like a
// password (password, passwd, pass, pwd and names ending so, as
// login[password] or user_pass) and one named like a user (user, username,
// login, email, log as WordPress names it, ...). Both must be there: a
// password alone is a password change or a search, not a login.
func formLogin(body []byte) (formCred, bool) {
	var fc formCred
	var weak string
	hasUser, hasPass, hasWeak := false, false, false
	for len(body) > 0 {
		var kv []byte
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			kv, body = body[:i], body[i+1:]
		} else {
			kv, body = body, nil
		}
		k, v, _ := bytes.Cut(kv, []byte("="))
		key, err := url.QueryUnescape(string(k))
		if err != nil {
			continue
		}
		val, err := url.QueryUnescape(string(v))
		if err != nil {
			val = string(v)
		}
		switch formField(key) {
		case fieldPass:
			if !hasPass {
				fc.pass, hasPass = val, true
			}
		case fieldUser:
			if !hasUser {
				fc.user, hasUser = val, true
			}
		case fieldUserWeak:
			if !hasWeak {
				weak, hasWeak = val, true
			}
		}
	}
	if !hasUser && hasWeak {
		fc.user, hasUser = weak, true
	}
	return fc, hasUser && hasPass && (fc.user != "" || fc.pass != "")
}

// maxJSONDepth bounds the nesting a JSON login is looked for in
// ({"user": {"login": ..., "password": ...}}).
const maxJSONDepth = 3

// jsonLogin finds a login in a JSON request body, as formLogin does in a
// form: string fields named like a user and a password in one object.
func jsonLogin(body []byte) (formCred, bool) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return formCred{}, false
	}
	return jsonObject(v, 0)
}

func jsonObject(v any, depth int) (formCred, bool) {
	m, ok := v.(map[string]any)
	if !ok || depth > maxJSONDepth {
		return formCred{}, false
	}
	// Sorted keys: the same body always gives the same login.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var fc formCred
	var weak string
	hasUser, hasPass, hasWeak := false, false, false
	for _, k := range keys {
		s, isStr := m[k].(string)
		if !isStr {
			continue
		}
		switch formField(k) {
		case fieldPass:
			if !hasPass {
				fc.pass, hasPass = s, true
			}
		case fieldUser:
			if !hasUser {
				fc.user, hasUser = s, true
			}
		case fieldUserWeak:
			if !hasWeak {
				weak, hasWeak = s, true
			}
		}
	}
	if !hasUser && hasWeak {
		fc.user, hasUser = weak, true
	}
	if hasUser && hasPass && (fc.user != "" || fc.pass != "") {
		return fc, true
	}
	for _, k := range keys {
		if fc, ok := jsonObject(m[k], depth+1); ok {
			return fc, true
		}
	}
	return formCred{}, false
}

const (
	fieldOther = iota
	fieldUser
	fieldUserWeak // a name that is a login's only when no better one is there
	fieldPass
)

// formField classifies a form field by its name: the last part of a
// bracketed or dotted name (login[password], user.name), case folded.
func formField(key string) int {
	k := strings.ToLower(strings.TrimRight(key, "]"))
	if i := strings.LastIndexAny(k, "[."); i >= 0 {
		k = k[i+1:]
	}
	switch k {
	case "password", "passwd", "pass", "pwd", "pw", "passwort", "passw", "j_password", "userpassword":
		return fieldPass
	case "user", "username", "user_name", "usr", "uname", "login", "log", "email", "mail",
		"userid", "user_id", "loginid", "login_id", "j_username", "session_key":
		return fieldUser
	case "account", "uid", "name", "id":
		return fieldUserWeak
	}
	switch {
	case strings.Contains(k, "password") || strings.Contains(k, "passwd") ||
		strings.HasSuffix(k, "_pass") || strings.HasSuffix(k, "-pass") || strings.HasSuffix(k, "_pwd"):
		if strings.Contains(k, "hint") || strings.Contains(k, "forgot") || strings.Contains(k, "reset") {
			return fieldOther
		}
		return fieldPass
	case strings.HasSuffix(k, "username") || strings.HasSuffix(k, "_user") || strings.HasSuffix(k, "_login") ||
		strings.HasSuffix(k, "email") || strings.HasSuffix(k, "_name") && strings.Contains(k, "user"):
		return fieldUser
	}
	return fieldOther
}

// parseRequestHead reads a request's header block. The fields kept are
// substrings of one copy of the block: one allocation per request.
func parseRequestHead(block []byte) (r httpReq, clen int64, chunked, ok bool) {
	clen = -1
	text := string(block)
	first := true
	ok = true
	for len(text) > 0 {
		var line string
		if i := strings.IndexByte(text, '\n'); i < 0 {
			line, text = text, ""
		} else {
			line, text = text[:i], text[i+1:]
		}
		line = strings.TrimRight(line, "\r")
		if first {
			first = false
			method, rest, found := strings.Cut(line, " ")
			if !found {
				ok = false
				continue
			}
			r.h.Method = method
			if url, proto, found := strings.Cut(rest, " "); found {
				r.h.URL, r.h.Protocol = url, proto
			} else {
				r.h.URL = rest
			}
			continue
		}
		name, val, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		val = strings.TrimSpace(val)
		switch {
		case strings.EqualFold(name, "Host"):
			r.h.Hostname, r.h.Port = splitHostPort(val)
		case strings.EqualFold(name, "User-Agent"):
			r.h.UserAgent = val
		case strings.EqualFold(name, "Referer"):
			r.h.Referer = val
		case strings.EqualFold(name, "Authorization"):
			scheme, rest, _ := strings.Cut(val, " ")
			r.h.Authorization = scheme
			if strings.EqualFold(scheme, "Basic") {
				if user, pass, ok := decodeBasic(strings.TrimSpace(rest)); ok {
					cr := r.cred()
					cr.basic, cr.hasCred = formCred{user, pass}, true
				} else if r.creds != nil {
					r.creds.hasCred = false
				}
			}
		case strings.EqualFold(name, "Content-Length"):
			clen, _ = strconv.ParseInt(val, 10, 64)
		case strings.EqualFold(name, "Transfer-Encoding"):
			chunked = strings.Contains(strings.ToLower(val), "chunked")
		case strings.EqualFold(name, "Content-Type"):
			mt, _, _ := strings.Cut(val, ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			r.formJSON = mt == "application/json" || strings.HasSuffix(mt, "+json")
			r.formLogin = mt == "application/x-www-form-urlencoded" || r.formJSON
		}
	}
	r.formLogin = r.formLogin && r.h.Method == "POST"
	return r, clen, chunked, ok && validMethod(r.h.Method)
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			if c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

func (p *httpParser) feedResponse(c *ctx, b []byte) (int, bool) {
	n := 0
	for {
		var ok bool
		if n, ok = p.resynced(false, b, n); !ok {
			return n, false
		}
		block, next, done := nextHead(&p.respBody, b, n, &p.scanned[1])
		if p.open && !p.respBody.active() {
			p.endResponse(c)
		}
		if block == nil {
			return next, done
		}
		n = next
		if !bytes.HasPrefix(block, []byte("HTTP/")) {
			return len(b), true
		}
		if p.reqs.n == 0 && p.full(c) {
			return len(b), true
		}
		status := 0
		var ctype string
		var clen int64 = -1
		chunked := false
		first := true
		eachLine(block, func(line []byte) {
			if first {
				first = false
				if _, rest, found := bytes.Cut(line, []byte(" ")); found {
					code, _, _ := bytes.Cut(rest, []byte(" "))
					status, _ = strconv.Atoi(string(code))
				}
				return
			}
			name, val, found := bytes.Cut(line, []byte(":"))
			if !found {
				return
			}
			val = bytes.TrimSpace(val)
			switch {
			case bytes.EqualFold(name, []byte("Content-Type")):
				if i := bytes.IndexByte(val, ';'); i >= 0 {
					val = bytes.TrimSpace(val[:i])
				}
				ctype = string(val)
			case bytes.EqualFold(name, []byte("Content-Length")):
				clen, _ = strconv.ParseInt(string(val), 10, 64)
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				chunked = bytes.Contains(bytes.ToLower(val), []byte("chunked"))
			}
		})
		if status >= 100 && status < 200 && status != 101 {
			continue // interim response; the final one follows
		}
		var r httpReq
		if p.reqs.n > 0 {
			r = p.reqs.pop()
		}
		r.h.Status = status
		r.h.ContentType = ctype
		switch {
		case r.h.Method == "CONNECT" && status >= 200 && status < 300:
			// The tunnel is open: what follows is detected afresh (TLS,
			// mostly), as Suricata changes the flow's protocol.
			p.send(c, &r, false)
			c.upgrade(appNone)
			return len(b), false
		case status == 101:
			p.send(c, &r, false)
			return len(b), true // protocol switched
		case r.h.Method == "HEAD" || status == 204 || status == 304 || (clen == 0 && !chunked):
			p.send(c, &r, false)
			continue
		case chunked:
			p.respBody = bodySkip{chunked: true}
		case clen > 0:
			p.respBody = bodySkip{remain: clen}
		default:
			p.respBody = bodySkip{tillClose: true}
		}
		// Logged when the body ends (or the flow does), with the body's
		// length as seen, as Suricata logs a complete transaction.
		p.resp, p.open = r, true
	}
}

// endResponse logs the response whose body was being read.
func (p *httpParser) endResponse(c *ctx) {
	r := p.resp
	r.h.Length = p.respBody.data
	p.resp, p.open = httpReq{}, false
	p.send(c, &r, false)
}

// eof makes a transaction of a message cut short: a request line whose
// headers never ended (the connection was reset), or a status line, as
// libhtp has made the transaction by the time its first line is complete.
func (p *httpParser) eof(c *ctx, toServer bool, rest []byte) {
	d := 1
	if toServer {
		d = 0
	}
	end := bytes.LastIndexByte(rest, '\n')
	if end < 0 || p.resync[d] {
		return
	}
	head := rest[:end+1]
	for len(head) > 0 && (head[0] == '\r' || head[0] == '\n') {
		head = head[1:]
	}
	line, _, _ := bytes.Cut(head, []byte("\n"))
	if !startsMessage(line, toServer) || p.full(c) {
		return
	}
	if toServer {
		if p.reqBody.active() {
			return
		}
		r, _, _, ok := parseRequestHead(head)
		if !ok {
			return
		}
		if p.reqs.n >= maxPendingHTTP {
			p.flushOne(c, true)
		}
		p.reqs.push(r)
		return
	}
	if p.respBody.active() {
		return
	}
	status, _ := strconv.Atoi(string(line[9:12]))
	var r httpReq
	if p.reqs.n > 0 {
		r = p.reqs.pop()
	}
	r.h.Status = status
	p.send(c, &r, false)
}

// httpEvent is an http event allocated at once with its record.
type httpEvent struct {
	ev Event
	h  HTTP
}

// credEvent is a credential event allocated at once with its record.
type credEvent struct {
	ev Event
	cr Credential
}

func (p *httpParser) send(c *ctx, r *httpReq, toServer bool) {
	he := c.st.pool.httpEvent()
	if he == nil {
		he = new(httpEvent)
	}
	he.h = r.h
	he.h.TxID = p.txs
	p.txs++
	he.ev = Event{Type: "http", HTTP: &he.h}
	c.send(&he.ev, toServer)
	status := he.h.Status
	rc := r.creds
	if rc == nil {
		return
	}
	if rc.hasCred {
		ce := &credEvent{cr: Credential{Protocol: "http", User: rc.basic.user, Password: rc.basic.pass, Outcome: "unknown"}}
		cr := &ce.cr
		if status != 0 {
			cr.Reply = strconv.Itoa(status)
			switch {
			case status == 401 || status == 407 || status == 403:
				cr.Outcome = "failure"
			case status >= 200 && status < 400:
				cr.Outcome = "success"
			}
		}
		ce.ev = Event{Type: "credential", Cred: cr}
		c.send(&ce.ev, toServer)
	}
	if rc.hasFormCreds {
		// A form login's status says little: a refused login is most
		// often a 200 with the form again, an accepted one a redirect,
		// and so is a refusal on many sites. Only a refusal in the
		// status itself is taken as the outcome.
		ce := &credEvent{cr: Credential{Protocol: "http", User: rc.form.user, Password: rc.form.pass, Outcome: "unknown"}}
		if status != 0 {
			ce.cr.Reply = strconv.Itoa(status)
			if status == 401 || status == 403 {
				ce.cr.Outcome = "failure"
			}
		}
		ce.ev = Event{Type: "credential", Cred: &ce.cr}
		c.send(&ce.ev, toServer)
	}
}

// reqQueue is the requests waiting for their responses, oldest first: a
// ring, so that taking the oldest moves no other (a client that pipelines
// requests and never reads a response keeps the queue full, and shifting
// it cost a copy of every waiting request per request). It keeps its
// storage (a for the usual one request: a request leaves the queue when
// its response begins), so a request costs no queue allocation; a client
// that pipelines grows it by doubling up to maxPendingHTTP. a holds one,
// not two: every HTTP flow the table holds carries its parser, and a
// second inline request was 240 bytes of each that only pipelining used.
type reqQueue struct {
	buf     []httpReq // len(buf) is the ring's size
	head, n int
	a       [1]httpReq
}

func (q *reqQueue) push(r httpReq) {
	if q.n == len(q.buf) {
		var nb []httpReq
		if q.buf == nil {
			nb = q.a[:]
		} else {
			nb = make([]httpReq, 2*len(q.buf))
		}
		k := copy(nb, q.buf[q.head:])
		copy(nb[k:], q.buf[:q.head])
		clear(q.buf) // drop the strings of the old storage (a is reused)
		q.buf, q.head = nb, 0
	}
	q.buf[q.at(q.n)] = r
	q.n++
}

// at is the index in buf of the i-th oldest request (i < len(buf)):
// a compare, not a division.
func (q *reqQueue) at(i int) int {
	if i += q.head; i >= len(q.buf) {
		i -= len(q.buf)
	}
	return i
}

// pop takes the oldest request; the queue is not empty.
func (q *reqQueue) pop() httpReq {
	r := q.buf[q.head]
	q.buf[q.head] = httpReq{} // drop its strings
	q.head = q.at(1)
	q.n--
	if q.n == 0 {
		q.head = 0
	}
	return r
}

// last is the newest request; the queue is not empty.
func (q *reqQueue) last() *httpReq { return &q.buf[q.at(q.n-1)] }

func (p *httpParser) flushOne(c *ctx, toServer bool) {
	r := p.reqs.pop()
	p.send(c, &r, toServer)
}

func (p *httpParser) close(c *ctx) {
	if p.formLeft > 0 {
		// The body was cut short: what came of it may still hold the
		// login.
		p.formDone(c)
	}
	if p.open {
		p.endResponse(c)
	}
	for p.reqs.n > 0 {
		p.flushOne(c, true)
	}
}

func (p *httpParser) done() bool { return false }

// splitHostPort separates an optional port from a Host header value.
func splitHostPort(h string) (string, uint16) {
	// An IPv6 literal keeps its brackets, as libhtp (and so Suricata's
	// http.hostname) keeps them: "[::1]:8080" is "[::1]" and port 8080.
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return h, 0
		}
		host, rest := h[:end+1], h[end+1:]
		if p, ok := strings.CutPrefix(rest, ":"); ok {
			if port, err := strconv.ParseUint(p, 10, 16); err == nil {
				return host, uint16(port)
			}
		}
		return host, 0
	}
	i := strings.LastIndexByte(h, ':')
	if i < 0 {
		return h, 0
	}
	if strings.Count(h, ":") > 1 {
		return h, 0 // bare IPv6 address
	}
	port, err := strconv.ParseUint(h[i+1:], 10, 16)
	if err != nil {
		return h, 0
	}
	return h[:i], uint16(port)
}

// decodeBasic splits Basic credentials at the first ':' so the password may
// itself contain colons (RFC 7617).
func decodeBasic(b string) (user, pass string, ok bool) {
	dec, err := base64.StdEncoding.DecodeString(b)
	if err != nil {
		dec, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(b, "="))
		if err != nil {
			return "", "", false
		}
	}
	u, pw, found := strings.Cut(string(dec), ":")
	if !found {
		return "", "", false
	}
	return u, pw, true
}
