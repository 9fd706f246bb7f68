package main

import "testing"

// TestNewCredentialExtractorsEndToEnd: the logins of issue 15's extractors
// (real clients, scripts/mkcreds.py) reach EVE as credential records with
// the password masked, and raise cred.cleartext against the server; the
// PostgreSQL SSLRequest and LDAP StartTLS upgrades (issue 18) are logged as
// tls with the flow's app_proto tls.
func TestNewCredentialExtractorsEndToEnd(t *testing.T) {
	for _, c := range []struct {
		file, proto, user string
		port              string
	}{
		{"creds/pop3-xoauth2.pcap", "pop3", "alice@lab.test", "18110"},
		{"creds/imap-xoauth2.pcap", "imap", "dave@lab.test", "18143"},
		{"creds/http-form.pcap", "http", "admin", "18081"},
		{"creds/socks5-auth.pcap", "socks5", "lab", "18108"},
		{"creds/redis-auth.pcap", "redis", "default", "18379"},
		{"creds/ldap-bind.pcap", "ldap", "cn=admin,dc=lab,dc=test", "18389"},
		{"creds/pgsql-cleartext.pcap", "pgsql", "app", "18432"},
		{"creds/hydra-http-form.pcap", "http", "admin", "18081"},
		{"creds/hydra-redis.pcap", "redis", "default", "18380"},
		{"creds/hydra-ldap.pcap", "ldap", "cn=admin,dc=lab,dc=test", "18391"},
		{"creds/hydra-socks5.pcap", "socks5", "lab", "18109"},
	} {
		t.Run(c.file, func(t *testing.T) {
			recs, err := analyze(t, corpus(c.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(find(recs, "credential", map[string]string{"opsdeck.credential.protocol": c.proto, "opsdeck.credential.user": c.user,
				"opsdeck.credential.password": "********", "dest_port": c.port})) == 0 {
				t.Errorf("no masked %s credential for %s", c.proto, c.user)
			}
			if len(find(recs, "alert", map[string]string{"alert.metadata.rule": `["cred.cleartext"]`, "src_ip": "127.0.0.1", "dest_port": c.port})) == 0 {
				t.Errorf("no cred.cleartext alert for %s", c.proto)
			}
		})
	}
	for _, c := range []struct{ file, port string }{{"creds/pgsql-sslrequest.pcap", "18433"}, {"creds/ldap-starttls.pcap", "18390"}} {
		recs, err := analyze(t, corpus(c.file))
		if err != nil {
			t.Fatal(err)
		}
		if len(find(recs, "tls", map[string]string{"tls.version": "TLS 1.3", "dest_port": c.port})) != 1 {
			t.Errorf("%s: no tls record after the upgrade", c.file)
		}
		if len(find(recs, "flow", map[string]string{"app_proto": "tls", "dest_port": c.port})) != 1 {
			t.Errorf("%s: the flow's app_proto is not tls", c.file)
		}
	}
}
