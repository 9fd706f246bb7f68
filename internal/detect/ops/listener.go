package ops

import (
	"fmt"
	"net/netip"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// RuleListener reports a listening socket that appeared after start-up: a
// backdoor, or a service nobody announced.
var RuleListener = register(def{
	rule:     &detect.Rule{Name: "host.listener", SID: 9000103, Category: "Host health", Severity: detect.SevLow, MITRE: []string{"T1205", "T1543"}, Summary: "a new listening socket after start-up"},
	partial:  true, // socket-only samples carry new listeners too
	newCheck: func(cfg *Config) check { return &listenerCheck{cfg: cfg, known: map[listenKey]bool{}} },
	stats: func(c check, out map[string]uint64) {
		l := c.(*listenerCheck)
		out["host.listener.entries"] = uint64(len(l.known))
		out["host.listener.forgotten"] = l.forgotten
	},
})

// maxListeners bounds the known listening endpoints.
const maxListeners = 65536

type listenerCheck struct {
	cfg       *Config
	baseline  bool // the first good socket list has been taken as known
	known     map[listenKey]bool
	forgotten uint64 // endpoints forgotten when the table was full
}

type listenKey struct {
	proto string
	addr  netip.Addr
	port  uint16
}

func (c *listenerCheck) observe(s *hoststat.Snapshot, out *raiser) {
	if _, failed := s.Errors["sockets"]; failed && len(s.Sockets) == 0 {
		return // a failed list must not become the baseline
	}
	procs := make(map[int32]*hoststat.Process, len(s.Processes))
	for i := range s.Processes {
		procs[s.Processes[i].PID] = &s.Processes[i]
	}
	baseline := !c.baseline
	for i := range s.Sockets {
		sk := &s.Sockets[i]
		if !sk.Listening() {
			continue
		}
		k := listenKey{sk.Proto, sk.Local.Addr().Unmap(), sk.Local.Port()}
		if c.known[k] {
			continue
		}
		if len(c.known) >= maxListeners {
			c.forgotten += uint64(len(c.known))
			c.known = map[listenKey]bool{} // bounded: forget, may re-report
		}
		c.known[k] = true
		if baseline {
			continue
		}
		if sk.Proto == "UDP" && !c.cfg.ListenerEphemeralUDP && k.port >= c.cfg.EphemeralPortLow {
			continue
		}
		who := "unknown process (owner not readable)"
		if sk.PID != 0 {
			who = fmt.Sprintf("%s (pid %d)", sk.Process, sk.PID)
		}
		ep := netip.AddrPortFrom(k.addr, k.port)
		out.raise("host.listener/"+sk.Proto+"/"+ep.String(), s.Time, RuleListener.Severity, 0, nil, func() *detect.Alert {
			a := &detect.Alert{
				Rule:      RuleListener,
				Signature: fmt.Sprintf("new %s listener on %s by %s", sk.Proto, ep, who),
				Dst:       k.addr, DstPort: k.port, Proto: sk.Proto,
				PID: sk.PID, Process: sk.Process,
				Evidence: map[string]any{
					"proto": sk.Proto, "addr": k.addr.String(), "port": k.port,
					"uid": sk.UID, "inode": sk.Inode,
				},
			}
			if sk.PID != 0 {
				a.Evidence["pid"] = sk.PID
				a.Evidence["process"] = sk.Process
				if p := procs[sk.PID]; p != nil {
					a.Evidence["user"] = p.User
					a.Evidence["cmdline"] = hoststat.ClipCmdline(p.Cmdline) // MaxCmdlineBytes, whoever built the snapshot
				}
			}
			return a
		})
	}
	c.baseline = true
}
