package packet_test

import (
	"encoding/binary"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hostile"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// sameAsParser decodes data with Decode (which may take the fast path)
// and through the layer parser alone, and fails unless the two Summaries
// and errors are the same. It says whether the fast path took the frame.
func sameAsParser(t *testing.T, d *packet.Decoder, link uint16, data []byte) bool {
	t.Helper()
	ts := time.Unix(1700000000, 5)
	var got, want packet.Summary
	errGot := d.Decode(link, data, ts, len(data)+4, &got)
	want = packet.Summary{TS: ts, CapLen: len(data), WireLen: len(data) + 4}
	errWant := d.DecodeLayers(link, data, &want)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("frame % x: error %v, the parser's %v", data, errGot, errWant)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("frame % x:\nDecode %+v\nparser %+v", data, got, want)
	}
	var s packet.Summary
	return link == packet.LinkEthernet && d.Fast(data, &s)
}

// TestFastDecodeAsParser: on every frame of the corpus and the hostile
// generators, and on each fast-path frame cut short at every length and
// with its length fields, header lengths, fragment bits, ports and TCP
// options bent, Decode gives what the layer parser gives, and the fast
// path takes most of the TCP and UDP frames (else this test proves
// nothing).
func TestFastDecodeAsParser(t *testing.T) {
	frames, err := hostile.CorpusFrames(filepath.Join("..", "..", "testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range hostile.Kinds() {
		k.Write(hostile.SinkFunc(func(_ time.Time, data []byte, _ int) error {
			frames = append(frames, hostile.CorpusFrame{Link: packet.LinkEthernet, Data: append([]byte(nil), data...)})
			return nil
		}), 200, 1)
	}
	for _, nh := range []byte{6, 17, 58} {
		frames = append(frames, hostile.CorpusFrame{Link: packet.LinkEthernet, Data: ipv6Frame(nh)})
	}
	d := packet.NewDecoder()
	fast, mutated := 0, 0
	for i, fr := range frames {
		if !sameAsParser(t, d, fr.Link, fr.Data) {
			continue
		}
		fast++
		if i%23 != 0 && fr.Data[12] != 0x86 { // every IPv6 frame, one in 23 of the rest
			continue
		}
		// Bend the frame where the fast path decides.
		for n := range min(len(fr.Data), 128) { // every cut through the headers
			sameAsParser(t, d, fr.Link, fr.Data[:n])
		}
		// Tagged once (fast), twice and with 802.1ad (the parser), whole and
		// cut short at every length.
		for _, tags := range [][]byte{{0x81, 0, 0x20, 0x07}, {0x81, 0, 0xf0, 0x64, 0x81, 0, 0, 9}, {0x88, 0xa8, 0, 5}} {
			b := append(append(append([]byte(nil), fr.Data[:12]...), tags...), fr.Data[12:]...)
			want := len(tags) == 4 && tags[0] == 0x81 && fr.Data[12] != 0x81
			if got := sameAsParser(t, d, fr.Link, b); got != want {
				t.Errorf("tags % x on % x: the fast path took it %v, want %v", tags, fr.Data[:18], got, want)
			}
			for n := range min(len(b), 128) {
				sameAsParser(t, d, fr.Link, b[:n])
			}
			b[12+len(tags)+2] ^= 0x40 // the inner header's version
			sameAsParser(t, d, fr.Link, b)
			b[12+len(tags)+1]++ // the inner EtherType
			sameAsParser(t, d, fr.Link, b)
		}
		v6 := fr.Data[12] == 0x86
		l4 := 14 + 20
		ipMuts := []func(b []byte){
			func(b []byte) { binary.BigEndian.PutUint16(b[16:], 0) },                   // TSO's zero IP length
			func(b []byte) { binary.BigEndian.PutUint16(b[16:], 19) },                  // IP length below the header
			func(b []byte) { binary.BigEndian.PutUint16(b[16:], uint16(len(b)-14+1)) }, // longer than the frame
			func(b []byte) { binary.BigEndian.PutUint16(b[16:], uint16(len(b)-14-3)) }, // shorter: trailing bytes
			func(b []byte) { b[14] = 0x46 },                                            // options
			func(b []byte) { b[14] = 0x65 },                                            // version 6 in an IPv4 frame
			func(b []byte) { b[20] |= 0x20 },                                           // more fragments
			func(b []byte) { b[21] = 1 },                                               // a later fragment
			func(b []byte) { b[20] |= 0x40 },                                           // don't fragment: still fast
			func(b []byte) { b[23] = 1 },                                               // ICMP
			func(b []byte) { b[23] = 58 },                                              // ICMPv6 in IPv4
			func(b []byte) { // a port unreachable quoting the frame's own IP header
				ip := append([]byte(nil), b[14:l4+8]...)
				b[23], b[l4], b[l4+1] = 1, 3, 3
				copy(b[l4+8:], ip)
			},
			func(b []byte) { b[23] = 47 },                // GRE
			func(b []byte) { b[12], b[13] = 0x81, 0x00 }, // a VLAN tag
		}
		if v6 {
			l4 = 14 + 40
			ipMuts = []func(b []byte){
				func(b []byte) { binary.BigEndian.PutUint16(b[18:], 0) },                   // jumbogram without hop-by-hop
				func(b []byte) { binary.BigEndian.PutUint16(b[18:], uint16(len(b)-l4+1)) }, // longer than the frame
				func(b []byte) { binary.BigEndian.PutUint16(b[18:], uint16(len(b)-l4-3)) }, // shorter: trailing bytes
				func(b []byte) { b[14] = 0x45 },                                            // version 4 in an IPv6 frame
				func(b []byte) { b[20] = 0 },                                               // hop-by-hop
				func(b []byte) { b[20] = 44 },                                              // a fragment header
				func(b []byte) { b[20] = 58 },                                              // ICMPv6
				func(b []byte) { b[20], b[l4] = 58, 128 },                                  // ICMPv6 echo
				func(b []byte) { b[20] = 1 },                                               // ICMP in IPv6
				func(b []byte) { b[20] = 4 },                                               // IP in IPv6
			}
		}
		l4Muts := []func(b []byte){
			func(b []byte) { binary.BigEndian.PutUint16(b[l4+2:], 4789) },                          // VXLAN
			func(b []byte) { binary.BigEndian.PutUint16(b[l4:], 6081) },                            // GENEVE from
			func(b []byte) { binary.BigEndian.PutUint16(b[l4+4:], 7) },                             // UDP length < 8; TCP ack
			func(b []byte) { binary.BigEndian.PutUint16(b[l4+4:], 0) },                             // UDP jumbogram
			func(b []byte) { binary.BigEndian.PutUint16(b[l4+4:], uint16(len(b)-l4+1)) },           // UDP past the end
			func(b []byte) { b[l4+12] = 0x40 },                                                     // TCP offset < 5
			func(b []byte) { b[l4+12] = 0xf0 },                                                     // TCP offset 60
			func(b []byte) { b[l4+12] = 0x60; b[l4+20], b[l4+21] = 2, 1 },                          // option length 1
			func(b []byte) { b[l4+12] = 0x60; b[l4+20], b[l4+21] = 2, 9 },                          // option past the header
			func(b []byte) { b[l4+12] = 0x60; b[l4+20], b[l4+21], b[l4+22] = 1, 0, 0x55 },          // nop, end of list
			func(b []byte) { b[l4+12] = 0x70; copy(b[l4+20:], []byte{2, 4, 5, 0xb4, 1, 3, 3, 7}) }, // mss, nop, wscale
		}
		for _, m := range append(ipMuts, l4Muts...) {
			if len(fr.Data) < l4+24 {
				break
			}
			b := append([]byte(nil), fr.Data...)
			m(b)
			sameAsParser(t, d, fr.Link, b)
			mutated++
		}
	}
	if fast < len(frames)/4 {
		t.Errorf("the fast path took %d of %d frames", fast, len(frames))
	}
	t.Logf("%d frames, %d through the fast path, %d bent", len(frames), fast, mutated)
}

// ipv6Frame is an Ethernet frame of IPv6 2001:db8::1 -> 2001:db8::2 with
// next header nh and 40 bytes after the fixed header: a TCP header of 20
// bytes (or UDP's 8, or ICMPv6 echo request's 8) and the rest payload.
func ipv6Frame(nh byte) []byte {
	b := make([]byte, 14+40+40)
	copy(b, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd, 0x60})
	binary.BigEndian.PutUint16(b[18:], 40)
	b[20], b[21] = nh, 64
	b[22], b[23], b[37] = 0x20, 0x01, 1 // source
	b[38], b[39], b[53] = 0x20, 0x01, 2 // destination
	l4 := b[54:]
	binary.BigEndian.PutUint16(l4[0:], 40000)
	binary.BigEndian.PutUint16(l4[2:], 443)
	switch nh {
	case 6:
		l4[12], l4[13] = 0x50, 0x18
	case 17:
		binary.BigEndian.PutUint16(l4[4:], 40)
	case 58:
		l4[0], l4[1] = 128, 0
	}
	return b
}

// FuzzFastDecodeAsParser: on any frame, Decode gives what the layer
// parser gives.
func FuzzFastDecodeAsParser(f *testing.F) {
	frames, err := hostile.CorpusFrames(filepath.Join("..", "..", "testdata", "corpus"))
	if err != nil {
		f.Fatal(err)
	}
	for i, fr := range frames {
		if fr.Link == packet.LinkEthernet && i%8 == 0 {
			f.Add(fr.Data)
		}
	}
	for _, nh := range []byte{6, 17, 58} {
		f.Add(ipv6Frame(nh))
	}
	d := packet.NewDecoder()
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsParser(t, d, packet.LinkEthernet, data)
	})
}
