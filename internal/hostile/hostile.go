// Package hostile writes deterministic captures of traffic an attacker would
// send at opsdeck itself: floods that try to exhaust its tables, names and
// claims by the million, TCP segments that overlap and arrive out of order,
// fragments that are tiny or reach past 64 KiB, and headers whose length
// fields lie. The hardening tests run `opsdeck analyze` over them; nothing is
// downloaded, and the same seed always gives the same bytes.
//
// Frames are built by hand rather than with gopacket serialization: a
// million-packet capture must be quick to write, and the lying-length kinds
// need headers no serializer will produce.
package hostile

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"
)

// Start is the packet time of the first frame of every kind.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Targets and actors the kinds use, so tests can name them in assertions.
var (
	FloodTarget = [4]byte{10, 0, 0, 80} // the SYN flood's victim (port 80)
	DNSClient   = [4]byte{10, 0, 0, 66} // the tunnelling / DGA client
	DNSServer   = [4]byte{10, 0, 0, 53}
	ARPAttacker = [6]byte{0x02, 0xba, 0xd0, 0x00, 0x00, 0x01} // the MAC claiming every IP
	TLSServer   = [4]byte{10, 0, 0, 44}
)

// DNSParent is the domain the tunnelling client sends its unique names under.
const DNSParent = "exfil.example"

// SNI is the server name the reassembly kind's ClientHello carries.
const SNI = "reassembled.hostile.example"

// Sink receives frames: a pcap Writer, or a test feeding an engine in
// process. data is only valid during the call.
type Sink interface {
	Frame(ts time.Time, data []byte, wireLen int) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ts time.Time, data []byte, wireLen int) error

// Frame calls f.
func (f SinkFunc) Frame(ts time.Time, data []byte, wireLen int) error { return f(ts, data, wireLen) }

// Kind is one hostile capture: Write writes about n frames of it.
type Kind struct {
	Name string
	// Expect are the alert rules the traffic deserves (empty: none asked).
	Expect []string
	Write  func(w Sink, n int, seed uint64) error
}

// Kinds lists every hostile capture, in a stable order.
func Kinds() []Kind {
	return []Kind{
		{Name: "synflood", Expect: []string{"dos.synflood"}, Write: SynFlood},
		{Name: "dnsnames", Expect: []string{"dns.tunnel", "dns.dga"}, Write: DNSNames},
		{Name: "arpclaims", Expect: []string{"arp.spoof"}, Write: ARPClaims},
		{Name: "tcpoverlap", Write: TCPOverlap},
		{Name: "fragments", Write: Fragments},
		{Name: "lyinglengths", Write: LyingLengths},
		{Name: "seqhalf", Write: SeqHalf},
		{Name: "oooflood", Write: OOOFlood},
	}
}

// KindByName returns the kind called name.
func KindByName(name string) (Kind, bool) {
	for _, k := range Kinds() {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Writer writes a classic pcap file (Ethernet, microsecond timestamps).
type Writer struct {
	bw   *bufio.Writer
	hdr  [16]byte
	n    int
	Snap uint32
}

// NewWriter writes the pcap file header with the given snap length (0:
// 262144) and returns the writer. Call Flush at the end.
func NewWriter(w io.Writer, snaplen uint32) (*Writer, error) {
	if snaplen == 0 {
		snaplen = 262144
	}
	pw := &Writer{bw: bufio.NewWriterSize(w, 1<<16), Snap: snaplen}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], 1) // LINKTYPE_ETHERNET
	if _, err := pw.bw.Write(h[:]); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	return pw, nil
}

// Frame writes one record. wireLen < len(data) is raised to len(data).
func (w *Writer) Frame(ts time.Time, data []byte, wireLen int) error {
	if wireLen < len(data) {
		wireLen = len(data)
	}
	us := ts.UnixMicro()
	binary.LittleEndian.PutUint32(w.hdr[0:], uint32(us/1e6))
	binary.LittleEndian.PutUint32(w.hdr[4:], uint32(us%1e6))
	binary.LittleEndian.PutUint32(w.hdr[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(w.hdr[12:], uint32(wireLen))
	w.bw.Write(w.hdr[:])
	_, err := w.bw.Write(data)
	if err != nil {
		return fmt.Errorf("write pcap record %d: %w", w.n+1, err)
	}
	w.n++
	return nil
}

// Frames is how many records were written.
func (w *Writer) Frames() int { return w.n }

// Flush writes out the buffer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// clock hands out packet times at a fixed rate.
type clock struct {
	t    time.Time
	step time.Duration
}

func newClock(pps int) *clock { return &clock{t: Start, step: time.Second / time.Duration(pps)} }

func (c *clock) next() time.Time { c.t = c.t.Add(c.step); return c.t }

var (
	victimMAC = [6]byte{0x00, 0x1b, 0x21, 0x00, 0x00, 0x80}
	gwMAC     = [6]byte{0x00, 0x1b, 0x21, 0x00, 0x00, 0x01}
	clientMAC = [6]byte{0x00, 0x1b, 0x21, 0x00, 0x00, 0x66}
)

// builder assembles one frame at a time into a reused buffer.
type builder struct{ b []byte }

func (f *builder) eth(dst, src [6]byte, typ uint16) {
	f.b = append(f.b[:0], dst[:]...)
	f.b = append(f.b, src[:]...)
	f.b = binary.BigEndian.AppendUint16(f.b, typ)
}

// ip4 appends an IPv4 header; total is the total length field (0: computed
// by fix4 once the payload is in place), fragField the flags+offset word.
func (f *builder) ip4(src, dst [4]byte, proto uint8, id uint16, fragField uint16, total uint16) int {
	at := len(f.b)
	f.b = append(f.b, 0x45, 0)
	f.b = binary.BigEndian.AppendUint16(f.b, total)
	f.b = binary.BigEndian.AppendUint16(f.b, id)
	f.b = binary.BigEndian.AppendUint16(f.b, fragField)
	f.b = append(f.b, 64, proto, 0, 0)
	f.b = append(f.b, src[:]...)
	f.b = append(f.b, dst[:]...)
	return at
}

// fix4 sets the total length (when zero) and the header checksum of the
// IPv4 header at at.
func (f *builder) fix4(at int) {
	h := f.b[at : at+20]
	if binary.BigEndian.Uint16(h[2:]) == 0 {
		binary.BigEndian.PutUint16(h[2:], uint16(len(f.b)-at))
	}
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], ^sum16(0, h))
}

const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

func (f *builder) tcp(sport, dport uint16, seq, ack uint32, flags uint8, payload []byte) int {
	at := len(f.b)
	f.b = binary.BigEndian.AppendUint16(f.b, sport)
	f.b = binary.BigEndian.AppendUint16(f.b, dport)
	f.b = binary.BigEndian.AppendUint32(f.b, seq)
	f.b = binary.BigEndian.AppendUint32(f.b, ack)
	f.b = append(f.b, 5<<4, flags)
	f.b = binary.BigEndian.AppendUint16(f.b, 65535)
	f.b = append(f.b, 0, 0, 0, 0)
	f.b = append(f.b, payload...)
	return at
}

func (f *builder) udp(sport, dport uint16, payload []byte) int {
	at := len(f.b)
	f.b = binary.BigEndian.AppendUint16(f.b, sport)
	f.b = binary.BigEndian.AppendUint16(f.b, dport)
	f.b = binary.BigEndian.AppendUint16(f.b, uint16(8+len(payload)))
	f.b = append(f.b, 0, 0)
	f.b = append(f.b, payload...)
	return at
}

// fixL4 sets the TCP or UDP checksum of the segment at at (IPv4 header at
// ipAt), over the pseudo-header, as a real stack would.
func (f *builder) fixL4(ipAt, at int) {
	ip := f.b[ipAt:]
	seg := f.b[at:]
	var ps [12]byte
	copy(ps[0:], ip[12:20])
	ps[9] = ip[9]
	binary.BigEndian.PutUint16(ps[10:], uint16(len(seg)))
	off := 16 // TCP
	if ip[9] == 17 {
		off = 6
	}
	seg[off], seg[off+1] = 0, 0
	c := ^sum16(sum16(0, ps[:]), seg)
	if c == 0 && ip[9] == 17 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(seg[off:], c)
}

// sum16 is the ones' complement sum (not complemented) of b added to s.
func sum16(s uint16, b []byte) uint16 {
	acc := uint32(s)
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// SynFlood writes n SYNs toward FloodTarget:80, each from a random source
// address and port (a new flow each), at 100,000 per second of packet time:
// the flow table must evict, and dos.synflood must still fire.
func SynFlood(w Sink, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	c := newClock(100000)
	var f builder
	for range n {
		src := addr4(r.Uint32())
		f.eth(victimMAC, gwMAC, 0x0800)
		ip := f.ip4(src, FloodTarget, 6, uint16(r.Uint32()), 0x4000, 0)
		t := f.tcp(uint16(1024+r.IntN(64511)), 80, r.Uint32(), 0, tcpSYN, nil)
		f.fix4(ip)
		f.fixL4(ip, t)
		if err := w.Frame(c.next(), f.b, 0); err != nil {
			return err
		}
	}
	return nil
}

func addr4(v uint32) [4]byte {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return a
}

const lower = "abcdefghijklmnopqrstuvwxyz0123456789"

func randLabel(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = lower[r.IntN(len(lower))]
	}
	return string(b)
}

// dnsMessage appends a DNS message with one question (type A) to b.
func dnsMessage(b []byte, id uint16, name string, response bool, rcode uint8) []byte {
	b = binary.BigEndian.AppendUint16(b, id)
	var flags uint16 = 0x0100
	if response {
		flags = 0x8180 | uint16(rcode)
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = append(b, 0, 1, 0, 0, 0, 0, 0, 0)
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	b = append(b, 0)
	return append(b, 0, 1, 0, 1)
}

// DNSNames writes n unique query names, each answered NXDOMAIN (2n frames).
// Half come from DNSClient: every other one of those under DNSParent
// (dns.tunnel by volume of unique names), the rest random-looking
// registered domains (dns.dga). The other half come from random local
// clients under random parents, to fill the DNS rules' tables.
func DNSNames(w Sink, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 2))
	c := newClock(50000)
	var f builder
	var msg []byte
	for i := range n {
		client, parent, cmac := DNSClient, DNSParent, clientMAC
		switch i % 4 {
		case 2:
			parent = randLabel(r, 12) + ".net"
		case 1, 3:
			client = [4]byte{10, byte(1 + r.IntN(250)), byte(r.IntN(256)), byte(1 + r.IntN(250))}
			parent = randLabel(r, 8) + ".com"
			cmac = [6]byte{0x02, 0, client[0], client[1], client[2], client[3]}
		}
		// The index makes every name unique whatever the random draw.
		name := fmt.Sprintf("%s%x.%s", randLabel(r, 10), i, parent)
		sport := uint16(1024 + r.IntN(64511))
		id := uint16(r.Uint32())
		for _, resp := range []bool{false, true} {
			msg = dnsMessage(msg[:0], id, name, resp, 3)
			src, dst, sp, dp, smac, dmac := client, DNSServer, sport, uint16(53), cmac, gwMAC
			if resp {
				src, dst, sp, dp, smac, dmac = dst, src, dp, sp, dmac, smac
			}
			f.eth(dmac, smac, 0x0800)
			ip := f.ip4(src, dst, 17, id, 0x4000, 0)
			u := f.udp(sp, dp, msg)
			f.fix4(ip)
			f.fixL4(ip, u)
			if err := w.Frame(c.next(), f.b, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// ARPClaims writes n gratuitous ARP replies. Every other one is from
// ARPAttacker claiming a fresh address in 10.0.0.0/8 (one MAC claiming many
// IPs: arp.spoof); the rest come from random MACs claiming random addresses,
// so the binding and MAC tables overflow and must evict.
func ARPClaims(w Sink, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 3))
	c := newClock(20000)
	var f builder
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for i := range n {
		mac := ARPAttacker
		ip := addr4(0x0a000000 | uint32(i+1)&0x00ffffff)
		if i%2 == 1 {
			v := r.Uint64()
			mac = [6]byte{0x02, byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24), byte(v >> 32)}
			ip = addr4(0x0a000000 | r.Uint32()&0x00ffffff)
		}
		f.eth(bcast, mac, 0x0806)
		f.b = append(f.b, 0, 1, 8, 0, 6, 4, 0, 2)
		f.b = append(f.b, mac[:]...)
		f.b = append(f.b, ip[:]...)
		f.b = append(f.b, bcast[:]...)
		f.b = append(f.b, ip[:]...)
		if err := w.Frame(c.next(), f.b, 0); err != nil {
			return err
		}
	}
	return nil
}

// ClientHello returns a TLS record holding a ClientHello for sni.
func ClientHello(sni string) []byte {
	var ext []byte
	name := []byte(sni)
	sn := binary.BigEndian.AppendUint16(nil, uint16(len(name)+3))
	sn = append(sn, 0)
	sn = binary.BigEndian.AppendUint16(sn, uint16(len(name)))
	sn = append(sn, name...)
	ext = binary.BigEndian.AppendUint16(ext, 0) // server_name
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(sn)))
	ext = append(ext, sn...)
	// Padding makes the hello span many small segments.
	pad := make([]byte, 400)
	ext = binary.BigEndian.AppendUint16(ext, 21)
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(pad)))
	ext = append(ext, pad...)

	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...) // random
	body = append(body, 0)                   // session id
	body = append(body, 0, 4, 0x13, 0x01, 0xc0, 0x2f)
	body = append(body, 1, 0)
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	hs := []byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	hs = append(hs, body...)
	rec := []byte{0x16, 3, 1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(hs)))
	return append(rec, hs...)
}

// OverlapOrders names the delivery orders of TCPOverlap; connection i
// (client port 20000+i) uses order i%len(OverlapOrders).
var OverlapOrders = []string{"duplicated", "pairs-swapped", "shuffled-by-6", "overlap-junk", "hole", "reversed"}

// TCPOverlap writes n connections, each carrying a ClientHello for SNI in
// 24-byte segments delivered in one of the OverlapOrders: in order with
// every segment sent twice; each pair swapped; shuffled within groups of six
// (reordering a stack can see); each segment preceded by a copy starting 12
// bytes early whose overlap carries different bytes; a hole that never
// fills; and wholly reversed (more reordering than any bounded reassembler
// holds). Each connection has a full handshake first.
func TCPOverlap(w Sink, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 4))
	c := newClock(10000)
	var f builder
	hello := ClientHello(SNI)
	client := [4]byte{10, 0, 0, 7}
	frame := func(fromClient bool, sport uint16, seq, ack uint32, flags uint8, payload []byte) error {
		src, dst, sp, dp, smac, dmac := client, TLSServer, sport, uint16(443), clientMAC, victimMAC
		if !fromClient {
			src, dst, sp, dp, smac, dmac = dst, src, dp, sp, dmac, smac
		}
		f.eth(dmac, smac, 0x0800)
		ip := f.ip4(src, dst, 6, uint16(r.Uint32()), 0x4000, 0)
		t := f.tcp(sp, dp, seq, ack, flags, payload)
		f.fix4(ip)
		f.fixL4(ip, t)
		return w.Frame(c.next(), f.b, 0)
	}
	type seg struct {
		off  int
		data []byte
	}
	for i := range max(n, 1) {
		sport := uint16(20000 + i%40000)
		isn, ssn := r.Uint32(), r.Uint32()
		if err := frame(true, sport, isn, 0, tcpSYN, nil); err != nil {
			return err
		}
		frame(false, sport, ssn, isn+1, tcpSYN|tcpACK, nil)
		frame(true, sport, isn+1, ssn+1, tcpACK, nil)
		var segs []seg
		for off := 0; off < len(hello); off += 24 {
			segs = append(segs, seg{off, hello[off:min(off+24, len(hello))]})
		}
		switch i % len(OverlapOrders) {
		case 0: // every segment twice
			var d []seg
			for _, s := range segs {
				d = append(d, s, s)
			}
			segs = d
		case 1:
			for j := 0; j+1 < len(segs); j += 2 {
				segs[j], segs[j+1] = segs[j+1], segs[j]
			}
		case 2:
			for j := 0; j < len(segs); j += 6 {
				g := segs[j:min(j+6, len(segs))]
				r.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
			}
		case 5:
			sort.Slice(segs, func(a, b int) bool { return segs[a].off > segs[b].off })
		case 3: // each segment also sent 12 bytes early, with junk in the overlap
			var d []seg
			for _, s := range segs {
				if s.off >= 12 {
					junk := append([]byte(nil), hello[s.off-12:s.off]...)
					for j := range junk {
						junk[j] ^= 0x5a
					}
					d = append(d, seg{s.off - 12, append(junk, s.data...)})
				}
				d = append(d, s)
			}
			segs = d
		case 4: // a hole: the second segment never arrives
			segs = append(segs[:1:1], segs[2:]...)
		}
		for _, s := range segs {
			if err := frame(true, sport, isn+1+uint32(s.off), ssn+1, tcpPSH|tcpACK, s.data); err != nil {
				return err
			}
		}
		frame(true, sport, isn+1+uint32(len(hello)), ssn+1, tcpFIN|tcpACK, nil)
		frame(false, sport, ssn+1, isn+2+uint32(len(hello)), tcpFIN|tcpACK, nil)
	}
	return nil
}

// Fragments writes n IPv4 fragments of hostile shapes: 8-byte fragments
// of a UDP datagram (the first too short to hold the UDP header), fragments
// whose offset plus length passes 65,535, overlapping fragments, fragments
// with MF set that never complete, and a 9,000-byte jumbo fragment.
func Fragments(w Sink, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 5))
	c := newClock(20000)
	var f builder
	src, dst := [4]byte{10, 0, 0, 9}, [4]byte{10, 0, 0, 10}
	big := make([]byte, 9000)
	for i := range big {
		big[i] = byte(i)
	}
	for i := range n {
		id := uint16(i)
		f.eth(victimMAC, clientMAC, 0x0800)
		var ip int
		switch i % 6 {
		case 0: // first fragment: 4 bytes, shorter than a UDP header
			ip = f.ip4(src, dst, 17, id, 0x2000, 0)
			f.b = append(f.b, 0x30, 0x39, 0x00)
			f.b = append(f.b, 53)
		case 1: // tiny middle fragment
			ip = f.ip4(src, dst, 17, id, 0x2000|1, 0)
			f.b = append(f.b, 1, 2, 3, 4, 5, 6, 7, 8)
		case 2: // offset 8184*8 + 1480 > 65535
			ip = f.ip4(src, dst, 6, id, 0x1fff, 0)
			f.b = append(f.b, big[:1480]...)
		case 3: // jumbo fragment
			ip = f.ip4(src, dst, 17, id, 0x2000, 0)
			f.udp(5000, 53, big)
			// Claim the real size, which overflows the 16-bit total length.
		case 4: // overlapping first fragments with different transport headers
			ip = f.ip4(src, dst, 6, id, 0x2000, 0)
			f.tcp(uint16(r.IntN(65536)), 22, r.Uint32(), 0, tcpSYN, nil)
		case 5: // a fragment with zero bytes of payload
			ip = f.ip4(src, dst, 6, id, 0x2000|uint16(r.IntN(8192)), 0)
		}
		f.fix4(ip)
		if err := w.Frame(c.next(), f.b, 0); err != nil {
			return err
		}
	}
	return nil
}

// LyingLengths writes n frames whose length fields disagree with the bytes
// captured: IPv4 total length past the capture and below the header, header
// length past the end, TCP data offset past the end or under 5, UDP length
// longer and shorter than the datagram, a record whose original length is
// smaller than its captured length, and a truncated Ethernet header.
func LyingLengths(w Sink, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 6))
	c := newClock(20000)
	var f builder
	src, dst := [4]byte{10, 0, 0, 11}, [4]byte{10, 0, 0, 12}
	payload := []byte("GET / HTTP/1.1\r\nHost: lies.example\r\n\r\n")
	const cases = 10
	for i := range n {
		f.eth(victimMAC, clientMAC, 0x0800)
		ip := f.ip4(src, dst, 6, uint16(i), 0x4000, 0)
		sport := uint16(1024 + r.IntN(60000))
		wire := 0
		switch i % cases {
		case 0: // total length far beyond the capture
			f.tcp(sport, 80, 1, 0, tcpPSH|tcpACK, payload)
			f.fix4(ip)
			binary.BigEndian.PutUint16(f.b[ip+2:], 65535)
		case 1: // total length shorter than the header
			f.tcp(sport, 80, 1, 0, tcpSYN, nil)
			f.fix4(ip)
			binary.BigEndian.PutUint16(f.b[ip+2:], 12)
		case 2: // IHL 15 (60 bytes) with 20 captured
			f.b[ip] = 0x4f
			f.fix4(ip)
		case 3: // TCP data offset 15 (60 bytes) past the end
			t := f.tcp(sport, 80, 1, 0, tcpPSH|tcpACK, []byte("x"))
			f.b[t+12] = 15 << 4
			f.fix4(ip)
		case 4: // TCP data offset under the minimum
			t := f.tcp(sport, 80, 1, 0, tcpPSH|tcpACK, payload)
			f.b[t+12] = 2 << 4
			f.fix4(ip)
		case 5: // UDP length longer than the datagram
			f.b[ip+9] = 17
			u := f.udp(sport, 53, payload)
			binary.BigEndian.PutUint16(f.b[u+4:], 4000)
			f.fix4(ip)
		case 6: // UDP length shorter than its header
			f.b[ip+9] = 17
			u := f.udp(sport, 53, payload)
			binary.BigEndian.PutUint16(f.b[u+4:], 3)
			f.fix4(ip)
		case 7: // original length smaller than captured (the writer raises it; lie in the IP header instead)
			f.tcp(sport, 80, 1, 0, tcpPSH|tcpACK, payload)
			f.fix4(ip)
			binary.BigEndian.PutUint16(f.b[ip+2:], 41)
			wire = len(f.b) * 4
		case 8: // Ethernet header cut short
			f.b = f.b[:9]
		case 9: // version 6 in an IPv4 ethertype, IPv6 payload length lying
			f.b[ip] = 0x60
			f.b = append(f.b, make([]byte, 20)...)
			binary.BigEndian.PutUint16(f.b[ip+4:], 60000)
		}
		if err := w.Frame(c.next(), f.b, wire); err != nil {
			return err
		}
	}
	return nil
}
