package pcapfile_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/pcapfile"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// A written file reads back through opsdeck's own reader with every field
// kept, including a link type above 255 and a packet cut by the snap length.
func TestRoundTrip(t *testing.T) {
	ts := time.Date(2026, 12, 3, 10, 0, 0, 123456000, time.UTC)
	big := bytes.Repeat([]byte{0xab}, 300)
	var buf bytes.Buffer
	w, err := pcapfile.NewWriter(&buf, 276, 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		data []byte
		wire int
	}{{[]byte{1, 2, 3, 4}, 0}, {[]byte{5, 6}, 1500}, {big, 0}} {
		if err := w.WritePacket(ts, p.data, p.wire); err != nil {
			t.Fatal(err)
		}
	}
	src, err := capture.OpenReader("mem", &buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		n, wire int
	}{{4, 4}, {2, 1500}, {200, 300}}
	for i, wnt := range want {
		fr, err := src.Next()
		if err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		if fr.Link != capture.LinkLinuxSLL2 || len(fr.Data) != wnt.n || fr.WireLen != wnt.wire || !fr.TS.Equal(ts) {
			t.Errorf("packet %d: link %d, %d bytes of %d at %v; want 276, %d of %d at %v",
				i+1, fr.Link, len(fr.Data), fr.WireLen, fr.TS, wnt.n, wnt.wire, ts)
		}
	}
	if _, err := src.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last packet: %v, want EOF", err)
	}
}

// tcpdump reads what the writer wrote, with the link type it names.
func TestTcpdumpReads(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed (apt install tcpdump)")
	}
	name := filepath.Join(t.TempDir(), "x.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	// An Ethernet broadcast ARP request, 42 bytes.
	arp := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 8, 6,
		0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2}
	w, err := pcapfile.NewWriter(f, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(time.Unix(1700000000, 5000), arp, 60); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(tcpdump, "-nn", "-r", name).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ARP, Request who-has 10.0.0.2 tell 10.0.0.1") || !strings.Contains(string(out), "snapshot length 262144") {
		t.Errorf("tcpdump -r: %v\n%s", err, out)
	}
}
