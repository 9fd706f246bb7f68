// Package testpkt is the tests' one frame builder and pcap file writer:
// frames from gopacket layers (lengths and checksums filled in), written as
// classic pcap with internal/pcapfile, the writer opsdeck itself uses.
package testpkt

import (
	"bufio"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/pcapfile"
)

// Frame serializes layers into a new frame, fixing lengths and computing
// checksums (a TCP or UDP layer needs SetNetworkLayerForChecksum first).
func Frame(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize frame: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// TCPSyn is an Ethernet/IPv4/TCP SYN from src:sport to dst:dport (IPv4
// literals) carrying payload zero bytes.
func TCPSyn(t testing.TB, src, dst string, sport, dport uint16, payload int) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true, Window: 1024}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return Frame(t, eth, ip, tcp, gopacket.Payload(make([]byte, payload)))
}

// Packet is one record of a file WritePcap writes. A zero WireLen means
// len(Data).
type Packet struct {
	TS      time.Time
	Data    []byte
	WireLen int
}

// WritePcap writes pkts to path as a classic pcap file of link type link
// (a LINKTYPE_ value: 1 is Ethernet).
func WritePcap(t testing.TB, path string, link uint32, pkts []Packet) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	w, err := pcapfile.NewWriter(bw, link, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(p.TS, p.Data, p.WireLen); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
