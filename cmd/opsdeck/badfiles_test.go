package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// badFile is one broken input and what analyze must say about it.
type badFile struct {
	name string
	data []byte // nil: see make
	make func(t *testing.T, path string)
	// wantErr is a phrase of the one-line error; "" means the file is valid.
	wantErr string
	// pkts is how many packets come before the problem.
	pkts uint64
	// code is the exit status when not 0 or 1 (2: a usage error, before
	// any input is read and so without a stats record).
	code int
}

// pcapngBlock builds a little-endian pcapng block of type typ with body.
func pcapngBlock(typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, n)
}

func corpusBytes(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// TestAnalyzeBadFiles runs the binary over broken captures: each must give
// one clear line on stderr naming the file and the problem, process what
// came before the problem, exit 1 and never panic; valid edge cases (a
// header and no packets, a huge snap length, unknown pcapng blocks) must
// read cleanly.
func TestAnalyzeBadFiles(t *testing.T) {
	// dns-udp-eve-txt.pcap: 24-byte header, records at 24, 121, 266, 382.
	pc := corpusBytes(t, "suricata-verify/dns-udp-eve-txt.pcap")
	// port4444-pe-download.pcapng: SHB 0-224, IDB 224-244, EPBs from 244
	// (244, 344, 444, 536, 628, ...).
	ng := corpusBytes(t, "ndpi/port4444-pe-download.pcapng")
	wrongMagic := cat([]byte("GIF8"), pc[4:])
	hugeSnap := cat(pc[:16], []byte{0xff, 0xff, 0xff, 0xff}, pc[20:])
	hugeRecord := cat(pc[:266], pc[266:274], []byte{0xff, 0xff, 0xff, 0x7f}, pc[278:])
	unknownBlocks := cat(ng[:244], pcapngBlock(0x0badbeef, []byte("not a block anyone knows")),
		ng[244:344], pcapngBlock(0x00000bad, []byte("custom")), pcapngBlock(0x40000bad, nil), ng[344:])
	var ngPkts uint64
	for off := 244; off < len(ng); {
		typ := binary.LittleEndian.Uint32(ng[off:])
		if typ == 6 || typ == 3 {
			ngPkts++
		}
		off += int(binary.LittleEndian.Uint32(ng[off+4:]))
	}
	badLength := cat(ng[:344], ng[344:348], []byte{13, 0, 0, 0}, ng[352:])

	cases := []badFile{
		{name: "empty.pcap", data: []byte{}, wantErr: "empty file"},
		{name: "half-header.pcap", data: pc[:10], wantErr: "truncated"},
		{name: "header-only.pcap", data: pc[:24]},
		{name: "half-record-header.pcap", data: pc[:24+8], wantErr: "truncated record header", pkts: 0},
		{name: "half-record.pcap", data: pc[:121+16+40], wantErr: "truncated packet record", pkts: 1},
		{name: "at-record-boundary.pcap", data: pc[:382], pkts: 3},
		{name: "last-byte-missing.pcap", data: pc[:len(pc)-1], wantErr: "truncated", pkts: 3},
		{name: "wrong-magic.pcap", data: wrongMagic, wantErr: "not a pcap or pcapng file"},
		{name: "huge-snaplen.pcap", data: hugeSnap, pkts: 4},
		{name: "huge-record.pcap", data: hugeRecord, wantErr: "claims", pkts: 2},
		{name: "half-shb.pcapng", data: ng[:100], wantErr: "truncated", pkts: 0},
		{name: "shb-only.pcapng", data: ng[:224]},
		{name: "half-idb.pcapng", data: ng[:234], wantErr: "truncated", pkts: 0},
		{name: "half-epb.pcapng", data: ng[:244+50], wantErr: "truncated", pkts: 0},
		{name: "epb-trailer-cut.pcapng", data: ng[:443], wantErr: "truncated", pkts: 1},
		{name: "bad-block-length.pcapng", data: badLength, wantErr: "invalid length", pkts: 1},
		{name: "unknown-blocks.pcapng", data: unknownBlocks, pkts: ngPkts},
		{name: "a-directory.pcap", make: func(t *testing.T, p string) { os.Mkdir(p, 0o755) }, wantErr: "is a directory"},
		{name: "missing.pcap", make: func(*testing.T, string) {}, wantErr: "does not exist", code: 2},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if c.make != nil {
				c.make(t, path)
			} else if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := runAnalyze(t, path)
			checkBadFile(t, r, c, path)
		})
	}

	// Several files: the broken one in the middle must not stop the others.
	t.Run("good-bad-good", func(t *testing.T) {
		good := filepath.Join(dir, "good.pcap")
		os.WriteFile(good, pc, 0o644)
		bad := filepath.Join(dir, "half-record.pcap")
		r := runAnalyze(t, good, bad, good)
		checkBadFile(t, r, badFile{wantErr: "truncated packet record", pkts: 4 + 1 + 4}, bad)
	})
}

func checkBadFile(t *testing.T, r analyzeRun, c badFile, path string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.stderr == "" {
		lines = nil
	}
	if c.wantErr == "" {
		if r.code != 0 || len(lines) != 0 {
			t.Errorf("a valid file: exit %d, stderr %q", r.code, r.stderr)
		}
	} else {
		if want := max(c.code, 1); r.code != want {
			t.Errorf("exit %d, want %d (stderr %q)", r.code, want, r.stderr)
		}
		if len(lines) != 1 {
			t.Errorf("want one line on stderr, got %d: %q", len(lines), r.stderr)
		} else {
			l := lines[0]
			if !strings.HasPrefix(l, "opsdeck: ") || !strings.Contains(l, filepath.Base(path)) || !strings.Contains(l, c.wantErr) {
				t.Errorf("error line %q: want \"opsdeck: \", the file name and %q", l, c.wantErr)
			}
		}
	}
	if c.code == 2 {
		return
	}
	if r.stats == nil {
		t.Fatalf("no stats record (exit %d, %q)", r.code, r.stderr)
	}
	if got := r.num("stats.decoder.pkts"); got != c.pkts {
		t.Errorf("%d packets processed, want %d (everything before the problem)", got, c.pkts)
	}
}

// TestAnalyzeUnreadableFile: a file without read permission, and a file in
// a directory the user may not search, read by a user who is not root (root
// reads anything): as root, the binary runs as nobody.
func TestAnalyzeUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	// nobody must reach the directory: t.TempDir's parent is private.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	pc := corpusBytes(t, "suricata-verify/dns-udp-eve-txt.pcap")
	secret := filepath.Join(dir, "secret.pcap")
	if err := os.WriteFile(secret, pc, 0o000); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(dir, "private")
	os.Mkdir(private, 0o755)
	hidden := filepath.Join(private, "hidden.pcap")
	os.WriteFile(hidden, pc, 0o644)
	os.Chmod(private, 0o000)
	defer os.Chmod(private, 0o755)

	var prefix []string
	bin := opsdeckBinary(t)
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root without setpriv: root can read any file, so unreadable files cannot be tested")
		}
		if _, err := user.Lookup("nobody"); err != nil {
			t.Skip("no user nobody to drop to")
		}
		// nobody cannot reach the binary under TestMain's private dir.
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(dir, "opsdeck-nobody")
		os.WriteFile(bin, b, 0o755)
		prefix = []string{setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"}
	}
	// A default configuration this user cannot read (another user's HOME
	// kept across setpriv or su): one line, with the way out.
	t.Run("config", func(t *testing.T) {
		readable := filepath.Join(dir, "readable.pcap")
		os.WriteFile(readable, pc, 0o644)
		argv := append(append([]string(nil), prefix...), bin, "analyze", readable)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+private)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("an unreadable configuration was ignored; output:\n%s", out)
		}
		line := strings.TrimSpace(string(out))
		for _, want := range []string{"read config", "permission denied", "XDG_CONFIG_HOME", "--config"} {
			if strings.Count(line, "\n") != 0 || !strings.Contains(line, want) {
				t.Errorf("want one line with %q; output:\n%s", want, out)
			}
		}
	})
	for _, path := range []string{secret, hidden} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			argv := append(append([]string(nil), prefix...), bin, "analyze", path)
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
			out, err := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			if err == nil || code != 1 {
				t.Fatalf("exit %d (%v), want 1; output:\n%s", code, err, out)
			}
			var errLines []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if strings.HasPrefix(l, "opsdeck: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.Contains(errLines[0], filepath.Base(path)) || !strings.Contains(errLines[0], "permission denied") {
				t.Errorf("want one line naming the file and \"permission denied\"; output:\n%s", out)
			}
			if strings.Contains(string(out), "panic") {
				t.Errorf("panic:\n%s", out)
			}
		})
	}
}
