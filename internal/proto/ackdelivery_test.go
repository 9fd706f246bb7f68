package proto

import (
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// Suricata hands TCP data to its parsers when the other side acknowledges
// it, so a protocol event carries the frame number of that ACK. These are
// the frame numbers Suricata's own expected output (suricata-verify) or the
// capture's ACKs (tshark -e tcp.ack) give for the corpus captures.
func TestEventsAtTheAcknowledgingFrame(t *testing.T) {
	tests := []struct {
		file, typ string
		cnt       uint64
		why       string
	}{
		// suricata-verify tests/tls/tls12-sni-flow-bug-2646-01: pcap_cnt 12,
		// the client's ACK of the segment (frame 11) ending in ServerHelloDone.
		{"suricata-verify/tls12-sni-flow-bug-2646-01.pcap", "tls", 12, "Suricata's expected pcap_cnt"},
		// The server's ServerHello (frame 6) is acknowledged by frame 7.
		{"suricata-verify/tls13-sni-community-id-ipv4.pcap", "tls", 7, "the ServerHello's ACK"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			evs := ofType(runPcap(t, tt.file, &Config{}), tt.typ)
			if len(evs) == 0 {
				t.Fatalf("no %s event", tt.typ)
			}
			if evs[0].PcapCnt != tt.cnt {
				t.Errorf("%s event at frame %d, want %d (%s)", tt.typ, evs[0].PcapCnt, tt.cnt, tt.why)
			}
		})
	}
}

// oneSide keeps the packets of one direction of a capture's TCP flows.
func oneSide(pkts []packet.Summary, serverPort uint16, toServer bool) []packet.Summary {
	var out []packet.Summary
	for _, s := range pkts {
		if (toServer && s.DstPort == serverPort) || (!toServer && s.SrcPort == serverPort) {
			out = append(out, s)
		}
	}
	return out
}

// A capture that saw only one direction has no ACKs for its data: the
// events still come, at once when the session's SYN was seen (Suricata's
// async session) and at flow end otherwise, without a frame number as
// Suricata's flow-end pseudo packet has none.
func TestOneSidedCaptures(t *testing.T) {
	tls := readPcap(t, "suricata-verify/tls12-sni-flow-bug-2646-01.pcap")
	http := readPcap(t, "suricata-verify/http-host-flow-bug-78.pcap")
	tests := []struct {
		name  string
		pkts  []packet.Summary
		typ   string
		check func(e got) bool
	}{
		{"client side of TLS, SYN seen", oneSide(tls, 443, true), "tls",
			func(e got) bool { return e.TLS.SNI == "raw.githubusercontent.com" },
		},
		{"server side of TLS, SYN/ACK seen", oneSide(tls, 443, false), "tls",
			func(e got) bool { return e.TLS.Subject != "" },
		},
		{"client side of HTTP", oneSide(http, 80, true), "http",
			func(e got) bool { return e.HTTP.Hostname != "" && e.HTTP.URL != "" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := ofType(runSummaries(tt.pkts, &Config{}), tt.typ)
			if len(evs) == 0 {
				t.Fatalf("no %s event from a one-sided capture", tt.typ)
			}
			if !tt.check(evs[0]) {
				t.Errorf("event lacks its fields: %+v", evs[0].Event)
			}
		})
	}
}

// The bytes waiting for an ACK count against the shared budget and come
// back when the flow closes, unacknowledged or not.
func TestPendingBytesCharged(t *testing.T) {
	b := &Budget{}
	cfg := &Config{Budget: b}
	st := &State{}
	st.Sync(true, 1)
	st.Sync(false, 1)
	p := seg1(80, 1, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	var evs int
	st.Packet(cfg, true, &p, func(*Event) { evs++ })
	if b.Stats().Memuse == 0 {
		t.Fatal("bytes waiting for the server's ACK are not charged")
	}
	if st.AppProto() != "" {
		t.Fatal("data parsed before the other side acknowledged it")
	}
	ack := packet.Summary{IPVersion: 4, Proto: packet.ProtoTCP, HasL4: true, TCPFlags: packet.TCPAck,
		Src: p.Dst, Dst: p.Src, SrcPort: 80, DstPort: 40000, Seq: 1, Ack: 1 + uint32(len(p.Payload))}
	st.Packet(cfg, false, &ack, func(*Event) { evs++ })
	if st.AppProto() != "http" {
		t.Fatalf("app_proto %q after the ACK, want http", st.AppProto())
	}
	st.Close(cfg, func(*Event) { evs++ })
	if evs != 1 {
		t.Errorf("%d events, want the request logged at flow end", evs)
	}
	if u := b.Stats().Memuse; u != 0 {
		t.Fatalf("%d bytes charged after Close", u)
	}
}
