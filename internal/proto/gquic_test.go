package proto

import (
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// chlo builds a gQUIC tag-value message of the named tags, in order,
// with the given values (empty for tags not in vals).
func chlo(tags []string, vals map[string]string) []byte {
	byName := map[string]uint32{}
	for t, n := range gquicTagNames {
		byName[n] = t
	}
	b := binary.BigEndian.AppendUint32(nil, byName["CHLO"])
	b = binary.LittleEndian.AppendUint16(b, uint16(len(tags)))
	b = append(b, 0, 0)
	var data []byte
	for _, n := range tags {
		data = append(data, vals[n]...)
		b = binary.BigEndian.AppendUint32(b, byName[n])
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	}
	return append(b, data...)
}

// gquicStream is a STREAM frame on stream 1 with a data length.
func gquicStream(msg []byte) []byte {
	b := []byte{0xa0, 1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	return append(b, msg...)
}

// q043Packet is a client packet with a public header (version flag, an
// 8-byte connection ID, a 1-byte packet number) and the null encryption's
// 12-byte hash before its frames.
func q043Packet(frames []byte) []byte {
	b := []byte{0x09, 1, 2, 3, 4, 5, 6, 7, 8, 'Q', '0', '4', '3', 1}
	b = append(b, make([]byte, 12)...)
	return append(b, frames...)
}

// q046Packet is a client Initial with Q046's long header (8-byte DCID,
// 4-byte packet number), the hash and the frames.
func q046Packet(frames []byte) []byte {
	b := []byte{0xc3, 'Q', '0', '4', '6', 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1}
	b = append(b, make([]byte, 12)...)
	return append(b, frames...)
}

// TestGQUICCYU: Suricata's CYU test cases (tag orders and their hashes),
// carried in Q043 and Q046 CHLOs, with the SNI and UAID values.
func TestGQUICCYU(t *testing.T) {
	vals := map[string]string{"SNI": "www.google.com", "UAID": "Chrome/79.0.3945.117", "PAD": "\x2d\x2d\x2d", "VER": "Q046"}
	for _, tc := range []struct {
		pkt        func([]byte) []byte
		tags, want string
	}{
		{q046Packet, "PAD-SNI-STK-VER-CCS-NONC-AEAD-UAID-SCID-TCID-PDMD-SMHL-ICSL-NONP-PUBS-MIDS-SCLS-KEXS-XLCT-CSCT-COPT-CCRT-IRTT-CFCW-SFCW", "a46560d4548108cf99308319b3b85346"},
		{q043Packet, "PAD-SNI-VER-CCS-PDMD-ICSL-MIDS-CFCW-SFCW", "e030dea1f2eea44ac7db5fe4de792acd"},
		{q043Packet, "PAD-SNI-STK-VER-CCS-SCID-PDMD-ICSL-MIDS-CFCW-SFCW", "0811fab28e41e8c8a33e220a15b964d9"},
		{q043Packet, "PAD-SNI-STK-VER-CCS-NONC-AEAD-SCID-PDMD-ICSL-PUBS-MIDS-KEXS-XLCT-CFCW-SFCW", "d8b208b236d176c89407500dbefb04c2"},
	} {
		tags := strings.Split(tc.tags, "-")
		pkt := tc.pkt(append(gquicStream(chlo(tags, vals)), 0, 0, 0, 0))
		st := &State{}
		evs := udpDatagrams(st, &Config{}, 443, [][]byte{pkt}, []bool{true})
		if st.AppProto() != "quic" || len(evs) != 1 {
			t.Fatalf("%s: app_proto %q, %d events", tc.tags, st.AppProto(), len(evs))
		}
		q := evs[0].QUIC
		if len(q.CYU) != 1 || q.CYU[0].Hash != tc.want || !strings.HasSuffix(q.CYU[0].String, ","+tc.tags) {
			t.Errorf("%s: cyu %+v, want hash %s", tc.tags, q.CYU, tc.want)
		}
		if q.SNI != "www.google.com" {
			t.Errorf("%s: sni %q", tc.tags, q.SNI)
		}
		if wantUA := strings.Contains(tc.tags, "UAID"); (q.UA != "") != wantUA {
			t.Errorf("%s: ua %q", tc.tags, q.UA)
		}
	}
	// An unknown tag makes the message unreadable, as for Suricata: the
	// packet is logged with its version only.
	byName := chlo([]string{"SNI"}, vals)
	copy(byName[8:], "ZZZZ")
	st := &State{}
	evs := udpDatagrams(st, &Config{}, 443, [][]byte{q043Packet(gquicStream(byName))}, []bool{true})
	if len(evs) != 1 || evs[0].QUIC.Version != "Q043" || evs[0].QUIC.SNI != "" || evs[0].QUIC.CYU != nil {
		t.Errorf("unknown tag: %+v", evs)
	}
}

// TestGQUICAgainstTshark writes Q043 and Q046 CHLOs to a capture and
// compares the version, SNI and user agent with tshark's gQUIC dissector.
func TestGQUICAgainstTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	vals := map[string]string{"SNI": "gquic.opsdeck.test", "UAID": "opsdeck-test-agent", "VER": "Q043"}
	tags := []string{"SNI", "VER", "UAID", "PDMD"}
	pkts := [][]byte{q043Packet(gquicStream(chlo(tags, vals))), q046Packet(gquicStream(chlo(tags, vals)))}
	file := filepath.Join(t.TempDir(), "gquic.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for i, p := range pkts {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		udp := &layers.UDP{SrcPort: layers.UDPPort(50000 + i), DstPort: 443}
		udp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(p)); err != nil {
			t.Fatal(err)
		}
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i), 0), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes())
	}
	f.Close()
	out, err := exec.Command("tshark", "-n", "-r", file, "-T", "fields", "-E", "separator=|",
		"-e", "gquic.version", "-e", "gquic.tag.sni", "-e", "gquic.tag.uaid").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, p := range pkts {
		st := &State{}
		evs := udpDatagrams(st, &Config{}, 443, [][]byte{p}, []bool{true})
		if len(evs) != 1 {
			t.Fatalf("packet %d: %d events", i, len(evs))
		}
		q := evs[0].QUIC
		if got := q.Version + "|" + q.SNI + "|" + q.UA; i >= len(want) || got != want[i] {
			t.Errorf("packet %d: opsdeck %q, tshark %q", i, got, want)
		}
	}
}
