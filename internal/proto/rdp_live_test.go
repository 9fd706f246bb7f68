package proto

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/lab"
)

// rdpCaptures are the committed captures of a real client and server:
// xfreerdp 2.11 (+auth-only, user alice, Debian 12's freerdp2-x11) against
// xrdp 0.9.21 (Debian 12) between two network namespaces, recorded by
// tcpdump. "tls": xrdp offering TLS 1.2 only, the client asking for TLS
// (/sec:tls); "rdp": standard RDP security (/sec:rdp), so the MCS Connect
// Initial is in clear. TestRDPLiveCapture records them again
// (OPSDECK_RDP_RECORD=1 writes them here).
var rdpCaptures = map[string]string{
	"tls": "testdata/rdp-xfreerdp-xrdp-tls12.pcap",
	"rdp": "testdata/rdp-xfreerdp-xrdp-rdpsec.pcap",
}

func TestRDPCaptures(t *testing.T) {
	// The recording's certificate has serial 0f1e2d3c4b5a6978: Suricata
	// prints it as a number, without the leading zero.
	serials := map[string]string{"tls": "f1e2d3c4b5a6978"}
	for sec, file := range rdpCaptures {
		t.Run(sec, func(t *testing.T) { checkRDPCapture(t, file, sec, serials[sec]) })
	}
}

// rdpEventsOf runs a capture (any path) and returns its rdp events.
func rdpEventsOf(t *testing.T, file string) []got {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	base, err := filepath.Abs(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		t.Fatal(err)
	}
	return ofType(runPcap(t, rel, &Config{}), "rdp")
}

// checkRDPCapture checks what opsdeck logs of an xfreerdp connection: the
// transactions the security mode gives, and each field against tshark's
// dissection of the same capture (when tshark is installed). serial, when
// set, is the server certificate's serial the recording used.
func checkRDPCapture(t *testing.T, file, sec, serial string) {
	t.Helper()
	evs := rdpEventsOf(t, file)
	var types []string
	byType := map[string]*RDP{}
	for _, e := range evs {
		types = append(types, e.RDP.EventType)
		byType[e.RDP.EventType] = e.RDP
	}
	want := []string{RDPInitialRequest, RDPInitialResponse, RDPTLSHandshake}
	if sec == "rdp" {
		want = []string{RDPInitialRequest, RDPInitialResponse, RDPConnectRequest, RDPConnectResponse}
	}
	if !slices.Equal(types, want) {
		t.Fatalf("transactions %q, want %q", types, want)
	}
	for i, e := range evs {
		if e.RDP.TxID != i+1 {
			t.Errorf("%s has tx_id %d, want %d", e.RDP.EventType, e.RDP.TxID, i+1)
		}
	}
	if c := byType[RDPInitialRequest].Cookie; c != "alice" {
		t.Errorf("cookie %q, want alice", c)
	}
	if sec == "tls" {
		if p := byType[RDPInitialResponse].Protocol; p != "ssl" {
			t.Errorf("protocol %q, want ssl", p)
		}
		if s := byType[RDPTLSHandshake].X509Serials; len(s) != 1 || (serial != "" && s[0] != serial) {
			t.Errorf("x509_serials %q, want [%s]", s, serial)
		}
	} else {
		c := byType[RDPConnectRequest].Client
		if c == nil || c.Version != "v10.7" || c.ClientName == "" || c.Build != "unknown" {
			t.Errorf("client %+v", c)
		}
		if ch := byType[RDPConnectRequest].Channels; !slices.Contains(ch, "rdpdr") {
			t.Errorf("channels %q", ch)
		}
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark not installed: fields not compared with its dissection")
		return
	}
	ts := tsharkFields(t, file, nil, "rdp.rt_cookie", "rdp.negReq.selectedProtocol", "rdp.negRsp.flags",
		"rdp.client.name", "rdp.desktop.width", "rdp.desktop.height", "rdp.keyboardLayout", "rdp.client.build", "rdp.name")
	// tshark leaves what follows the negotiation to TPKT unless told it is TLS.
	for k, v := range tsharkFields(t, file, []string{"-d", "tcp.port==3389,tls"}, "x509af.serialNumber") {
		ts[k] = v
	}
	t.Logf("tshark: %v", ts)
	if got, w := byType[RDPInitialRequest].Cookie, strings.TrimSpace(strings.TrimPrefix(ts["rdp.rt_cookie"], "Cookie: mstshash=")); got != w {
		t.Errorf("cookie %q, tshark %q", got, w)
	}
	if sec == "tls" {
		sel, _ := strconv.ParseUint(strings.TrimPrefix(ts["rdp.negReq.selectedProtocol"], "0x"), 16, 32)
		flags, _ := strconv.ParseUint(strings.TrimPrefix(ts["rdp.negRsp.flags"], "0x"), 16, 8)
		r := byType[RDPInitialResponse]
		if r.Protocol != rdpProtocols[uint32(sel)] || !slices.Equal(r.ServerSupports, namedBits(uint32(flags), rdpResponseFlags)) {
			t.Errorf("initial_response %+v, tshark selectedProtocol %d flags %#x", r, sel, flags)
		}
		if got, w := strings.Join(byType[RDPTLSHandshake].X509Serials, ","), strings.ReplaceAll(ts["x509af.serialNumber"], ":", ""); got != strings.TrimLeft(w, "0") {
			t.Errorf("x509_serials %s, tshark %s", got, w)
		}
		return
	}
	r := byType[RDPConnectRequest]
	layout, _ := strconv.ParseUint(ts["rdp.keyboardLayout"], 10, 32)
	tw := fmt.Sprintf("%s %s %s %s", ts["rdp.client.name"], ts["rdp.desktop.width"], ts["rdp.desktop.height"], lcidName(uint32(layout)))
	if gw := fmt.Sprintf("%s %d %d %s", r.Client.ClientName, r.Client.DesktopWidth, r.Client.DesktopHeight, r.Client.KeyboardLayout); gw != tw {
		t.Errorf("client %q, tshark %q", gw, tw)
	}
	if got, w := strings.Join(r.Channels, ","), ts["rdp.name"]; got != w {
		t.Errorf("channels %s, tshark %s", got, w)
	}
}

// TestRDPLiveCapture connects xfreerdp to xrdp in the lab's namespaces
// (client to victim) with TLS and with standard RDP security, records both
// with tcpdump and checks them as the committed captures are checked, the
// TLS one against the serial of the certificate it gave xrdp.
func TestRDPLiveCapture(t *testing.T) {
	lab.Need(t, "xrdp", "xfreerdp", "Xvfb", "tcpdump")
	if _, err := os.Stat("/etc/xrdp/xrdp.ini"); err != nil {
		t.Skipf("xrdp's configuration is missing: %v", err)
	}
	l := lab.New(t)

	// A certificate of our own, so the serial is known.
	serial := new(big.Int).SetBytes([]byte{0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "victim.lab"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(l.Dir, "rdp-cert.pem"), filepath.Join(l.Dir, "rdp-key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)

	ini, err := os.ReadFile("/etc/xrdp/xrdp.ini")
	if err != nil {
		t.Fatal(err)
	}
	var cfg []string
	for _, line := range strings.Split(string(ini), "\n") {
		k, _, _ := strings.Cut(line, "=")
		switch k {
		case "security_layer":
			line = "security_layer=negotiate"
		case "ssl_protocols":
			line = "ssl_protocols=TLSv1.2" // under TLS 1.3 the certificate is encrypted
		case "certificate":
			line = "certificate=" + certPath
		case "key_file":
			line = "key_file=" + keyPath
		case "LogFile":
			line = "LogFile=" + filepath.Join(l.Dir, "xrdp-server.log")
		case "EnableSyslog":
			line = "EnableSyslog=false"
		}
		cfg = append(cfg, line)
	}
	iniPath := filepath.Join(l.Dir, "xrdp.ini")
	if err := os.WriteFile(iniPath, []byte(strings.Join(cfg, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	l.Start(l.Victim.NS, "xrdp", "--nodaemon", "--config", iniPath)
	l.WaitPort("tcp", lab.VictimAddr, 3389)

	// xfreerdp opens an X display even to authenticate only.
	display := -1
	for n := 71; n < 120; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); os.IsNotExist(err) {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); os.IsNotExist(err) {
				display = n
				break
			}
		}
	}
	if display < 0 {
		t.Skip("no free X display number")
	}
	l.Start(l.Client.NS, "Xvfb", fmt.Sprintf(":%d", display), "-nolisten", "tcp")
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", display)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, sec := range []string{"tls", "rdp"} {
		path := filepath.Join(l.Dir, "rdp-"+sec+".pcap")
		stop := l.Capture(path)
		out, err := l.Run(l.Client.NS, 30*time.Second, "env", "DISPLAY=:"+strconv.Itoa(display), "HOME="+l.Dir,
			"xfreerdp", "/v:"+lab.VictimAddr.String(), "/u:alice", "/p:not-the-password", "/cert:ignore", "+auth-only",
			"/sec:"+sec, "/client-hostname:labclient", "/size:1280x800", "/kbd:0x409")
		stop()
		t.Logf("xfreerdp /sec:%s: %v\n%s", sec, err, tail(out))
		t.Run(sec, func(t *testing.T) {
			s := ""
			if sec == "tls" {
				s = serial.Text(16)
			}
			checkRDPCapture(t, path, sec, s)
		})
		if os.Getenv("OPSDECK_RDP_RECORD") != "" {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(rdpCaptures[sec], data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// tsharkFields returns the first non-empty value of each field in
// tshark's dissection of a capture (a field's occurrences in one frame
// joined by commas).
func tsharkFields(t *testing.T, file string, extra []string, fields ...string) map[string]string {
	t.Helper()
	args := append([]string{"-n", "-r", file}, extra...)
	args = append(args, "-T", "fields", "-E", "separator=|", "-E", "aggregator=,")
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command("tshark", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %q: %v: %s", args, err, stderr.String())
	}
	ts := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		for i, v := range strings.Split(l, "|") {
			if v != "" && i < len(fields) && ts[fields[i]] == "" {
				ts[fields[i]] = v
			}
		}
	}
	return ts
}

// tail is the end of a program's output, for the log.
func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
