package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// statsBombFile is the file of issue 12 finding 3: one section describing
// ifaces interfaces, then isbs statistics blocks cycling over them, then one
// packet on the last interface. Reading it used to sum every interface's
// drops on each statistics block: 65,536 x 400,000 additions, 20-50 s of
// CPU. It returns the file and the drops the reader must report (each
// interface's last ifdrop+osdrop).
func statsBombFile(t testing.TB, order binary.ByteOrder, ifaces, isbs int) ([]byte, uint64) {
	w := &ngWriter{order: order}
	w.b.Grow(20*ifaces + 52*isbs + 256)
	w.shb()
	for range ifaces {
		w.idb(uint16(LinkEthernet), 0)
	}
	last := make([]uint64, ifaces)
	for i := range isbs {
		id := i % ifaces
		// Counters are cumulative but may restart (a reset interface), so
		// every third one goes down: the reader must replace, not add.
		ifdrop, osdrop := uint64(i), uint64(i%3)
		if i%3 == 0 {
			ifdrop = uint64(i % 7)
		}
		w.isb(uint32(id), ifdrop, osdrop)
		last[id] = ifdrop + osdrop
	}
	w.epb(uint32(ifaces-1), 1700000000e6, udpFrame(t, 1), 60)
	var want uint64
	for _, d := range last {
		want += d
	}
	return w.b.Bytes(), want
}

// TestPcapngStatsBomb reads the finding-3 file whole: every block parsed,
// the packet after them delivered on the right interface, and the drop total
// equal to the sum of each interface's last counters. The CPU figure is
// BenchmarkReadPcapngStatsBomb's (no wall-time assertion here).
func TestPcapngStatsBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 17 MB capture; skipped with -short")
	}
	file, want := statsBombFile(t, binary.LittleEndian, maxInterfaces, 400_000)
	if len(file) < 16<<20 {
		t.Fatalf("crafted file is %d bytes, want the ~17 MB of the finding", len(file))
	}
	src, err := OpenReader("bomb", bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	frames, err := readAll(t, src)
	if err != io.EOF {
		t.Fatalf("after %d frames: %v", len(frames), err)
	}
	if len(frames) != 1 || frames[0].IfIndex != maxInterfaces-1 || frames[0].Link != LinkEthernet {
		t.Fatalf("frames %+v, want one Ethernet frame on interface %d", frames, maxInterfaces-1)
	}
	if st := src.Stats(); st.IfDrops != want || st.Packets != 1 {
		t.Fatalf("stats %+v, want IfDrops %d Packets 1", st, want)
	}
}

// TestPcapngDropTotals checks the running drop total against the definition
// (sum over interfaces of the last ISB's ifdrop+osdrop, plus earlier
// sections) on sequences where keeping it incrementally could go wrong.
func TestPcapngDropTotals(t *testing.T) {
	type isb struct {
		id             uint32
		ifdrop, osdrop uint64
		newSection     bool // an SHB and two IDBs before this ISB
	}
	for _, tc := range []struct {
		name string
		isbs []isb
		want uint64
	}{
		{"none", nil, 0},
		{"one", []isb{{0, 3, 4, false}}, 7},
		{"cumulative replaces", []isb{{0, 3, 0, false}, {0, 10, 0, false}}, 10},
		{"counter reset goes down", []isb{{0, 10, 5, false}, {1, 2, 0, false}, {0, 1, 0, false}}, 3},
		{"unknown interface ignored", []isb{{0, 1, 0, false}, {9, 100, 0, false}}, 1},
		{"sections add", []isb{{0, 5, 0, false}, {1, 5, 0, false}, {0, 1, 0, true}, {1, 2, 0, false}, {1, 3, 0, false}}, 14},
		{"wraps like the sum", []isb{{0, 1 << 63, 0, false}, {1, 1 << 63, 1, false}, {1, 0, 2, false}}, 1<<63 + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &ngWriter{order: binary.BigEndian}
			w.shb()
			w.idb(uint16(LinkEthernet), 0)
			w.idb(uint16(LinkEthernet), 0)
			for _, s := range tc.isbs {
				if s.newSection {
					w.shb()
					w.idb(uint16(LinkEthernet), 0)
					w.idb(uint16(LinkEthernet), 0)
				}
				w.isb(s.id, s.ifdrop, s.osdrop)
			}
			src, err := OpenReader("drops", bytes.NewReader(w.b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := readAll(t, src); err != io.EOF {
				t.Fatal(err)
			}
			if got := src.Stats().IfDrops; got != tc.want {
				t.Fatalf("IfDrops %d, want %d", got, tc.want)
			}
		})
	}
}

// TestPcapngInterfaceBounds: one interface past maxInterfaces in a section
// is an error naming the limit (packets before it are delivered), a new
// section starts counting again, and a long if_name keeps maxIfaceNameLen
// bytes of valid UTF-8.
func TestPcapngInterfaceBounds(t *testing.T) {
	frame := udpFrame(t, 1)
	t.Run("too many interfaces", func(t *testing.T) {
		w := &ngWriter{order: binary.LittleEndian}
		w.shb()
		w.idb(uint16(LinkEthernet), 0)
		w.epb(0, 1, frame, len(frame))
		for range maxInterfaces - 1 {
			w.idb(uint16(LinkEthernet), 0)
		}
		w.shb() // a new section may describe maxInterfaces again
		for range maxInterfaces {
			w.idb(uint16(LinkEthernet), 0)
		}
		w.epb(maxInterfaces-1, 1, frame, len(frame))
		w.idb(uint16(LinkEthernet), 0) // one too many
		w.epb(0, 1, frame, len(frame))
		src, err := OpenReader("f", bytes.NewReader(w.b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		frames, err := readAll(t, src)
		if len(frames) != 2 {
			t.Fatalf("got %d frames, want the 2 before the bound", len(frames))
		}
		if err == nil || !strings.Contains(err.Error(), "more than 65536 interfaces in one section") {
			t.Fatalf("error %v, want one naming the 65536-interface limit", err)
		}
	})
	t.Run("long name", func(t *testing.T) {
		// "é" is two bytes: at an odd offset one straddles the bound.
		name := "x" + strings.Repeat("é", 1000)
		w := &ngWriter{order: binary.LittleEndian}
		w.shb()
		w.idb(uint16(LinkEthernet), 0, ngOpt{optIfName, []byte(name)})
		w.epb(0, 1, frame, len(frame))
		src, err := OpenReader("f", bytes.NewReader(w.b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		frames, err := readAll(t, src)
		if err != io.EOF || len(frames) != 1 {
			t.Fatalf("%d frames, %v", len(frames), err)
		}
		got := frames[0].Iface
		if len(got) > maxIfaceNameLen || len(got) < maxIfaceNameLen-3 || !utf8.ValidString(got) || !strings.HasPrefix(name, got) {
			t.Fatalf("interface name of %d bytes (valid UTF-8 %v), want a prefix of at most %d", len(got), utf8.ValidString(got), maxIfaceNameLen)
		}
	})
}

// BenchmarkReadPcapngStatsBomb reads the finding-3 file (65,536 interfaces,
// 400,000 statistics blocks, 17 MB) from memory; one op is the whole file,
// and ns/block is the cost of one block.
func BenchmarkReadPcapngStatsBomb(b *testing.B) {
	const isbs = 400_000
	file, _ := statsBombFile(b, binary.LittleEndian, maxInterfaces, isbs)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		src, err := OpenReader("bench", bytes.NewReader(file))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := src.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		src.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(maxInterfaces+isbs+2), "ns/block")
}

// TestPcapngManyFills reads a pcapng file several times the read buffer's
// size whose packets (up to a maximal one) and control blocks (a second
// section, statistics blocks, an unknown block) straddle the buffer's
// refills: every frame is the packet written, in order, and Stats counts
// them all and the last drops once the end is reached; cut, it ends in a
// truncation error after the last whole packet.
func TestPcapngManyFills(t *testing.T) {
	w := &ngWriter{order: binary.LittleEndian}
	w.shb()
	w.idb(uint16(LinkEthernet), 0)
	var want [][]byte
	total := 0
	for i := 0; total < 4*readBufSize; i++ {
		size := 14 + (i*7919)%1500
		if i%97 == 0 {
			size = MaxRecordLen
		}
		d := make([]byte, size)
		for j := range d {
			d[j] = byte(i + j)
		}
		w.epb(0, uint64(1700000000+i)*1e6, d, size)
		want = append(want, d)
		total += size
		switch i % 50 {
		case 10:
			w.isb(0, uint64(i), 1)
		case 20:
			w.block(0x0badcafe, make([]byte, 4*(i%300)))
		case 30:
			if i%200 == 30 {
				w.shb()
				w.idb(uint16(LinkEthernet), 0)
			}
		}
	}
	w.isb(0, 7, 3)
	file := w.b.Bytes()
	for _, cut := range []int{len(file), len(file) - 100} {
		src, err := OpenReader("many", bytes.NewReader(file[:cut]))
		if err != nil {
			t.Fatal(err)
		}
		var n, sum uint64
		var last error
		for {
			fr, err := src.Next()
			if err != nil {
				last = err
				break
			}
			if n >= uint64(len(want)) || !bytes.Equal(fr.Data, want[n]) || fr.Index != n+1 || fr.TS.Unix() != int64(1700000000+n) {
				t.Fatalf("cut %d: frame %d differs from the packet written", cut, n)
			}
			n++
			sum += uint64(len(fr.Data))
		}
		wantN := uint64(len(want))
		if cut < len(file) {
			wantN-- // the statistics block and the last packet's end are cut
			if last == io.EOF {
				t.Errorf("cut file ended cleanly, want a truncation error")
			}
		} else if last != io.EOF {
			t.Errorf("whole file: %v", last)
		}
		if n != wantN {
			t.Errorf("cut %d: %d frames, want %d", cut, n, wantN)
		}
		st := src.Stats()
		if st.Packets != n || st.Bytes != sum {
			t.Errorf("cut %d: stats %+v, want %d packets %d bytes", cut, st, n, sum)
		}
		if cut == len(file) && st.IfDrops == 0 {
			t.Errorf("whole file: drops of the last statistics block not counted: %+v", st)
		}
	}
}
