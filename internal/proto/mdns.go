package proto

import (
	"encoding/binary"
	"encoding/json"
	"strings"
)

// Multicast DNS (RFC 6762) on port 5353 is its own protocol for Suricata 8:
// app_proto "mdns" and an "mdns" record in its own shape, not a "dns" one.
// The message is DNS's and is parsed as DNS (parseDNS); what differs is the
// record (see MDNS).
func init() {
	registerProtocol(protocol{name: "mdns", packetDir: true,
		// Before DNS's probe, which would take port 5353 too.
		udp: []probe{{order: tierMessage - 5, match: func(b []byte, _ bool, sport, cport uint16) bool {
			return (sport == mdnsPort || cport == mdnsPort) && dnsShaped(b, false, sport == mdnsPort)
		}}},
		newUDP: func(*State) parser { return mdnsParser{} }})
}

const mdnsPort = 5353

// MDNS is an mDNS message as Suricata 8 logs it (EVE mdns object): header
// flags as a list of names, rcode as a number, record types in lower case,
// record data under its type's name. Suricata's schema has PTR and TXT
// data there and nothing else, so the other types give their name only.
type MDNS struct {
	Type        string       `json:"type"` // "request" or "response"
	ID          uint16       `json:"id"`
	Flags       []string     `json:"flags,omitempty"`
	Opcode      int          `json:"opcode"`
	RCode       int          `json:"rcode"`
	Queries     []MDNSQuery  `json:"queries,omitempty"`
	Answers     []MDNSRecord `json:"answers,omitempty"`
	Authorities []MDNSRecord `json:"authorities,omitempty"`
	Additionals []MDNSRecord `json:"additionals,omitempty"`
}

// MDNSQuery is one question of an mDNS message.
type MDNSQuery struct {
	RRName          string `json:"rrname"`
	RRType          string `json:"rrtype"` // lower case: "ptr", "any"
	RRNameTruncated bool   `json:"rrname_truncated,omitempty"`
}

// MDNSRecord is one record of an mDNS message: a PTR target or a TXT
// record's strings (all of them: one record, not one entry per string).
type MDNSRecord struct {
	RRName          string   `json:"rrname"`
	RRNameTruncated bool     `json:"rrname_truncated,omitempty"`
	PTR             string   `json:"ptr,omitempty"`
	TXT             []string `json:"txt,omitempty"`
}

// EventType is "mdns".
func (*MDNS) EventType() string { return "mdns" }

// AppendEVE appends the EVE mdns object.
func (m *MDNS) AppendEVE(b []byte, _ EVEOptions) ([]byte, error) {
	j, err := json.Marshal(m)
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}

// Line is the first question (or the first answer's name) and its type.
func (m *MDNS) Line() (summary, detail string) {
	switch {
	case len(m.Queries) > 0:
		return m.Queries[0].RRName, m.Type + " " + m.Queries[0].RRType
	case len(m.Answers) > 0:
		return m.Answers[0].RRName, m.Type
	}
	return "", m.Type
}

// mdnsParser makes an mdns record of each datagram that parses as DNS.
type mdnsParser struct{}

func (mdnsParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	if m := parseMDNS(b); m != nil {
		c.record(m, toServer)
	}
	return len(b), false
}
func (mdnsParser) close(*ctx) {}
func (mdnsParser) done() bool { return false }

// parseMDNS decodes one mDNS message, or returns nil when it is not DNS.
func parseMDNS(b []byte) *MDNS {
	d, err := ParseDNS(b)
	if err != nil {
		return nil
	}
	flags := binary.BigEndian.Uint16(b[2:])
	m := &MDNS{Type: d.Type, ID: d.ID, Opcode: d.Opcode, RCode: int(flags & 0xf)}
	for _, f := range [...]struct {
		bit  uint16
		name string
	}{{0x0400, "aa"}, {0x0200, "tc"}, {0x0100, "rd"}, {0x0080, "ra"}, {0x0040, "z"}, {0x0020, "ad"}, {0x0010, "cd"}} {
		if flags&f.bit != 0 {
			m.Flags = append(m.Flags, f.name)
		}
	}
	if len(d.Queries) > 0 {
		m.Queries = make([]MDNSQuery, len(d.Queries))
		for i, q := range d.Queries {
			m.Queries[i] = MDNSQuery{RRName: q.RRName, RRType: strings.ToLower(q.RRType), RRNameTruncated: q.RRNameTruncated}
		}
	}
	txt := mdnsTXTCounts(b)
	m.Answers = mdnsRecords(d.Answers, txt[0], true)
	m.Authorities = mdnsRecords(d.Authorities, txt[1], false)
	m.Additionals = mdnsRecords(d.Additionals, txt[2], true)
	return m
}

// mdnsRecords turns parsed entries back into records: the entries of one
// TXT record (ParseDNS makes one per string, n of them for the record
// whose count is next in counts) become one record with all its strings.
// withData keeps PTR and TXT data (the schema has none for authorities).
func mdnsRecords(entries []DNSAnswer, counts []int, withData bool) []MDNSRecord {
	if len(entries) == 0 {
		return nil
	}
	out := make([]MDNSRecord, 0, len(entries))
	for i := 0; i < len(entries); {
		a := &entries[i]
		r := MDNSRecord{RRName: a.RRName, RRNameTruncated: a.RRNameTruncated}
		n := 1
		if a.RRType == "TXT" {
			if len(counts) > 0 {
				n, counts = max(1, min(counts[0], len(entries)-i)), counts[1:]
			}
			if withData {
				r.TXT = make([]string, n)
				for j := range n {
					r.TXT[j] = entries[i+j].RData
				}
			}
		} else if a.RRType == "PTR" && withData {
			r.PTR = a.RData
		}
		out = append(out, r)
		i += n
	}
	return out
}

// mdnsTXTCounts returns, per section (answers, authorities, additionals),
// the number of strings of each TXT record that has any, in order.
func mdnsTXTCounts(b []byte) (c [3][]int) {
	an := int(binary.BigEndian.Uint16(b[6:]))
	ns := int(binary.BigEndian.Uint16(b[8:]))
	ar := int(binary.BigEndian.Uint16(b[10:]))
	eachDNSRecord(b, int(binary.BigEndian.Uint16(b[4:])), an+ns+ar, func(i int, typ uint16, rd []byte) {
		if typ != 16 || len(rd) == 0 {
			return
		}
		sec := 2
		if i < an {
			sec = 0
		} else if i < an+ns {
			sec = 1
		}
		c[sec] = append(c[sec], txtStrings(rd))
	})
	return
}
