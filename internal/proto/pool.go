package proto

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
}

// poolMax bounds each free list: enough to absorb the churn of flows
// ending and starting between two packets of a busy link, small enough
// that an idle engine holds little.
const poolMax = 2048

// Get returns a ready State that Put will take back.
func (p *Pool) Get() *State {
	if n := len(p.states); n > 0 {
		st := p.states[n-1]
		p.states = p.states[:n-1]
		return st
	}
	return &State{pool: p}
}

// Put takes back st, which was closed (State.Close) and is no longer used.
func (p *Pool) Put(st *State) {
	if st.pool != p {
		return
	}
	if st.p != nil {
		p.putParser(st.p)
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

func (p *Pool) tlsParser() *tlsParser {
	if p == nil || len(p.tls) == 0 {
		return nil
	}
	q := p.tls[len(p.tls)-1]
	p.tls = p.tls[:len(p.tls)-1]
	return q
}

func (p *Pool) httpParser() *httpParser {
	if p == nil || len(p.http) == 0 {
		return nil
	}
	q := p.http[len(p.http)-1]
	p.http = p.http[:len(p.http)-1]
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
