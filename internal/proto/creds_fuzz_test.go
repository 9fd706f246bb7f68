package proto

import "testing"

// The parsers of issue 15's credential extractors, fed both directions of
// real captures and random bytes in random chunks: no panic, the feed
// contract kept, and what they hold stays within its bounds.

func FuzzRedis(f *testing.F) {
	f.Add(streamOf(corpusPayloads(f, "creds/redis-auth.pcap", 18379, true), 4096), uint8(3))
	f.Add(streamOf(corpusPayloads(f, "creds/redis-auth.pcap", 18379, false), 4096), uint8(1))
	f.Add([]byte("*3\r\n$5\r\nHELLO\r\n*2\r\n%1\r\n+a\r\n:1\r\n$-1\r\n~2\r\n>1\r\n|1\r\n_\r\n,1.5\r\n#t\r\n(12\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		p := &redisParser{}
		feedParser(t, p, true, b, int(chunk))
		feedParser(t, p, false, b, int(chunk))
		if len(p.auths) > maxRedisCmds || p.cli.depth > maxRESPDepth || p.srv.depth > maxRESPDepth || len(p.cli.args) > 6 {
			t.Fatalf("redis state grew: %d auths, depth %d/%d, %d args", len(p.auths), p.cli.depth, p.srv.depth, len(p.cli.args))
		}
		looksRedis(b, 6379)
	})
}

func FuzzSOCKS5(f *testing.F) {
	f.Add(streamOf(corpusPayloads(f, "creds/socks5-auth.pcap", 18108, true), 4096), uint8(2))
	f.Add(streamOf(corpusPayloads(f, "creds/socks5-auth.pcap", 18108, false), 4096), uint8(1))
	f.Add([]byte("\x05\x01\x02\x01\x03bob\x02pw\x05\x01\x00\x03\x05lab.t\x00\x50"), uint8(4))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		p := &socksParser{}
		feedParser(t, p, true, b, int(chunk))
		feedParser(t, p, false, b, int(chunk))
		if len(p.user) > 255 || len(p.pass) > 255 {
			t.Fatalf("socks fields beyond their one-byte lengths: %d %d", len(p.user), len(p.pass))
		}
		looksSOCKS5(b)
	})
}

func FuzzLDAP(f *testing.F) {
	for _, file := range []string{"creds/ldap-bind.pcap", "creds/ldap-starttls.pcap"} {
		port := uint16(18389)
		if file == "creds/ldap-starttls.pcap" {
			port = 18390
		}
		f.Add(streamOf(corpusPayloads(f, file, port, true), 4096), uint8(7))
		f.Add(streamOf(corpusPayloads(f, file, port, false), 4096), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		p := &ldapParser{}
		feedParser(t, p, true, b, int(chunk))
		feedParser(t, p, false, b, int(chunk))
		if len(p.pending) > maxLDAPPending {
			t.Fatalf("%d pending LDAP requests", len(p.pending))
		}
		looksLDAP(b, true)
		looksLDAP(b, false)
	})
}

func FuzzPgsql(f *testing.F) {
	for _, file := range []string{"creds/pgsql-cleartext.pcap", "creds/pgsql-sslrequest.pcap"} {
		port := uint16(18432)
		if file == "creds/pgsql-sslrequest.pcap" {
			port = 18433
		}
		f.Add(streamOf(corpusPayloads(f, file, port, true), 4096), uint8(5))
		f.Add(streamOf(corpusPayloads(f, file, port, false), 4096), uint8(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		p := &pgsqlParser{}
		feedParser(t, p, true, b, int(chunk))
		feedParser(t, p, false, b, int(chunk))
		if len(p.user) > maxPGMsg || len(p.pass) > maxPGMsg {
			t.Fatalf("pgsql fields beyond a message: %d %d", len(p.user), len(p.pass))
		}
		looksPgsql(b)
	})
}

func FuzzFormLogin(f *testing.F) {
	// One request each: a long seed costs its whole fuzz time in
	// minimizing.
	for _, b := range corpusPayloads(f, "creds/http-form.pcap", 18081, true)[:3] {
		f.Add(b, uint8(9))
	}
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nuser=a&pass=b"), uint8(1))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"a\":{\"user\":\"x\",\"pwd\":\"y\"}}"), uint8(4))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		formLogin(b)
		jsonLogin(b)
		p := &httpParser{}
		feedParser(t, p, true, b, int(chunk))
		if len(p.form) > maxFormBody || p.formLeft > maxFormBody {
			t.Fatalf("form buffer %d, %d left", len(p.form), p.formLeft)
		}
	})
}
