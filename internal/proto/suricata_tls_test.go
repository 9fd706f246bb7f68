package proto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// TestTLSVersionNamesAsSuricata: the names of Suricata's SSLVersionToString,
// which writes "TLSv1" for 1.0 and "TLS 1.2" for 1.2.
func TestTLSVersionNamesAsSuricata(t *testing.T) {
	for _, c := range []struct {
		v    uint16
		want string
	}{
		{0, "UNDETERMINED"}, {0x0200, "SSLv2"}, {0x0300, "SSLv3"}, {0x0301, "TLSv1"},
		{0x0302, "TLS 1.1"}, {0x0303, "TLS 1.2"}, {0x0304, "TLS 1.3"},
		{0x7f1c, "TLS 1.3 draft-28"}, {0x7f10, "TLS 1.3 draft-16"}, {0x7f0e, "TLS 1.3 draft-<16"},
		{0xfb17, "TLS 1.3 draft-23-fb"}, {0x1234, "0x1234"}, {0x7f2a, "0x7f2a"},
	} {
		if got := TLSVersionName(c.v); got != c.want {
			t.Errorf("TLSVersionName(%#04x) = %q, want %q", c.v, got, c.want)
		}
	}
}

// TestTLSDNNamesAsSuricata: a certificate made by crypto/x509 with an
// emailAddress attribute is logged with Suricata's (x509-parser's) "Email".
func TestTLSDNNamesAsSuricata(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	email := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	name := pkix.Name{
		Country: []string{"US"}, Organization: []string{"Example"}, CommonName: "ca.example",
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: email, Value: "ops@example.com"}},
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: name, Issuer: name,
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	var info TLS
	certFields(&info, der)
	const want = "C=US, O=Example, CN=ca.example, Email=ops@example.com"
	if info.Subject != want || info.IssuerDN != want {
		t.Errorf("subject %q issuer %q, want %q", info.Subject, info.IssuerDN, want)
	}
}
