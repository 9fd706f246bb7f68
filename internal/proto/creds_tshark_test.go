package proto

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The secrets extracted agree with Wireshark's dissectors on the same
// captures (LDAP simple binds, RFC 1929, PostgreSQL PasswordMessage, HTTP
// urlencoded forms), each told the protocol of the capture's port.
func TestCredentialsAgreeWithTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	for _, tt := range []struct {
		file, decode, filter string
		fields               []string
	}{
		{"creds/ldap-bind.pcap", "tcp.port==18389,ldap", "ldap.simple", []string{"ldap.simple"}},
		{"creds/hydra-ldap.pcap", "tcp.port==18391,ldap", "ldap.simple", []string{"ldap.simple"}},
		{"creds/socks5-auth.pcap", "tcp.port==18108,socks", "socks.password", []string{"socks.password"}},
		{"creds/hydra-socks5.pcap", "tcp.port==18109,socks", "socks.password", []string{"socks.password"}},
		{"creds/pgsql-cleartext.pcap", "tcp.port==18432,pgsql", "pgsql.password", []string{"pgsql.password"}},
		{"creds/hydra-http-form.pcap", "tcp.port==18081,http", "urlencoded-form", []string{"urlencoded-form.key", "urlencoded-form.value"}},
		{"creds/http-form.pcap", "tcp.port==18081,http", "urlencoded-form", []string{"urlencoded-form.key", "urlencoded-form.value"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			args := []string{"-r", filepath.Join("..", "..", "testdata", "corpus", filepath.FromSlash(tt.file)), "-d", tt.decode, "-Y", tt.filter, "-T", "fields", "-E", "separator=\t"}
			for _, f := range tt.fields {
				args = append(args, "-e", f)
			}
			out, err := exec.Command("tshark", args...).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			var theirs []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if len(tt.fields) == 1 {
					theirs = append(theirs, line)
					continue
				}
				// A form: the value of the field named like a password,
				// when the form is a login (it has a user field too).
				keys, vals, _ := strings.Cut(line, "\t")
				k, v := strings.Split(keys, ","), strings.Split(vals, ",")
				pass, user := "", false
				for i := range k {
					switch formField(k[i]) {
					case fieldPass:
						pass = v[i]
					case fieldUser:
						user = true
					}
				}
				if user && pass != "" {
					theirs = append(theirs, pass)
				}
			}
			var ours []string
			for _, c := range credsOf(runPcap(t, tt.file, &Config{})) {
				if c.proto == "http" && tt.file == "creds/http-form.pcap" && strings.HasPrefix(c.user, "api@") {
					continue // the JSON login: no form for tshark
				}
				ours = append(ours, c.pass)
			}
			if !reflect.DeepEqual(ours, theirs) {
				t.Errorf("passwords\n ours   %q\n tshark %q", ours, theirs)
			}
		})
	}
}
