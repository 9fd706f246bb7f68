package packet

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/opsdeck/opsdeck/internal/testpkt"
)

// tunnelCapture is a real VXLAN capture: one TCP connection between two
// network namespaces through a kernel vxlan device, taken with tcpdump on
// the underlay by scripts/mktunnels.sh (the kernel it ran on had no other
// tunnel drivers; the other tunnels are built below around the same inner
// frames).
const tunnelCapture = "../../testdata/corpus/tunnels/vxlan.pcap"

type frame struct {
	data []byte
	ts   time.Time
}

func readFrames(t *testing.T, name string) (uint16, []frame) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("open capture %q: %v", name, err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("read capture %q: %v", name, err)
	}
	var out []frame
	for {
		d, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		out = append(out, frame{append([]byte(nil), d...), ci.Timestamp})
	}
	return uint16(r.LinkType()), out
}

func writeFrames(t *testing.T, name string, link uint16, frames []frame) {
	t.Helper()
	pkts := make([]testpkt.Packet, len(frames))
	for i, fr := range frames {
		pkts[i] = testpkt.Packet{TS: fr.ts, Data: fr.data}
	}
	testpkt.WritePcap(t, name, uint32(link), pkts)
}

func ipv4Header(proto byte, payloadLen int) []byte {
	h := []byte{0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
	binary.BigEndian.PutUint16(h[2:], uint16(20+payloadLen))
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return h
}

func ipv6Header(next byte, payloadLen int) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(payloadLen))
	h[6], h[7] = next, 64
	h[8], h[9], h[23] = 0xfd, 0x00, 1
	h[24], h[25], h[39] = 0xfd, 0x00, 2
	return h
}

var outerEth = []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}

func ethFrame(typ uint16, b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(append([]byte(nil), outerEth...), typ), b...)
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func udpHeader(dport uint16, payloadLen int) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h[0:], 50000)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(8+payloadLen))
	return h
}

// Every tunnel Suricata decapsulates, around the inner frames of the real
// VXLAN capture: the decoder must describe the inner packet (addresses,
// ports, TCP flags) at the right depth, and agree with tshark's dissection
// of the same file.
func TestTunnels(t *testing.T) {
	link, frames := readFrames(t, tunnelCapture)
	if link != LinkEthernet {
		t.Fatalf("link %d", link)
	}
	// The inner Ethernet frames of the TCP connection, from the VXLAN
	// payloads (outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8).
	var inner []frame
	for _, fr := range frames {
		if len(fr.data) > 50 && binary.BigEndian.Uint16(fr.data[12:]) == 0x0800 && fr.data[23] == 17 &&
			binary.BigEndian.Uint16(fr.data[36:]) == portVXLAN {
			in := fr.data[50:]
			if binary.BigEndian.Uint16(in[12:]) == 0x0800 && in[23] == 6 {
				inner = append(inner, frame{in, fr.ts})
			}
		}
	}
	if len(inner) < 6 {
		t.Fatalf("%d inner TCP frames in the VXLAN capture", len(inner))
	}
	gre := func(flags byte, proto uint16, extra int, b []byte) []byte {
		h := []byte{flags, 0, 0, 0}
		binary.BigEndian.PutUint16(h[2:], proto)
		return append(append(h, make([]byte, extra)...), b...)
	}
	overIP4 := func(proto byte, b []byte) []byte { return ethFrame(0x0800, cat(ipv4Header(proto, len(b)), b)) }
	// counted is the length Suricata gives the packet it makes flows of,
	// from the inner IP header's length: its pseudo-packet starts at the
	// inner IP header for VXLAN, GRE with IP and IP in IP, at the inner
	// Ethernet header for GENEVE, GRE-TAP and ERSPAN type I, at the ERSPAN
	// header for types II and III; a PPPoE session and Cisco HDLC are not
	// tunnels in Suricata (decoded in place: the whole frame, depth 0).
	// carriers is how many outer packets are flows of their own: the UDP
	// datagram of VXLAN and GENEVE, the outer header of IP in IP, never
	// GRE's.
	ip := func(n int) func(ipLen, frame int) int { return func(ipLen, _ int) int { return ipLen + n } }
	whole := func(_, frame int) int { return frame }
	tests := []struct {
		name     string
		link     uint16
		wrap     func(innerEth []byte) []byte
		depth    uint8
		counted  func(ipLen, frame int) int
		carriers int
	}{
		{"vxlan (captured)", LinkEthernet, nil, 1, ip(0), 1},
		{"gre ipv4", LinkEthernet, func(e []byte) []byte { return overIP4(47, gre(0, 0x0800, 0, e[14:])) }, 1, ip(0), 0},
		{"gre key, ethernet (gretap)", LinkEthernet, func(e []byte) []byte { return overIP4(47, gre(0x20, 0x6558, 4, e)) }, 1, ip(14), 0},
		{"gre checksum and sequence", LinkEthernet, func(e []byte) []byte { return overIP4(47, gre(0x90, 0x0800, 8, e[14:])) }, 1, ip(0), 0},
		{"erspan type I", LinkEthernet, func(e []byte) []byte { return overIP4(47, gre(0, 0x88be, 0, e)) }, 1, ip(14), 0},
		{"erspan type II", LinkEthernet, func(e []byte) []byte {
			return overIP4(47, gre(0x10, 0x88be, 4, cat([]byte{0x10, 0x0c, 0, 0, 0, 0, 0, 0}, e)))
		}, 1, ip(22), 0},
		{"erspan type III", LinkEthernet, func(e []byte) []byte {
			return overIP4(47, gre(0x10, 0x22eb, 4, cat([]byte{0x20, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, e)))
		}, 1, ip(26), 0},
		{"gre over ipv6", LinkEthernet, func(e []byte) []byte {
			g := gre(0, 0x0800, 0, e[14:])
			return ethFrame(0x86dd, cat(ipv6Header(47, len(g)), g))
		}, 1, ip(0), 0},
		{"geneve", LinkEthernet, func(e []byte) []byte {
			g := cat([]byte{0, 0, 0x65, 0x58, 0, 0, 0x2b, 0}, e)
			u := cat(udpHeader(portGeneve, len(g)), g)
			return overIP4(17, u)
		}, 1, ip(14), 1},
		{"ip in ip", LinkEthernet, func(e []byte) []byte { return overIP4(4, e[14:]) }, 1, ip(0), 1},
		{"ipv4 in ipv6", LinkEthernet, func(e []byte) []byte { return ethFrame(0x86dd, cat(ipv6Header(4, len(e)-14), e[14:])) }, 1, ip(0), 1},
		{"gre in vxlan", LinkEthernet, func(e []byte) []byte {
			in := overIP4(47, gre(0, 0x0800, 0, e[14:]))
			v := cat([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, in)
			return overIP4(17, cat(udpHeader(portVXLAN, len(v)), v))
		}, 2, ip(0), 1},
		{"pppoe session", LinkEthernet, func(e []byte) []byte {
			p := cat([]byte{0x11, 0, 0, 7, 0, 0, 0, 0x21}, e[14:])
			binary.BigEndian.PutUint16(p[4:], uint16(len(p)-6))
			return ethFrame(0x8864, p)
		}, 0, whole, 0},
		{"nsh md type 1, ipv4", LinkEthernet, func(e []byte) []byte {
			// Ver 0, TTL 63, length 6 words; MD type 1; next protocol IPv4;
			// SPI 42, SI 255; 16 bytes of fixed context.
			return ethFrame(0x894f, cat([]byte{0x0f, 0xc6, 0x01, 0x01, 0, 0, 42, 255}, make([]byte, 16), e[14:]))
		}, 0, whole, 0},
		{"nsh md type 2, ethernet", LinkEthernet, func(e []byte) []byte {
			// Length 2 words (no metadata), next protocol Ethernet.
			return ethFrame(0x894f, cat([]byte{0x0f, 0xc2, 0x02, 0x03, 0, 0, 42, 255}, e))
		}, 0, whole, 0},
		{"cisco hdlc", LinkCHDLC, func(e []byte) []byte { return cat([]byte{0x0f, 0, 0x08, 0}, e[14:]) }, 0, whole, 0},
	}
	_, tsharkErr := exec.LookPath("tshark")
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs []frame
			if tt.wrap == nil {
				for _, fr := range frames {
					if len(fr.data) > 50 && fr.data[23] == 17 && binary.BigEndian.Uint16(fr.data[36:]) == portVXLAN &&
						binary.BigEndian.Uint16(fr.data[50+12:]) == 0x0800 && fr.data[50+23] == 6 {
						fs = append(fs, fr)
					}
				}
			} else {
				for _, in := range inner {
					fs = append(fs, frame{tt.wrap(in.data), in.ts})
				}
			}
			dec := NewDecoder()
			var got []string
			for j, fr := range fs {
				var s Summary
				if err := dec.Decode(tt.link, fr.data, fr.ts, len(fr.data), &s); err != nil {
					t.Fatalf("frame %d: %v", j+1, err)
				}
				want := inner[j]
				var ws Summary
				if err := NewDecoder().Decode(LinkEthernet, want.data, want.ts, len(want.data), &ws); err != nil {
					t.Fatal(err)
				}
				if s.Src != ws.Src || s.Dst != ws.Dst || s.SrcPort != ws.SrcPort || s.DstPort != ws.DstPort ||
					s.TCPFlags != ws.TCPFlags || string(s.Payload) != string(ws.Payload) {
					t.Fatalf("frame %d: got %s:%d -> %s:%d flags %x, want the inner %s:%d -> %s:%d flags %x",
						j+1, s.Src, s.SrcPort, s.Dst, s.DstPort, s.TCPFlags, ws.Src, ws.SrcPort, ws.Dst, ws.DstPort, ws.TCPFlags)
				}
				if s.TunnelDepth != tt.depth {
					t.Errorf("frame %d: tunnel depth %d, want %d", j+1, s.TunnelDepth, tt.depth)
				}
				if want := tt.counted(ws.IPLen, len(fr.data)); s.CapLen != want || s.WireLen != want {
					t.Errorf("frame %d: length %d (wire %d), want %d", j+1, s.CapLen, s.WireLen, want)
				}
				cs := dec.Carriers()
				if len(cs) != tt.carriers {
					t.Fatalf("frame %d: %d carriers, want %d", j+1, len(cs), tt.carriers)
				}
				for _, c := range cs {
					// The carrier is the outer packet, one level up: the
					// underlay's addresses, never the inner ones.
					if c.TunnelDepth >= s.TunnelDepth || c.IPVersion == 0 || c.Src == s.Src || c.Payload != nil {
						t.Errorf("frame %d: carrier %s -> %s depth %d (inner depth %d)", j+1, c.Src, c.Dst, c.TunnelDepth, s.TunnelDepth)
					}
					if c.Proto == 17 && c.DstPort != portVXLAN && c.DstPort != portGeneve {
						t.Errorf("frame %d: carrier UDP port %d", j+1, c.DstPort)
					}
				}
				got = append(got, s.Src.String()+" "+strconv.Itoa(int(s.SrcPort))+" "+s.Dst.String()+" "+strconv.Itoa(int(s.DstPort)))
			}
			if tsharkErr != nil {
				t.Log("tshark not installed: the dissection is not cross-checked")
				return
			}
			name := filepath.Join(dir, strconv.Itoa(i)+".pcap")
			writeFrames(t, name, tt.link, fs)
			out, err := exec.Command("tshark", "-r", name, "-T", "fields", "-E", "separator= ",
				"-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != len(got) {
				t.Fatalf("tshark dissected %d frames, opsdeck %d", len(lines), len(got))
			}
			for j, l := range lines {
				// tshark lists every IP header's address; the last is the innermost.
				f := strings.Fields(l)
				if len(f) != 4 {
					t.Fatalf("tshark line %q", l)
				}
				last := func(v string) string { p := strings.Split(v, ","); return p[len(p)-1] }
				ts := last(f[0]) + " " + f[1] + " " + last(f[2]) + " " + f[3]
				if ts != got[j] {
					t.Errorf("frame %d: tshark says %q, opsdeck %q", j+1, ts, got[j])
				}
			}
		})
	}
}

// FuzzTunnels decodes tunnelled frames: no panic, the payload inside the
// frame, the inner lengths never above the frame's.
func FuzzTunnels(f *testing.F) {
	in := []byte{0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0}
	innerEth := ethFrame(0x0800, in)
	f.Add(uint16(LinkEthernet), ethFrame(0x0800, cat(ipv4Header(47, 4+len(in)), []byte{0, 0, 8, 0}, in)))
	f.Add(uint16(LinkEthernet), ethFrame(0x0800, cat(ipv4Header(47, 16+len(innerEth)), []byte{0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x0c, 0, 0, 0, 0, 0, 0}, innerEth)))
	f.Add(uint16(LinkEthernet), ethFrame(0x0800, cat(ipv4Header(47, 20+len(innerEth)), []byte{0x10, 0, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, innerEth)))
	f.Add(uint16(LinkEthernet), ethFrame(0x0800, cat(ipv4Header(47, 12+len(in)), []byte{0x30, 1, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x03, 0, 0x21}, in)))
	v := cat([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, innerEth)
	f.Add(uint16(LinkEthernet), ethFrame(0x0800, cat(ipv4Header(17, 8+len(v)), udpHeader(portVXLAN, len(v)), v)))
	g := cat([]byte{0x01, 0, 0x65, 0x58, 0, 0, 0x2b, 0, 0, 0, 0, 0}, innerEth)
	f.Add(uint16(LinkEthernet), ethFrame(0x0800, cat(ipv4Header(17, 8+len(g)), udpHeader(portGeneve, len(g)), g)))
	f.Add(uint16(LinkEthernet), ethFrame(0x8864, cat([]byte{0x11, 0, 0, 7, 0, byte(2 + len(in)), 0, 0x21}, in)))
	f.Add(uint16(LinkEthernet), ethFrame(0x0800, cat(ipv4Header(4, 20+len(in)), ipv4Header(4, len(in)), in)))
	f.Add(uint16(LinkCHDLC), cat([]byte{0x0f, 0, 0x08, 0}, in))
	f.Add(uint16(LinkEthernet), ethFrame(0x86dd, cat(ipv6Header(41, 40+len(in)), ipv6Header(4, len(in)), in)))
	unreach := cat([]byte{3, 3, 0, 0, 0, 0, 0, 0}, ipv4Header(17, 8), udpHeader(53, 0))
	f.Add(uint16(LinkEthernet), ethFrame(0x0800, cat(ipv4Header(1, len(unreach)), unreach)))
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		var s Summary
		_ = d.Decode(link, data, time.Time{}, len(data), &s)
		if len(s.Payload) > len(data) || s.CapLen > len(data) || s.CapLen < 0 || s.WireLen < s.CapLen {
			t.Fatalf("payload %d, caplen %d, wirelen %d for a %d-byte frame", len(s.Payload), s.CapLen, s.WireLen, len(data))
		}
		cs := d.Carriers()
		if len(cs) > maxTunnelDepth || (len(cs) > 0 && s.TunnelDepth == 0) {
			t.Fatalf("%d carriers at inner depth %d", len(cs), s.TunnelDepth)
		}
		for _, c := range cs {
			if c.CapLen > len(data) || c.CapLen < s.CapLen || c.TunnelDepth >= s.TunnelDepth || c.IPVersion == 0 || c.Payload != nil {
				t.Fatalf("carrier caplen %d depth %d ip %d for a %d-byte frame, inner %d bytes depth %d",
					c.CapLen, c.TunnelDepth, c.IPVersion, len(data), s.CapLen, s.TunnelDepth)
			}
		}
		if q := s.Quoted; q.Proto != 0 && (s.Proto != ProtoICMP || s.ICMPType != 3 || !q.Src.Is4()) {
			t.Fatalf("quoted %+v in a proto %d type %d packet", q, s.Proto, s.ICMPType)
		}
	})
}

// A Network Service Header is followed only as Suricata's DecodeNSH
// follows it: version 0, MD type 1 with exactly 6 words or 2 with at least
// 2, the length inside the packet, IPv4, IPv6 or Ethernet next.
func TestNSHRefused(t *testing.T) {
	ip := ipv4Header(6, 0)
	for _, c := range []struct {
		name string
		hdr  []byte
	}{
		{"version 1", []byte{0x4f, 0xc2, 0x02, 0x01, 0, 0, 1, 255}},
		{"md type 1, 2 words", []byte{0x0f, 0xc2, 0x01, 0x01, 0, 0, 1, 255}},
		{"md type 2, 1 word", []byte{0x0f, 0xc1, 0x02, 0x01, 0, 0, 1, 255}},
		{"md type 0", []byte{0x0f, 0xc2, 0x00, 0x01, 0, 0, 1, 255}},
		{"md type 15", []byte{0x0f, 0xcf, 0x0f, 0x01, 0, 0, 1, 255}},
		{"next NSH", []byte{0x0f, 0xc2, 0x02, 0x04, 0, 0, 1, 255}},
		{"length past the packet", []byte{0x0f, 0xff, 0x02, 0x01, 0, 0, 1, 255}},
	} {
		if in := nshInner(cat(c.hdr, ip)); in.kind != tunNone {
			t.Errorf("%s: followed (kind %d)", c.name, in.kind)
		}
	}
	if in := nshInner(cat([]byte{0x0f, 0xc2, 0x02, 0x01, 0, 0, 1, 255}, ip)); in.kind != tunIP4 || len(in.inner) != len(ip) {
		t.Errorf("a valid header is not followed: kind %d, %d bytes", in.kind, len(in.inner))
	}
}
