package detect

import (
	"fmt"
	"net/netip"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// portNames says what a backdoor port is known for, for the evidence.
var portNames = map[uint16]string{
	1337: "leet / common backdoor", 4444: "Metasploit default handler", 4445: "Metasploit",
	5554: "Sasser FTP", 6666: "IRC (botnet C2)", 6667: "IRC (botnet C2)", 6668: "IRC (botnet C2)",
	6669: "IRC (botnet C2)", 9996: "Sasser", 12345: "NetBus", 12346: "NetBus", 20034: "NetBus Pro",
	27374: "SubSeven", 31337: "Back Orifice / elite", 31338: "Back Orifice", 54320: "Back Orifice 2000",
	54321: "Back Orifice 2000",
}

func (d *Detector) isSuspiciousPort(p uint16) bool { return d.suspicious[p>>6]&(1<<(p&63)) != 0 }

// portCheck raises port.suspicious for a session the server accepted (a
// completed handshake, a UDP answer, or a mid-stream flow where the server
// spoke). A scan's SYN that was refused or reset never gets here.
func (d *Detector) portCheck(f *flow.Flow, emit func(*Alert)) {
	if !d.isSuspiciousPort(f.SPort) {
		return
	}
	d.fire(emit, RulePortSuspicious, supKey{actor: f.Client, target: f.Server, port: f.SPort}, 0, f.Last(), func(a *Alert) {
		withFlow(a, f)
		a.Src, a.Dst, a.SrcPort, a.DstPort = f.Client, f.Server, f.CPort, f.SPort
		a.Signature = fmt.Sprintf("port.suspicious: %s opened a %s session to %s", f.Client, packet.ProtoName(f.Proto), netip.AddrPortFrom(f.Server, f.SPort))
		a.Evidence["port"] = int(f.SPort)
		if n, ok := portNames[f.SPort]; ok {
			a.Evidence["known_as"] = n
		}
		if f.Proto == packet.ProtoTCP {
			a.Evidence["tcp_state"] = f.TCPState.String()
		}
		a.Evidence["first_seen"] = rfc3339(f.First())
		a.Evidence["last_seen"] = rfc3339(f.Last())
	})
}
