package main

import (
	"bytes"
	"path/filepath"
	"testing"
)

// quicCapture is quic-go clients and server on loopback, one connection in
// QUIC v1 and one in v2 (internal/proto's TestQUICLiveCapture records it).
var quicCapture = filepath.Join("..", "..", "internal", "proto", "testdata", "quic-go-loopback.pcap")

// TestAnalyzeQUIC: "opsdeck analyze" on a real QUIC capture writes quic
// events with the client's SNI, fingerprints and extensions, and both
// flows say app_proto quic.
func TestAnalyzeQUIC(t *testing.T) {
	recs, err := analyze(t, quicCapture)
	if err != nil {
		t.Fatal(err)
	}
	flows := ofType(recs, "flow")
	if len(flows) != 2 {
		t.Fatalf("%d flows, want 2", len(flows))
	}
	for _, f := range flows {
		if f.str("app_proto") != "quic" || f.str("proto") != "UDP" {
			t.Errorf("flow %v: app_proto %q proto %q", f["flow_id"], f.str("app_proto"), f.str("proto"))
		}
	}
	hellos := map[string]record{}
	for _, q := range ofType(recs, "quic") {
		if q.str("quic.version") == "" {
			t.Errorf("quic event without version: %v", q)
		}
		if q.str("quic.sni") != "" {
			// The engine sets a flow's app_proto after the packet that
			// decided it, which is the first one; the hello comes later.
			if q.str("app_proto") != "quic" {
				t.Errorf("hello without app_proto quic: %v", q)
			}
			hellos[q.str("quic.version")] = q
		}
	}
	for _, v := range []string{"1", "6b3343cf"} {
		h, ok := hellos[v]
		if !ok {
			t.Errorf("no client hello logged for version %s", v)
			continue
		}
		if h.str("quic.sni") != "quic.opsdeck.test" || h.str("dest_port") != "4433" ||
			h.str("quic.ja3.hash") == "" || h.str("quic.ja4")[:1] != "q" ||
			h.str("quic.extensions[0].name") != "server_name" || h.str("quic.extensions[0].values[0]") != "quic.opsdeck.test" {
			t.Errorf("version %s hello: %v", v, h)
		}
	}
}

// TestQUICEVEValidatesAgainstSuricataSchema: every record written for the
// QUIC capture validates against Suricata's EVE schema, quic events
// included.
func TestQUICEVEValidatesAgainstSuricataSchema(t *testing.T) {
	s := suricataSchema(t)
	for _, extra := range [][]string{nil, {"--sensor-name", "sensor-1"}} {
		var out bytes.Buffer
		args := append(append([]string{}, extra...), quicCapture)
		if err := cmdAnalyze(args, &out); err != nil {
			t.Fatalf("analyze %v: %v", args, err)
		}
		if !bytes.Contains(out.Bytes(), []byte(`"event_type":"quic"`)) {
			t.Fatal("no quic event to validate")
		}
		n, problems := validateEVE(t, s, out.Bytes())
		for p, c := range problems {
			t.Errorf("%v: %d records: %s", extra, c, p)
		}
		t.Logf("%d records validated", n)
	}
}
