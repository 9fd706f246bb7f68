package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// Brute-force rules count login attempts per client and server. Where the
// protocol shows the failure in clear (FTP 530, HTTP 401, Telnet prompts)
// failures are counted; where it is encrypted (SSH, RDP) each short
// session that got past the handshake counts as one attempt, as login
// tools reconnect after a few guesses.

type service uint8

const (
	svcSSH service = iota
	svcRDP
	svcTelnet
	svcFTP
	svcHTTP
)

var svcRules = [...]*Rule{svcSSH: RuleBruteSSH, svcRDP: RuleBruteRDP, svcTelnet: RuleBruteTelnet, svcFTP: RuleBruteFTP, svcHTTP: RuleBruteHTTP}
var svcNames = [...]string{svcSSH: "SSH", svcRDP: "RDP", svcTelnet: "Telnet", svcFTP: "FTP", svcHTTP: "HTTP"}

type bruteKey struct {
	client, server netip.Addr
	svc            service
}

type bruteEntry struct {
	w        window
	n        uint32
	port     uint16
	sessions uint32
	users    stringSamples
}

type brute struct {
	bf *table[bruteKey, bruteEntry]
}

func (d *Detector) initBrute() {
	d.bf = newTable[bruteKey, bruteEntry]("bruteforce", d.cfg.MaxEntries, func(e *bruteEntry) time.Time { return e.w.lastAt() }).
		withHash(func(k bruteKey) uint64 { return hashPair(k.client, k.server, uint64(k.svc)) })
}

func (d *Detector) bruteThreshold(s service) int {
	switch s {
	case svcSSH:
		return d.cfg.BruteSSH
	case svcRDP:
		return d.cfg.BruteRDP
	case svcTelnet:
		return d.cfg.BruteTelnet
	case svcFTP:
		return d.cfg.BruteFTP
	}
	return d.cfg.BruteHTTP
}

// bruteCount adds n attempts of service svc from f's client to its server
// at ts, and raises the rule when the window's count reaches the threshold.
func (d *Detector) bruteCount(svc service, f *flow.Flow, ts time.Time, n uint32, session bool, user string, emit func(*Alert)) {
	e, _ := d.bf.upsert(bruteKey{f.Client, f.Server, svc})
	if e.w.roll(ts, d.cfg.BruteWindow) {
		e.n, e.sessions, e.users = 0, 0, stringSamples{}
	}
	e.n += n
	e.port = f.SPort
	if session {
		e.sessions++
	}
	if user != "" {
		e.users.add(user)
	}
	if int(e.n) < d.bruteThreshold(svc) {
		return
	}
	r := svcRules[svc]
	d.fire(emit, r, supKey{actor: f.Client, target: f.Server}, float64(e.n), ts, func(a *Alert) {
		a.Src, a.Dst, a.DstPort, a.Proto = f.Client, f.Server, f.SPort, "TCP"
		what := "failed logins"
		if svc == svcSSH || svc == svcRDP {
			what = "short sessions"
		}
		a.Signature = fmt.Sprintf("%s: %s made %d %s %s to %s in %s", r.Name, f.Client, e.n, svcNames[svc], what,
			netip.AddrPortFrom(f.Server, f.SPort), e.w.lastAt().Sub(e.w.firstAt()).Round(time.Second))
		a.Evidence["attempts"] = e.n
		a.Evidence["sessions"] = e.sessions
		a.Evidence["window_s"] = int(d.cfg.BruteWindow / time.Second)
		if len(e.users.v) > 0 {
			a.Evidence["users"] = e.users.list()
		}
		a.Evidence["first_seen"] = rfc3339(e.w.firstAt())
		a.Evidence["last_seen"] = rfc3339(e.w.lastAt())
	})
}

// loginService names the login service of a TCP flow by content, then by port.
func loginService(f *flow.Flow) (service, bool) {
	switch f.AppProto {
	case "ssh":
		return svcSSH, true
	case "rdp":
		return svcRDP, true
	case "telnet":
		return svcTelnet, true
	case "":
	default:
		return 0, false
	}
	switch f.SPort {
	case 22:
		return svcSSH, true
	case 3389:
		return svcRDP, true
	case 23:
		return svcTelnet, true
	}
	return 0, false
}

// bruteFlowEnd counts a short session that got past the handshake and
// exchanged a few packets each way (a scan's SYN/SYN-ACK/RST does not).
func (d *Detector) bruteFlowEnd(f *flow.Flow, emit func(*Alert)) {
	if f.Proto != packet.ProtoTCP {
		return
	}
	svc, ok := loginService(f)
	if !ok {
		return
	}
	if f.FlagsTC&(packet.TCPSyn|packet.TCPAck) != packet.TCPSyn|packet.TCPAck || f.PktsToServer < 3 || f.PktsToClient < 3 {
		return
	}
	if f.Last().Sub(f.First()) > d.cfg.ShortSession || f.Bytes() > d.cfg.ShortBytes {
		return
	}
	d.bruteCount(svc, f, f.Last(), 1, true, "", emit)
}

func (d *Detector) ftpEvent(ev *proto.Event, f *flow.Flow, emit func(*Alert)) {
	c := ev.FTP
	if c.Command != "PASS" && c.Command != "USER" {
		return
	}
	if !slices.Contains(c.CompletionCode, "530") {
		return
	}
	user := ""
	if c.Command == "USER" {
		user = c.CommandData
	}
	d.bruteCount(svcFTP, f, ev.TS, 1, false, user, emit)
}

func (d *Detector) httpEvent(ev *proto.Event, f *flow.Flow, emit func(*Alert)) {
	h := ev.HTTP
	// A 401 to a request without credentials is the normal challenge; only
	// rejected credentials are failed logins.
	if (h.Status != 401 && h.Status != 407) || h.Authorization == "" {
		return
	}
	d.bruteCount(svcHTTP, f, ev.TS, 1, false, "", emit)
}

func (d *Detector) expireBrute(now time.Time) { d.bf.expire(now.Add(-d.cfg.BruteWindow)) }

func (d *Detector) bruteStats(out map[string]uint64) { d.bf.stats(out) }

func init() {
	registerFamily(family{name: "bruteforce", init: (*Detector).initBrute, expire: (*Detector).expireBrute, stats: (*Detector).bruteStats})
}
