package main

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/muesli/termenv"
	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/gen"
	"github.com/opsdeck/opsdeck/internal/pcapfile"
	"github.com/opsdeck/opsdeck/internal/pump"
	"github.com/opsdeck/opsdeck/internal/testpkt"
	"github.com/opsdeck/opsdeck/tui"
)

// hostile carries CSI, OSC (title, clipboard), DCS, C1 and bidi controls.
const hostile = "\x1b[2J\x1b]0;owned\x07\x1b]52;c;cm0gLXJm\x1b\\\x1bP+q\x1b\\\u009b1m\u202e"

// pcapBuilder writes TCP and UDP conversations to a pcap file.
type pcapBuilder struct {
	t   *testing.T
	w   *pcapfile.Writer
	ts  time.Time
	seq map[string]uint32
}

func (b *pcapBuilder) write(ls ...gopacket.SerializableLayer) {
	data := testpkt.Frame(b.t, ls...)
	b.ts = b.ts.Add(10 * time.Millisecond)
	if err := b.w.WritePacket(b.ts, data, len(data)); err != nil {
		b.t.Fatal(err)
	}
}

func (b *pcapBuilder) ip(src, dst string, proto layers.IPProtocol) (*layers.Ethernet, *layers.IPv4) {
	return &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func (b *pcapBuilder) tcp(src, dst string, sport, dport uint16, flags string, payload []byte) {
	eth, ip := b.ip(src, dst, layers.IPProtocolTCP)
	k := src + dst
	t := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: b.seq[k], Window: 65000,
		SYN: strings.Contains(flags, "S"), ACK: strings.Contains(flags, "A"), PSH: len(payload) > 0}
	if t.ACK {
		t.Ack = b.seq[dst+src]
	}
	t.SetNetworkLayerForChecksum(ip)
	b.seq[k] += uint32(len(payload))
	if t.SYN {
		b.seq[k]++
	}
	b.write(eth, ip, t, gopacket.Payload(payload))
}

// session is a TCP handshake followed by alternating client/server payloads.
func (b *pcapBuilder) session(c, s string, cport, sport uint16, msgs ...string) {
	b.tcp(c, s, cport, sport, "S", nil)
	b.tcp(s, c, sport, cport, "SA", nil)
	b.tcp(c, s, cport, sport, "A", nil)
	for i, m := range msgs {
		if i%2 == 0 {
			b.tcp(c, s, cport, sport, "A", []byte(m))
		} else {
			b.tcp(s, c, sport, cport, "A", []byte(m))
		}
	}
}

// writeHostileCapture builds a capture whose DNS names, HTTP headers, TLS
// SNI and FTP user carry terminal escape sequences.
func writeHostileCapture(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapfile.NewWriter(f, 1, 65535) // Ethernet
	if err != nil {
		t.Fatal(err)
	}
	b := &pcapBuilder{t: t, w: w, ts: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), seq: map[string]uint32{}}
	// DNS query and answer for a name with escapes in a label.
	name := []byte("evil" + hostile + ".example.com")
	for i, resp := range []bool{false, true} {
		eth, ip := b.ip("10.0.0.2", "10.0.0.53", layers.IPProtocolUDP)
		sp, dp := uint16(40000), uint16(53)
		if resp {
			eth, ip = b.ip("10.0.0.53", "10.0.0.2", layers.IPProtocolUDP)
			sp, dp = dp, sp
		}
		udp := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		udp.SetNetworkLayerForChecksum(ip)
		dns := &layers.DNS{ID: 7, QR: resp, RD: true, Questions: []layers.DNSQuestion{{Name: name, Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		if resp {
			dns.Answers = []layers.DNSResourceRecord{{Name: name, Type: layers.DNSTypeCNAME, Class: layers.DNSClassIN, TTL: 60, CNAME: []byte("c" + hostile + ".example.net")}}
		}
		_ = i
		b.write(eth, ip, udp, dns)
	}
	b.session("10.0.0.2", "10.0.0.80", 41000, 80,
		"GET /a"+hostile+" HTTP/1.1\r\nHost: www"+hostile+".example\r\nUser-Agent: curl"+hostile+"\r\nAuthorization: Basic dXNlcgo=\r\n\r\n",
		"HTTP/1.1 200 OK\r\nServer: x"+hostile+"\r\nContent-Length: 0\r\n\r\n")
	r := rand.New(rand.NewPCG(1, 2))
	b.session("10.0.0.2", "10.0.0.43", 41001, 443, string(gen.ClientHello("sni"+hostile+".example", r)), string(gen.ServerHello(r)))
	b.session("10.0.0.2", "10.0.0.21", 41002, 21, "", "220 ftp"+hostile+" ready\r\n",
		"USER adm"+hostile+"in\r\n", "331 password\r\n", "PASS secret\r\n", "530 Login incorrect\r\n")
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestReplayHostileStrings replays the hostile capture through the engine
// and the console and checks that no control character reaches the screen.
func TestReplayHostileStrings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hostile.pcap")
	writeHostileCapture(t, path)
	eng := engine.New(engine.DefaultConfig(), nil)
	replayFile(t, eng, path)
	snap := eng.Snapshot(engine.SnapshotOptions{Flows: 100, Talkers: 100, Alerts: 100, Events: 100})
	if snap.Source.State != "finished" {
		t.Fatalf("source state %q", snap.Source.State)
	}
	kinds := map[string]bool{}
	raw := false
	for _, e := range snap.Events {
		kinds[e.Kind] = true
		summary, detail := tui.EventLine(&e, false)
		raw = raw || strings.Contains(summary+detail, "\x1b")
	}
	if !raw {
		t.Fatalf("no event carries the escape sequence, the test would prove nothing: %+v", snap.Events)
	}
	t.Logf("event kinds: %v", kinds)
	for _, prof := range []termenv.Profile{termenv.Ascii, termenv.TrueColor} {
		r := lipgloss.NewRenderer(os.Stderr)
		r.SetColorProfile(prof)
		m, err := tui.New(tui.Options{Renderer: r, Snapshot: func() *engine.Snapshot { return snap }})
		if err != nil {
			t.Fatal(err)
		}
		m.Update(tui.SnapshotMsg{Snap: snap})
		m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
		var screens []string
		send := func(keys ...string) {
			for _, k := range keys {
				msg := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
				switch k {
				case "enter":
					msg = tea.KeyMsg{Type: tea.KeyEnter}
				case "esc":
					msg = tea.KeyMsg{Type: tea.KeyEsc}
				case "down":
					msg = tea.KeyMsg{Type: tea.KeyDown}
				}
				if _, cmd := m.Update(msg); cmd != nil && k == "enter" {
					m.Update(cmd())
				}
				screens = append(screens, m.View())
			}
		}
		send("5", "z")
		for range snap.Events {
			send("enter", "esc", "down")
		}
		send("z", "3")
		for range 4 {
			send("v", "enter", "esc")
		}
		send("4", "enter", "esc")
		joined := strings.Join(screens, "\n")
		if !strings.Contains(joined, `\x1b[2J`) {
			t.Errorf("escaped text not shown; screens:\n%s", screens[1])
		}
		rest := joined
		if prof != termenv.Ascii {
			rest = sgr.ReplaceAllString(joined, "")
		}
		for i := 0; i < len(rest); i++ {
			if c := rest[i]; (c < 0x20 && c != '\n') || c == 0x7f {
				t.Fatalf("profile %v: control byte %#x reached the screen near %q", prof, c, rest[max(i-30, 0):min(i+30, len(rest))])
			}
		}
		for _, bad := range []string{"\u009b", "\u202e"} {
			if strings.Contains(rest, bad) {
				t.Fatalf("profile %v: %q reached the screen", prof, bad)
			}
		}
	}
}

// replayFile replays a capture file through eng as the console's -r does
// (as fast as possible), to its end.
func replayFile(t *testing.T, eng *engine.Engine, path string) {
	t.Helper()
	p := pump.New(eng, pump.Options{Input: &pump.Files{Names: []string{path}}, Settle: true})
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("replay %s: %v", path, err)
	}
}
