// Package gen generates deterministic, realistic-looking mixed traffic:
// browsing (DNS, TLS, HTTP), bulk transfers, pings and NTP, with optional
// attack episodes (a port scan, an SSH brute force, a DNS tunnel, a cleartext
// FTP login). Benchmarks, fuzz seeds and the console's --demo mode use it, so
// nothing has to be downloaded to measure or to show opsdeck.
package gen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Frame is one generated Ethernet frame.
type Frame struct {
	Data []byte
	TS   time.Time
}

// Options shape the traffic.
type Options struct {
	Seed uint64
	// Start is the first packet's time (default 2026-01-01 UTC).
	Start time.Time
	// PPS is the average packet rate in packet time (default 50,000).
	PPS float64
	// Attacks mixes in the attack episodes every AttackEvery packets.
	Attacks     bool
	AttackEvery int
	// Clients is how many local clients browse (default 200).
	Clients int
}

// Generator yields frames one at a time; it is not safe for concurrent use.
type Generator struct {
	o       Options
	rng     *rand.Rand
	now     time.Time
	step    time.Duration
	queue   []Frame
	buf     gopacket.SerializeBuffer
	n       int
	episode int
	port    uint16
}

// New returns a Generator.
func New(o Options) *Generator {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	}
	if o.PPS <= 0 {
		o.PPS = 50000
	}
	if o.Clients <= 0 {
		o.Clients = 200
	}
	if o.AttackEvery <= 0 {
		o.AttackEvery = 200000
	}
	return &Generator{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x0b5dec)), now: o.Start,
		step: time.Duration(float64(time.Second) / o.PPS), buf: gopacket.NewSerializeBuffer(), port: 32768}
}

// Next returns the next frame. Data is owned by the caller.
func (g *Generator) Next() Frame {
	for len(g.queue) == 0 {
		g.session()
	}
	f := g.queue[0]
	g.queue = g.queue[1:]
	g.n++
	return f
}

var (
	gwMAC     = net.HardwareAddr{0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x01}
	serverMAC = net.HardwareAddr{0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x02}
	dnsServer = net.IP{10, 0, 0, 53}
)

func clientMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x00, 0x00, 0x00, byte(i >> 8), byte(i)}
}

func clientIP(i int) net.IP { return net.IP{10, 0, byte(1 + i/250), byte(1 + i%250)} }

var sites = []string{"www.example.com", "api.github.com", "mail.example.org", "cdn.jsdelivr.net", "docs.python.org",
	"login.microsoftonline.com", "s3.amazonaws.com", "www.wikipedia.org", "updates.debian.org", "status.example.net"}

func siteIP(i int) net.IP { return net.IP{93, 184, byte(i / 250), byte(1 + i%250)} }

// tick advances packet time by about one average inter-packet gap.
func (g *Generator) tick() time.Time {
	g.now = g.now.Add(g.step/2 + time.Duration(g.rng.Int64N(int64(g.step)+1)))
	return g.now
}

func (g *Generator) nextPort() uint16 {
	g.port++
	if g.port < 32768 {
		g.port = 32768
	}
	return g.port
}

// endpoint is one side of a generated conversation.
type endpoint struct {
	mac  net.HardwareAddr
	ip   net.IP
	port uint16
	seq  uint32
}

func (g *Generator) emit(ls ...gopacket.SerializableLayer) {
	if err := gopacket.SerializeLayers(g.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(fmt.Sprintf("gen: serialize: %v", err)) // a bug in this package, not bad input
	}
	b := append([]byte(nil), g.buf.Bytes()...)
	g.queue = append(g.queue, Frame{Data: b, TS: g.tick()})
}

func (g *Generator) ipLayers(src, dst *endpoint, proto layers.IPProtocol) (*layers.Ethernet, *layers.IPv4) {
	eth := &layers.Ethernet{SrcMAC: src.mac, DstMAC: dst.mac, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.ip, DstIP: dst.ip, Flags: layers.IPv4DontFragment}
	return eth, ip
}

// tcp sends one segment from src to dst with the given flags and payload,
// advancing src's sequence number.
func (g *Generator) tcp(src, dst *endpoint, flags string, payload []byte) {
	eth, ip := g.ipLayers(src, dst, layers.IPProtocolTCP)
	t := &layers.TCP{SrcPort: layers.TCPPort(src.port), DstPort: layers.TCPPort(dst.port), Seq: src.seq, Ack: dst.seq, Window: 64240}
	for _, c := range flags {
		switch c {
		case 'S':
			t.SYN = true
		case 'A':
			t.ACK = true
		case 'F':
			t.FIN = true
		case 'R':
			t.RST = true
		case 'P':
			t.PSH = true
		}
	}
	if !t.ACK {
		t.Ack = 0
	}
	t.SetNetworkLayerForChecksum(ip)
	g.emit(eth, ip, t, gopacket.Payload(payload))
	src.seq += uint32(len(payload))
	if t.SYN || t.FIN {
		src.seq++
	}
}

func (g *Generator) udp(src, dst *endpoint, payload []byte) {
	eth, ip := g.ipLayers(src, dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
	u.SetNetworkLayerForChecksum(ip)
	g.emit(eth, ip, u, gopacket.Payload(payload))
}

func (g *Generator) handshake(c, s *endpoint) {
	g.tcp(c, s, "S", nil)
	g.tcp(s, c, "SA", nil)
	g.tcp(c, s, "A", nil)
}

func (g *Generator) close(c, s *endpoint) {
	g.tcp(c, s, "FA", nil)
	g.tcp(s, c, "FA", nil)
	g.tcp(c, s, "A", nil)
}

func (g *Generator) client() *endpoint {
	i := g.rng.IntN(g.o.Clients)
	return &endpoint{mac: clientMAC(i), ip: clientIP(i), port: g.nextPort(), seq: g.rng.Uint32()}
}

// session appends one conversation (or attack episode) to the queue.
func (g *Generator) session() {
	if g.o.Attacks && g.n >= (g.episode+1)*g.o.AttackEvery/2 && g.n > 0 {
		g.attack(g.episode % 4)
		g.episode++
		return
	}
	switch r := g.rng.IntN(100); {
	case r < 45:
		g.browseTLS()
	case r < 65:
		g.browseHTTP()
	case r < 80:
		g.dnsOnly()
	case r < 90:
		g.bulk()
	case r < 95:
		g.ping()
	default:
		g.ntp()
	}
}

func (g *Generator) dnsLookup(c *endpoint, name string, qtype layers.DNSType, answer net.IP, rcode layers.DNSResponseCode) {
	s := &endpoint{mac: gwMAC, ip: dnsServer, port: 53}
	cc := *c
	cc.port = g.nextPort()
	id := uint16(g.rng.Uint32())
	q := &layers.DNS{ID: id, RD: true, Questions: []layers.DNSQuestion{{Name: []byte(name), Type: qtype, Class: layers.DNSClassIN}}}
	g.udpLayer(&cc, s, q)
	r := &layers.DNS{ID: id, QR: true, RD: true, RA: true, ResponseCode: rcode, Questions: q.Questions}
	if answer != nil && rcode == layers.DNSResponseCodeNoErr {
		r.Answers = []layers.DNSResourceRecord{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 300, IP: answer}}
	}
	if qtype == layers.DNSTypeTXT && rcode == layers.DNSResponseCodeNoErr {
		r.Answers = []layers.DNSResourceRecord{{Name: []byte(name), Type: layers.DNSTypeTXT, Class: layers.DNSClassIN, TTL: 0,
			TXTs: [][]byte{[]byte(randHex(g.rng, 60))}}}
	}
	g.udpLayer(s, &cc, r)
}

func (g *Generator) udpLayer(src, dst *endpoint, app gopacket.SerializableLayer) {
	eth, ip := g.ipLayers(src, dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
	u.SetNetworkLayerForChecksum(ip)
	g.emit(eth, ip, u, app)
}

func (g *Generator) browseTLS() {
	c := g.client()
	i := g.rng.IntN(len(sites))
	g.dnsLookup(c, sites[i], layers.DNSTypeA, siteIP(i), layers.DNSResponseCodeNoErr)
	s := &endpoint{mac: gwMAC, ip: siteIP(i), port: 443, seq: g.rng.Uint32()}
	c.mac, s.mac = clientMAC(int(c.ip[3])), gwMAC
	g.handshake(c, s)
	g.tcp(c, s, "PA", ClientHello(sites[i], g.rng))
	g.tcp(s, c, "PA", ServerHello(g.rng))
	n := 4 + g.rng.IntN(30)
	for k := 0; k < n; k++ {
		g.tcp(s, c, "A", appData(1200+g.rng.IntN(200)))
		if k%2 == 1 {
			g.tcp(c, s, "A", nil)
		}
	}
	g.close(c, s)
}

func (g *Generator) browseHTTP() {
	c := g.client()
	i := g.rng.IntN(len(sites))
	s := &endpoint{mac: gwMAC, ip: siteIP(i), port: 80, seq: g.rng.Uint32()}
	g.handshake(c, s)
	req := fmt.Sprintf("GET /page/%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\nAccept: */*\r\n\r\n", g.rng.IntN(1000), sites[i])
	g.tcp(c, s, "PA", []byte(req))
	body := 200 + g.rng.IntN(3000)
	g.tcp(s, c, "PA", []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n", body)))
	for body > 0 {
		n := min(body, 1400)
		g.tcp(s, c, "A", appData(n))
		body -= n
	}
	g.tcp(c, s, "A", nil)
	g.close(c, s)
}

func (g *Generator) dnsOnly() {
	c := g.client()
	i := g.rng.IntN(len(sites))
	g.dnsLookup(c, sites[i], layers.DNSTypeA, siteIP(i), layers.DNSResponseCodeNoErr)
}

func (g *Generator) bulk() {
	c := g.client()
	s := &endpoint{mac: serverMAC, ip: net.IP{10, 0, 0, 20}, port: 445, seq: g.rng.Uint32()}
	g.handshake(c, s)
	n := 40 + g.rng.IntN(80)
	for k := 0; k < n; k++ {
		g.tcp(c, s, "A", appData(1448))
		if k%4 == 3 {
			g.tcp(s, c, "A", nil)
		}
	}
	g.close(c, s)
}

func (g *Generator) ping() {
	c := g.client()
	dst := net.IP{10, 0, 0, 1}
	id := uint16(g.rng.Uint32())
	payload := make([]byte, 56)
	for k := range payload {
		payload[k] = byte(k) // ping's fixed pattern
	}
	for seq := uint16(1); seq <= 3; seq++ {
		for _, dir := range []bool{true, false} {
			src, dstIP, typ := c.ip, dst, uint8(layers.ICMPv4TypeEchoRequest)
			smac, dmac := c.mac, gwMAC
			if !dir {
				src, dstIP, typ = dst, c.ip, uint8(layers.ICMPv4TypeEchoReply)
				smac, dmac = gwMAC, c.mac
			}
			eth := &layers.Ethernet{SrcMAC: smac, DstMAC: dmac, EthernetType: layers.EthernetTypeIPv4}
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: src, DstIP: dstIP}
			icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq}
			g.emit(eth, ip, icmp, gopacket.Payload(payload))
		}
	}
}

func (g *Generator) ntp() {
	c := g.client()
	c.port = 123
	s := &endpoint{mac: gwMAC, ip: net.IP{10, 0, 0, 123}, port: 123}
	p := make([]byte, 48)
	p[0] = 0x23
	g.udp(c, s, p)
	p[0] = 0x24
	g.udp(s, c, p)
}

// attack appends one attack episode.
func (g *Generator) attack(kind int) {
	attacker := &endpoint{mac: net.HardwareAddr{0x02, 0xba, 0xd0, 0, 0, 1}, ip: net.IP{203, 0, 113, 66}}
	victim := net.IP{10, 0, 0, 20}
	switch kind {
	case 0: // a SYN port scan of 300 ports with RST answers
		for p := 1; p <= 300; p++ {
			a := *attacker
			a.port = 40000
			a.seq = g.rng.Uint32()
			v := &endpoint{mac: serverMAC, ip: victim, port: uint16(p)}
			g.tcp(&a, v, "S", nil)
			g.tcp(v, &a, "RA", nil)
		}
	case 1: // SSH password guessing: 15 short sessions
		for k := 0; k < 15; k++ {
			a := *attacker
			a.port = g.nextPort()
			a.seq = g.rng.Uint32()
			v := &endpoint{mac: serverMAC, ip: victim, port: 22, seq: g.rng.Uint32()}
			g.handshake(&a, v)
			g.tcp(v, &a, "PA", []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
			g.tcp(&a, v, "PA", []byte("SSH-2.0-libssh2_1.10.0\r\n"))
			for r := 0; r < 6; r++ {
				g.tcp(&a, v, "PA", appData(100+g.rng.IntN(200)))
				g.tcp(v, &a, "PA", appData(100+g.rng.IntN(200)))
			}
			g.close(&a, v)
		}
	case 2: // a DNS tunnel: 120 TXT queries of long random labels
		c := &endpoint{mac: clientMAC(7), ip: clientIP(7)}
		for k := 0; k < 120; k++ {
			name := randHex(g.rng, 60) + "." + randHex(g.rng, 40) + ".t.exfil-example.net"
			g.dnsLookup(c, name, layers.DNSTypeTXT, nil, layers.DNSResponseCodeNoErr)
		}
	case 3: // a cleartext FTP login that fails, then succeeds
		c := g.client()
		s := &endpoint{mac: serverMAC, ip: net.IP{10, 0, 0, 21}, port: 21, seq: g.rng.Uint32()}
		g.handshake(c, s)
		g.tcp(s, c, "PA", []byte("220 (vsFTPd 3.0.3)\r\n"))
		g.tcp(c, s, "PA", []byte("USER deploy\r\n"))
		g.tcp(s, c, "PA", []byte("331 Please specify the password.\r\n"))
		g.tcp(c, s, "PA", []byte("PASS hunter2\r\n"))
		g.tcp(s, c, "PA", []byte("230 Login successful.\r\n"))
		g.tcp(c, s, "PA", []byte("QUIT\r\n"))
		g.tcp(s, c, "PA", []byte("221 Goodbye.\r\n"))
		g.close(c, s)
	}
}

func randHex(r *rand.Rand, n int) string {
	const hexd = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hexd[r.IntN(16)]
	}
	return string(b)
}

func appData(n int) []byte {
	b := make([]byte, n)
	if n >= 5 {
		b[0], b[1], b[2] = 0x17, 0x03, 0x03
		binary.BigEndian.PutUint16(b[3:5], uint16(n-5))
	}
	return b
}

// ClientHello builds a TLS 1.2/1.3 ClientHello record carrying SNI, ALPN and
// supported_versions.
func ClientHello(sni string, r *rand.Rand) []byte {
	var ext []byte
	// server_name
	name := []byte(sni)
	sn := binary.BigEndian.AppendUint16(nil, uint16(len(name)+3))
	sn = append(sn, 0)
	sn = binary.BigEndian.AppendUint16(sn, uint16(len(name)))
	sn = append(sn, name...)
	ext = appendExt(ext, 0x0000, sn)
	// supported_groups, ec_point_formats
	ext = appendExt(ext, 0x000a, []byte{0, 6, 0, 0x1d, 0, 0x17, 0, 0x18})
	ext = appendExt(ext, 0x000b, []byte{1, 0})
	// ALPN h2, http/1.1
	ext = appendExt(ext, 0x0010, []byte{0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'})
	// supported_versions: TLS 1.3, 1.2
	ext = appendExt(ext, 0x002b, []byte{4, 3, 4, 3, 3})
	body := []byte{3, 3}
	for i := 0; i < 32; i++ {
		body = append(body, byte(r.Uint32()))
	}
	body = append(body, 0)                                                    // session id
	body = append(body, 0, 8, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b, 0xc0, 0x2f) // ciphers
	body = append(body, 1, 0)                                                 // compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	return record(0x16, handshake(1, body))
}

// ServerHello builds a TLS 1.3 ServerHello record.
func ServerHello(r *rand.Rand) []byte {
	body := []byte{3, 3}
	for i := 0; i < 32; i++ {
		body = append(body, byte(r.Uint32()))
	}
	body = append(body, 0, 0x13, 0x01, 0)
	ext := appendExt(nil, 0x002b, []byte{3, 4})
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	return record(0x16, handshake(2, body))
}

func appendExt(b []byte, typ uint16, data []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func handshake(typ byte, body []byte) []byte {
	h := []byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	return append(h, body...)
}

func record(typ byte, body []byte) []byte {
	h := []byte{typ, 3, 1}
	h = binary.BigEndian.AppendUint16(h, uint16(len(body)))
	return append(h, body...)
}
