package proto

import "encoding/binary"

// Pool recycles the parser state of flows that have ended, so that a busy
// engine does not allocate a State and a parser for every new flow, nor a
// message for every DNS datagram. The price is a shorter life for events:
// an event from a State got from a Pool, and everything it points to, is
// valid only until emit returns; its strings stay valid. A Pool is not safe
// for concurrent use.
type Pool struct {
	states []*State
	tls    []*tlsParser
	http   []*httpParser
	dns    dnsAnswerMsg // the DNS message being emitted
	httpEv httpEvent    // the HTTP event being emitted
	bufs   [bufClasses][][]byte
	halfs  []*[2]half
	// Fingerprints by what they are computed from: a network's clients and
	// servers run a few TLS stacks, each saying hello the same way.
	fps  map[string]clientFP
	ja3S map[string]JA
}

type clientFP struct {
	ja3 JA
	ja4 string
}

// fpCacheMax bounds each fingerprint cache; a full cache starts afresh.
const fpCacheMax = 4096

// fingerprints is ch.fingerprints(), remembered.
func (p *Pool) fingerprints(ch *ClientHello) (JA, string) {
	if p == nil {
		return ch.fingerprints()
	}
	// The key is everything JA3 and JA4 are computed from: the JA3 string
	// (versions, ciphers, extensions in order, groups, point formats), then
	// JA4's highest version, first ALPN value's ends and signature
	// algorithms. The string's length leads, so that no two hellos make
	// the same key: a hello that could borrow another's cached fingerprint
	// would hide behind it.
	var a [512]byte
	k := ch.appendJA3(a[:2])
	binary.BigEndian.PutUint16(k, uint16(len(k)-2))
	k = binary.BigEndian.AppendUint16(k, ch.maxVersion())
	if len(ch.ALPN) > 0 && len(ch.ALPN[0]) > 0 {
		al := ch.ALPN[0]
		k = append(k, 1, al[0], al[len(al)-1])
	} else {
		k = append(k, 0)
	}
	for _, v := range ch.SigAlgs {
		k = binary.BigEndian.AppendUint16(k, v)
	}
	if fp, ok := p.fps[string(k)]; ok {
		return fp.ja3, fp.ja4
	}
	ja3, ja4 := ch.fingerprints()
	if p.fps == nil || len(p.fps) >= fpCacheMax {
		p.fps = make(map[string]clientFP)
	}
	p.fps[string(k)] = clientFP{ja3, ja4}
	return ja3, ja4
}

// ja3s is sh.ja3s(), remembered.
func (p *Pool) ja3s(sh *ServerHello) JA {
	if p == nil {
		return sh.ja3s()
	}
	var a [160]byte
	k := binary.BigEndian.AppendUint16(a[:0], sh.Version)
	k = binary.BigEndian.AppendUint16(k, sh.Cipher)
	for _, v := range sh.Extensions {
		k = binary.BigEndian.AppendUint16(k, v)
	}
	if j, ok := p.ja3S[string(k)]; ok {
		return j
	}
	j := sh.ja3s()
	if p.ja3S == nil || len(p.ja3S) >= fpCacheMax {
		p.ja3S = make(map[string]JA)
	}
	p.ja3S[string(k)] = j
	return j
}

// poolMax bounds each free list: enough to absorb the churn of flows
// ending and starting between two packets of a busy link, small enough
// that an idle engine holds little.
const poolMax = 2048

// Get returns a ready State that Put will take back.
func (p *Pool) Get() *State {
	if st := pop(&p.states); st != nil {
		return st
	}
	return &State{pool: p}
}

// Put takes back st, which was closed (State.Close) or parked (ParkDNS)
// and is no longer used.
func (p *Pool) Put(st *State) {
	if st.pool != p {
		return
	}
	if st.p != nil {
		p.putParser(st.p)
	}
	if h := st.h; h != nil {
		// Close gave the directions' buffers back already (Abandon gave
		// them to the collector): only the directions are kept.
		if len(p.halfs) < poolMax {
			*h = [2]half{}
			p.halfs = append(p.halfs, h)
		}
	}
	*st = State{pool: p}
	if len(p.states) < poolMax {
		p.states = append(p.states, st)
	}
}

func (p *Pool) putParser(pr parser) {
	switch q := pr.(type) {
	case *tlsParser:
		if len(p.tls) < poolMax {
			*q = tlsParser{}
			p.tls = append(p.tls, q)
		}
	case *httpParser:
		if len(p.http) < poolMax {
			*q = httpParser{}
			p.http = append(p.http, q)
		}
	}
}

// halves returns zeroed TCP directions for a State.
func (p *Pool) halves() *[2]half {
	if p != nil {
		if h := pop(&p.halfs); h != nil {
			return h
		}
	}
	return new([2]half)
}

func (p *Pool) tlsParser() *tlsParser {
	if p == nil {
		return nil
	}
	return pop(&p.tls)
}

func (p *Pool) httpParser() *httpParser {
	if p == nil {
		return nil
	}
	return pop(&p.http)
}

// pop takes the last element of a free list, or nil when it is empty.
func pop[T any](list *[]*T) *T {
	n := len(*list)
	if n == 0 {
		return nil
	}
	q := (*list)[n-1]
	*list = (*list)[:n-1]
	return q
}

// dnsMsg returns the pool's DNS message, zeroed, or nil without a pool.
func (p *Pool) dnsMsg() *dnsAnswerMsg {
	if p == nil {
		return nil
	}
	p.dns = dnsAnswerMsg{}
	return &p.dns
}

// httpEvent returns the pool's HTTP event, or nil without a pool.
func (p *Pool) httpEvent() *httpEvent {
	if p == nil {
		return nil
	}
	p.httpEv = httpEvent{}
	return &p.httpEv
}

// Stream buffers (the bytes a direction holds until they are acknowledged
// or consumed) come in size classes from bufMin to bufMax bytes, doubling;
// a Pool keeps the ones flows gave back, so that a busy engine does not
// allocate a buffer for every flow that carries data. Larger buffers are
// left to the garbage collector.
const (
	bufMinShift = 6 // 64 bytes
	bufClasses  = 9 // up to 16 KiB
	bufMax      = 1 << (bufMinShift + bufClasses - 1)
	// bufFreeBytes bounds the bytes each class's free list holds.
	bufFreeBytes = 512 << 10
)

// bufClass is the class of the smallest buffer holding n bytes, or -1 when
// n is beyond the largest class.
func bufClass(n int) int {
	if n > bufMax {
		return -1
	}
	c := 0
	for 1<<(bufMinShift+c) < n {
		c++
	}
	return c
}

// getBuf returns an empty buffer with room for at least n bytes.
func (p *Pool) getBuf(n int) []byte {
	c := bufClass(n)
	if c < 0 {
		return make([]byte, 0, n)
	}
	if p != nil {
		if l := p.bufs[c]; len(l) > 0 {
			b := l[len(l)-1]
			p.bufs[c] = l[:len(l)-1]
			return b
		}
	}
	return make([]byte, 0, 1<<(bufMinShift+c))
}

// putBuf takes back a buffer nothing refers to any more.
func (p *Pool) putBuf(b []byte) {
	if p == nil || cap(b) == 0 {
		return
	}
	c := bufClass(cap(b))
	if c < 0 || cap(b) != 1<<(bufMinShift+c) {
		return // not one of ours
	}
	if (len(p.bufs[c])+1)<<(bufMinShift+c) > bufFreeBytes {
		return
	}
	p.bufs[c] = append(p.bufs[c], b[:0])
}

// appendBuf is append(b, data...) with the buffers of p: a buffer that
// must grow is replaced by one of the smallest class that holds it all
// (classes double, so growth is amortised as append's is), and the old one
// goes back to p. Without a pool it is append.
func (p *Pool) appendBuf(b, data []byte) []byte {
	if p == nil || len(data) <= cap(b)-len(b) {
		return append(b, data...)
	}
	nb := p.getBuf(len(b) + len(data))
	nb = append(nb, b...)
	nb = append(nb, data...)
	p.putBuf(b)
	return nb
}

// grows is the capacity appendBuf(b, data) adds when data is n bytes: what
// the Budget must have room for before it is called.
func (p *Pool) grows(b []byte, n int) int64 {
	if n <= cap(b)-len(b) {
		return 0
	}
	if p == nil {
		return int64(n) // append's own rounding is the runtime's
	}
	need := len(b) + n
	if c := bufClass(need); c >= 0 {
		need = 1 << (bufMinShift + c)
	}
	return int64(need - cap(b))
}
