package system

import (
	"strings"
	"testing"
)

const (
	snmpSample = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n" +
		"Tcp: 1 200 120000 -1 93718 23075 70204 10909 3 697644 698260 360 0 82237 0\n" +
		"Udp: InDatagrams NoPorts\nUdp: 5 6\n"
	sockstatSample = "sockets: used 12\nTCP: inuse 1 orphan 0 tw 2 alloc 4 mem 187\nUDP: inuse 0 mem 256\n"
)

func TestParseTCPSig(t *testing.T) {
	sig, err := parseTCPSig([]byte(snmpSample), []byte(sockstatSample))
	if err != nil {
		t.Fatal(err)
	}
	if want := (tcpSig{93718, 23075, 70204, 10909, 3, 1, 0, 2, 4}); sig != want {
		t.Errorf("signature %v, want %v", sig, want)
	}
	// Traffic alone (segments, buffer memory) does not change it.
	busySNMP := strings.Replace(snmpSample, "697644 698260 360", "797644 798260 361", 1)
	busy, err := parseTCPSig([]byte(busySNMP), []byte("TCP: inuse 1 orphan 0 tw 2 alloc 4 mem 900\n"))
	if err != nil {
		t.Fatal(err)
	}
	if busy != sig {
		t.Errorf("traffic changed the signature: %v, was %v", busy, sig)
	}
	for _, c := range []struct{ name, snmp, sockstat string }{
		{"empty", "", ""},
		{"no values line", "Tcp: ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab\n", sockstatSample},
		{"short values", "Tcp: ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab\nTcp: 1 2 3\n", sockstatSample},
		{"not a number", "Tcp: ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab\nTcp: 1 2 x 4 5\n", sockstatSample},
		{"no sockstat", snmpSample, "UDP: inuse 0\n"},
		{"sockstat odd", snmpSample, "TCP: inuse 1 orphan\n"},
	} {
		if _, err := parseTCPSig([]byte(c.snmp), []byte(c.sockstat)); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func FuzzParseTCPSig(f *testing.F) {
	f.Add([]byte(snmpSample), []byte(sockstatSample))
	f.Add([]byte("Tcp: a\nTcp: 1\n"), []byte("TCP: inuse -1"))
	f.Fuzz(func(t *testing.T, snmp, sockstat []byte) {
		a, errA := parseTCPSig(snmp, sockstat)
		b, errB := parseTCPSig(snmp, sockstat)
		if a != b || (errA == nil) != (errB == nil) {
			t.Fatal("not deterministic")
		}
	})
}
