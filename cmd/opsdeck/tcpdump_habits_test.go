package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/sources/capture"
)

// run runs the binary and returns its exit code, stdout and stderr.
func runBin(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// readPcap returns the frames of a capture file.
func readPcap(t *testing.T, path string) []capture.Frame {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer src.Close()
	var out []capture.Frame
	for {
		fr, err := src.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		fr.Data = slices.Clone(fr.Data)
		out = append(out, fr)
	}
}

var dLine = regexp.MustCompile(`^(\d+)\.(\S+)`)

// deviceNumbers parses tcpdump -D style output: name -> number, and the
// names that are up and running.
func deviceNumbers(out string) (map[string]string, []string) {
	nums := map[string]string{}
	var running []string
	for _, l := range strings.Split(out, "\n") {
		if m := dLine.FindStringSubmatch(l); m != nil {
			nums[m[2]] = m[1]
			if strings.Contains(l, "Up, Running") {
				running = append(running, m[2])
			}
		}
	}
	return nums, running
}

// opsdeck -D numbers the interfaces as tcpdump -D does, and -i N means
// the interface numbered N.
func TestListInterfacesAsTcpdump(t *testing.T) {
	bin := opsdeckBinary(t)
	code, out, errOut := runBin(t, bin, "-D")
	if code != 0 {
		t.Fatalf("opsdeck -D: exit %d: %s", code, errOut)
	}
	ours, running := deviceNumbers(out)
	if ours["any"] == "" || ours["lo"] == "" {
		t.Fatalf("opsdeck -D lists no any or lo:\n%s", out)
	}
	if tcpdump, err := exec.LookPath("tcpdump"); err == nil {
		tout, err := exec.Command(tcpdump, "-D").Output()
		if err != nil {
			t.Fatalf("tcpdump -D: %v", err)
		}
		theirs, _ := deviceNumbers(string(tout))
		// The interfaces that are up and running come first in both
		// lists, before the devices only libpcap has (nflog, dbus, ...).
		for _, name := range running {
			if theirs[name] != ours[name] {
				t.Errorf("%s is %s in opsdeck -D, %s in tcpdump -D\nopsdeck:\n%s\ntcpdump:\n%s", name, ours[name], theirs[name], out, tout)
			}
		}
	} else {
		t.Log("tcpdump not installed: numbering not compared with it")
	}
	for name, num := range ours {
		if got, err := resolveIface(num); err != nil || got != name {
			t.Errorf("-i %s = %q (%v), want %s", num, got, err, name)
		}
	}
	if got, _ := resolveIface("lo"); got != "lo" {
		t.Errorf("-i lo = %q", got)
	}
	code, _, errOut = runBin(t, bin, "watch", "-i", "999")
	if code != 2 || !strings.Contains(errOut, "interface number 999 out of range") {
		t.Errorf("watch -i 999: exit %d, %q; want 2 and the range", code, errOut)
	}
}

func TestExpandShortFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var o options
	var wo watchOptions
	o.register(fs, true)
	wo.register(fs)
	for _, tc := range []struct{ in, want string }{
		{"-nn -c10 -i1 -s0", "-n -n -c 10 -i 1 -s 0"},
		{"-nnp -weve.pcap", "-n -n -p -w eve.pcap"},
		{"-nc 5 host x", "-n -c 5 host x"},
		{"-i lo -nn", "-i lo -n -n"},
		{"--rotate-keep -12 -o -nn", "--rotate-keep -12 -o -nn"}, // values stay
		{"-promisc -D", "-promisc -D"},                           // flags of their own
		{"-nx", "-nx"},                                           // an unknown letter: the flag package rejects it
		{"-- -nn", "-- -nn"},
		{"--snaplen=0 -nn", "--snaplen=0 -n -n"},
	} {
		if got := strings.Join(expandShortFlags(fs, strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("%q -> %q, want %q", tc.in, got, tc.want)
		}
	}
	var s snapLenFlag
	if err := s.Set("0"); err != nil || s != defaultSnapLen {
		t.Errorf("-s 0 = %d (%v), want %d as tcpdump", s, err, defaultSnapLen)
	}
	if err := s.Set("-1"); err == nil {
		t.Error("-s -1 accepted")
	}
}

// analyze -c N -w FILE writes the first N packets that pass the filter,
// the same packets tcpdump -c N -w writes, and analyses only those.
func TestAnalyzeCountAndWritePcap(t *testing.T) {
	bin := opsdeckBinary(t)
	in := filepath.Join("..", "..", "testdata", "corpus", "ndpi", "synscan-nmap-1000-ports.pcap")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "out.pcap")
	eve := filepath.Join(dir, "eve.json")
	code, _, errOut := runBin(t, bin, "analyze", "-nn", "-c25", "-w", pcap, "-o", eve, in, "tcp", "and", "dst", "port", "not", "80")
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errOut)
	}
	got := readPcap(t, pcap)
	if len(got) != 25 {
		t.Fatalf("-w wrote %d packets, want 25 (-c25)", len(got))
	}
	stats := ofType(eveFiles(t, []string{eve}), "stats")
	if len(stats) != 1 || stats[0].str("stats.decoder.pkts") != "25" {
		t.Errorf("stats record: decoder.pkts %q, want 25 packets analysed", stats[0].str("stats.decoder.pkts"))
	}
	if tcpdump, err := exec.LookPath("tcpdump"); err == nil {
		ref := filepath.Join(dir, "ref.pcap")
		if out, err := exec.Command(tcpdump, "-r", in, "-c", "25", "-w", ref, "tcp and dst port not 80").CombinedOutput(); err != nil {
			t.Fatalf("tcpdump: %v\n%s", err, out)
		}
		want := readPcap(t, ref)
		if len(want) != len(got) {
			t.Fatalf("tcpdump wrote %d packets, opsdeck %d", len(want), len(got))
		}
		for i := range want {
			if !bytes.Equal(want[i].Data, got[i].Data) || !want[i].TS.Equal(got[i].TS) || want[i].WireLen != got[i].WireLen || want[i].Link != got[i].Link {
				t.Errorf("packet %d differs from tcpdump's", i+1)
			}
		}
		// tcpdump reads opsdeck's file.
		if out, err := exec.Command(tcpdump, "-nn", "-r", pcap).CombinedOutput(); err != nil || strings.Count(string(out), "\n") < 25 {
			t.Errorf("tcpdump -r of opsdeck's -w file: %v\n%s", err, out)
		}
	}
	// -w - with EVE on stdout too is refused.
	if code, _, errOut := runBin(t, bin, "analyze", "-w", "-", in); code != 2 || !strings.Contains(errOut, "-o FILE") {
		t.Errorf("analyze -w - without -o: exit %d %q, want 2", code, errOut)
	}
}

// watch -c N -w FILE -o /dev/null on loopback: it stops by itself after N
// packets, the pcap holds them, and /dev/null is a fine output (fsync on
// it used to be reported as an output failure every second).
func TestWatchCountWriteDevNull(t *testing.T) {
	needCapture(t)
	bin := opsdeckBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	pcap := filepath.Join(t.TempDir(), "w.pcap")
	w := runWatchOut(t, bin, "-o", os.DevNull, "-c", "6", "-w", pcap, "-p", "-s", "0", fmt.Sprintf("tcp port %d", port))
	// Connect until watch has seen its six packets and ended.
	deadline := time.Now().Add(15 * time.Second)
	var werr error
	done := false
	for !done && time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
		}
		select {
		case werr = <-w.done:
			done = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !done {
		t.Fatalf("watch -c 6 did not stop by itself:\n%s", w.stderr())
	}
	if werr != nil {
		t.Fatalf("watch -c 6: %v\n%s", werr, w.stderr())
	}
	if strings.Contains(w.stderr(), "sync") {
		t.Errorf("watch -o /dev/null reported a sync problem:\n%s", w.stderr())
	}
	if got := readPcap(t, pcap); len(got) != 6 {
		t.Errorf("-w wrote %d packets, want 6", len(got))
	}
	if code, _, errOut := runBin(t, bin, "watch", "-p", "--promisc"); code != 2 || !strings.Contains(errOut, "contradict") {
		t.Errorf("watch -p --promisc: exit %d %q, want 2", code, errOut)
	}
}

// The bash completion script comes from the flag sets: every flag of
// every command completes, values complete by kind, and bash accepts it.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed: skipped")
	}
	bin := opsdeckBinary(t)
	code, script, errOut := runBin(t, bin, "completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash: exit %d %s", code, errOut)
	}
	path := filepath.Join(t.TempDir(), "opsdeck.bash")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		var q []string
		for _, w := range words {
			q = append(q, fmt.Sprintf("%q", w))
		}
		src := fmt.Sprintf(`source %q; COMP_WORDS=(%s); COMP_CWORD=%d; _opsdeck; printf '%%s\n' "${COMPREPLY[@]}"`, path, strings.Join(q, " "), len(words)-1)
		out, err := exec.Command(bash, "-c", src).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	for name, fs := range commandFlagSets() {
		words := []string{"opsdeck"}
		if name != "" {
			words = append(words, name)
		}
		got := complete(append(words, "-")...)
		fs.VisitAll(func(f *flag.Flag) {
			if !slices.Contains(got, flagSpelling(f.Name)) {
				t.Errorf("opsdeck %s -<TAB> lacks %s", name, flagSpelling(f.Name))
			}
		})
	}
	if got := complete("opsdeck", "wat"); !slices.Equal(got, []string{"watch"}) {
		t.Errorf("opsdeck wat<TAB> = %q", got)
	}
	if got := complete("opsdeck", "watch", "--bundle-on", "h"); !slices.Equal(got, []string{"high"}) {
		t.Errorf("--bundle-on h<TAB> = %q", got)
	}
	if got := complete("opsdeck", "watch", "-i", "l"); !slices.Contains(got, "lo") {
		t.Errorf("-i l<TAB> = %q, want lo", got)
	}
}

// docs/opsdeck.1 renders without a warning and describes every flag.
func TestManPage(t *testing.T) {
	page := filepath.Join("..", "..", "docs", "opsdeck.1")
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(src), `\-`, "-")
	for name, fs := range commandFlagSets() {
		fs.VisitAll(func(f *flag.Flag) {
			if !regexp.MustCompile(`(?m)^\.BI? (.*[ "])?` + regexp.QuoteMeta(flagSpelling(f.Name)) + `([ "]|$)`).MatchString(text) {
				t.Errorf("docs/opsdeck.1 does not describe %s of %q", flagSpelling(f.Name), name)
			}
		})
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed: the page's markup not checked")
	}
	out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", page).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff -man -ww: %v\n%s", err, out)
	}
	if man, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command(man, "-l", page)
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "TCPDUMP HABITS") {
			t.Errorf("man -l: %v\n%.500s", err, out)
		}
	}
}

// -w keeps a link type above 255: a LINUX_SLL2 capture (tcpdump -i any on
// current kernels, link type 276) is written as 276, not cut to 8 bits
// (gopacket's pcapgo writer wrote 20, which no tool reads).
func TestAnalyzeWritePcapKeepsWideLinkType(t *testing.T) {
	bin := opsdeckBinary(t)
	in := filepath.Join("..", "..", "testdata", "corpus", "linktypes", "sll2-ping.pcap")
	out := filepath.Join(t.TempDir(), "out.pcap")
	if code, _, errOut := runBin(t, bin, "analyze", "-w", out, "-o", os.DevNull, in); code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errOut)
	}
	want, got := readPcap(t, in), readPcap(t, out)
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("-w wrote %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Link != 276 || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("packet %d: link %d, want 276 with the same bytes", i+1, got[i].Link)
		}
	}
	if tcpdump, err := exec.LookPath("tcpdump"); err == nil {
		b, err := exec.Command(tcpdump, "-nn", "-r", out).CombinedOutput()
		if err != nil || !strings.Contains(string(b), "LINUX_SLL2") || !strings.Contains(string(b), "ICMP echo") {
			t.Errorf("tcpdump -r of opsdeck's -w file: %v\n%s", err, b)
		}
	}
}
