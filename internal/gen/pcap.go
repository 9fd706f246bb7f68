package gen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
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
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	bw.Write(hdr[:])
	var rec [16]byte
	flows := make(map[flowKey]struct{})
	for i := 0; i < n; i++ {
		f := src.Next()
		if k, ok := keyOf(f.Data); ok {
			flows[k] = struct{}{}
		}
		binary.LittleEndian.PutUint32(rec[0:], uint32(f.TS.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(f.TS.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f.Data)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f.Data)))
		bw.Write(rec[:])
		if _, err := bw.Write(f.Data); err != nil {
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
