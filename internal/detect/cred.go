package detect

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// maskedPassword replaces every password in evidence: alerts travel to
// logs, tickets and screens; the secret itself is in the evidence pcap for
// whoever is allowed to open it.
const maskedPassword = proto.Masked

// credEvent raises cred.cleartext for every credential seen in clear (one
// alert per client, server and protocol per suppression window) and feeds
// Telnet failures to bruteforce.telnet.
func (d *Detector) credEvent(ev *proto.Event, f *flow.Flow, emit func(*Alert)) {
	c := ev.Cred
	protoName := strings.ToLower(c.Protocol)
	// Anonymous FTP discloses nothing: the "password" is an e-mail address
	// or empty by convention. It is information, not a leak.
	anon := false
	if u := strings.ToLower(c.User); protoName == "ftp" && (u == "anonymous" || u == "ftp") {
		anon = true
	}
	d.fire(emit, RuleCredCleartext, supKey{actor: f.Client, target: f.Server, port: f.SPort, extra: hashString(protoName)}, 0, ev.TS, func(a *Alert) {
		withFlow(a, f)
		a.Src, a.Dst, a.SrcPort, a.DstPort = f.Client, f.Server, f.CPort, f.SPort
		a.Signature = fmt.Sprintf("cred.cleartext: %s sent %s credentials in clear to %s",
			f.Client, strings.ToUpper(protoName), netip.AddrPortFrom(f.Server, f.SPort))
		a.Evidence["protocol"] = protoName
		a.Evidence["user"] = c.User
		if c.Password != "" {
			a.Evidence["password"] = maskedPassword
		}
		if anon {
			a.Evidence["anonymous"] = true
			a.Severity = SevLow
			a.Signature = fmt.Sprintf("cred.cleartext: %s logged in to FTP anonymously at %s",
				f.Client, netip.AddrPortFrom(f.Server, f.SPort))
		}
		outcome := c.Outcome
		if outcome == "" {
			outcome = "unknown"
		}
		a.Evidence["outcome"] = outcome
		if c.Reply != "" {
			a.Evidence["reply"] = c.Reply
		}
		a.Evidence["first_seen"] = rfc3339(f.First())
		a.Evidence["last_seen"] = rfc3339(ev.TS)
	})
	if c.Outcome != "failure" {
		return
	}
	switch protoName {
	case "telnet":
		d.bruteCount(svcTelnet, f, ev.TS, 1, false, c.User, emit)
	case "ftp":
		// The 530 itself is counted from the FTP event; here only the
		// user name joins the evidence.
		if e := d.bf.get(bruteKey{f.Client, f.Server, svcFTP}); e != nil && c.User != "" {
			e.users.add(c.User)
		}
	}
}
