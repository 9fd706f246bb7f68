package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"
)

const corpusDir = "../../testdata/corpus"

// await returns what done delivers. Past 20 s (a hang guard, not a timing
// assertion) it closes src, when there is one, so that a reader blocked
// on it returns, and fails the test with msg.
func await[T any](t *testing.T, done <-chan T, src io.Closer, msg string) T {
	t.Helper()
	select {
	case v := <-done:
		return v
	case <-time.After(20 * time.Second):
		if src != nil {
			src.Close()
		}
		t.Fatal(msg)
		panic("unreachable")
	}
}

// corpusCounts is the packet count of every capture in the corpus README table.
var corpusCounts = []struct {
	path  string
	pkts  int
	bytes int64
	link  LinkType
}{
	{"suricata-verify/dns-udp-eve-txt.pcap", 4, 514, LinkEthernet},
	{"suricata-verify/dns-udp-nxdomain-soa.pcap", 2, 315, LinkEthernet},
	{"suricata-verify/dns-udp-null-rr.pcap", 2, 241, LinkEthernet},
	{"suricata-verify/tls13-sni-community-id-ipv4.pcap", 43, 31724, LinkEthernet},
	{"suricata-verify/tls12-sni-flow-bug-2646-01.pcap", 29, 8223, LinkEthernet},
	{"suricata-verify/tls-client-hello-frag-mtu300.pcap", 62, 26545, LinkEthernet},
	{"suricata-verify/http-host-flow-bug-78.pcap", 13, 6292, LinkEthernet},
	{"suricata-verify/http-ipv6-vlan-nikto-bug-814.pcap", 7, 831, LinkEthernet},
	{"suricata-verify/ftp-anonymous-login-bug-3519.pcap", 40, 3478, LinkEthernet},
	{"suricata-verify/telnet-login.pcap", 92, 9244, LinkEthernet},
	{"suricata-verify/ssh-hassh.pcap", 35, 6105, LinkEthernet},
	{"suricata-verify/rdp-003.pcap", 435, 96346, LinkEthernet},
	{"suricata-verify/arp-request-reply.pcap", 6, 520, LinkEthernet},
	{"suricata-verify/syn-flood-200-synthetic.pcap", 200, 14024, LinkEthernet},
	{"zeek/ssh-sshguess.pcap", 431, 90921, LinkEthernet},
	{"zeek/ftp-bruteforce.pcap", 606, 55167, LinkEthernet},
	{"zeek/http-basic-auth-with-colon.pcap", 12, 1840, LinkIPv4},
	{"zeek/ftp-password-pass-command.pcap", 15, 1289, LinkEthernet},
	{"ndpi/tcp-null-fin-xmas-scan.pcap", 30, 2276, LinkEthernet},
	{"ndpi/synscan-nmap-1000-ports.pcap", 2011, 148872, LinkEthernet},
	{"ndpi/icmp-tunnel.pcap", 961, 211208, LinkEthernet},
	{"ndpi/dns-tunnel-iodine.pcap", 438, 77524, LinkEthernet},
	{"ndpi/dns-exfiltration-dnscat.pcap", 300, 78369, LinkEthernet},
	{"ndpi/bad-dns-traffic-dnscat.pcap", 382, 105510, LinkEthernet},
	{"ndpi/dns-long-domainname-nxdomain.pcap", 2, 318, LinkEthernet},
	{"ndpi/dns-exf-high-entropy.pcap", 2, 398, LinkEthernet},
	{"ndpi/http-basic-auth.pcap", 33, 21126, LinkEthernet},
	{"ndpi/ftp-failed-login-ipv6.pcap", 18, 2012, LinkEthernet},
	{"ndpi/port4444-pe-download.pcapng", 30, 25564, LinkEthernet},
}

// readAll drains src, copying frames, and returns them with the final error.
func readAll(t testing.TB, src Source) ([]Frame, error) {
	t.Helper()
	var out []Frame
	for {
		f, err := src.Next()
		if err != nil {
			return out, err
		}
		f.Data = append([]byte(nil), f.Data...)
		out = append(out, f)
	}
}

// TestCorpusCounts opens every corpus capture and checks the README's packet
// count, then compares every frame with gopacket/pcapgo's independent reader.
func TestCorpusCounts(t *testing.T) {
	for _, tc := range corpusCounts {
		t.Run(tc.path, func(t *testing.T) {
			path := filepath.Join(corpusDir, tc.path)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatalf("corpus file missing: %v", err)
			}
			if st.Size() != tc.bytes {
				t.Fatalf("size %d, README says %d: not the corpus file", st.Size(), tc.bytes)
			}
			src, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			frames, err := readAll(t, src)
			if err != io.EOF {
				t.Fatalf("after %d frames: %v, want io.EOF", len(frames), err)
			}
			if len(frames) != tc.pkts {
				t.Fatalf("got %d frames, want %d", len(frames), tc.pkts)
			}
			var sum uint64
			for i, f := range frames {
				if f.Index != uint64(i+1) || f.Link != tc.link || f.CapLen != len(f.Data) || f.WireLen < f.CapLen {
					t.Fatalf("frame %d: index %d link %d caplen %d len %d wirelen %d", i, f.Index, f.Link, f.CapLen, len(f.Data), f.WireLen)
				}
				sum += uint64(f.CapLen)
			}
			if st := src.Stats(); st.Packets != uint64(tc.pkts) || st.Bytes != sum {
				t.Errorf("stats %+v, want %d packets %d bytes", st, tc.pkts, sum)
			}
			compareWithPcapgo(t, path, frames)
		})
	}
}

func compareWithPcapgo(t *testing.T, path string, frames []Frame) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var next func() ([]byte, time.Time, int, error)
	if strings.HasSuffix(path, ".pcapng") {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		next = func() ([]byte, time.Time, int, error) {
			d, ci, err := r.ReadPacketData()
			return d, ci.Timestamp, ci.Length, err
		}
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		next = func() ([]byte, time.Time, int, error) {
			d, ci, err := r.ReadPacketData()
			return d, ci.Timestamp, ci.Length, err
		}
	}
	for i, f := range frames {
		d, ts, wl, err := next()
		if err != nil {
			t.Fatalf("pcapgo frame %d: %v", i+1, err)
		}
		if !bytes.Equal(d, f.Data) || !ts.Equal(f.TS) || wl != f.WireLen {
			t.Fatalf("frame %d differs from pcapgo: ts %v/%v wirelen %d/%d data equal %v", i+1, f.TS, ts, f.WireLen, wl, bytes.Equal(d, f.Data))
		}
	}
	if _, _, _, err := next(); err != io.EOF {
		t.Fatalf("pcapgo has more frames than we read (err %v)", err)
	}
}

func gopacketCaptureInfo(ts time.Time, data []byte) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}
}

func TestPcapVariants(t *testing.T) {
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	eth := udpFrame(t, 1)
	raw := rawIPv4Frame(t, 2)
	sll2 := append(make([]byte, 20), raw...) // SLL2 header: contents are not decoded here
	binary.BigEndian.PutUint16(sll2[0:], 0x0800)
	tests := []struct {
		name    string
		order   binary.ByteOrder
		nano    bool
		link    uint32
		snaplen uint32
		data    [][]byte
		wantTS  time.Time
	}{
		{"little-endian micro ethernet", binary.LittleEndian, false, 1, 65535, [][]byte{eth, eth}, base.Truncate(time.Microsecond)},
		{"big-endian micro ethernet", binary.BigEndian, false, 1, 65535, [][]byte{eth, eth, eth}, base.Truncate(time.Microsecond)},
		{"little-endian nano raw", binary.LittleEndian, true, 101, 262144, [][]byte{raw}, base},
		{"big-endian nano", binary.BigEndian, true, 1, 262144, [][]byte{eth}, base},
		{"sll2", binary.LittleEndian, false, 276, 65535, [][]byte{sll2, sll2}, base.Truncate(time.Microsecond)},
		{"huge snaplen", binary.LittleEndian, false, 1, 0xffffffff, [][]byte{eth}, base.Truncate(time.Microsecond)},
		{"fcs bits in link type", binary.LittleEndian, false, 1 | 0x14000000, 65535, [][]byte{eth}, base.Truncate(time.Microsecond)},
		{"no packets", binary.BigEndian, false, 1, 65535, nil, base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var recs []pcapRec
			for i, d := range tc.data {
				recs = append(recs, pcapRec{ts: base.Add(time.Duration(i) * time.Second), data: d, wireLen: len(d) + i})
			}
			file := writePcap(tc.order, tc.nano, tc.link, tc.snaplen, recs)
			src, err := OpenReader("synth", bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			frames, err := readAll(t, src)
			if err != io.EOF {
				t.Fatalf("err %v, want io.EOF", err)
			}
			if len(frames) != len(tc.data) {
				t.Fatalf("got %d frames, want %d", len(frames), len(tc.data))
			}
			for i, f := range frames {
				want := tc.wantTS.Add(time.Duration(i) * time.Second)
				if !f.TS.Equal(want) {
					t.Errorf("frame %d ts %v, want %v", i, f.TS, want)
				}
				if !bytes.Equal(f.Data, tc.data[i]) || f.CapLen != len(tc.data[i]) || f.WireLen != len(tc.data[i])+i {
					t.Errorf("frame %d: caplen %d wirelen %d data mismatch", i, f.CapLen, f.WireLen)
				}
				if f.Link != LinkType(tc.link&0xffff) || f.Index != uint64(i+1) || f.IfIndex != 0 || f.Iface != "" {
					t.Errorf("frame %d: link %d index %d ifindex %d iface %q", i, f.Link, f.Index, f.IfIndex, f.Iface)
				}
			}
		})
	}
}

func TestPcapngInterfaces(t *testing.T) {
	eth := udpFrame(t, 1)
	raw := rawIPv4Frame(t, 2)
	sec := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC).Unix()
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			w := &ngWriter{order: order}
			w.shb()
			w.block(0x00000bad, []byte("custom block we do not know")) // skipped
			w.idb(uint16(LinkEthernet), 0, ngOpt{optIfName, []byte("eth0")})
			w.idb(uint16(LinkRaw), 0, ngOpt{optIfName, []byte("tun0")}, ngOpt{optIfTsresol, []byte{9}})
			w.idb(uint16(LinkLinuxSLL2), 0, ngOpt{optIfTsresol, []byte{0x80 | 20}}, ngOpt{optIfTsoffset, binary.LittleEndian.AppendUint64(nil, 0)})
			w.epb(0, uint64(sec)*1e6+123456, eth, len(eth)+10)
			w.epb(1, uint64(sec)*1e9+123456789, raw, len(raw))
			w.block(4, make([]byte, 8)) // name resolution block: skipped
			w.epb(2, uint64(sec)<<20|1<<19, raw, len(raw))
			w.spb(len(eth), eth)
			w.isb(0, 3, 4)
			w.isb(1, 5, 0)
			// A second section renumbers interfaces.
			w.shb()
			w.idb(uint16(LinkRaw), 0)
			w.epb(0, uint64(sec)*1e6, raw, len(raw))
			w.isb(0, 100, 0)

			src, err := OpenReader("ng", bytes.NewReader(w.b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			frames, err := readAll(t, src)
			if err != io.EOF {
				t.Fatalf("after %d frames: %v", len(frames), err)
			}
			base := time.Unix(sec, 0)
			want := []struct {
				link    LinkType
				ifIndex int
				iface   string
				ts      time.Time
				data    []byte
				wire    int
			}{
				{LinkEthernet, 0, "eth0", base.Add(123456 * time.Microsecond), eth, len(eth) + 10},
				{LinkRaw, 1, "tun0", base.Add(123456789), raw, len(raw)},
				{LinkLinuxSLL2, 2, "", base.Add(500 * time.Millisecond), raw, len(raw)},
				{LinkEthernet, 0, "eth0", time.Time{}, eth, len(eth)},
				{LinkRaw, 0, "", base, raw, len(raw)},
			}
			if len(frames) != len(want) {
				t.Fatalf("got %d frames, want %d", len(frames), len(want))
			}
			for i, w := range want {
				f := frames[i]
				if f.Link != w.link || f.IfIndex != w.ifIndex || f.Iface != w.iface || !f.TS.Equal(w.ts) ||
					!bytes.Equal(f.Data, w.data) || f.WireLen != w.wire || f.Index != uint64(i+1) {
					t.Errorf("frame %d: got link %d if %d %q ts %v wire %d index %d, want %+v", i, f.Link, f.IfIndex, f.Iface, f.TS, f.WireLen, f.Index, w)
				}
			}
			// ifdrop+osdrop of the first section (3+4 and 5) plus the second (100).
			if st := src.Stats(); st.IfDrops != 112 || st.Packets != 5 {
				t.Errorf("stats %+v, want IfDrops 112 Packets 5", st)
			}
		})
	}
}

// TestPcapngFromPcapgo reads a file written by pcapgo's NgWriter, a second
// implementation of the format.
func TestPcapngFromPcapgo(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, 1)
	if err != nil {
		t.Fatal(err)
	}
	eth := udpFrame(t, 7)
	ts := time.Date(2022, 2, 2, 2, 2, 2, 987654000, time.UTC)
	for i := 0; i < 3; i++ {
		ci := gopacketCaptureInfo(ts.Add(time.Duration(i)*time.Millisecond), eth)
		if err := w.WritePacket(ci, eth); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	src, err := OpenReader("pcapgo", &buf)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := readAll(t, src)
	if err != io.EOF || len(frames) != 3 {
		t.Fatalf("%d frames, err %v", len(frames), err)
	}
	for i, f := range frames {
		if !f.TS.Equal(ts.Add(time.Duration(i)*time.Millisecond)) || !bytes.Equal(f.Data, eth) || f.Link != LinkEthernet {
			t.Errorf("frame %d: ts %v link %d", i, f.TS, f.Link)
		}
	}
}

func TestTruncated(t *testing.T) {
	eth := udpFrame(t, 1)
	ts := time.Unix(1700000000, 0)
	pcap := writePcap(binary.LittleEndian, false, 1, 65535, []pcapRec{{ts: ts, data: eth}, {ts: ts, data: eth}, {ts: ts, data: eth}})
	rec := 16 + len(eth)
	third := 24 + 2*rec

	w := &ngWriter{order: binary.LittleEndian}
	w.shb()
	w.idb(1, 0)
	ngHead := w.b.Len()
	for i := 0; i < 3; i++ {
		w.epb(0, 0, eth, len(eth))
	}
	ng := w.b.Bytes()
	epbLen := (len(ng) - ngHead) / 3
	ngThird := ngHead + 2*epbLen

	tests := []struct {
		name    string
		file    []byte
		cut     int
		openErr string // when the cut makes Open fail
		frames  int
		readErr string
	}{
		{"pcap inside magic", pcap, 2, `open capture "f": truncated file header at offset 2: unexpected EOF`, 0, ""},
		{"pcap inside global header", pcap, 10, `open capture "f": truncated pcap file header (10 of 24 bytes): unexpected EOF`, 0, ""},
		{"pcap header only", pcap, 24, "", 0, ""},
		{"pcap inside first record header", pcap, 30, "", 0, `read capture "f": truncated record header at offset 24: unexpected EOF`},
		{"pcap inside third record header", pcap, third + 5, "", 2, `read capture "f": truncated record header at offset ` + itoa(third) + `: unexpected EOF`},
		{"pcap inside third record data", pcap, third + 20, "", 2, `read capture "f": truncated packet record at offset ` + itoa(third) + ` (20 of ` + itoa(rec) + ` bytes): unexpected EOF`},
		{"pcap at record boundary", pcap, third, "", 2, ""},
		{"pcapng inside SHB", ng, 20, `open capture "f": truncated section header block at offset 0 (20 of 28 bytes): unexpected EOF`, 0, ""},
		{"pcapng inside IDB", ng, 30, "", 0, `read capture "f": truncated block header at offset 28: unexpected EOF`},
		{"pcapng inside third EPB header", ng, ngThird + 12, "", 2, `read capture "f": truncated packet record at offset ` + itoa(ngThird) + ` (12 of ` + itoa(epbLen) + ` bytes): unexpected EOF`},
		{"pcapng inside third EPB data", ng, ngThird + 40, "", 2, `read capture "f": truncated packet record at offset ` + itoa(ngThird) + ` (40 of ` + itoa(epbLen) + ` bytes): unexpected EOF`},
		{"pcapng inside third EPB trailer", ng, ngThird + epbLen - 2, "", 2, `read capture "f": truncated packet record at offset ` + itoa(ngThird) + ` (` + itoa(epbLen-2) + ` of ` + itoa(epbLen) + ` bytes): unexpected EOF`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenReader("f", bytes.NewReader(tc.file[:tc.cut]))
			if tc.openErr != "" {
				if err == nil || err.Error() != tc.openErr {
					t.Fatalf("open error %v, want %q", err, tc.openErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			frames, err := readAll(t, src)
			if len(frames) != tc.frames {
				t.Errorf("got %d frames before the error, want %d", len(frames), tc.frames)
			}
			if tc.readErr == "" {
				if err != io.EOF {
					t.Fatalf("err %v, want io.EOF", err)
				}
				return
			}
			if err == nil || err.Error() != tc.readErr {
				t.Fatalf("error\n %v\nwant\n %s", err, tc.readErr)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error does not wrap io.ErrUnexpectedEOF")
			}
			if _, again := src.Next(); again != err {
				t.Errorf("second Next: %v, want the same error", again)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	html := write("page.pcap", []byte("<html><body>not a capture</body></html>"))
	empty := write("empty.pcap", nil)
	gz := write("x.pcap.gz", []byte{0x1f, 0x8b, 0x08, 0x00, 0, 0})
	tests := []struct {
		name, path, want string
	}{
		{"wrong magic", html, `open capture "` + html + `": not a pcap or pcapng file (magic 0x3c68746d)`},
		{"gzip", gz, `open capture "` + gz + `": not a pcap or pcapng file (magic 0x1f8b0800) (it is gzip-compressed: decompress it first)`},
		{"empty", empty, `open capture "` + empty + `": empty file, not a pcap or pcapng file`},
		{"directory", dir, `open capture "` + dir + `": is a directory, not a capture file`},
		{"missing", filepath.Join(dir, "nope.pcap"), `open capture "` + filepath.Join(dir, "nope.pcap") + `": no such file or directory`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenFile(tc.path)
			if err == nil {
				src.Close()
				t.Fatal("opened without error")
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n %v\nwant\n %s", err, tc.want)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads files whatever their mode; unreadable-file error needs a non-root user")
		}
		p := write("secret.pcap", writePcap(binary.LittleEndian, false, 1, 65535, nil))
		os.Chmod(p, 0)
		_, err := OpenFile(p)
		if err == nil || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("error %v, want permission denied", err)
		}
	})
}

// TestHugeRecord checks that a record claiming a giant length is refused
// without allocating it.
func TestHugeRecord(t *testing.T) {
	file := writePcap(binary.LittleEndian, false, 1, 0xffffffff, []pcapRec{{ts: time.Unix(1, 0), data: udpFrame(t, 1)}})
	bad := append([]byte(nil), file...)
	bad = append(bad, make([]byte, 16)...)
	binary.LittleEndian.PutUint32(bad[len(file)+8:], 0xfffffff0)
	w := &ngWriter{order: binary.LittleEndian}
	w.shb()
	w.idb(1, 0)
	w.epb(0, 0, udpFrame(t, 1), 100)
	ng := w.b.Bytes()
	binary.LittleEndian.PutUint32(ng[28+20+20:], 0x7ffffff0) // caplen of the EPB after SHB (28) and IDB (20)

	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"pcap", bad, `read capture "f": packet record at offset ` + itoa(len(file)) + ` claims 4294967280 bytes (limit 262144): corrupt file`},
		{"pcapng", ng, `read capture "f": packet record at offset 48 claims 2147483632 bytes (limit 262144): corrupt file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			src, err := OpenReader("f", bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = readAll(t, src)
			runtime.ReadMemStats(&after)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error\n %v\nwant\n %s", err, tc.want)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
				t.Errorf("allocated %d bytes reading a corrupt file", grew)
			}
		})
	}
}

// TestPipeDeliversBeforeEOF writes a pcap into a pipe slowly and checks the
// first packet arrives while the writer is still open, as with
// `tcpdump -U -w - | opsdeck -r -`.
func TestPipeDeliversBeforeEOF(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	eth := udpFrame(t, 1)
	file := writePcap(binary.LittleEndian, false, 1, 65535, []pcapRec{{ts: time.Unix(5, 0), data: eth}, {ts: time.Unix(6, 0), data: eth}})
	firstEnd := 24 + 16 + len(eth)
	got1 := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		defer pw.Close()
		// Byte by byte: the reader must assemble records from partial reads.
		for i := 0; i < firstEnd; i++ {
			if _, err := pw.Write(file[i : i+1]); err != nil {
				writerDone <- err
				return
			}
		}
		<-got1 // hold the pipe open until the reader has packet 1
		_, err := pw.Write(file[firstEnd:])
		writerDone <- err
	}()

	type result struct {
		src Source
		f   Frame
		err error
	}
	res := make(chan result, 1)
	go func() {
		src, err := OpenReader("-", pr)
		if err != nil {
			res <- result{err: err}
			return
		}
		f, err := src.Next()
		res <- result{src, f, err}
	}()
	r := await(t, res, nil, "first packet not delivered while the writer was still open")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.f.Index != 1 || !bytes.Equal(r.f.Data, eth) {
		t.Fatalf("first frame: index %d", r.f.Index)
	}
	close(got1)
	f, err := r.src.Next()
	if err != nil || f.Index != 2 || f.TS.Unix() != 6 {
		t.Fatalf("second frame: %v index %d", err, f.Index)
	}
	if _, err := r.src.Next(); err != io.EOF {
		t.Fatalf("after writer closed: %v, want io.EOF", err)
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
}

// TestPcapManyFills reads a file several times the read buffer's size, with
// records of every size up to a maximal one, so that records are read from
// the buffered window, across its refills and straddling its end: every
// frame is the record written, in order, cut where the file is cut, and
// Stats counts them all once the end is reached.
func TestPcapManyFills(t *testing.T) {
	var recs []pcapRec
	ts := time.Unix(1700000000, 0)
	total, size := 0, 0
	for i := 0; total < 4*readBufSize; i++ {
		switch {
		case i%97 == 0:
			size = MaxRecordLen
		default:
			size = 14 + (i*7919)%1500
		}
		d := make([]byte, size)
		for j := range d {
			d[j] = byte(i + j)
		}
		recs = append(recs, pcapRec{ts: ts.Add(time.Duration(i) * time.Microsecond), data: d})
		total += 16 + size
	}
	file := writePcap(binary.LittleEndian, false, 1, MaxRecordLen, recs)
	path := filepath.Join(t.TempDir(), "big.pcap")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(file), len(file) - 100} {
		if err := os.WriteFile(path, file[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := OpenFile(path)
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
			r := recs[n]
			if !bytes.Equal(fr.Data, r.data) || !fr.TS.Equal(r.ts) || fr.Index != n+1 {
				t.Fatalf("cut %d: frame %d differs from the record written", cut, n)
			}
			n++
			sum += uint64(len(fr.Data))
		}
		want := uint64(len(recs))
		if cut < len(file) {
			want--
			if last == io.EOF || !strings.Contains(last.Error(), "truncated packet record") {
				t.Errorf("cut file: %v, want a truncated record error", last)
			}
		} else if last != io.EOF {
			t.Errorf("whole file: %v", last)
		}
		if n != want {
			t.Errorf("cut %d: %d frames, want %d", cut, n, want)
		}
		if st := src.Stats(); st.Packets != n || st.Bytes != sum {
			t.Errorf("cut %d: stats %+v, want %d packets %d bytes", cut, st, n, sum)
		}
		src.Close()
	}
}
