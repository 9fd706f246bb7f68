package proto

import (
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// DefaultMaxBytes is how many stream bytes per direction are inspected when
// Config.MaxBytes is zero: enough for a TLS handshake up to the certificate,
// HTTP headers, an SSH KEXINIT and a cleartext login dialogue.
const DefaultMaxBytes = 4096

// maxOOOSegs bounds the out-of-order TCP segments held per direction while a
// gap is waiting to be filled (a ClientHello split over a few segments that
// arrive reordered).
const maxOOOSegs = 8

// Config tunes extraction.
type Config struct {
	MaxBytes int // stream bytes inspected per direction; 0 = DefaultMaxBytes
	// Memcap bounds the stream bytes all of an engine's flows hold for
	// reassembly (0 = DefaultMemcap); the engine makes Budget from it.
	Memcap int64
	// Budget, when set, bounds the stream bytes held by every State that
	// shares it (the engine's one budget for all its flows).
	Budget *Budget `json:"-"`
}

func (c *Config) maxBytes() int {
	if c == nil || c.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return c.MaxBytes
}

func (c *Config) budget() *Budget {
	if c == nil {
		return nil
	}
	return c.Budget
}

// Masked is what every masked secret reads: the same eight stars whatever
// the secret's length.
const Masked = "********"

// MaskSecret hides a secret without revealing its length. Every mask in
// opsdeck (FTP events, credential events, alert evidence, the console) is
// this one.
func MaskSecret(s string) string {
	if s == "" {
		return ""
	}
	return Masked
}

// ShowSecret is secret s as an output writes it: in clear when show is set
// (--show-secrets), masked (MaskSecret) otherwise. Events carry secrets as
// sent (Credential.Password, FTP.CommandData of a PASS); the outputs decide,
// each through this function with the one switch: the EVE writer
// (credentials, ftp records, a registered Record's EVEOptions) and the
// console's protocol log. Alerts never carry the secret (detect masks it
// in their evidence), so incident bundles and metrics have none to show.
func ShowSecret(s string, show bool) string {
	if show {
		return s
	}
	return MaskSecret(s)
}

// parser is one application protocol's state for a flow. On TCP feed sees
// the in-order stream of one direction and returns how many bytes it
// consumed; the rest is presented again, with more data appended, on the
// next call. stop asks for no more bytes in that direction. On UDP feed
// gets each datagram whole. A parser registers itself (registerProtocol).
type parser interface {
	feed(c *ctx, toServer bool, b []byte) (n int, stop bool)
	close(c *ctx)
	done() bool
}

// streamer is a parser that consumes its stream as it goes (HTTP, DNS over
// TCP): what bounds its directions is the bytes held unconsumed, holdLimit,
// not the bytes inspected, so a long keep-alive connection is parsed to its
// end as Suricata parses it. What it costs per flow is bounded by its own
// transaction cap (maxTxPerFlow).
type streamer interface {
	holdLimit(cfg *Config) int
}

// gapper is a streamer that carries on past a gap in its stream: n bytes
// were never captured (0: unknown) after the held bytes it had not
// consumed, which are dropped. It resynchronises at its next message.
type gapper interface {
	gap(c *ctx, toServer bool, n int64, held int)
}

// finisher is a parser that makes what it can of a direction's unconsumed
// bytes when the flow ends (a request line whose headers never ended).
type finisher interface {
	eof(c *ctx, toServer bool, rest []byte)
}

// maxTxPerFlow bounds the transactions a streaming parser logs per flow
// (Suricata's HTTP max-tx is 512): past it the flow is no longer parsed and
// the Budget counts it.
const maxTxPerFlow = 512

// truncater is a parser that wants to know when a direction reached its
// byte budget (Suricata's depth-reached truncation).
type truncater interface {
	truncate(c *ctx, toServer bool)
}

// half is one direction of a TCP flow: the reassembly cursor and the bytes
// a parser has not consumed yet.
type half struct {
	next    uint32 // next expected sequence number
	off     int    // stream bytes accepted so far (bounded by MaxBytes)
	synced  bool
	syn     bool // the stream start is known from a SYN (seen or synced)
	seen    bool // a packet of this direction reached the State, or Sync
	fin     bool // this direction sent a FIN
	closed  bool // nothing more is read in this direction
	nomatch bool // detection found nothing in this direction
	buf     []byte
	// pend is in-order stream data not yet handed to the parser: as
	// Suricata does in IDS mode, data reaches the application layer when
	// the other side acknowledges it (or at a FIN, RST or flow end).
	pend    []byte
	pendSeq uint32 // sequence number of pend[0]
	ooo     []segment
	oooLen  int   // bytes held in ooo
	held    int64 // bytes charged to the Budget for buf, pend and ooo
}

type segment struct {
	seq  uint32
	data []byte
}

// release closes the direction and gives its buffers back to pool.
func (h *half) release(pool *Pool) {
	h.closed = true
	pool.putBuf(h.buf)
	pool.putBuf(h.pend)
	h.buf = nil
	h.pend = nil
	h.ooo = nil
	h.oooLen = 0
}

// heldBytes is the memory the direction holds for reassembly: the bytes a
// parser left unconsumed and the segments waiting beyond a gap.
func (h *half) heldBytes() int64 {
	n := cap(h.buf) + cap(h.pend)
	for i := range h.ooo {
		n += cap(h.ooo[i].data)
	}
	return int64(n)
}

// seqDiff is a-b in sequence space (RFC 1982): positive when a is ahead of
// b. It is an int64 so that negating it never overflows: the difference of
// 2^31 is as far behind as ahead, and either way beyond any window.
func seqDiff(a, b uint32) int64 { return int64(int32(a - b)) }

// maxUDPProbes bounds the datagrams of a UDP flow probed before it is given
// up as unknown, so a flow of noise costs a few parses, not one per packet.
const maxUDPProbes = 8

// State is one flow's parser state; the zero value is ready.
type State struct {
	app  appID
	done bool
	// udpProbes counts the datagrams probed for an application protocol.
	udpProbes uint8
	// h is the flow's two directions (0: to server, 1: to client), made
	// for TCP and QUIC only (halves): the state of a UDP flow, most of them
	// a datagram or two that wait for their timeout, stays a third the size.
	h       *[2]half
	p       parser
	dns     dnsParser   // UDP DNS (app == appDNS), kept inline: no allocation per flow
	quic    *quicParser // QUIC Initials (app == appQUIC)
	lastTS  time.Time
	lastIdx uint64
	sport   uint16 // server port
	cport   uint16
	tcp     bool
	// async is set for a TCP flow whose SYN was seen but never anything of
	// the other direction: nothing will acknowledge its data, so it is
	// parsed as it arrives (Suricata's STREAMTCP_FLAG_ASYNC).
	async bool
	// handoff is set by a parser whose server accepted a switch of
	// protocol (STARTTLS, AUTH TLS, SSLRequest: to TLS; HTTP CONNECT: to
	// whatever detection finds); run makes it once the parser returns.
	handoff    appID
	handoffSet bool
	// c is the per-call context, kept here so that handing it to parsers
	// does not allocate; it is cleared when the call returns.
	c    ctx
	pool *Pool // where st and its parser go back, or nil
}

// ctx carries what an event needs while one packet (or Close) is processed.
type ctx struct {
	cfg  *Config
	st   *State
	emit func(*Event)
}

// send stamps e with the current packet's time and frame number and hands it
// to the engine.
func (c *ctx) send(e *Event, toServer bool) {
	if c.emit == nil {
		return
	}
	e.TS = c.st.lastTS
	e.PcapCnt = c.st.lastIdx
	e.ToServer = toServer
	c.emit(e)
}

// AppProto is the detected application protocol, or "" when unknown.
func (st *State) AppProto() string { return appNames[st.app] }

// Done reports that nothing more will be extracted from this flow.
func (st *State) Done() bool { return st.done }

// Packet inspects one packet of the flow. s.Payload is not retained.
func (st *State) Packet(cfg *Config, toServer bool, s *packet.Summary, emit func(*Event)) {
	if st.done || !s.HasL4 {
		return
	}
	d := 1
	if toServer {
		d = 0
	}
	st.lastTS, st.lastIdx = s.TS, s.Index
	if st.h != nil && st.h[d].closed && s.Proto != packet.ProtoTCP {
		// A TCP packet of a closed direction still acknowledges the
		// other one's data.
		return
	}
	if st.sport == 0 && st.cport == 0 {
		if toServer {
			st.sport, st.cport = s.DstPort, s.SrcPort
		} else {
			st.sport, st.cport = s.SrcPort, s.DstPort
		}
	}
	st.c = ctx{cfg: cfg, st: st, emit: emit}
	switch s.Proto {
	case packet.ProtoTCP:
		st.tcp = true
		st.halves()
		st.tcpPacket(&st.c, d, s)
		st.charge(cfg, d)
	case packet.ProtoUDP:
		st.udpPacket(&st.c, toServer, s.Payload)
		if st.quic != nil {
			st.charge(cfg, d) // the CRYPTO stream QUIC buffers in h.buf
		}
	default:
		st.done = true
	}
	st.c = ctx{}
}

// charge brings the budget's count of direction d's held bytes up to date.
// A parser may have consumed bytes of the other direction too (detection
// releases what waited for it), so both are looked at.
func (st *State) charge(cfg *Config, d int) {
	if st.h == nil {
		return
	}
	var b *Budget
	if cfg != nil {
		b = cfg.Budget
	}
	for _, i := range [2]int{d, 1 - d} {
		h := &st.h[i]
		n := h.heldBytes()
		if n != h.held {
			b.add(n - h.held)
			h.held = n
		}
	}
}

// Abandon drops the state without running its parser: what it holds goes
// back to the budget. The engine calls it for a state whose parser failed.
func (st *State) Abandon(cfg *Config) {
	if st.h != nil {
		// A parser that failed may have left anything anywhere: its
		// buffers go to the garbage collector, not to the next flow.
		st.h[0].release(nil)
		st.h[1].release(nil)
	}
	st.p = nil
	st.done = true
	st.charge(cfg, 0)
}

// Close flushes pending transactions at flow end. Stream data nobody
// acknowledged is parsed first, and what Close emits has no frame number:
// Suricata logs it from the pseudo packet that ends the flow.
func (st *State) Close(cfg *Config, emit func(*Event)) {
	st.lastIdx = 0
	st.c = ctx{cfg: cfg, st: st, emit: emit}
	for d := 0; d < 2 && st.h != nil; d++ {
		h := &st.h[d]
		// Data captured after a hole nobody filled: a streaming parser
		// resumes past it, as Suricata's parsers that accept gaps do.
		for len(h.ooo) > 0 && !h.closed && st.streamLimit(cfg) > 0 {
			st.skipGap(&st.c, d, h.oooFirst())
		}
		if len(h.pend) > 0 && !h.closed {
			st.flush(&st.c, d, len(h.pend))
		}
	}
	if f, ok := st.p.(finisher); ok && st.h != nil {
		for d := 0; d < 2; d++ {
			if h := &st.h[d]; len(h.buf) > 0 && !h.closed {
				f.eof(&st.c, d == 0, h.buf)
			}
		}
	}
	st.c = ctx{}
	if st.p != nil {
		st.c = ctx{cfg: cfg, st: st, emit: emit}
		st.p.close(&st.c)
		if st.pool != nil {
			st.pool.putParser(st.p)
		}
		st.p = nil
		st.c = ctx{}
	}
	if st.h != nil {
		st.h[0].release(st.pool)
		st.h[1].release(st.pool)
	}
	st.done = true
	st.charge(cfg, 0)
}

func (st *State) udpPacket(c *ctx, toServer bool, payload []byte) {
	if len(payload) == 0 {
		return
	}
	if st.app == appNone {
		// A malformed first datagram does not decide the flow: Suricata
		// probes each datagram until one is DNS, and so do we, up to
		// maxUDPProbes datagrams.
		st.udpProbes++
		app := detectUDP(payload, toServer, st.sport, st.cport)
		if app == appNone {
			if st.udpProbes >= maxUDPProbes {
				st.done = true
			}
			return
		}
		st.app = app
		st.p = protocols[app].newUDP(st)
	}
	st.p.feed(c, toServer, payload)
}

func (st *State) tcpPacket(c *ctx, d int, s *packet.Summary) {
	h, o := &st.h[d], &st.h[1-d]
	seq := s.Seq
	flags := s.TCPFlags
	if flags&packet.TCPSyn != 0 {
		seq++
		h.next, h.synced, h.syn = seq, true, true
	}
	closedBefore := h.fin && o.fin
	if d == 0 && flags&packet.TCPSyn == 0 && h.syn && !o.seen {
		st.async = true
	} else if o.seen {
		st.async = false
	}
	h.seen = true
	// Which stream data this packet hands to the parsers, as Suricata's
	// StreamTcpReassembleHandleSegment decides in IDS mode: normally the
	// other direction's data up to this packet's ACK; this direction's own
	// data too at a RST, at a FIN that moves the session past TIME_WAIT
	// (the client's first FIN, the server's answering one), once both FINs
	// were seen, and in a one-sided (async) session.
	opposing, own := true, false
	switch {
	case st.async:
		opposing, own = false, true
	case flags&packet.TCPRst != 0:
		opposing, own = false, true
	case flags&packet.TCPFin != 0 && (d == 0) != o.fin:
		own = true
		opposing = flags&packet.TCPAck != 0
	case closedBefore:
		own = true
	}
	if flags&packet.TCPFin != 0 {
		h.fin = true
	}
	if opposing && flags&packet.TCPAck != 0 && !o.closed {
		st.acked(c, 1-d, s.Ack)
	}
	if st.done || h.closed {
		return
	}
	if data := s.Payload; len(data) > 0 {
		if !h.synced {
			// Picked up mid-stream: trust the first segment seen.
			h.next, h.synced = seq, true
		}
		st.segment(c, d, seq, data)
	}
	if own && !st.done && !h.closed && len(h.pend) > 0 {
		st.flush(c, d, len(h.pend))
	}
}

// acked hands direction d's data up to ack to the parser. When the other
// side acknowledged bytes that were never captured and data past the hole
// waits, a streaming parser is told of the gap and carries on after it.
func (st *State) acked(c *ctx, d int, ack uint32) {
	h := &st.h[d]
	if len(h.pend) > 0 {
		if n := seqDiff(ack, h.pendSeq); n > 0 {
			st.flush(c, d, int(min(n, int64(len(h.pend)))))
		}
	}
	if len(h.ooo) == 0 || h.closed || st.done || seqDiff(ack, h.next) <= 0 || st.streamLimit(c.cfg) == 0 {
		return
	}
	st.skipGap(c, d, h.oooFirst())
	if len(h.pend) > 0 && !h.closed && !st.done {
		if n := seqDiff(ack, h.pendSeq); n > 0 {
			st.flush(c, d, int(min(n, int64(len(h.pend)))))
		}
	}
}

// segment takes one segment's payload of direction d at sequence number
// seq: in order it is accepted, ahead of a gap it waits.
func (st *State) segment(c *ctx, d int, seq uint32, data []byte) {
	h := &st.h[d]
	diff := seqDiff(seq, h.next)
	switch {
	case diff < 0:
		if -diff >= int64(len(data)) {
			return // retransmission of bytes already accepted
		}
		data = data[-diff:]
	case diff > 0:
		st.stash(c, d, seq, data)
		return
	}
	st.deliver(c, d, data)
	st.drainOOO(c, d)
}

// oooFirst is the lowest sequence number waiting beyond a gap.
func (h *half) oooFirst() uint32 {
	first := h.ooo[0].seq
	for _, sg := range h.ooo[1:] {
		if seqDiff(sg.seq, first) < 0 {
			first = sg.seq
		}
	}
	return first
}

// streamLimit is the bytes a streaming parser may hold per direction, or 0
// when the flow's parser is not a streaming one (or not chosen yet).
func (st *State) streamLimit(cfg *Config) int {
	if s, ok := st.p.(streamer); ok {
		return s.holdLimit(cfg)
	}
	return 0
}

// skipGap moves direction d's cursor over the bytes missing before to: what
// waits is parsed first, the parser is told of the gap, and the segments
// after it are drained. The Budget counts the gap.
func (st *State) skipGap(c *ctx, d int, to uint32) {
	h := &st.h[d]
	if len(h.pend) > 0 {
		st.flush(c, d, len(h.pend))
		if h.closed || st.done {
			return
		}
	}
	n := seqDiff(to, h.next)
	if n <= 0 {
		st.drainOOO(c, d)
		return
	}
	c.cfg.budget().gave(false)
	if g, ok := st.p.(gapper); ok {
		g.gap(c, d == 0, n, len(h.buf))
	}
	h.buf = nil
	h.next = to
	st.drainOOO(c, d)
}

// dropHeld gives up what a streaming parser left unconsumed past its hold
// limit (a header block that never ends), as a gap of unknown size.
func (st *State) dropHeld(c *ctx, d int) {
	h := &st.h[d]
	lim := st.streamLimit(c.cfg)
	if lim == 0 || len(h.buf) <= lim || h.closed {
		return
	}
	c.cfg.budget().gave(false)
	if g, ok := st.p.(gapper); ok {
		g.gap(c, d == 0, 0, len(h.buf))
	}
	h.buf = nil
}

// stash keeps a copy of a segment that arrived ahead of a gap. What a
// direction holds beyond a gap is bounded three ways: by the bytes it would
// still inspect (the segments together, not each one: overlapping
// retransmissions cannot multiply it), by maxOOOSegs, and by the shared
// Budget. When a bound is hit the gap is given up: the direction is closed
// rather than parsed with a hole in it, and the Budget counts it.
func (st *State) stash(c *ctx, d int, seq uint32, data []byte) {
	h := &st.h[d]
	room := c.cfg.maxBytes() - h.off
	lim := st.streamLimit(c.cfg)
	if lim > 0 {
		// A streaming parser's bound is what it holds, not what it saw.
		room = lim - len(h.buf) - len(h.pend)
	}
	ahead := int(seq - h.next)
	if ahead >= room {
		if lim > 0 {
			st.skipOver(c, d, seq, data)
		}
		return // beyond what we would inspect anyway
	}
	if len(data) > room-ahead {
		data = data[:room-ahead]
	}
	b := c.cfg.Budget
	switch {
	case len(h.ooo) >= maxOOOSegs || h.oooLen+len(data) > room:
		if lim > 0 {
			st.skipOver(c, d, seq, data)
			return
		}
		b.gave(false)
	case !b.room(int64(len(data))):
		b.gave(true)
	default:
		h.ooo = append(h.ooo, segment{seq: seq, data: append([]byte(nil), data...)})
		h.oooLen += len(data)
		return
	}
	h.release(st.pool)
	st.checkDone()
}

// skipOver makes room for a segment of a streaming parser's direction that
// the out-of-order bound cannot hold: the hole before the earliest data
// waiting is taken as a gap, and the segment is taken again after it.
func (st *State) skipOver(c *ctx, d int, seq uint32, data []byte) {
	h := &st.h[d]
	to := seq
	if len(h.ooo) > 0 {
		if f := h.oooFirst(); seqDiff(f, to) < 0 {
			to = f
		}
	}
	before := h.next
	st.skipGap(c, d, to)
	if h.closed || st.done || h.next == before {
		return
	}
	st.segment(c, d, seq, data)
}

func (st *State) drainOOO(c *ctx, d int) {
	h := &st.h[d]
	for len(h.ooo) > 0 && !h.closed {
		progressed := false
		for i := 0; i < len(h.ooo); i++ {
			sg := h.ooo[i]
			diff := seqDiff(sg.seq, h.next)
			if diff > 0 {
				continue
			}
			h.ooo = append(h.ooo[:i], h.ooo[i+1:]...)
			h.oooLen -= len(sg.data)
			i--
			if diff+int64(len(sg.data)) <= 0 {
				continue // wholly old
			}
			st.deliver(c, d, sg.data[-diff:])
			progressed = true
			if h.closed {
				return
			}
		}
		if !progressed {
			return
		}
	}
	if len(h.ooo) == 0 {
		h.ooo, h.oooLen = nil, 0
	}
}

// deliver accepts in-order stream bytes of direction d, within the
// direction's byte budget, into what waits for the other side's ACK.
func (st *State) deliver(c *ctx, d int, data []byte) {
	h := &st.h[d]
	seq := h.next
	h.next += uint32(len(data))
	max := c.cfg.maxBytes()
	if st.p == nil && st.app == appNone && len(h.pend) > 0 && h.off+len(data) > max {
		// Detection decides on what waits before the bound cuts anything:
		// a streaming parser's direction is not cut at all.
		st.flush(c, d, len(h.pend))
		if h.closed || st.done {
			return
		}
	}
	if lim := st.streamLimit(c.cfg); lim > 0 {
		if len(h.pend)+len(data) > lim {
			// Waiting for the ACK would hold more than the bound: what
			// waits is parsed now, and so is this segment.
			if len(h.pend) > 0 {
				st.flush(c, d, len(h.pend))
				if h.closed || st.done {
					return
				}
			}
			h.off += len(data)
			st.consumeInto(c, d, data)
			st.dropHeld(c, d)
			st.checkDone()
			return
		}
	} else if room := max - h.off; len(data) > room {
		data = data[:room]
	}
	if st.async && len(h.pend) == 0 {
		// Nothing will acknowledge a one-sided session's data, so it is
		// parsed as it arrives: straight from the packet, as flush would
		// parse it from pend, without copying it there first (only what
		// the parser leaves unconsumed is kept).
		if len(data) > 0 {
			h.off += len(data)
			st.consumeInto(c, d, data)
			if h.closed {
				st.checkDone()
				return
			}
			st.dropHeld(c, d)
			st.endIfFull(c, d)
		}
		return
	}
	if len(data) > 0 {
		if len(h.pend) == 0 {
			h.pendSeq = seq
		}
		if g := st.pool.grows(h.pend, len(data)); g > 0 && !c.cfg.Budget.room(g) {
			c.cfg.Budget.gave(true)
			h.release(st.pool)
			st.checkDone()
			return
		}
		h.off += len(data)
		h.pend = st.pool.appendBuf(h.pend, data)
	}
	if st.async {
		st.flush(c, d, len(h.pend))
		return
	}
	st.endIfFull(c, d)
}

// flush hands the first n bytes waiting in direction d to the parser.
func (st *State) flush(c *ctx, d int, n int) {
	h := &st.h[d]
	if n <= 0 {
		return
	}
	data := h.pend[:n]
	st.consumeInto(c, d, data)
	if h.closed {
		st.checkDone()
		return
	}
	h.pend = h.pend[:copy(h.pend, h.pend[n:])]
	if len(h.pend) == 0 && st.pool != nil {
		// Nothing waits for an ACK: an idle flow holds no buffer (the
		// pool lends it to the next flow that needs one).
		st.pool.putBuf(h.pend)
		h.pend = nil
	}
	h.pendSeq += uint32(n)
	st.dropHeld(c, d)
	st.endIfFull(c, d)
}

// endIfFull stops reading direction d once it has accepted and parsed all
// the bytes it inspects.
func (st *State) endIfFull(c *ctx, d int) {
	h := &st.h[d]
	if h.off >= c.cfg.maxBytes() && len(h.pend) == 0 && !h.closed && st.streamLimit(c.cfg) == 0 {
		if t, ok := st.p.(truncater); ok {
			t.truncate(c, d == 0)
		}
		h.release(st.pool)
	}
	st.checkDone()
}

// consumeInto parses data, copying only what the parser left unconsumed.
func (st *State) consumeInto(c *ctx, d int, data []byte) {
	h := &st.h[d]
	if len(h.buf) == 0 {
		n := st.consume(c, d, data)
		if h.closed || n >= len(data) {
			return
		}
		if !st.keep(c, d, len(data)-n) {
			return
		}
		h.buf = st.pool.appendBuf(h.buf[:0], data[n:])
		return
	}
	if !st.keep(c, d, len(data)) {
		return
	}
	h.buf = st.pool.appendBuf(h.buf, data)
	n := st.consume(c, d, h.buf)
	if h.closed {
		return
	}
	h.buf = h.buf[:copy(h.buf, h.buf[n:])]
	if len(h.buf) == 0 && st.pool != nil {
		st.pool.putBuf(h.buf)
		h.buf = nil
	}
}

// keep reports whether n more unconsumed bytes of direction d may be held;
// when the shared Budget is full the direction is given up instead.
func (st *State) keep(c *ctx, d int, n int) bool {
	h := &st.h[d]
	if g := st.pool.grows(h.buf, n); g == 0 || c.cfg.Budget.room(g) {
		return true
	}
	c.cfg.Budget.gave(true)
	h.release(st.pool)
	st.checkDone()
	return false
}

// consume runs detection or the detected parser over b.
func (st *State) consume(c *ctx, d int, b []byte) int {
	h := &st.h[d]
	toServer := d == 0
	if st.p == nil {
		if st.app != appNone || st.done {
			h.release(st.pool)
			return len(b)
		}
		app, more := detectTCP(b, toServer, st.sport, st.cport)
		if more {
			return 0
		}
		if app == appNone {
			h.nomatch = true
			h.release(st.pool)
			if st.h[1-d].nomatch || st.h[1-d].closed {
				st.done = true
			}
			return len(b)
		}
		st.app = app
		st.p = st.newParser(app)
		n := st.run(c, d, b)
		// Bytes of the other direction that waited for detection.
		o := &st.h[1-d]
		if !o.closed && len(o.buf) > 0 {
			buf := o.buf
			o.buf = nil
			st.consumeInto(c, 1-d, buf)
			st.pool.putBuf(buf)
		}
		return n
	}
	return st.run(c, d, b)
}

func (st *State) run(c *ctx, d int, b []byte) int {
	n, stop := st.p.feed(c, d == 0, b)
	if st.handoffSet {
		st.switchProtocol(c)
		return len(b)
	}
	if n > len(b) {
		n = len(b)
	}
	if stop {
		st.h[d].release(st.pool)
	}
	if st.p.done() {
		st.h[0].release(st.pool)
		st.h[1].release(st.pool)
	}
	return n
}

// upgrade asks for the flow to continue as app (appNone: detect again)
// once the running parser returns, as Suricata's protocol upgrade
// (AppLayerRequestProtocolTLSUpgrade, or a change to unknown after CONNECT).
func (c *ctx) upgrade(app appID) {
	c.st.handoff, c.st.handoffSet = app, true
}

// switchProtocol ends the running parser (what it still holds is logged)
// and starts the next: the bytes after the switch are the new protocol's,
// with a fresh per-direction bound.
func (st *State) switchProtocol(c *ctx) {
	app := st.handoff
	st.handoff, st.handoffSet = appNone, false
	old := st.p
	old.close(c)
	if st.pool != nil {
		st.pool.putParser(old)
	}
	st.p, st.app = nil, app
	if app != appNone {
		st.p = st.newParser(app)
	}
	for i := range st.h {
		h := &st.h[i]
		h.buf, h.off, h.nomatch = nil, len(h.pend), false
	}
}

func (st *State) checkDone() {
	if st.h != nil && st.h[0].closed && st.h[1].closed {
		st.done = true
	}
}

// halves returns the flow's directions, made (or taken from the pool) at
// the first need.
func (st *State) halves() *[2]half {
	if st.h == nil {
		st.h = st.pool.halves()
	}
	return st.h
}

// newParser makes the TCP parser of app, the flow's protocol (st.app).
func (st *State) newParser(app appID) parser {
	if f := protocols[app].newTCP; f != nil {
		return f(st)
	}
	return nil
}
