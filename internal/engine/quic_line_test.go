package engine

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/gopacket/pcapgo"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// TestQUICProtocolLog: the console's protocol log shows a QUIC client's
// SNI and ALPN as it shows a TLS SNI, here from quic-go's v1 and v2
// connections recorded on loopback.
func TestQUICProtocolLog(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "proto", "testdata", "quic-go-loopback.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	e := New(DefaultConfig(), nil)
	for n := uint64(1); ; n++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		e.HandleFrame(packet.LinkEthernet, data, ci.Timestamp, ci.Length, n)
	}
	e.Finish()
	var lines []string
	for _, ev := range e.Snapshot(SnapshotOptions{Events: 20}).Events {
		if ev.Kind == "quic" {
			lines = append(lines, ev.Summary+" | "+ev.Detail)
		}
	}
	for _, want := range []string{"quic.opsdeck.test | QUIC v1 opsdeck-test", "quic.opsdeck.test | QUIC v2 opsdeck-test", "server hello | QUIC v1"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no %q in the protocol log: %q", want, lines)
		}
	}
}
