package proto

import (
	"bytes"
	"strconv"
	"strings"
)

func init() {
	registerProtocol(protocol{name: "ldap",
		tcp:    []probe{{order: tierStructured, first: "0", match: func(b []byte, toServer bool, _, _ uint16) bool { return looksLDAP(b, toServer) }}},
		newTCP: func(*State) parser { return &ldapParser{} }})
}

// LDAP (RFC 4511): a simple bind carries the DN and password in clear, a
// SASL PLAIN bind the same in its credentials; the BindResponse's result
// code says whether they were accepted. A StartTLS extended request that
// the server answers with success hands the connection to TLS, as
// Suricata's LDAP parser requests the TLS upgrade.
//
// The BER reader is a few lines over the slice rather than a library's
// decoder: it reads only the fields named here, allocates nothing for the
// rest, and treats any length it cannot trust as the end of parsing.

// ldapStartTLSOID is the StartTLS extended operation (RFC 4511 4.14.1).
const ldapStartTLSOID = "1.3.6.1.4.1.1466.20037"

// maxLDAPPending bounds binds and StartTLS requests waiting for answers.
const maxLDAPPending = 8

// BER tags of the LDAP messages read here.
const (
	berSequence        = 0x30
	berInteger         = 0x02
	berOctetString     = 0x04
	berEnumerated      = 0x0a
	ldapBindRequest    = 0x60 // [APPLICATION 0] constructed
	ldapBindResponse   = 0x61
	ldapUnbindRequest  = 0x42
	ldapSearchRequest  = 0x63
	ldapExtRequest     = 0x77 // [APPLICATION 23]
	ldapExtResponse    = 0x78
	ldapAuthSimple     = 0x80 // [0] primitive
	ldapAuthSASL       = 0xa3 // [3] constructed
	ldapExtRequestName = 0x80
)

// berTLV reads one tag-length header at b: the tag, the content's length
// and the header's size. ok is false when b is too short; bad when the
// header is not one this reader trusts (a multi-byte tag, an indefinite
// length or one beyond four bytes).
func berTLV(b []byte) (tag byte, length, hdr int, ok, bad bool) {
	if len(b) < 2 {
		return 0, 0, 0, false, false
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, 0, 0, false, true
	}
	l := int(b[1])
	if l < 0x80 {
		return tag, l, 2, true, false
	}
	nb := l & 0x7f
	if nb == 0 || nb > 4 {
		return 0, 0, 0, false, true
	}
	if len(b) < 2+nb {
		return 0, 0, 0, false, false
	}
	l = 0
	for _, x := range b[2 : 2+nb] {
		l = l<<8 | int(x)
	}
	if l < 0 || l > 1<<30 {
		return 0, 0, 0, false, true
	}
	return tag, l, 2 + nb, true, false
}

// berElem reads one whole element at b: its tag, content and total size.
// ok is false when b does not hold it all or it is malformed.
func berElem(b []byte) (tag byte, content []byte, size int, ok bool) {
	tag, l, h, ok, bad := berTLV(b)
	if !ok || bad || len(b)-h < l {
		return 0, nil, 0, false
	}
	return tag, b[h : h+l], h + l, true
}

// berInt reads a non-negative INTEGER or ENUMERATED content of up to four
// bytes.
func berInt(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 4 {
		return 0, false
	}
	v := 0
	for _, x := range b {
		v = v<<8 | int(x)
	}
	return v, true
}

// ldapMessage splits one LDAPMessage's content into its message ID, the
// protocolOp's tag and content.
func ldapMessage(content []byte) (id int, op byte, body []byte, ok bool) {
	tag, idc, n, ok := berElem(content)
	if !ok || tag != berInteger {
		return 0, 0, nil, false
	}
	if id, ok = berInt(idc); !ok {
		return 0, 0, nil, false
	}
	op, body, _, ok = berElem(content[n:])
	return id, op, body, ok
}

type ldapPending struct {
	id         int
	starttls   bool
	user, pass string
}

// ldapParser pairs binds and StartTLS requests with their responses.
type ldapParser struct {
	skip    [2]int // bytes of a message too long to hold, still to pass
	pending []ldapPending
}

// maxLDAPMsg bounds a message held whole: binds, StartTLS and their
// responses are small; a longer message (a search result) is passed over.
const maxLDAPMsg = 2048

func (p *ldapParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	d := 1
	if toServer {
		d = 0
	}
	n := 0
	for n < len(b) {
		if p.skip[d] > 0 {
			k := min(len(b)-n, p.skip[d])
			n += k
			p.skip[d] -= k
			continue
		}
		tag, l, h, ok, bad := berTLV(b[n:])
		if bad || (ok && tag != berSequence) {
			return len(b), true
		}
		if !ok {
			return n, false
		}
		if l > maxLDAPMsg {
			n += h
			p.skip[d] = l
			continue
		}
		if len(b)-n < h+l {
			return n, false
		}
		msg := b[n+h : n+h+l]
		n += h + l
		id, op, body, ok := ldapMessage(msg)
		if !ok {
			return len(b), true
		}
		if toServer {
			p.request(id, op, body)
		} else if p.response(c, id, op, body) {
			return len(b), false // upgraded to TLS
		}
	}
	return n, false
}

// request notes a bind that carries a secret (simple with a password, or
// SASL PLAIN) and a StartTLS request.
func (p *ldapParser) request(id int, op byte, body []byte) {
	if len(p.pending) >= maxLDAPPending {
		return
	}
	switch op {
	case ldapBindRequest:
		// version INTEGER, name LDAPDN, authentication CHOICE
		tag, _, n, ok := berElem(body)
		if !ok || tag != berInteger {
			return
		}
		tag, name, m, ok := berElem(body[n:])
		if !ok || tag != berOctetString {
			return
		}
		tag, auth, _, ok := berElem(body[n+m:])
		if !ok {
			return
		}
		pe := ldapPending{id: id, user: string(name)}
		switch tag {
		case ldapAuthSimple:
			// An anonymous or unauthenticated bind (RFC 4513 5.1)
			// discloses no secret.
			if len(auth) == 0 {
				return
			}
			pe.pass = string(auth)
		case ldapAuthSASL:
			// mechanism LDAPString, credentials OCTET STRING OPTIONAL
			tag, mech, k, ok := berElem(auth)
			if !ok || tag != berOctetString || !strings.EqualFold(string(mech), "PLAIN") {
				return
			}
			tag, cred, _, ok := berElem(auth[k:])
			if !ok || tag != berOctetString {
				return
			}
			parts := strings.SplitN(string(cred), "\x00", 3)
			if len(parts) != 3 {
				return
			}
			pe.user, pe.pass = parts[1], parts[2]
		default:
			return
		}
		p.pending = append(p.pending, pe)
	case ldapExtRequest:
		tag, oid, _, ok := berElem(body)
		if ok && tag == ldapExtRequestName && string(oid) == ldapStartTLSOID {
			p.pending = append(p.pending, ldapPending{id: id, starttls: true})
		}
	}
}

// response answers a pending bind or StartTLS; upgraded reports that the
// connection goes on in TLS.
func (p *ldapParser) response(c *ctx, id int, op byte, body []byte) (upgraded bool) {
	if op != ldapBindResponse && op != ldapExtResponse {
		return false
	}
	i := 0
	for i < len(p.pending) && p.pending[i].id != id {
		i++
	}
	if i == len(p.pending) {
		return false
	}
	pe := p.pending[i]
	tag, rc, _, ok := berElem(body)
	if !ok || tag != berEnumerated {
		return false
	}
	code, ok := berInt(rc)
	if !ok || code == 14 { // saslBindInProgress: the exchange goes on
		return false
	}
	p.pending = append(p.pending[:i], p.pending[i+1:]...)
	if pe.starttls {
		if op == ldapExtResponse && code == 0 {
			c.upgrade(appTLS)
			return true
		}
		return false
	}
	outcome := "failure"
	if code == 0 {
		outcome = "success"
	}
	c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "ldap", User: pe.user, Password: pe.pass,
		Outcome: outcome, Reply: ldapResultName(code)}}, false)
	return false
}

// ldapResultName names the result codes a bind gets most (RFC 4511
// appendix A).
func ldapResultName(code int) string {
	switch code {
	case 0:
		return "success"
	case 7:
		return "authMethodNotSupported"
	case 8:
		return "strongerAuthRequired"
	case 48:
		return "inappropriateAuthentication"
	case 49:
		return "invalidCredentials"
	case 50:
		return "insufficientAccessRights"
	case 53:
		return "unwillingToPerform"
	}
	return strconv.Itoa(code)
}

func (p *ldapParser) close(c *ctx) {
	for _, pe := range p.pending {
		if !pe.starttls {
			c.send(&Event{Type: "credential", Cred: &Credential{Protocol: "ldap", User: pe.user, Password: pe.pass,
				Outcome: "unknown"}}, true)
		}
	}
	p.pending = nil
}

func (p *ldapParser) done() bool { return false }

// looksLDAP reports whether b starts with an LDAPMessage: a SEQUENCE whose
// first element is the message ID and whose second is an LDAP operation
// (a request from the client, a response from the server).
func looksLDAP(b []byte, toServer bool) bool {
	tag, l, h, ok, bad := berTLV(b)
	if !ok || bad || tag != berSequence || l < 5 {
		return false
	}
	rest := b[h:]
	if len(rest) > l {
		rest = rest[:l]
	}
	t, idc, n, ok := berElem(rest)
	if !ok || t != berInteger || len(idc) == 0 || len(idc) > 4 {
		return false
	}
	op, _, _, okOp, bad := berTLV(rest[n:])
	if !okOp || bad {
		return false
	}
	if toServer {
		return bytes.IndexByte([]byte{ldapBindRequest, ldapUnbindRequest, ldapSearchRequest, 0x66, 0x68, 0x4a, 0x6c, 0x6e, 0x50, ldapExtRequest}, op) >= 0
	}
	return bytes.IndexByte([]byte{ldapBindResponse, 0x64, 0x65, 0x73, 0x67, 0x69, 0x6b, 0x6d, 0x6f, ldapExtResponse, 0x79}, op) >= 0
}
