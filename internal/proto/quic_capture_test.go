package proto

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/quic-go/quic-go"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// quicCapture is the committed capture: quic-go v0.65.0 clients and server
// on loopback, one connection in QUIC v1 and one in QUIC v2, recorded by
// tcpdump with TestQUICLiveCapture (OPSDECK_QUIC_RECORD=1 writes it).
const quicCapture = "testdata/quic-go-loopback.pcap"

// The names the recording's clients say hello with.
const (
	quicTestSNI  = "quic.opsdeck.test"
	quicTestALPN = "opsdeck-test"
)

// quicPeerHello is one hello as seen by a dissector: the flow's client
// port, the version of the packet that carried it, and what it offered.
type quicPeerHello struct {
	port              int
	toServer          bool
	version, sni, ja3 string
}

// quicHellosOf runs a capture's UDP datagrams through one State per flow
// (keyed by the client's port, the server being on sport) and returns
// the hellos opsdeck logged, plus each flow's app_proto.
func quicHellosOf(t *testing.T, file string, sport uint16) ([]quicPeerHello, map[int]string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	states := map[int]*State{}
	var out []quicPeerHello
	for i := uint64(1); ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.NoCopy)
		u, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if u == nil {
			continue
		}
		toServer := uint16(u.DstPort) == sport
		cport := int(u.SrcPort)
		if !toServer {
			cport = int(u.DstPort)
		}
		st := states[cport]
		if st == nil {
			st = &State{}
			states[cport] = st
		}
		s := packet.Summary{TS: ci.Timestamp, Index: i, IPVersion: 4, Proto: packet.ProtoUDP, HasL4: true,
			SrcPort: uint16(u.SrcPort), DstPort: uint16(u.DstPort), Payload: u.Payload}
		st.Packet(&Config{}, toServer, &s, func(e *Event) {
			q := e.QUIC
			if q == nil || (q.SNI == "" && q.JA3S == nil) {
				return
			}
			h := quicPeerHello{port: cport, toServer: e.ToServer, version: q.Version, sni: q.SNI}
			if q.JA3 != nil {
				h.ja3 = q.JA3.String
			} else {
				h.ja3 = q.JA3S.String
			}
			out = append(out, h)
		})
	}
	apps := map[int]string{}
	for p, st := range states {
		apps[p] = st.AppProto()
	}
	return out, apps
}

// tsharkQUICHellos has tshark dissect the capture (it decrypts Initials
// itself) and returns the hellos it found, with the version in Suricata's
// spelling.
func tsharkQUICHellos(t *testing.T, file string, sport uint16) []quicPeerHello {
	t.Helper()
	out, err := exec.Command("tshark", "-n", "-r", file, "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2",
		"-T", "fields", "-E", "separator=|", "-E", "occurrence=f",
		"-e", "udp.srcport", "-e", "udp.dstport", "-e", "quic.version",
		"-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ja3_full", "-e", "tls.handshake.ja3s_full").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var hs []quicPeerHello
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "|")
		if len(f) != 6 {
			continue
		}
		src, _ := strconv.Atoi(f[0])
		dst, _ := strconv.Atoi(f[1])
		v, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32)
		if err != nil {
			t.Fatalf("tshark version %q: %v", f[2], err)
		}
		h := quicPeerHello{port: src, toServer: dst == int(sport), version: QUICVersionName(uint32(v)), sni: f[3], ja3: f[4]}
		if !h.toServer {
			h.port, h.ja3 = dst, f[5]
		}
		hs = append(hs, h)
	}
	return hs
}

func sortHellos(hs []quicPeerHello) {
	slices.SortFunc(hs, func(a, b quicPeerHello) int {
		if a.port != b.port {
			return a.port - b.port
		}
		if a.toServer != b.toServer {
			if a.toServer {
				return -1
			}
			return 1
		}
		return 0
	})
}

// TestQUICCaptureAgainstTshark: on the committed quic-go capture, opsdeck's
// hellos (version, SNI, JA3 and JA3S strings) are tshark's, and both flows
// are QUIC.
func TestQUICCaptureAgainstTshark(t *testing.T) {
	checkQUICCapture(t, quicCapture, 4433)
}

func checkQUICCapture(t *testing.T, file string, sport uint16) {
	t.Helper()
	got, apps := quicHellosOf(t, file, sport)
	if len(apps) != 2 {
		t.Fatalf("%d flows, want 2 (v1 and v2)", len(apps))
	}
	for p, a := range apps {
		if a != "quic" {
			t.Errorf("flow from port %d: app_proto %q", p, a)
		}
	}
	versions := map[string]bool{}
	for _, h := range got {
		if h.toServer && h.sni != quicTestSNI {
			t.Errorf("client hello from %d: sni %q", h.port, h.sni)
		}
		versions[h.version] = true
	}
	if !versions["1"] || !versions["6b3343cf"] || len(got) != 4 {
		t.Errorf("hellos %+v, want a client and a server hello in v1 and in v2", got)
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: the capture was decoded but not compared")
	}
	want := tsharkQUICHellos(t, file, sport)
	sortHellos(got)
	sortHellos(want)
	if !slices.Equal(got, want) {
		t.Errorf("opsdeck and tshark differ:\n opsdeck %+v\n  tshark %+v", got, want)
	}
}

// selfSigned makes a server certificate for the test's QUIC server.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: quicTestSNI},
		DNSNames: []string{quicTestSNI}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestQUICLiveCapture records quic-go clients talking to a quic-go server
// on loopback with tcpdump, one connection in QUIC v1 and one in v2, and
// checks opsdeck's decoding of the recording against tshark's. With
// OPSDECK_QUIC_RECORD=1 the recording replaces the committed capture.
func TestQUICLiveCapture(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to capture on loopback")
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	if os.Getenv("OPSDECK_QUIC_RECORD") != "" {
		// The committed capture's server port, so that tshark and Suricata
		// see the same thing on every recording.
		conn.Close()
		port = 4433
		if conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "quic.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	td := exec.CommandContext(ctx, tcpdump, "-i", "lo", "-n", "--immediate-mode", "-U", "-s", "0", "-w", file, "udp port "+strconv.Itoa(port))
	stderr, _ := td.StderrPipe()
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "listening on") {
				once = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("tcpdump did not start")
	}

	ln, err := quic.Listen(conn, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, NextProtos: []string{quicTestALPN}},
		&quic.Config{Versions: []quic.Version{quic.Version1, quic.Version2}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				s, err := c.AcceptStream(ctx)
				if err != nil {
					return
				}
				io.Copy(s, s)
				s.Close()
			}()
		}
	}()
	for _, v := range []quic.Version{quic.Version1, quic.Version2} {
		c, err := quic.DialAddr(ctx, conn.LocalAddr().String(),
			&tls.Config{ServerName: quicTestSNI, InsecureSkipVerify: true, NextProtos: []string{quicTestALPN}},
			&quic.Config{Versions: []quic.Version{v}})
		if err != nil {
			t.Fatalf("dial %v: %v", v, err)
		}
		s, err := c.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Write([]byte("ping"))
		s.Close()
		if b, err := io.ReadAll(s); err != nil || string(b) != "ping" {
			t.Fatalf("echo over %v: %q, %v", v, b, err)
		}
		c.CloseWithError(0, "")
	}
	// tcpdump reads in immediate mode (not a block at a time); give it a
	// moment to write the last packets before it is stopped.
	time.Sleep(300 * time.Millisecond)
	td.Process.Signal(syscall.SIGINT)
	td.Wait()

	checkQUICCapture(t, file, uint16(port))
	if os.Getenv("OPSDECK_QUIC_RECORD") != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(quicCapture, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", quicCapture, len(b))
	}
}
