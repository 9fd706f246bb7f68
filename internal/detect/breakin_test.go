package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// Issue 14: a break-in after a brute force. A successful login from a
// source that failed repeatedly is bruteforce.success (high), naming the
// account and tied to the session's flow; a success after a typo or two,
// a success from another source, and automation's long SSH session after a
// few short ones are not.
func TestBreakIn(t *testing.T) {
	attacker, victim := "10.77.0.66", "10.77.0.10"
	ftpFailures := func(p *pipe, from string, n int) {
		for i := range n {
			f := p.session(from, victim, uint16(40000+i), 21, 1, 50, time.Second)
			p.event(f, &proto.Event{Type: "credential", Cred: &proto.Credential{Protocol: "ftp", User: "admin", Password: "x", Outcome: "failure"}})
			p.event(f, &proto.Event{Type: "ftp", FTP: &proto.FTP{Command: "PASS", CompletionCode: []string{"530"}}})
			p.advance(time.Second)
		}
	}
	success := func(p *pipe, from string) {
		f := p.session(from, victim, 41000, 21, 1, 50, time.Second)
		p.event(f, &proto.Event{Type: "credential", Cred: &proto.Credential{Protocol: "ftp", User: "alice", Password: "right", Outcome: "success"}})
	}
	t.Run("ftp", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		ftpFailures(p, attacker, 12)
		success(p, attacker)
		p.flush()
		var hit *Alert
		for _, a := range p.alerts {
			if a.Rule.Name == "bruteforce.success" {
				hit = a
			}
		}
		if hit == nil {
			t.Fatal("no bruteforce.success after 12 failures and a success")
		}
		if hit.Severity != SevHigh || hit.Evidence["user"] != "alice" || hit.FlowID == 0 || hit.Src.String() != attacker ||
			!strings.Contains(hit.Signature, "as alice after") {
			t.Errorf("alert %+v %q", hit.Evidence, hit.Signature)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		p := newPipe(t, DefaultConfig())
		ftpFailures(p, attacker, 2)      // a typo or two
		success(p, attacker)             // then in
		ftpFailures(p, "10.77.0.99", 12) // another source fails
		success(p, "10.77.0.98")         // a third one logs in
		p.flush()
		if n, _ := p.count("bruteforce.success"); n != 0 {
			t.Errorf("%d bruteforce.success alerts without a brute force from the same source", n)
		}
	})
	t.Run("ssh", func(t *testing.T) {
		th := DefaultConfig().BruteSSH
		p := newPipe(t, DefaultConfig())
		for i := range th + 2 {
			p.session(attacker, victim, uint16(55000+i), 22, 6, 300, 4*time.Second)
			p.advance(2 * time.Second)
		}
		p.session(attacker, victim, 56000, 22, 200, 400, 2*time.Minute) // the login that worked
		p.flush()
		if n, _ := p.count("bruteforce.success"); n != 1 {
			t.Errorf("%d bruteforce.success alerts for a long SSH session after %d short ones, want 1", n, th+2)
		}
		q := newPipe(t, DefaultConfig())
		for i := range 4 { // automation: a few short sessions, then a long one
			q.session(attacker, victim, uint16(55000+i), 22, 6, 300, 4*time.Second)
		}
		q.session(attacker, victim, 56000, 22, 200, 400, 2*time.Minute)
		q.flush()
		if n, _ := q.count("bruteforce.success"); n != 0 {
			t.Errorf("automation's long session after 4 short ones raised bruteforce.success")
		}
	})
}

// Issue 14: a port scan's alert says how many probes were sent and which
// ports answered: what the scanner found is what it will try next.
func TestScanListsOpenPorts(t *testing.T) {
	p := newPipe(t, DefaultConfig())
	for port := uint16(1); port <= 300; port++ {
		if port == 22 || port == 80 {
			p.session("10.77.0.66", "10.77.0.10", 40000, port, 0, 0, time.Millisecond)
			continue
		}
		p.tcp("10.77.0.66", "10.77.0.10", 40000, port, packet.TCPSyn, nil)
		p.tcp("10.77.0.10", "10.77.0.66", port, 40000, packet.TCPRst|packet.TCPAck, nil)
	}
	p.flush()
	var last *Alert
	for _, a := range p.alerts {
		if a.Rule.Name == "scan.port" {
			last = a
		}
	}
	if last == nil {
		t.Fatal("no scan.port")
	}
	open, _ := last.Evidence["open_ports"].([]int)
	if len(open) != 2 || !strings.Contains(last.Signature, "probes,") {
		t.Errorf("open ports %v, signature %q: want 22 and 80 and the probe count", open, last.Signature)
	}
}
