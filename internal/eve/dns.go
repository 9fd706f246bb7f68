package eve

import (
	"slices"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/proto"
)

// appendDNS encodes a DNS record by hand: DNS is the most frequent event on
// most networks, and reflection-based encoding cost more than parsing it.
// The output equals encoding/json's (TestAppendDNSMatchesJSON).
func appendDNS(b []byte, d *proto.DNS) []byte {
	b = append(b, `{"version":`...)
	b = appendInt(b, int64(d.Version))
	b = append(b, `,"type":`...)
	b = appendString(b, d.Type)
	b = append(b, `,"tx_id":`...)
	b = appendInt(b, int64(d.TxID))
	b = append(b, `,"id":`...)
	b = appendUint(b, uint64(d.ID))
	b = appendHeaderBits(b, d)
	if d.RCode != "" {
		b = append(b, `,"rcode":`...)
		b = appendString(b, d.RCode)
	}
	if len(d.Queries) > 0 {
		b = append(b, `,"queries":[`...)
		for i, q := range d.Queries {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"rrname":`...)
			b = appendString(b, q.RRName)
			b = append(b, `,"rrtype":`...)
			b = appendString(b, q.RRType)
			if q.RRNameTruncated {
				b = append(b, `,"rrname_truncated":true`...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendSections(b, d)
	return append(b, '}')
}

// appendSections writes the answers, authorities, additionals and grouped
// answers of a message, the same in both DNS formats.
func appendSections(b []byte, d *proto.DNS) []byte {
	if len(d.Answers) > 0 {
		b = append(b, `,"answers":`...)
		b = appendRRs(b, d.Answers)
	}
	if len(d.Authorities) > 0 {
		b = append(b, `,"authorities":`...)
		b = appendRRs(b, d.Authorities)
	}
	if len(d.Additionals) > 0 {
		b = append(b, `,"additionals":`...)
		b = appendRRs(b, d.Additionals)
	}
	return appendGrouped(b, d.Answers)
}

// appendHeaderBits writes the message's flags, its set header bits and its
// opcode, the same in both DNS formats.
func appendHeaderBits(b []byte, d *proto.DNS) []byte {
	if d.Flags != "" {
		b = append(b, `,"flags":`...)
		b = appendString(b, d.Flags)
	}
	for _, f := range [...]struct {
		on   bool
		name string
	}{{d.QR, `,"qr":true`}, {d.AA, `,"aa":true`}, {d.TC, `,"tc":true`}, {d.RD, `,"rd":true`}, {d.RA, `,"ra":true`}, {d.Z, `,"z":true`}} {
		if f.on {
			b = append(b, f.name...)
		}
	}
	b = append(b, `,"opcode":`...)
	return appendInt(b, int64(d.Opcode))
}

// appendGrouped writes dns.grouped (record data by type, types sorted as
// encoding/json sorts map keys) straight from the answers, with no map.
func appendGrouped(b []byte, answers []proto.DNSAnswer) []byte {
	var types [8]string
	kinds := types[:0]
	for i := range answers {
		if a := &answers[i]; proto.Groupable(a) && !slices.Contains(kinds, a.RRType) {
			kinds = append(kinds, a.RRType)
		}
	}
	if len(kinds) == 0 {
		return b
	}
	slices.Sort(kinds)
	b = append(b, `,"grouped":{`...)
	for k, typ := range kinds {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendString(b, typ)
		b = append(b, ':', '[')
		n := 0
		for i := range answers {
			if a := &answers[i]; a.RRType == typ && proto.Groupable(a) {
				if n > 0 {
					b = append(b, ',')
				}
				switch {
				case a.SOA != nil:
					b = appendSOA(b, a.SOA)
				case a.SRV != nil:
					b = appendSRV(b, a.SRV)
				case a.SSHFP != nil:
					b = appendSSHFP(b, a.SSHFP)
				default:
					b = appendString(b, a.RData)
				}
				n++
			}
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendRRs(b []byte, rrs []proto.DNSAnswer) []byte {
	b = append(b, '[')
	for i := range rrs {
		a := &rrs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"rrname":`...)
		b = appendString(b, a.RRName)
		if a.RRNameTruncated {
			b = append(b, `,"rrname_truncated":true`...)
		}
		b = append(b, `,"rrtype":`...)
		b = appendString(b, a.RRType)
		b = append(b, `,"ttl":`...)
		b = appendUint(b, uint64(a.TTL))
		if a.RData != "" || proto.PrintsRData(a) {
			b = append(b, `,"rdata":`...)
			b = appendString(b, a.RData)
		}
		if a.RDataTruncated {
			b = append(b, `,"rdata_truncated":true`...)
		}
		if a.SOA != nil {
			b = append(b, `,"soa":`...)
			b = appendSOA(b, a.SOA)
		}
		if a.SRV != nil {
			b = append(b, `,"srv":`...)
			b = appendSRV(b, a.SRV)
		}
		if a.SSHFP != nil {
			b = append(b, `,"sshfp":`...)
			b = appendSSHFP(b, a.SSHFP)
		}
		if len(a.Opt) > 0 {
			b = append(b, `,"opt":[`...)
			for j, o := range a.Opt {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"code":`...)
				b = appendUint(b, uint64(o.Code))
				b = append(b, `,"data":`...)
				b = appendString(b, o.Data)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendSOA(b []byte, s *proto.DNSSOA) []byte {
	b = append(b, `{"mname":`...)
	b = appendString(b, s.MName)
	if s.MNameTruncated {
		b = append(b, `,"mname_truncated":true`...)
	}
	b = append(b, `,"rname":`...)
	b = appendString(b, s.RName)
	for _, f := range [...]struct {
		name string
		v    uint32
	}{{`,"serial":`, s.Serial}, {`,"refresh":`, s.Refresh}, {`,"retry":`, s.Retry}, {`,"expire":`, s.Expire}, {`,"minimum":`, s.Minimum}} {
		b = append(b, f.name...)
		b = appendUint(b, uint64(f.v))
	}
	return append(b, '}')
}

func appendSRV(b []byte, s *proto.DNSSRV) []byte {
	b = append(b, `{"priority":`...)
	b = appendUint(b, uint64(s.Priority))
	b = append(b, `,"weight":`...)
	b = appendUint(b, uint64(s.Weight))
	b = append(b, `,"port":`...)
	b = appendUint(b, uint64(s.Port))
	b = append(b, `,"name":`...)
	b = appendString(b, s.Name)
	return append(b, '}')
}

func appendSSHFP(b []byte, s *proto.DNSSSHFP) []byte {
	b = append(b, `{"fingerprint":`...)
	b = appendString(b, s.Fingerprint)
	b = append(b, `,"algo":`...)
	b = appendUint(b, uint64(s.Algo))
	b = append(b, `,"type":`...)
	b = appendUint(b, uint64(s.Type))
	return append(b, '}')
}

// dnsV2 writes a DNS message in Suricata 7's "version: 2" format, which
// Filebeat's Suricata module and Elastic's integration read: a request
// becomes one "query" record per question, a response one "answer" record
// with the first question's name and type, the records in detailed form and
// grouped. Both keep the flow's direction (client to server), as Suricata 7
// did. Unlike Suricata 7, query records carry "version": 2 too: Suricata's
// current schema requires it in every dns object.
func (w *Writer) dnsV2(ev *proto.Event, f *flow.Flow, ep endpoints) error {
	d := ev.DNS
	if d.Type == "request" {
		head := w.buf
		for i, q := range d.Queries {
			if i > 0 {
				// Each question is a record of its own with the same head.
				w.head(ev.TS, ev.Type, f, ep, ev.PcapCnt)
				head = w.buf
			}
			b := append(head, `,"dns":{"version":2,"type":"query","id":`...)
			b = appendUint(b, uint64(d.ID))
			b = append(b, `,"rrname":`...)
			b = appendString(b, q.RRName)
			b = append(b, `,"rrtype":`...)
			b = appendString(b, q.RRType)
			b = append(b, `,"tx_id":`...)
			b = appendInt(b, int64(d.TxID))
			if d.Z {
				b = append(b, `,"z":true`...)
			}
			b = append(b, `,"opcode":`...)
			b = appendInt(b, int64(d.Opcode))
			w.buf = append(b, '}')
			if err := w.end(); err != nil {
				return err
			}
		}
		return w.err
	}
	b := append(w.buf, `,"dns":{"version":2,"type":"answer","id":`...)
	b = appendUint(b, uint64(d.ID))
	b = appendHeaderBits(b, d)
	if len(d.Queries) > 0 {
		b = append(b, `,"rrname":`...)
		b = appendString(b, d.Queries[0].RRName)
		b = append(b, `,"rrtype":`...)
		b = appendString(b, d.Queries[0].RRType)
	}
	if d.RCode != "" {
		b = append(b, `,"rcode":`...)
		b = appendString(b, d.RCode)
	}
	b = appendSections(b, d)
	w.buf = append(b, '}')
	return w.end()
}
