package gen

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

func labCaptures(t *testing.T) []Capture {
	t.Helper()
	caps, err := LoadCaptures("../../testdata/lab")
	if err != nil {
		t.Fatal(err)
	}
	return caps
}

// TestMixerAttackHeavy: the lab captures replayed between generated browsing
// give a deterministic capture in time order in which at least a quarter of
// packets open a new flow, every frame decodes, no lab address survives and
// every IPv4 header checksum is valid.
func TestMixerAttackHeavy(t *testing.T) {
	caps := labCaptures(t)
	a := NewMixer(MixOptions{Options: Options{Seed: 3}}, caps)
	b := NewMixer(MixOptions{Options: Options{Seed: 3}}, caps)
	d := packet.NewDecoder()
	var s packet.Summary
	var last Frame
	flows := map[flowKey]bool{}
	const n = 300000
	for i := 0; i < n; i++ {
		f, g := a.Next(), b.Next()
		if !bytes.Equal(f.Data, g.Data) || !f.TS.Equal(g.TS) {
			t.Fatalf("frame %d differs between two mixers with the same seed", i)
		}
		if i > 0 && f.TS.Before(last.TS) {
			t.Fatalf("frame %d goes back in time", i)
		}
		last = f
		if err := d.Decode(packet.LinkEthernet, f.Data, f.TS, len(f.Data), &s); err != nil {
			t.Fatalf("frame %d does not decode: %v", i, err)
		}
		if k, ok := keyOf(f.Data); ok {
			flows[k] = true
			for _, ip := range [][4]byte{k.a, k.b} {
				if ip[0] == 10 && ip[1] == 77 {
					t.Fatalf("frame %d still carries the lab's address %v", i, netip.AddrFrom4(ip))
				}
			}
			ihl := int(f.Data[14]&0x0f) * 4
			if checksum(f.Data[14:14+ihl], 0) != 0 {
				t.Fatalf("frame %d: bad IPv4 header checksum", i)
			}
		}
	}
	if share := float64(len(flows)) / n; share < 0.25 {
		t.Errorf("%.0f%% of packets open a new flow, want at least 25%%", 100*share)
	}
	if a.Replays() < 50 {
		t.Errorf("only %d replays", a.Replays())
	}
}

// TestRewriteSpoofedFresh: two replays of a spoofed-source SYN flood share
// no source address, the victim moves to each replay's own /24, and the TCP
// checksum stays valid.
func TestRewriteSpoofedFresh(t *testing.T) {
	var flood Capture
	for _, c := range labCaptures(t) {
		if c.Name == "hping3-syn-flood.pcap" {
			flood = c
		}
	}
	if flood.Name == "" {
		t.Fatal("hping3-syn-flood.pcap missing from testdata/lab")
	}
	srcs := map[[4]byte]uint32{}
	shared := 0
	for _, id := range []uint32{1, 2} {
		for _, fr := range flood.Frames {
			b := rewrite(fr.Data, id)
			k, ok := keyOf(b)
			if !ok || b[23] != 6 {
				continue
			}
			ip := b[14:]
			var src [4]byte
			copy(src[:], ip[12:16])
			if ip[16] == 10 && (ip[17] != 128|byte(id>>8)&63 || ip[18] != byte(id)) {
				t.Fatalf("replay %d: victim %v not in the replay's /24", id, netip.AddrFrom4(k.b))
			}
			if prev, seen := srcs[src]; seen && prev != id {
				shared++
			}
			srcs[src] = id
			ihl := int(ip[0]&0x0f) * 4
			total := int(binary.BigEndian.Uint16(ip[2:4]))
			var ph uint32
			for o := 12; o < 20; o += 2 {
				ph += uint32(binary.BigEndian.Uint16(ip[o:]))
			}
			if checksum(ip[ihl:total], ph+6+uint32(total-ihl)) != 0 {
				t.Fatalf("replay %d: bad TCP checksum", id)
			}
		}
	}
	if shared > 0 {
		t.Errorf("%d spoofed sources repeat across replays", shared)
	}
	if len(srcs) < 1000 {
		t.Errorf("only %d distinct sources in two replays of the flood", len(srcs))
	}
}

// FuzzReadCapture: any bytes give a capture or an error, never a panic, and
// a capture's frames survive rewriting.
func FuzzReadCapture(f *testing.F) {
	for _, c := range []string{"../../testdata/lab/nmap-udp-scan.pcap", "../../testdata/lab/benign-dhcp.pcap"} {
		caps, err := LoadCapture(c)
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := WritePcapFrom(&buf, 5, &sliceSource{caps.Frames}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ReadCapture(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		for _, fr := range c.Frames {
			if got := rewrite(fr.Data, 7); len(got) != len(fr.Data) {
				t.Fatalf("rewrite changed the length")
			}
		}
	})
}

type sliceSource struct{ f []Frame }

func (s *sliceSource) Next() Frame {
	f := s.f[0]
	s.f = s.f[1:]
	return f
}
