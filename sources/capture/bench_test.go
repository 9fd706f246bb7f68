package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// BenchmarkReadPcap reads a 100k-packet pcap from memory; one op is one
// packet, so ns/op and allocs/op are per packet.
func BenchmarkReadPcap(b *testing.B) {
	const n = 100_000
	frame := udpFrame(b, 1)
	frame = append(frame, make([]byte, 200)...) // a mid-sized packet
	recs := make([]pcapRec, n)
	ts := time.Unix(1700000000, 0)
	for i := range recs {
		recs[i] = pcapRec{ts: ts.Add(time.Duration(i) * time.Microsecond), data: frame}
	}
	file := writePcap(binary.LittleEndian, false, 1, 65535, recs)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	var src Source
	for i := 0; i < b.N; i++ {
		if i%n == 0 {
			b.StopTimer()
			if src != nil {
				src.Close()
			}
			var err error
			if src, err = OpenReader("bench", bytes.NewReader(file)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		f, err := src.Next()
		if err != nil {
			b.Fatal(err)
		}
		if f.CapLen != len(frame) {
			b.Fatal("short frame")
		}
	}
	b.StopTimer()
	if _, err := src.Next(); err != nil && err != io.EOF {
		b.Fatal(err)
	}
}

// BenchmarkReadPcapng is BenchmarkReadPcap for a pcapng file of EPBs.
func BenchmarkReadPcapng(b *testing.B) {
	const n = 100_000
	frame := append(udpFrame(b, 1), make([]byte, 200)...)
	w := &ngWriter{order: binary.LittleEndian}
	w.shb()
	w.idb(uint16(LinkEthernet), 0)
	for i := 0; i < n; i++ {
		w.epb(0, uint64(1700000000+i)*1e6, frame, len(frame))
	}
	file := w.b.Bytes()
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	var src Source
	for i := 0; i < b.N; i++ {
		if i%n == 0 {
			b.StopTimer()
			var err error
			if src, err = OpenReader("bench", bytes.NewReader(file)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if _, err := src.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
