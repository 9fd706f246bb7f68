package evidence

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/testpkt"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// rawFrame serializes a raw IPv4/UDP packet (LINKTYPE_RAW).
func rawFrame(t testing.TB, src, dst string) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	udp := &layers.UDP{SrcPort: 5000, DstPort: 53}
	udp.SetNetworkLayerForChecksum(ip)
	return testpkt.Frame(t, ip, udp, gopacket.Payload("hello"))
}

type frame struct {
	link uint16
	data []byte
	ts   time.Time
}

func feed(t testing.TB, r *Ring, frames []frame) {
	t.Helper()
	dec := packet.NewDecoder()
	var s packet.Summary
	for _, f := range frames {
		_ = dec.Decode(f.link, f.data, f.ts, len(f.data), &s)
		r.Hook(f.link, f.data, &s)
	}
}

// readPcap parses a classic pcap written by WritePcap (independently of the
// writer's code) and returns link type, timestamps and frame bytes.
func readPcap(t *testing.T, path string) (uint32, []time.Time, [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian microsecond pcap", path)
	}
	link := binary.LittleEndian.Uint32(b[20:])
	var ts []time.Time
	var data [][]byte
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			t.Fatalf("%s: truncated record header at %d", path, off)
		}
		sec, usec := binary.LittleEndian.Uint32(b[off:]), binary.LittleEndian.Uint32(b[off+4:])
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			t.Fatalf("%s: truncated record at %d", path, off)
		}
		ts = append(ts, time.Unix(int64(sec), int64(usec)*1000).UTC())
		data = append(data, b[off:off+n])
		off += n
	}
	return link, ts, data
}

func TestRingBounds(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		n          int
		step       time.Duration
		payload    int
		wantMax    int // most packets that may remain
		wantMin    int
		wantAgeEv  bool
		wantRoomEv bool
	}{
		{name: "fits", opts: Options{}, n: 100, step: time.Millisecond, payload: 100, wantMin: 100, wantMax: 100},
		{name: "bytes", opts: Options{MaxBytes: 64 << 10}, n: 2000, step: time.Millisecond, payload: 200, wantMin: 200, wantMax: 64 << 10 / 200, wantRoomEv: true},
		{name: "age", opts: Options{MaxAge: 10 * time.Second}, n: 100, step: time.Second, payload: 10, wantMin: 11, wantMax: 11, wantAgeEv: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRing(tc.opts)
			var frames []frame
			for i := 0; i < tc.n; i++ {
				frames = append(frames, frame{link: 1, data: testpkt.TCPSyn(t, "10.0.0.1", "10.0.0.2", 1000, uint16(i), tc.payload), ts: t0.Add(time.Duration(i) * tc.step)})
			}
			feed(t, r, frames)
			st := r.Stats()
			if st.Packets < tc.wantMin || st.Packets > tc.wantMax {
				t.Errorf("packets held = %d, want %d..%d", st.Packets, tc.wantMin, tc.wantMax)
			}
			if st.Bytes > r.Options().MaxBytes {
				t.Errorf("bytes held = %d > bound %d", st.Bytes, r.Options().MaxBytes)
			}
			if (st.EvictedAge > 0) != tc.wantAgeEv || (st.EvictedMem > 0) != tc.wantRoomEv {
				t.Errorf("evicted age=%d room=%d", st.EvictedAge, st.EvictedMem)
			}
			if uint64(st.Packets)+st.EvictedAge+st.EvictedMem != st.Added {
				t.Errorf("held %d + evicted %d+%d != added %d", st.Packets, st.EvictedAge, st.EvictedMem, st.Added)
			}
			// The newest packets are the ones kept.
			all := r.Select(Selection{})
			if len(all) != st.Packets || !all[len(all)-1].TS.Equal(frames[len(frames)-1].ts) {
				t.Errorf("select all: %d packets, last %v", len(all), all[len(all)-1].TS)
			}
		})
	}
}

func TestExportAlert(t *testing.T) {
	r := NewRing(Options{})
	var frames []frame
	// Scanner 10.0.0.66 probes 10.0.0.5; background traffic between others;
	// one tun (raw IP) packet of the scanner too; one probe long before.
	frames = append(frames, frame{1, testpkt.TCPSyn(t, "10.0.0.66", "10.0.0.5", 40000, 1, 0), t0.Add(-time.Hour)})
	for i := 0; i < 50; i++ {
		ts := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		frames = append(frames, frame{1, testpkt.TCPSyn(t, "10.0.0.66", "10.0.0.5", 40000, uint16(i+1), 0), ts})
		frames = append(frames, frame{1, testpkt.TCPSyn(t, "10.0.0.7", "10.0.0.8", 3333, 80, 20), ts})
		if i%10 == 0 {
			frames = append(frames, frame{1, testpkt.TCPSyn(t, "10.0.0.5", "10.0.0.66", uint16(i+1), 40000, 0), ts})
		}
	}
	frames = append(frames, frame{packet.LinkRaw, rawFrame(t, "10.0.0.5", "10.0.0.66"), t0.Add(time.Second)})
	feed(t, r, frames)

	alert := &detect.Alert{Rule: detect.RuleScanPort, TS: t0.Add(5 * time.Second),
		Src: netip.MustParseAddr("10.0.0.66"), Dst: netip.MustParseAddr("10.0.0.5")}
	dir := t.TempDir()
	path := filepath.Join(dir, "alert.pcap")
	ex, err := r.ExportAlert(path, alert)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Packets != 56 || len(ex.Files) != 2 || ex.Links[0] != 1 || ex.Links[1] != packet.LinkRaw {
		t.Fatalf("export = %+v, want 56 packets in an Ethernet file and a raw one", ex)
	}
	for _, f := range ex.Files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != FileMode {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	link, ts, data := readPcap(t, path)
	if link != 1 || len(ts) != 55 {
		t.Fatalf("main file: link %d, %d packets; want 1, 55", link, len(ts))
	}
	if !ts[0].Equal(t0) {
		t.Errorf("first timestamp %v, want %v (the hour-old probe is outside the window)", ts[0], t0)
	}
	dec := packet.NewDecoder()
	var s packet.Summary
	for i, d := range data {
		if err := dec.Decode(1, d, ts[i], len(d), &s); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		pair := s.Src.String() + ">" + s.Dst.String()
		if pair != "10.0.0.66>10.0.0.5" && pair != "10.0.0.5>10.0.0.66" {
			t.Errorf("packet %d is %s, not the alert's pair", i, pair)
		}
	}
	if !strings.HasSuffix(ex.Files[1], "alert.link101.pcap") {
		t.Errorf("sibling file %q", ex.Files[1])
	}
	// Never overwrite.
	if _, err := r.ExportAlert(path, alert); err == nil {
		t.Error("second export over an existing file succeeded")
	}
	if tcpdump, err := exec.LookPath("tcpdump"); err == nil {
		out, err := exec.Command(tcpdump, "-nn", "-r", path).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpdump -r: %v\n%s", err, out)
		}
		if n := strings.Count(string(out), "10.0.0.66"); n != 55 {
			t.Errorf("tcpdump shows %d packets of the scanner, want 55:\n%s", n, out)
		}
	} else {
		t.Log("tcpdump not installed: skipped reading the export with tcpdump")
	}
}

func TestExportLastAndEmpty(t *testing.T) {
	r := NewRing(Options{})
	dir := t.TempDir()
	ex, err := r.ExportLast(filepath.Join(dir, "empty.pcap"), 10*time.Second)
	if err != nil || ex.Packets != 0 {
		t.Fatalf("empty export: %+v %v", ex, err)
	}
	if link, ts, _ := readPcap(t, ex.Files[0]); link != 1 || len(ts) != 0 {
		t.Errorf("empty export: link %d, %d packets", link, len(ts))
	}
	var frames []frame
	for i := 0; i < 60; i++ {
		frames = append(frames, frame{1, testpkt.TCPSyn(t, "192.168.1.1", "192.168.1.2", 1, 2, 10), t0.Add(time.Duration(i) * time.Second)})
	}
	feed(t, r, frames)
	ex, err = r.ExportLast(filepath.Join(dir, "last.pcap"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Seconds 49..59 inclusive.
	if ex.Packets != 11 {
		t.Errorf("last 10 s: %d packets, want 11", ex.Packets)
	}
}

func TestSelectionIPv6AndARP(t *testing.T) {
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	v4 := netip.MustParseAddr("10.0.0.1")
	r := NewRing(Options{})
	sums := []packet.Summary{
		{TS: t0, IPVersion: 6, Src: a6, Dst: b6},
		{TS: t0, IPVersion: 4, Src: v4, Dst: netip.MustParseAddr("10.0.0.2")},
		{TS: t0, IsARP: true, ARPSenderIP: netip.MustParseAddr("10.0.0.254"), ARPTargetIP: v4},
	}
	for i := range sums {
		r.Add(1, []byte{byte(i)}, &sums[i])
	}
	tests := []struct {
		sel  Selection
		want int
	}{
		{Selection{A: a6, B: b6}, 1},
		{Selection{A: b6}, 1},
		{Selection{A: v4}, 2},
		{Selection{A: netip.MustParseAddr("::ffff:10.0.0.1")}, 2}, // v4-mapped is the same host
		{Selection{A: netip.MustParseAddr("10.0.0.254"), B: v4}, 1},
		{Selection{B: v4}, 2},
		{Selection{From: t0.Add(time.Second)}, 0},
	}
	for i, tc := range tests {
		if got := len(r.Select(tc.sel)); got != tc.want {
			t.Errorf("case %d %+v: %d packets, want %d", i, tc.sel, got, tc.want)
		}
	}
}

func BenchmarkRingAdd(b *testing.B) {
	r := NewRing(Options{MaxBytes: 4 << 20})
	data := testpkt.TCPSyn(b, "10.0.0.1", "10.0.0.2", 1, 2, 400)
	var s packet.Summary
	_ = packet.NewDecoder().Decode(1, data, t0, len(data), &s)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		s.TS = t0.Add(time.Duration(i) * time.Microsecond)
		r.Hook(1, data, &s)
	}
}
