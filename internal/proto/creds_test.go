package proto

import (
	"encoding/base64"
	"encoding/binary"
	"reflect"
	"testing"
)

// credsOf runs a capture and returns its credentials with their replies.
func credsOf(evs []got) []credWant {
	var out []credWant
	for _, e := range ofType(evs, "credential") {
		c := e.Cred
		out = append(out, credWant{c.Protocol, c.User, c.Password, c.Outcome})
	}
	return out
}

// Issue 15: the credential extractors on real clients' logins, recorded on
// loopback by scripts/mkcreds.py: poplib and imaplib (SASL XOAUTH2 and
// PLAIN), curl -d and --json (form and JSON logins; a search form and a
// multipart upload are no login), curl through a SOCKS5 proxy (RFC 1929), redis-cli (AUTH,
// AUTH user pass), ldapsearch -x (simple binds; the anonymous one gives
// nothing) and psql (a cleartext password). Each is detected by content
// on a port that is not its own.
func TestCredentialExtractorsCorpus(t *testing.T) {
	for _, tt := range []struct {
		file string
		port uint16
		app  string // the last flow's app_proto
		want []credWant
	}{
		{"creds/pop3-xoauth2.pcap", 18110, "pop3", []credWant{
			{"pop3", "alice@lab.test", "ya29.lab-token-0123456789", "success"},
			{"pop3", "bob@lab.test", "ya29.expired", "failure"},
			{"pop3", "carol", "secret", "success"}}},
		{"creds/imap-xoauth2.pcap", 18143, "imap", []credWant{
			{"imap", "dave@lab.test", "ya29.lab-token-0123456789", "success"},
			{"imap", "erin@lab.test", "ya29.revoked", "failure"}}},
		{"creds/http-form.pcap", 18081, "http", []credWant{
			{"http", "admin", "secret", "unknown"},
			{"http", "admin", "hunter2", "unknown"},
			{"http", "eve@lab.test", "p&ss w=rd", "failure"},
			{"http", "api@lab.test", "secret", "unknown"}}},
		{"creds/socks5-auth.pcap", 18108, "socks5", []credWant{
			{"socks5", "lab", "s3cret", "success"},
			{"socks5", "lab", "wrong", "failure"}}},
		{"creds/redis-auth.pcap", 18379, "redis", []credWant{
			{"redis", "default", "secret", "success"},
			{"redis", "bob", "wrong", "failure"}}},
		{"creds/ldap-bind.pcap", 18389, "ldap", []credWant{
			{"ldap", "cn=admin,dc=lab,dc=test", "secret", "success"},
			{"ldap", "cn=admin,dc=lab,dc=test", "guess1", "failure"}}},
		{"creds/pgsql-cleartext.pcap", 18432, "pgsql", []credWant{
			{"pgsql", "app", "secret", "success"},
			{"pgsql", "app", "wrong", "failure"}}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			pkts := readPcap(t, tt.file)
			if got := credsOf(runSummaries(pkts, &Config{})); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("credentials\n got %v\nwant %v", got, tt.want)
			}
			if got := appProtos(pkts, &Config{})[tt.port]; got != tt.app {
				t.Errorf("app_proto %q, want %q", got, tt.app)
			}
		})
	}
}

// The replies travel with the credentials: what the server said decides
// the outcome, and a form's status is kept even when it decides nothing.
func TestCredentialReplies(t *testing.T) {
	var replies []string
	for _, f := range []string{"creds/http-form.pcap", "creds/redis-auth.pcap", "creds/ldap-bind.pcap", "creds/pgsql-cleartext.pcap", "creds/socks5-auth.pcap"} {
		for _, e := range ofType(runPcap(t, f, &Config{}), "credential") {
			replies = append(replies, e.Cred.Reply)
		}
	}
	want := []string{"302", "200", "401", "302", "+OK", "-WRONGPASS", "success", "invalidCredentials", "AuthenticationOk", "28P01", "0", "1"}
	if !reflect.DeepEqual(replies, want) {
		t.Errorf("replies %q, want %q", replies, want)
	}
}

// A SOCKS5 CONNECT that the proxy grants is a tunnel: curl's request
// through it is logged as http, as through an HTTP CONNECT tunnel.
func TestSOCKS5TunnelDetectedAfresh(t *testing.T) {
	evs := ofType(runPcap(t, "creds/socks5-auth.pcap", &Config{}), "http")
	if len(evs) != 1 || evs[0].HTTP.Method != "GET" || evs[0].HTTP.URL != "/" || evs[0].HTTP.Status != 200 {
		t.Fatalf("http through the tunnel: %+v", evs)
	}
	// Without authentication (method 0) the tunnel is found the same way,
	// and no credential is made up.
	req := "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"
	out := runStream(&State{}, &Config{}, stream(40000, 1080, []seg{
		{true, "\x05\x01\x00"}, {false, "\x05\x00"}, {true, req}, {false, "\x05\x00\x00\x01\x7f\x00\x00\x01\x9c\x40"},
		{true, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"}, {false, "HTTP/1.1 204 No Content\r\n\r\n"}}))
	var types []string
	for _, e := range out {
		types = append(types, e.Type)
	}
	if !reflect.DeepEqual(types, []string{"http"}) {
		t.Errorf("events %v, want one http", types)
	}
}

// Issue 18: PostgreSQL's SSLRequest answered 'S' and LDAP's StartTLS
// answered success hand the connection to TLS: psql (sslmode=require) and
// ldapsearch -ZZ, recorded by scripts/mkcreds.py; tshark dissects the
// ClientHello after each.
func TestPgsqlLDAPUpgradeCorpus(t *testing.T) {
	for _, tt := range []struct {
		file string
		port uint16
	}{
		{"creds/pgsql-sslrequest.pcap", 18433},
		{"creds/ldap-starttls.pcap", 18390},
	} {
		t.Run(tt.file, func(t *testing.T) {
			pkts := readPcap(t, tt.file)
			evs := runSummaries(pkts, &Config{})
			tls := ofType(evs, "tls")
			if len(tls) != 1 || tls[0].TLS.Version != "TLS 1.3" || tls[0].TLS.JA3 == nil || tls[0].TLS.JA4 == "" {
				t.Fatalf("tls events %+v", tls)
			}
			if c := ofType(evs, "credential"); len(c) != 0 {
				t.Errorf("credentials inside TLS: %+v", c)
			}
			if got := appProtos(pkts, &Config{})[tt.port]; got != "tls" {
				t.Errorf("app_proto %q after the upgrade, want tls", got)
			}
		})
	}
}

// ldapMsg builds an LDAPMessage: SEQUENCE { INTEGER id, op }.
func ldapMsg(id byte, op byte, content string) string {
	body := string([]byte{berInteger, 1, id}) + ber(op, content)
	return ber(berSequence, body)
}

func ber(tag byte, content string) string {
	if len(content) < 0x80 {
		return string([]byte{tag, byte(len(content))}) + content
	}
	return string([]byte{tag, 0x82, byte(len(content) >> 8), byte(len(content))}) + content
}

func ldapResult(code byte) string {
	return ber(berEnumerated, string([]byte{code})) + ber(berOctetString, "") + ber(berOctetString, "")
}

func pgMsg(typ byte, body string) string {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(body)+4))
	return string([]byte{typ}) + string(l[:]) + body
}

func pgUntyped(code uint32, body string) string {
	var h [8]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(body)+8))
	binary.BigEndian.PutUint32(h[4:], code)
	return string(h[:]) + body
}

// Exact bytes for what the captures do not show: refused upgrades, SASL
// PLAIN over LDAP, Redis inline commands and HELLO, OAUTHBEARER, binds
// without a secret.
func TestCredentialExtractorsBytes(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name string
		port uint16
		segs []seg
		want []credWant
		app  string
	}{
		{"redis inline on 6379", 6379, []seg{{true, "AUTH hunter2\r\n"}, {false, "-ERR invalid password\r\n"}, {true, "PING\r\n"}, {false, "-NOAUTH Authentication required.\r\n"}},
			[]credWant{{"redis", "default", "hunter2", "failure"}}, "redis"},
		{"redis HELLO AUTH", 7000, []seg{{true, "*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$3\r\nops\r\n$2\r\npw\r\n"}, {false, "%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n"}},
			[]credWant{{"redis", "ops", "pw", "success"}}, "redis"},
		{"redis reply before a long value", 7001, []seg{{true, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$600\r\n" + string(make([]byte, 600)) + "\r\n*2\r\n$4\r\nAUTH\r\n$1\r\np\r\n"}, {false, "+OK\r\n-WRONGPASS no\r\n"}},
			[]credWant{{"redis", "default", "p", "failure"}}, "redis"},
		{"imap OAUTHBEARER", 143, []seg{{false, "* OK ready\r\n"}, {true, "a AUTHENTICATE OAUTHBEARER " + b64("n,a=kim@lab.test,\x01host=mail\x01port=143\x01auth=Bearer tok123\x01\x01") + "\r\n"}, {false, "a OK done\r\n"}},
			[]credWant{{"imap", "kim@lab.test", "tok123", "success"}}, "imap"},
		{"smtp XOAUTH2 after a challenge", 25, []seg{{false, "220 mx ESMTP\r\n"}, {true, "AUTH XOAUTH2\r\n"}, {false, "334 \r\n"}, {true, b64("user=lee\x01auth=Bearer t0k\x01\x01") + "\r\n"}, {false, "235 2.7.0 Accepted\r\n"}},
			[]credWant{{"smtp", "lee", "t0k", "success"}}, "smtp"},
		{"ldap SASL PLAIN", 3890, []seg{{true, ldapMsg(1, ldapBindRequest, ber(berInteger, "\x03")+ber(berOctetString, "")+ber(ldapAuthSASL, ber(berOctetString, "PLAIN")+ber(berOctetString, "\x00max\x00pw1")))}, {false, ldapMsg(1, ldapBindResponse, ldapResult(49))}},
			[]credWant{{"ldap", "max", "pw1", "failure"}}, "ldap"},
		{"ldap anonymous and unauthenticated binds", 389, []seg{{true, ldapMsg(1, ldapBindRequest, ber(berInteger, "\x03")+ber(berOctetString, "")+ber(ldapAuthSimple, ""))}, {false, ldapMsg(1, ldapBindResponse, ldapResult(0))},
			{true, ldapMsg(2, ldapBindRequest, ber(berInteger, "\x03")+ber(berOctetString, "cn=x")+ber(ldapAuthSimple, ""))}, {false, ldapMsg(2, ldapBindResponse, ldapResult(53))}},
			nil, "ldap"},
		{"ldap StartTLS refused", 389, []seg{{true, ldapMsg(1, ldapExtRequest, ber(ldapExtRequestName, ldapStartTLSOID))}, {false, ldapMsg(1, ldapExtResponse, ldapResult(2))},
			{true, ldapMsg(2, ldapBindRequest, ber(berInteger, "\x03")+ber(berOctetString, "cn=y")+ber(ldapAuthSimple, "pw"))}, {false, ldapMsg(2, ldapBindResponse, ldapResult(0))}},
			[]credWant{{"ldap", "cn=y", "pw", "success"}}, "ldap"},
		{"pgsql SSLRequest refused", 5432, []seg{{true, pgUntyped(pgSSLRequest, "")}, {false, "N"}, {true, pgUntyped(pgProtocol3, "user\x00ann\x00database\x00d\x00\x00")},
			{false, pgMsg('R', "\x00\x00\x00\x03")}, {true, pgMsg('p', "pw2\x00")}, {false, pgMsg('R', "\x00\x00\x00\x00")}},
			[]credWant{{"pgsql", "ann", "pw2", "success"}}, "pgsql"},
		{"pgsql md5 is no cleartext", 5432, []seg{{true, pgUntyped(pgProtocol3, "user\x00ann\x00\x00")},
			{false, pgMsg('R', "\x00\x00\x00\x05salt")}, {true, pgMsg('p', "md5abcdef\x00")}, {false, pgMsg('R', "\x00\x00\x00\x00")}},
			nil, "pgsql"},
		{"socks5 refused method, sent anyway", 1080, []seg{{true, "\x05\x01\x02"}, {false, "\x05\xff"}, {true, "\x01\x01u\x01p"}},
			[]credWant{{"socks5", "u", "p", "failure"}}, "socks5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &State{}
			var gotC []credWant
			for _, e := range runStream(st, &Config{}, stream(40000, tt.port, tt.segs)) {
				if e.Cred != nil {
					gotC = append(gotC, credWant{e.Cred.Protocol, e.Cred.User, e.Cred.Password, e.Cred.Outcome})
				}
			}
			if !reflect.DeepEqual(gotC, tt.want) {
				t.Errorf("credentials\n got %v\nwant %v", gotC, tt.want)
			}
			if st.AppProto() != tt.app {
				t.Errorf("app_proto %q, want %q", st.AppProto(), tt.app)
			}
		})
	}
}

// Form fields: which names are a login's, and a form is a login only with
// both a user and a password field.
func TestFormLogin(t *testing.T) {
	for _, tt := range []struct {
		body       string
		user, pass string
		ok         bool
	}{
		{"username=a&password=b", "a", "b", true},
		{"log=admin&pwd=x&wp-submit=Log+In", "admin", "x", true},
		{"login%5Bemail%5D=e%40x&login%5Bpassword%5D=p%2Bq", "e@x", "p+q", true},
		{"j_username=u&j_password=v", "u", "v", true},
		{"user.name=u&user.password=v", "u", "v", true},
		{"email=a@b&new_password=n&password_confirmation=n", "a@b", "n", true},
		{"name=Jo+Doe&email=jo%40x&password=pw", "jo@x", "pw", true},
		{"account=acme&password=pw", "acme", "pw", true},
		{"password=only", "", "", false},
		{"q=password&page=2", "", "", false},
		{"username=&password=", "", "", false},
		{"user=a&forgot_password=1", "", "", false},
		{"user=a&pass=%zz", "a", "%zz", true},
	} {
		fc, ok := formLogin([]byte(tt.body))
		if ok != tt.ok || (ok && (fc.user != tt.user || fc.pass != tt.pass)) {
			t.Errorf("%q: %+v %v, want %q %q %v", tt.body, fc, ok, tt.user, tt.pass, tt.ok)
		}
	}
	for _, tt := range []struct {
		body       string
		user, pass string
		ok         bool
	}{
		{`{"username":"a","password":"b"}`, "a", "b", true},
		{`{"user":{"email":"e@x","password":"p"},"remember":true}`, "e@x", "p", true},
		{`{"name":"Jo","username":"jo","password":"p"}`, "jo", "p", true},
		{`{"password":"p"}`, "", "", false},
		{`{"username":"a","password":1234}`, "", "", false},
		{`{"username":"a","pass`, "", "", false},
	} {
		fc, ok := jsonLogin([]byte(tt.body))
		if ok != tt.ok || (ok && (fc.user != tt.user || fc.pass != tt.pass)) {
			t.Errorf("%s: %+v %v, want %q %q %v", tt.body, fc, ok, tt.user, tt.pass, tt.ok)
		}
	}
	// A form split over segments, after a request without one, and a
	// body cut by the connection's end.
	segs := []seg{{true, "POST /s HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n\r\nusername=a&password=b"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		{true, "POST /l HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\r\nContent-Length: 25\r\n\r\nuser"}, {true, "name=root&passw"}, {true, "d=toor"},
		{false, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"},
		{true, "POST /api HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 35\r\n\r\n{\"login\":\"jo\",\"password\":\"s3cr\\\"t\"}"},
		{false, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"},
		{true, "POST /l HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 400\r\n\r\nuser=z&pass=cut"}}
	var gotC []credWant
	for _, e := range runStream(&State{}, &Config{}, stream(40000, 80, segs)) {
		if e.Cred != nil {
			gotC = append(gotC, credWant{e.Cred.Protocol, e.Cred.User, e.Cred.Password, e.Cred.Outcome})
		}
	}
	want := []credWant{{"http", "root", "toor", "failure"}, {"http", "jo", "s3cr\"t", "failure"}, {"http", "z", "cut", "unknown"}}
	if !reflect.DeepEqual(gotC, want) {
		t.Errorf("credentials\n got %v\nwant %v", gotC, want)
	}
}

// hydra brute-forcing the same servers (scripts/mkcreds.py: four passwords,
// the last one right; hydra stops at the first success): every guess on
// the wire is a credential with the outcome the server gave it. Its SOCKS5
// module gave up after two refusals, and a form's refusal is a 200 page,
// so those outcomes stay unknown.
func TestHydraCredentialsCorpus(t *testing.T) {
	for _, tt := range []struct {
		file    string
		outcome []string
	}{
		{"creds/hydra-http-form.pcap", []string{"unknown", "unknown", "unknown", "unknown"}},
		{"creds/hydra-redis.pcap", []string{"failure", "failure", "failure", "success"}},
		{"creds/hydra-ldap.pcap", []string{"failure", "failure", "failure", "success"}},
		{"creds/hydra-socks5.pcap", []string{"failure", "failure"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var got []string
			for i, c := range credsOf(runPcap(t, tt.file, &Config{})) {
				got = append(got, c.outcome)
				if i < 4 && c.pass != []string{"123456", "password", "letmein", "secret"}[i] && tt.file != "creds/hydra-socks5.pcap" {
					t.Errorf("guess %d: password %q", i, c.pass)
				}
			}
			if !reflect.DeepEqual(got, tt.outcome) {
				t.Errorf("outcomes %v, want %v", got, tt.outcome)
			}
		})
	}
}
