package gen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Capture is a recorded capture held in memory for replay: Ethernet frames
// with times relative to the first frame.
type Capture struct {
	Name   string
	Frames []Frame         // Data only; the times are in Offs
	Offs   []time.Duration // each frame's offset from the first
}

// LoadCapture reads a pcap file of Ethernet frames.
func LoadCapture(name string) (Capture, error) {
	f, err := os.Open(name)
	if err != nil {
		return Capture{}, fmt.Errorf("open capture %q: %w", name, err)
	}
	defer f.Close()
	c, err := ReadCapture(f, filepath.Base(name))
	if err != nil {
		return Capture{}, fmt.Errorf("read capture %q: %w", name, err)
	}
	return c, nil
}

// ReadCapture reads a pcap stream of Ethernet frames.
func ReadCapture(r io.Reader, name string) (Capture, error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return Capture{}, err
	}
	if pr.LinkType() != layers.LinkTypeEthernet {
		return Capture{}, fmt.Errorf("link type %v: only Ethernet captures can be replayed", pr.LinkType())
	}
	c := Capture{Name: name}
	var first time.Time
	for {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Capture{}, err
		}
		if len(c.Frames) == 0 {
			first = ci.Timestamp
		}
		off := ci.Timestamp.Sub(first)
		if off < 0 {
			off = 0
		}
		if n := len(c.Offs); n > 0 && off < c.Offs[n-1] {
			off = c.Offs[n-1] // keep replay time monotonic
		}
		c.Frames = append(c.Frames, Frame{Data: append([]byte(nil), data...)})
		c.Offs = append(c.Offs, off)
	}
	if len(c.Frames) == 0 {
		return Capture{}, errors.New("no packets")
	}
	return c, nil
}

// LoadCaptures reads every *.pcap file in dir, in name order.
func LoadCaptures(dir string) ([]Capture, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.pcap files in %q", dir)
	}
	sort.Strings(names)
	var caps []Capture
	for _, n := range names {
		c, err := LoadCapture(n)
		if err != nil {
			return nil, err
		}
		caps = append(caps, c)
	}
	return caps, nil
}

// MixOptions shape an attack-heavy mix: recorded captures replayed over and
// over, interleaved with generated browsing.
type MixOptions struct {
	Options
	// Lanes is how many replays run at once (default 160: enough that a quarter of packets open a new flow). Each lane plays the
	// captures one after another, each replay with addresses of its own.
	Lanes int
	// MaxGap caps an idle gap inside a replay (default 1 s), so a slow
	// brute force does not leave a lane idle for most of the capture.
	MaxGap time.Duration
}

// Mixer merges generated browsing with replays of recorded captures, in
// time order. Every replay moves the capture's local (private-range)
// addresses to a /24 of its own and its MAC addresses to MACs of its own, and
// gives every other unicast address (the spoofed sources of a flood, the
// reflectors) a fresh random address, so each replay opens new flows from new
// hosts as a real attack on another network would. Checksums are kept valid.
type Mixer struct {
	browse  *Generator
	next    Frame // browsing's next frame
	caps    []Capture
	lanes   []lane
	replays uint32
	maxGap  time.Duration
	rng     *rand.Rand
}

type lane struct {
	capIdx int       // index into caps of the capture playing
	pos    int       // next frame in it
	start  time.Time // time of the replay's first frame
	id     uint32    // replay number: picks the addresses
	pause  time.Duration
	at     time.Time // time of frame pos
}

// NewMixer returns a Mixer over caps (at least one).
func NewMixer(o MixOptions, caps []Capture) *Mixer {
	if o.Lanes <= 0 {
		o.Lanes = 160
	}
	if o.MaxGap <= 0 {
		o.MaxGap = time.Second
	}
	o.Attacks = false // the recorded captures are the attacks
	m := &Mixer{browse: New(o.Options), caps: caps, maxGap: o.MaxGap,
		rng: rand.New(rand.NewPCG(o.Seed, 0x1ab))}
	m.next = m.browse.Next()
	start := m.next.TS
	for i := 0; i < o.Lanes; i++ {
		l := lane{capIdx: (i * 7) % len(caps)}
		m.begin(&l, start.Add(time.Duration(m.rng.Int64N(int64(time.Second)))))
		m.lanes = append(m.lanes, l)
	}
	return m
}

func (m *Mixer) begin(l *lane, at time.Time) {
	l.pos, l.start, l.at, l.pause = 0, at, at, 0
	l.id = m.replays
	m.replays++
}

// Replays is how many replays have started.
func (m *Mixer) Replays() int { return int(m.replays) }

// Next returns the next frame in time order. Data is owned by the caller.
func (m *Mixer) Next() Frame {
	best := -1
	for i := range m.lanes {
		if best < 0 || m.lanes[i].at.Before(m.lanes[best].at) {
			best = i
		}
	}
	if best < 0 || !m.lanes[best].at.Before(m.next.TS) {
		f := m.next
		m.next = m.browse.Next()
		return f
	}
	l := &m.lanes[best]
	c := &m.caps[l.capIdx]
	f := Frame{Data: rewrite(c.Frames[l.pos].Data, l.id), TS: l.at}
	l.pos++
	if l.pos < len(c.Frames) {
		gap := c.Offs[l.pos] - c.Offs[l.pos-1]
		if gap > m.maxGap {
			l.pause += gap - m.maxGap
		}
		l.at = l.start.Add(c.Offs[l.pos] - l.pause)
	} else {
		l.capIdx = (l.capIdx + 1 + m.rng.IntN(3)) % len(m.caps)
		m.begin(l, l.at.Add(time.Duration(m.rng.Int64N(int64(200*time.Millisecond)))))
	}
	return f
}

// mapIP moves one IPv4 address for replay id: private-range addresses keep
// their host byte in the replay's own /24 of 10.128.0.0/10; the unspecified
// address stays, and so do multicast, broadcast and loopback as destinations;
// any other address is taken as spoofed (a flood's random sources include
// multicast and reserved ones) and replaced by a random public one, fresh for
// each replay.
func mapIP(a []byte, id uint32, src bool) {
	switch {
	case a[0] == 10, a[0] == 172 && a[1]&0xf0 == 16, a[0] == 192 && a[1] == 168:
		a[0], a[1], a[2] = 10, 128|byte(id>>8)&63, byte(id)
	case a[0]|a[1]|a[2]|a[3] == 0:
	case !src && (a[0] == 127 || a[0] >= 224):
	default:
		x := mix64(uint64(id)<<32 | uint64(binary.BigEndian.Uint32(a)))
		b0 := byte(1 + x%222)
		if b0 == 10 || b0 == 127 || b0 == 172 || b0 == 192 {
			b0++
		}
		a[0], a[1], a[2], a[3] = b0, byte(x>>8), byte(x>>16), byte(x>>24)
	}
}

// mapMAC gives each replay its own MACs (unicast ones; broadcast, multicast
// and zero stay), keeping a capture's hosts apart.
func mapMAC(m []byte, id uint32) {
	if m[0]&1 == 1 || m[0]|m[1]|m[2]|m[3]|m[4]|m[5] == 0 {
		return
	}
	m[3] ^= byte(id >> 16)
	m[4] ^= byte(id >> 8)
	m[5] ^= byte(id) & 0x0f << 4
}

func mix64(x uint64) uint64 { // splitmix64's finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// rewrite returns a copy of an Ethernet frame with its addresses moved for
// replay id. IPv4 (with TCP, UDP, ICMP and the header quoted in an ICMP
// error), ARP and DHCP are rewritten; other frames only get new MACs.
func rewrite(src []byte, id uint32) []byte {
	b := append([]byte(nil), src...)
	if len(b) < 14 {
		return b
	}
	mapMAC(b[0:6], id)
	mapMAC(b[6:12], id)
	switch binary.BigEndian.Uint16(b[12:14]) {
	case 0x0806:
		a := b[14:]
		if len(a) >= 28 && a[4] == 6 && a[5] == 4 {
			mapMAC(a[8:14], id)
			mapIP(a[14:18], id, false)
			mapMAC(a[18:24], id)
			mapIP(a[24:28], id, false)
		}
	case 0x0800:
		rewriteIPv4(b[14:], id, true)
	}
	return b
}

func rewriteIPv4(p []byte, id uint32, outer bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return
	}
	ihl := int(p[0]&0x0f) * 4
	if ihl < 20 || len(p) < ihl {
		return
	}
	mapIP(p[12:16], id, true)
	mapIP(p[16:20], id, false)
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:12], checksum(p[:ihl], 0))
	if !outer || binary.BigEndian.Uint16(p[6:8])&0x1fff != 0 {
		return // a quoted header, or a later fragment: no transport header here
	}
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if total < ihl || total > len(p) {
		return // truncated: the transport checksum cannot be recomputed
	}
	l4 := p[ihl:total]
	pseudo := func(proto byte) uint32 {
		s := uint32(binary.BigEndian.Uint16(p[12:14])) + uint32(binary.BigEndian.Uint16(p[14:16])) +
			uint32(binary.BigEndian.Uint16(p[16:18])) + uint32(binary.BigEndian.Uint16(p[18:20]))
		return s + uint32(proto) + uint32(len(l4))
	}
	switch p[9] {
	case 6:
		if len(l4) >= 20 {
			l4[16], l4[17] = 0, 0
			binary.BigEndian.PutUint16(l4[16:18], checksum(l4, pseudo(6)))
		}
	case 17:
		if len(l4) >= 8 {
			sport, dport := binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
			if (sport == 67 || sport == 68) && (dport == 67 || dport == 68) {
				rewriteDHCP(l4[8:], id)
			}
			if l4[6]|l4[7] != 0 {
				l4[6], l4[7] = 0, 0
				c := checksum(l4, pseudo(17))
				if c == 0 {
					c = 0xffff
				}
				binary.BigEndian.PutUint16(l4[6:8], c)
			}
		}
	case 1:
		if len(l4) >= 8 {
			switch l4[0] {
			case 3, 4, 5, 11, 12: // errors quote the offending header
				rewriteIPv4(l4[8:], id, false)
			}
			l4[2], l4[3] = 0, 0
			binary.BigEndian.PutUint16(l4[2:4], checksum(l4, 0))
		}
	}
}

// rewriteDHCP moves the addresses a BOOTP message carries: ciaddr, yiaddr,
// siaddr, giaddr, chaddr, and the address options (router, DNS, requested
// address, server identifier) and a client identifier that is a MAC.
func rewriteDHCP(d []byte, id uint32) {
	if len(d) < 240 || binary.BigEndian.Uint32(d[236:240]) != 0x63825363 {
		return
	}
	for off := 12; off < 28; off += 4 {
		mapIP(d[off:off+4], id, false)
	}
	if d[1] == 1 && d[2] == 6 {
		mapMAC(d[28:34], id)
	}
	for o := 240; o+1 < len(d); {
		code := d[o]
		if code == 0 {
			o++
			continue
		}
		if code == 255 {
			break
		}
		n := int(d[o+1])
		v := d[o+2:]
		if len(v) < n {
			break
		}
		v = v[:n]
		switch code {
		case 3, 6, 50, 54:
			for k := 0; k+4 <= n; k += 4 {
				mapIP(v[k:k+4], id, false)
			}
		case 61:
			if n == 7 && v[0] == 1 {
				mapMAC(v[1:7], id)
			}
		}
		o += 2 + n
	}
}

// checksum is the Internet checksum of b with sum added in.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
