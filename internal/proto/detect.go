package proto

import "bytes"

// detectMinBytes is how much of a direction's first data detection waits for
// before it decides; every signature below fits in it.
const detectMinBytes = 8

// The parsers whose files predate the registry, registered here with the
// places their probes had in detection: DNS, TLS, HTTP, RDP, LDAP,
// PostgreSQL, FTP, the mail protocols and QUIC. A parser moved onto the
// registry registers itself from its own file instead (ssh.go, telnet.go).
// The ids other code reads are kept: TLS, where an upgrade goes, and the
// mail protocols, which share one parser.
var (
	appTLS = registerProtocol(protocol{name: "tls",
		tcp: []probe{{order: tierSignature, first: "\x16", match: func(b []byte, _ bool, _, _ uint16) bool {
			return len(b) >= 6 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && (b[5] == 1 || b[5] == 2)
		}}},
		newTCP: func(st *State) parser {
			if p := st.pool.tlsParser(); p != nil {
				return p
			}
			return &tlsParser{}
		}})
	_ = registerProtocol(protocol{name: "http",
		tcp: []probe{
			{order: tierSignature + 20, first: "H", match: func(b []byte, _ bool, _, _ uint16) bool { return bytes.HasPrefix(b, []byte("HTTP/1.")) }},
			{order: tierText, first: "GPHDOCT", match: func(b []byte, toServer bool, _, _ uint16) bool {
				if !toServer {
					return false
				}
				for _, m := range httpMethods {
					if bytes.HasPrefix(b, []byte(m)) {
						return true
					}
				}
				return false
			}},
		},
		newTCP: func(st *State) parser {
			if p := st.pool.httpParser(); p != nil {
				return p
			}
			return &httpParser{}
		}})
	_ = registerProtocol(protocol{name: "rdp", packetDir: true,
		tcp: []probe{{order: tierSignature + 30, first: "\x03", match: func(b []byte, toServer bool, _, _ uint16) bool {
			// TPKT carrying an X.224 Connection Request.
			return len(b) >= 11 && b[0] == 3 && b[1] == 0 && b[5]&0xf0 == 0xe0 && toServer
		}}},
		newTCP: func(*State) parser { return &rdpParser{} }})
	_ = registerProtocol(protocol{name: "ldap",
		tcp:    []probe{{order: tierStructured, first: "0", match: func(b []byte, toServer bool, _, _ uint16) bool { return looksLDAP(b, toServer) }}},
		newTCP: func(*State) parser { return &ldapParser{} }})
	_ = registerProtocol(protocol{name: "pgsql",
		tcp:    []probe{{order: tierStructured + 10, first: "\x00", match: func(b []byte, toServer bool, _, _ uint16) bool { return toServer && looksPgsql(b) }}},
		newTCP: func(*State) parser { return &pgsqlParser{} }})
	appPOP3 = registerProtocol(protocol{name: "pop3", ports: []uint16{110},
		tcp: []probe{{order: tierText + 20, first: "+", match: func(b []byte, toServer bool, _, _ uint16) bool {
			return !toServer && bytes.HasPrefix(b, []byte("+OK"))
		}}},
		newTCP: newMailParser})
	appIMAP = registerProtocol(protocol{name: "imap", ports: []uint16{143},
		tcp: []probe{{order: tierText + 30, first: "*", match: func(b []byte, toServer bool, _, _ uint16) bool {
			return !toServer && (bytes.HasPrefix(b, []byte("* OK")) || bytes.HasPrefix(b, []byte("* PREAUTH")))
		}}},
		newTCP: newMailParser})
	// A "220" banner is SMTP's when it says so, FTP's when it says so,
	// and otherwise SMTP's on the mail ports and FTP's elsewhere.
	appSMTP = registerProtocol(protocol{name: "smtp", ports: []uint16{25, 587},
		tcp: []probe{{order: tierText + 40, first: "2", match: func(b []byte, toServer bool, sport, _ uint16) bool {
			if !banner220(b, toServer) {
				return false
			}
			line := b
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			line = bytes.ToUpper(line)
			switch {
			case bytes.Contains(line, []byte("SMTP")) || bytes.Contains(line, []byte("MAIL")):
				return true
			case bytes.Contains(line, []byte("FTP")):
				return false
			}
			return sport == 25 || sport == 587 || sport == 465 || sport == 2525
		}}},
		newTCP: newMailParser})
	_ = registerProtocol(protocol{name: "ftp", ports: []uint16{21},
		tcp: []probe{{order: tierText + 50, first: "2", match: func(b []byte, toServer bool, _, _ uint16) bool {
			return banner220(b, toServer)
		}}},
		newTCP: func(*State) parser { return &ftpParser{} }})
	_ = registerProtocol(protocol{name: "dns", packetDir: true,
		tcp:    []probe{{order: tierMessage, match: func(b []byte, _ bool, sport, cport uint16) bool { return looksDNS(b, true, sport, cport) }}},
		newTCP: func(*State) parser { return &dnsParser{tcp: true} },
		udp:    []probe{{order: tierMessage, match: func(b []byte, _ bool, sport, cport uint16) bool { return looksDNS(b, false, sport, cport) }}},
		// Kept inline in the State: no allocation per flow.
		newUDP: func(st *State) parser { return (*dnsDatagrams)(&st.dns) }})
	_ = registerProtocol(protocol{name: "quic", packetDir: true,
		udp: []probe{{order: tierSignature, match: looksQUIC}},
		newUDP: func(st *State) parser {
			st.quic = newQUICParser()
			return (*quicDatagrams)(st.quic)
		}})
)

func newMailParser(st *State) parser { return &mailParser{kind: st.app} }

// banner220 reports whether b is a server's "220 " or "220-" banner.
func banner220(b []byte, toServer bool) bool {
	return !toServer && len(b) >= 4 && string(b[:3]) == "220" && (b[3] == ' ' || b[3] == '-')
}

// dnsDatagrams is a UDP DNS flow's parser: the State's inline dnsParser
// given each datagram as one message.
type dnsDatagrams dnsParser

func (p *dnsDatagrams) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	(*dnsParser)(p).message(c, toServer, b)
	return len(b), false
}
func (p *dnsDatagrams) close(*ctx) {}
func (p *dnsDatagrams) done() bool { return false }

// quicDatagrams is a QUIC flow's parser (st.quic): the State's
// quicDatagram, which ends the flow when both sides are done.
type quicDatagrams quicParser

func (q *quicDatagrams) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	c.st.quicDatagram(c, toServer, b)
	return len(b), false
}
func (q *quicDatagrams) close(*ctx) {}
func (q *quicDatagrams) done() bool { return false }

var httpMethods = [...]string{"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ", "TRACE ", "PROPFIND "}

// looksDNS reports whether b is a DNS message (with its two-byte length
// prefix over TCP) on port 53. Suricata probes for DNS only on its
// detection ports (53 by default): LLMNR (5355), NetBIOS names (137) and
// DNS-shaped traffic elsewhere are not DNS to it, and opsdeck logs no dns
// records (nor app_proto dns) for them either. mDNS (5353) is its own
// protocol (mdns.go).
func looksDNS(b []byte, tcp bool, sport, cport uint16) bool {
	if sport != 53 && cport != 53 {
		return false
	}
	return dnsShaped(b, tcp, sport == 53)
}

// dnsShaped reports whether b can be a DNS message: a plausible header
// (Suricata's check), over TCP behind a length prefix that a client's
// first segment must fill (fromServerPort: the server's may be cut).
func dnsShaped(b []byte, tcp, fromServerPort bool) bool {
	if tcp {
		if len(b) < 2+12 {
			return false
		}
		n := int(b[0])<<8 | int(b[1])
		if n < 12 {
			return false
		}
		b = b[2:]
		if len(b) > n {
			b = b[:n]
		}
		if len(b) < n && !fromServerPort {
			return false
		}
	}
	return len(b) >= 12 && qdPlausible(b)
}

// qdPlausible is Suricata's header validity check for DNS probing: the
// records the header announces must fit, at two bytes each, in the message.
// The opcode is not checked: Suricata logs any (DSO, opcode 6, and
// unassigned ones such as 9 alike).
func qdPlausible(b []byte) bool {
	n := 0
	for i := 4; i < 12; i += 2 {
		n += int(b[i])<<8 | int(b[i+1])
	}
	return 2*n <= len(b)-12 || (n == 0 && len(b) >= 12)
}
