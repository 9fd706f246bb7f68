package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Credentials the victim's FTP server accepts for its one local account is
// none: every login but anonymous fails, which is what brute-force
// scenarios need without touching the host's accounts.

// SSHD starts OpenSSH's sshd in the victim on port 22 with a private
// configuration and host key.
func (l *Lab) SSHD() {
	l.t.Helper()
	Need(l.t, "sshd", "ssh-keygen")
	dir := filepath.Join(l.Dir, "sshd")
	os.MkdirAll(dir, 0o755)
	key := filepath.Join(dir, "host_ed25519")
	if out, err := l.Run(l.Victim.NS, 10*time.Second, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key); err != nil {
		l.t.Fatalf("lab: ssh-keygen: %v: %s", err, out)
	}
	// sshd insists on its privilege separation directory.
	os.MkdirAll("/run/sshd", 0o755)
	cfg := filepath.Join(dir, "sshd_config")
	writeFile(l.t, cfg, fmt.Sprintf(`Port 22
ListenAddress %s
HostKey %s
PidFile %s
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
MaxAuthTries 3
MaxStartups 200
LoginGraceTime 20
LogLevel ERROR
`, VictimAddr, key, filepath.Join(dir, "sshd.pid")))
	l.Start(l.Victim.NS, "sshd", "-D", "-e", "-f", cfg)
	l.WaitPort("tcp", VictimAddr, 22)
}

// HTTP starts busybox httpd in the victim on port 80, serving a few pages.
func (l *Lab) HTTP() {
	l.t.Helper()
	Need(l.t, "busybox")
	root := filepath.Join(l.Dir, "www")
	os.MkdirAll(root, 0o755)
	writeFile(l.t, filepath.Join(root, "index.html"), "<html><head><title>lab</title></head><body><a href=\"/about.html\">about</a></body></html>\n")
	writeFile(l.t, filepath.Join(root, "about.html"), "<html><body>"+strings.Repeat("lab page ", 400)+"</body></html>\n")
	l.Start(l.Victim.NS, "busybox", "httpd", "-f", "-p", VictimAddr.String()+":80", "-h", root)
	l.WaitPort("tcp", VictimAddr, 80)
}

// FTP starts vsftpd in the victim on port 21: anonymous downloads allowed,
// local logins through PAM (every guess fails: the lab adds no account).
func (l *Lab) FTP() {
	l.t.Helper()
	Need(l.t, "vsftpd")
	dir := filepath.Join(l.Dir, "ftp")
	pub := filepath.Join(dir, "pub")
	os.MkdirAll(pub, 0o755)
	os.Chmod(dir, 0o555) // vsftpd refuses a writable anonymous root
	writeFile(l.t, filepath.Join(pub, "README.txt"), "lab file\n")
	os.MkdirAll("/var/run/vsftpd/empty", 0o755)
	cfg := filepath.Join(l.Dir, "vsftpd.conf")
	writeFile(l.t, cfg, fmt.Sprintf(`listen=YES
listen_ipv6=NO
listen_address=%s
background=NO
anonymous_enable=YES
anon_root=%s
no_anon_password=YES
local_enable=YES
write_enable=NO
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
delay_failed_login=0
max_login_fails=3
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=40100
xferlog_enable=NO
`, VictimAddr, dir))
	l.Start(l.Victim.NS, "vsftpd", cfg)
	l.WaitPort("tcp", VictimAddr, 21)
}

// DNS starts dnsmasq in the victim on port 53, authoritative for lab.test
// (www.lab.test is the victim) and answering nothing else.
func (l *Lab) DNS() {
	l.t.Helper()
	Need(l.t, "dnsmasq")
	l.Start(l.Victim.NS, "dnsmasq", "-k", "--no-resolv", "--no-hosts", "--no-daemon",
		"--bind-interfaces", "--listen-address="+VictimAddr.String(), "--port=53",
		"--user=root", "--pid-file="+filepath.Join(l.Dir, "dnsmasq.pid"),
		"--address=/lab.test/"+VictimAddr.String(), "--log-facility=-")
	l.WaitPort("udp", VictimAddr, 53)
}

// DHCPServer starts dnsmasq in the victim as a DHCP server only (no DNS),
// leasing 10.77.0.150-250.
func (l *Lab) DHCPServer() {
	l.t.Helper()
	Need(l.t, "dnsmasq")
	l.Start(l.Victim.NS, "dnsmasq", "-k", "--no-daemon", "--port=0", "--no-resolv", "--no-hosts",
		"--interface=eth0", "--bind-interfaces", "--user=root",
		"--pid-file="+filepath.Join(l.Dir, "dhcp.pid"), "--dhcp-leasefile="+filepath.Join(l.Dir, "leases"),
		"--dhcp-range=10.77.0.150,10.77.0.250,2m", "--no-ping", "--log-facility=-")
	l.waitSocket("-uln", ":67")
}

func writeFile(t interface {
	Helper()
	Fatalf(string, ...any)
}, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatalf("lab: write %s: %v", path, err)
	}
}
