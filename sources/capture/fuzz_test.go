package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzOpenReader feeds arbitrary bytes to the pcap and pcapng readers: they
// must not panic, must end with io.EOF or an error, must keep frames inside
// their limits, and must not allocate per claimed length.
func FuzzOpenReader(f *testing.F) {
	for _, name := range []string{
		"suricata-verify/dns-udp-eve-txt.pcap",
		"suricata-verify/arp-request-reply.pcap",
		"zeek/http-basic-auth-with-colon.pcap",
		"ndpi/port4444-pe-download.pcapng",
	} {
		b, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	w := &ngWriter{order: binary.BigEndian}
	w.shb()
	w.idb(1, 0, ngOpt{optIfTsresol, []byte{0x80 | 30}}, ngOpt{optIfName, []byte("x")})
	w.epb(0, 1<<40, udpFrame(f, 1), 90)
	w.spb(60, udpFrame(f, 2))
	w.isb(0, 1, 2)
	f.Add(w.b.Bytes())
	f.Add(writePcap(binary.BigEndian, true, 276, 0xffffffff, []pcapRec{{ts: time.Unix(1, 2), data: []byte{1, 2, 3}}}))

	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := OpenReader("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		defer src.Close()
		var n uint64
		for {
			fr, err := src.Next()
			if err != nil {
				if err != io.EOF && errors.Is(err, io.EOF) {
					t.Fatalf("error wraps io.EOF, callers would take it for a clean end: %v", err)
				}
				break
			}
			n++
			if fr.Index != n || len(fr.Data) != fr.CapLen || fr.CapLen > MaxRecordLen || fr.WireLen < fr.CapLen {
				t.Fatalf("frame %d: index %d caplen %d len %d wirelen %d", n, fr.Index, fr.CapLen, len(fr.Data), fr.WireLen)
			}
			if n > uint64(len(data)) {
				t.Fatalf("more frames (%d) than input bytes", n)
			}
		}
		if st := src.Stats(); st.Packets != n {
			t.Fatalf("stats say %d packets, read %d", st.Packets, n)
		}
	})
}
