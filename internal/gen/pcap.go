package gen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// WritePcap writes n generated frames as a classic pcap file (Ethernet,
// microsecond timestamps).
func WritePcap(w io.Writer, n int, o Options) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	bw.Write(hdr[:])
	g := New(o)
	var rec [16]byte
	for i := 0; i < n; i++ {
		f := g.Next()
		binary.LittleEndian.PutUint32(rec[0:], uint32(f.TS.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(f.TS.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f.Data)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f.Data)))
		bw.Write(rec[:])
		if _, err := bw.Write(f.Data); err != nil {
			return fmt.Errorf("write generated pcap: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write generated pcap: %w", err)
	}
	return nil
}
