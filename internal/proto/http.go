package proto

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
)

// maxPendingHTTP bounds pipelined requests waiting for their responses.
const maxPendingHTTP = 16

type httpReq struct {
	h          HTTP
	user, pass string
	hasCred    bool
}

// bodySkip walks over a message body: a known length, chunked framing, or
// everything until the connection closes.
type bodySkip struct {
	remain    int64
	chunked   bool
	chunkData bool // inside chunk data (remain counts it) rather than at a size line
	trailer   bool
	tillClose bool
}

func (s *bodySkip) active() bool { return s.remain > 0 || s.chunked || s.tillClose }

// skip consumes body bytes from b and returns how many it used. It returns
// short when it needs more input to finish a chunk-size line.
func (s *bodySkip) skip(b []byte) int {
	n := 0
	for n < len(b) {
		switch {
		case s.tillClose:
			return len(b)
		case s.remain > 0:
			k := int64(len(b) - n)
			if k > s.remain {
				k = s.remain
			}
			s.remain -= k
			n += int(k)
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
	reqs     []httpReq
	reqA     [2]httpReq // reqs' first storage
	reqBody  bodySkip
	respBody bodySkip
	txs      int // transactions logged so far: the next one's tx_id
}

// headerEnd returns the length of the header block including its blank line,
// or -1 when it is not complete yet.
func headerEnd(b []byte) int {
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return i + 2
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
func nextHead(body *bodySkip, b []byte, n int) (block []byte, next int, done bool) {
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
		end := headerEnd(b[n:])
		if end < 0 {
			return nil, n, false
		}
		return b[n : n+end], n + end, false
	}
	return nil, n, false
}

func (p *httpParser) feedRequest(c *ctx, b []byte) (int, bool) {
	n := 0
	for {
		block, next, done := nextHead(&p.reqBody, b, n)
		if block == nil {
			return next, done
		}
		n = next
		r, clen, chunked, ok := parseRequestHead(block)
		if !ok {
			return len(b), true
		}
		if len(p.reqs) >= maxPendingHTTP {
			p.flushOne(c, true)
		}
		if p.reqs == nil {
			p.reqs = p.reqA[:0]
		}
		p.reqs = append(p.reqs, r)
		switch {
		case chunked:
			p.reqBody = bodySkip{chunked: true}
		case clen > 0:
			p.reqBody = bodySkip{remain: clen}
		}
	}
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
				r.user, r.pass, r.hasCred = decodeBasic(strings.TrimSpace(rest))
			}
		case strings.EqualFold(name, "Content-Length"):
			clen, _ = strconv.ParseInt(val, 10, 64)
		case strings.EqualFold(name, "Transfer-Encoding"):
			chunked = strings.Contains(strings.ToLower(val), "chunked")
		}
	}
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
		block, next, done := nextHead(&p.respBody, b, n)
		if block == nil {
			return next, done
		}
		n = next
		if !bytes.HasPrefix(block, []byte("HTTP/")) {
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
		if len(p.reqs) > 0 {
			r = p.popReq()
		}
		r.h.Status = status
		r.h.ContentType = ctype
		switch {
		case clen > 0:
			r.h.Length = clen
		case clen < 0 && !chunked:
			// Body until close: report what arrived with the headers, as
			// Suricata reports the bytes seen when it logs.
			r.h.Length = int64(len(b) - n)
		}
		p.send(c, &r, false)
		switch {
		case status == 101:
			return len(b), true // protocol switched
		case r.h.Method == "HEAD" || status == 204 || status == 304:
		case chunked:
			p.respBody = bodySkip{chunked: true}
		case clen >= 0:
			p.respBody = bodySkip{remain: clen}
		default:
			p.respBody = bodySkip{tillClose: true}
		}
	}
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
	if !r.hasCred {
		return
	}
	h := &he.h
	ce := &credEvent{cr: Credential{Protocol: "http", User: r.user, Password: r.pass, Outcome: "unknown"}}
	cr := &ce.cr
	if h.Status != 0 {
		cr.Reply = strconv.Itoa(h.Status)
		switch {
		case h.Status == 401 || h.Status == 407 || h.Status == 403:
			cr.Outcome = "failure"
		case h.Status >= 200 && h.Status < 400:
			cr.Outcome = "success"
		}
	}
	ce.ev = Event{Type: "credential", Cred: cr}
	c.send(&ce.ev, toServer)
}

// popReq takes the oldest pending request. The queue keeps its storage
// (reqA for the usual one or two requests), so a request costs no queue
// allocation.
func (p *httpParser) popReq() httpReq {
	r := p.reqs[0]
	n := copy(p.reqs, p.reqs[1:])
	p.reqs[n] = httpReq{} // drop its strings
	p.reqs = p.reqs[:n]
	return r
}

func (p *httpParser) flushOne(c *ctx, toServer bool) {
	r := p.popReq()
	p.send(c, &r, toServer)
}

func (p *httpParser) close(c *ctx) {
	for len(p.reqs) > 0 {
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
