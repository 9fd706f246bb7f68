package proto

import (
	"encoding/json"
	"testing"
)

func TestSSHCorpus(t *testing.T) {
	evs := ofType(runPcap(t, "suricata-verify/ssh-hassh.pcap", &Config{}), "ssh")
	if len(evs) != 1 {
		t.Fatalf("got %d ssh events, want 1", len(evs))
	}
	s, ok := evs[0].Body.(*SSH)
	if !ok {
		t.Fatalf("ssh event body %T, want *SSH", evs[0].Body)
	}
	if s.Client.SoftwareVersion != "OpenSSH_for_Windows_7.7" || s.Server.SoftwareVersion != "OpenSSH_7.4" ||
		s.Client.ProtoVersion != "2.0" || s.Server.ProtoVersion != "2.0" {
		t.Errorf("banners %+v / %+v", s.Client, s.Server)
	}
	if s.Client.HASSH == nil || s.Client.HASSH.Hash != "2dd6531c7e89d3c925db9214711be76a" {
		t.Errorf("client hassh %+v", s.Client.HASSH)
	}
	if s.Server.HASSH == nil || s.Server.HASSH.Hash != "6832f1ce43d4397c2c0a3e2f8c94334e" {
		t.Errorf("server hassh %+v", s.Server.HASSH)
	}
	sum, detail := s.Line()
	if sum != "OpenSSH_for_Windows_7.7 -> OpenSSH_7.4" || detail != "" {
		t.Errorf("console line %q / %q", sum, detail)
	}
}

// TestSSHRecordEVE: the ssh record's EVE object is Suricata's ssh object
// (client and server with proto_version, software_version, hassh), with a
// side that sent no banner left as {}.
func TestSSHRecordEVE(t *testing.T) {
	s := &SSH{Client: SSHSide{ProtoVersion: "2.0", SoftwareVersion: "OpenSSH_9.6", HASSH: &HASSH{Hash: "h", String: "a;b<c"}}}
	if s.EventType() != "ssh" {
		t.Errorf("event type %q", s.EventType())
	}
	b, err := s.AppendEVE([]byte(`x`), EVEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `x{"client":{"proto_version":"2.0","software_version":"OpenSSH_9.6","hassh":{"hash":"h","string":"a;b\u003cc"}},"server":{}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if !json.Valid(b[1:]) {
		t.Errorf("not JSON: %s", b[1:])
	}
}
