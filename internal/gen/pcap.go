package gen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/opsdeck/opsdeck/internal/pcapfile"
)

// Source yields frames in time order.
type Source interface{ Next() Frame }

// Stats describe a written capture.
type Stats struct {
	Packets int
	// Flows counts distinct IP conversations (protocol, addresses and ports,
	// either direction; ICMP and other protocols by addresses alone), as a
	// flow table without timeouts would see them.
	Flows int
}

// NewFlowShare is the share of packets that open a new flow.
func (s Stats) NewFlowShare() float64 {
	if s.Packets == 0 {
		return 0
	}
	return float64(s.Flows) / float64(s.Packets)
}

// WritePcap writes n generated frames as a classic pcap file (Ethernet,
// microsecond timestamps).
func WritePcap(w io.Writer, n int, o Options) error {
	_, err := WritePcapFrom(w, n, New(o))
	return err
}

// WritePcapFrom writes n frames of src as a classic pcap file and counts
// its flows.
func WritePcapFrom(w io.Writer, n int, src Source) (Stats, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	pw, err := pcapfile.NewWriter(bw, 1, pcapfile.DefaultSnapLen) // Ethernet
	if err != nil {
		return Stats{}, fmt.Errorf("write generated pcap: %w", err)
	}
	flows := make(map[flowKey]struct{})
	for i := 0; i < n; i++ {
		f := src.Next()
		if k, ok := keyOf(f.Data); ok {
			flows[k] = struct{}{}
		}
		if err := pw.WritePacket(f.TS, f.Data, len(f.Data)); err != nil {
			return Stats{}, fmt.Errorf("write generated pcap: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return Stats{}, fmt.Errorf("write generated pcap: %w", err)
	}
	return Stats{Packets: n, Flows: len(flows)}, nil
}

type flowKey struct {
	proto  byte
	a, b   [4]byte
	pa, pb uint16
}

// keyOf is the direction-free conversation key of an Ethernet/IPv4 frame.
func keyOf(d []byte) (flowKey, bool) {
	if len(d) < 34 || binary.BigEndian.Uint16(d[12:14]) != 0x0800 {
		return flowKey{}, false
	}
	ip := d[14:]
	ihl := int(ip[0]&0x0f) * 4
	var k flowKey
	k.proto = ip[9]
	copy(k.a[:], ip[12:16])
	copy(k.b[:], ip[16:20])
	if (k.proto == 6 || k.proto == 17) && len(ip) >= ihl+4 {
		k.pa, k.pb = binary.BigEndian.Uint16(ip[ihl:]), binary.BigEndian.Uint16(ip[ihl+2:])
	}
	if string(k.a[:]) > string(k.b[:]) || (k.a == k.b && k.pa > k.pb) {
		k.a, k.b, k.pa, k.pb = k.b, k.a, k.pb, k.pa
	}
	return k, true
}
