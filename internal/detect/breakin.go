package detect

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// RuleBreakIn is a login that succeeded from a source that had just failed
// repeatedly against the same service: a brute force that worked. It is
// the alert that matters most after a brute force, so it is high severity
// and names the account where the protocol shows it, the session's flow
// (whose process attribution finds: `sshd: alice`, not the listener) and
// the failures before it.
var RuleBreakIn = register(&Rule{Name: "bruteforce.success", SID: 9000035, Category: "Successful User Privilege Gain",
	Severity: SevHigh, MITRE: []string{"T1110", "T1078"},
	Summary: "a login that succeeded from a source that had failed repeatedly against the same service"})

// BreakInFailures is how many failed attempts from a source must precede
// its successful login to a service that shows failures (FTP, Telnet,
// HTTP) within the brute-force window. Below it a success after a typo or
// two is ordinary. For SSH and RDP the brute-force rule's threshold of
// short sessions applies.
const BreakInFailures = 5

// credService maps a credential event's protocol to the brute-force
// service that counts its failures.
func credService(protoName string) (service, bool) {
	switch protoName {
	case "ftp":
		return svcFTP, true
	case "telnet":
		return svcTelnet, true
	case "http":
		return svcHTTP, true
	}
	return 0, false
}

// breakInCred raises bruteforce.success for a credential event whose
// server accepted the login.
func (d *Detector) breakInCred(ev *proto.Event, f *flow.Flow, emit func(*Alert)) {
	c := ev.Cred
	if c == nil || c.Outcome != "success" {
		return
	}
	svc, ok := credService(strings.ToLower(c.Protocol))
	if !ok {
		return
	}
	if u := strings.ToLower(c.User); svc == svcFTP && (u == "anonymous" || u == "ftp") {
		return // anonymous FTP is open to all: getting in proves nothing
	}
	d.breakIn(svc, f, ev.TS, c.User, emit)
}

// breakInSession raises bruteforce.success for an encrypted login service
// (SSH, RDP) when a session that is not short (it lasted longer or moved
// more than a login attempt does) comes from a source whose short sessions
// counted as attempts. It is checked as the session grows (at 64, 128,
// 256, ... packets) and when it ends.
func (d *Detector) breakInSession(f *flow.Flow, ended bool, emit func(*Alert)) {
	if f == nil || f.Proto != packet.ProtoTCP {
		return
	}
	if !ended {
		n := f.PktsToServer + f.PktsToClient
		if n < 64 || n&(n-1) != 0 {
			return
		}
	}
	svc, ok := loginService(f)
	if !ok || (svc != svcSSH && svc != svcRDP) {
		return
	}
	if f.Last().Sub(f.First()) <= d.cfg.ShortSession && f.Bytes() <= d.cfg.ShortBytes {
		return // still a login attempt's size
	}
	d.breakIn(svc, f, f.Last(), "", emit)
}

func (d *Detector) breakIn(svc service, f *flow.Flow, ts time.Time, user string, emit func(*Alert)) {
	e := d.bf.get(bruteKey{f.Client, f.Server, svc})
	// Where failures are seen (FTP 530, HTTP 401, Telnet) a few suffice;
	// where only short sessions stand for them (SSH, RDP) the brute-force
	// rule's own threshold must have been reached: automation that opens
	// many short sessions and then a long one is not a break-in.
	need := uint32(BreakInFailures)
	if svc == svcSSH || svc == svcRDP {
		need = uint32(d.bruteThreshold(svc))
	}
	if e == nil || e.n < need || ts.Sub(e.w.lastAt()) > d.cfg.BruteWindow {
		return
	}
	failures, first := e.n, e.w.firstAt()
	users := e.users.list()
	d.fire(emit, RuleBreakIn, supKey{actor: f.Client, target: f.Server, port: f.SPort}, 0, ts, func(a *Alert) {
		withFlow(a, f)
		a.Src, a.Dst, a.SrcPort, a.DstPort, a.Proto = f.Client, f.Server, f.CPort, f.SPort, "TCP"
		as := ""
		if user != "" {
			as = " as " + user
		}
		what := "failed logins"
		if svc == svcSSH || svc == svcRDP {
			what = "short sessions"
		}
		a.Signature = fmt.Sprintf("bruteforce.success: %s logged in to %s on %s%s after %d %s since %s", f.Client,
			svcNames[svc], netip.AddrPortFrom(f.Server, f.SPort), as, failures, what, first.UTC().Format("15:04:05"))
		if user != "" {
			a.Evidence["user"] = user
		}
		if len(users) > 0 {
			a.Evidence["users_tried"] = users
		}
		a.Evidence["failures"] = failures
		a.Evidence["failures_first_seen"] = rfc3339(first)
		a.Evidence["session_start"] = rfc3339(f.First())
		if svc == svcSSH || svc == svcRDP {
			a.Evidence["how_known"] = "encrypted login: a session longer or larger than a login attempt after repeated short ones"
		} else {
			a.Evidence["how_known"] = "the server accepted the login"
		}
	})
}
