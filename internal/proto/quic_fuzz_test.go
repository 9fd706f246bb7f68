package proto

import (
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// quicDatagramsOf encodes datagrams for FuzzQUIC: a direction byte (bit 0
// set: to the server), a two-byte length and the bytes, repeated.
func quicDatagramsOf(dgrams [][]byte, toServer []bool) []byte {
	var b []byte
	for i, d := range dgrams {
		dir := byte(0)
		if toServer[i] {
			dir = 1
		}
		b = append(b, dir)
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, d...)
	}
	return b
}

// captureDatagrams reads a capture's UDP payloads, the server on sport.
func captureDatagrams(tb testing.TB, file string, sport uint16) ([][]byte, []bool) {
	tb.Helper()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var ds [][]byte
	var dirs []bool
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			ds = append(ds, u.Payload)
			dirs = append(dirs, uint16(u.DstPort) == sport)
		}
	}
	return ds, dirs
}

// runQUICFuzz feeds encoded datagrams through one State on port 443 and
// checks what must hold whatever the input: events are well formed, the
// CRYPTO buffers stay within their bound, and nothing is held after Close.
func runQUICFuzz(t *testing.T, b []byte) {
	cfg := &Config{Budget: &Budget{}}
	st := &State{}
	emit := func(e *Event) {
		if e.Type != "quic" || e.QUIC == nil || e.QUIC.Version == "" {
			t.Fatalf("bad event %+v", e)
		}
	}
	for i := uint64(1); len(b) >= 3; i++ {
		toServer := b[0]&1 == 1
		n := min(int(binary.BigEndian.Uint16(b[1:])), len(b)-3)
		s := packet.Summary{Index: i, IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true, SrcPort: 50000, DstPort: 443, Payload: b[3 : 3+n]}
		if !toServer {
			s.SrcPort, s.DstPort = 443, 50000
		}
		st.Packet(cfg, toServer, &s, emit)
		b = b[3+n:]
		for d := 0; st.h != nil && d < 2; d++ {
			if len(st.h[d].buf) > quicMaxCrypto {
				t.Fatalf("direction %d holds %d CRYPTO bytes", d, len(st.h[d].buf))
			}
		}
	}
	st.Close(cfg, emit)
	if m := cfg.Budget.Stats().Memuse; m != 0 {
		t.Fatalf("%d bytes charged after Close", m)
	}
}

// FuzzQUIC feeds arbitrary datagrams to a QUIC flow: headers, coalescing,
// protection that does not open.
func FuzzQUIC(f *testing.F) {
	client := readHex(f, "rfc9001-a2-client-initial.hex")
	server := readHex(f, "rfc9001-a3-server-initial.hex")
	f.Add(quicDatagramsOf([][]byte{client, server}, []bool{true, false}))
	f.Add(quicDatagramsOf(captureDatagrams(f, quicCapture, 4433)))
	f.Add(quicDatagramsOf([][]byte{{0x80, 0, 0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0, 1}}, []bool{false}))
	gq := gquicStream(chlo([]string{"PAD", "SNI", "UAID", "VER"}, map[string]string{"SNI": "a.example", "UAID": "ua"}))
	f.Add(quicDatagramsOf([][]byte{q043Packet(gq), q046Packet(gq)}, []bool{true, true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		runQUICFuzz(t, b)
	})
}

// FuzzQUICFrames seals arbitrary frames into client Initials that open,
// so that the frame reader, CRYPTO reassembly and the TLS hello parser see
// them.
func FuzzQUICFrames(f *testing.F) {
	ch := bigClientHello(f, 1500)
	f.Add(append(cryptoFrame(700, ch[700:1400]), cryptoFrame(0, ch[:700])...), cryptoFrame(1400, ch[1400:]))
	f.Add(cryptoFrame(0, ch[:100]), []byte{0x02, 0x01, 0x00, 0x00, 0x00, 0x01})
	f.Add([]byte{0x06, 0x00, 0x04, 0x01, 0x00, 0x00, 0x10}, []byte{0x1c, 0x00, 0x00, 0x00})
	dcid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) > 4000 || len(b) > 4000 {
			return
		}
		p0 := sealInitial(t, quicV1, dcid, dcid, nil, true, 0, a)
		p1 := sealInitial(t, quicV1, dcid, dcid, nil, true, 1, b)
		s0 := sealInitial(t, quicV1, dcid, nil, dcid, false, 0, b)
		runQUICFuzz(t, quicDatagramsOf([][]byte{p0, s0, append(p1, p0...)}, []bool{true, false, true}))
	})
}
