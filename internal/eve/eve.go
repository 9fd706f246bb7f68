// Package eve writes Suricata-compatible EVE JSON lines: one object per line,
// every field Suricata defines written as Suricata writes it, so Filebeat,
// Vector, Logstash, FEVER and EveBox ingest opsdeck's output unchanged.
//
// Suricata's schema (etc/schema.json) allows no key it does not define, at
// any level. Everything opsdeck adds therefore goes in one top-level object,
// "opsdeck", whose name Suricata does not use:
//
//	opsdeck.process     the local process owning the flow: {pid, name} or {state}
//	opsdeck.credential  a login seen in clear (event_type "credential" has only this)
//	opsdeck.evidence    an alert's evidence (the packets or facts behind it)
//	opsdeck.suppressed  alerts of this kind suppressed since the last one written
//	opsdeck.update      true when an alert updates an earlier one (counts grew)
//	opsdeck.host        the host summary (event_type "host")
//	opsdeck.stats       counters Suricata has no name for (event_type "stats")
//
// A consumer that knows only Suricata's format can drop "opsdeck" and keep
// a record that validates against Suricata's schema.
package eve

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/attrib"
	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/proto"
	"github.com/opsdeck/opsdeck/internal/record"
)

// TimeFormat is Suricata's: RFC 3339 with microseconds and the zone as
// +0000 (always UTC; FEVER and chrono-based parsers reject "Z").
const TimeFormat = "2006-01-02T15:04:05.000000-0700"

// Writer encodes records to an io.Writer. It is not safe for concurrent use.
type Writer struct {
	out io.Writer
	// buf is the output buffer: the records written and not yet flushed
	// (buf[:start]), then the record being built. A record is built in
	// place, not copied in, and one that fails half way is dropped by the
	// next record's head.
	buf   []byte
	start int
	// ShowSecrets writes the secrets events carry in clear (--show-secrets):
	// credentials' passwords, FTP's PASS argument, what a registered
	// Record shows with EVEOptions.ShowSecrets. The writer is the one owner
	// of the switch for EVE: the events carry secrets as sent.
	ShowSecrets bool
	// FileInput adds pcap_cnt to records, as Suricata does for files.
	FileInput bool
	// FlushEach flushes after every record (live mode: every alert reaches the
	// disk when written).
	FlushEach bool
	// CommunityIDSeed is the Community ID seed (default 0).
	CommunityIDSeed uint16
	// SensorName, when set, is written as "host" in every record, as
	// Suricata writes its sensor-name.
	SensorName string
	// InIface, when set, is written as "in_iface" (live capture).
	InIface string
	// DNSVersion is the DNS record format: 3 (default, Suricata 8) or 2
	// (Suricata 7's "version: 2", which Filebeat's module reads).
	DNSVersion int
	// NoFlows and NoProto leave out the flow records (--no-flows) and the
	// protocol records (dns, tls, http, ...) of the record stream;
	// --alerts-only sets both.
	NoFlows, NoProto bool
	err              error
	ts               tsCache
	cid              flow.Hasher
	ext              []byte // members of the record's "opsdeck" object
}

// GID is the generator id of opsdeck's alerts: not 1, so that opsdeck's
// signature ids never collide with a ruleset's when merged with Suricata's.
const GID = 7000

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{out: w, buf: make([]byte, 0, bufSize+bufSlack)}
}

// bufSize is how much the writer buffers before it writes; bufSlack is
// room for the record that crosses it, so that one grows nothing.
const (
	bufSize  = 64 << 10
	bufSlack = 4 << 10
)

// Flush writes buffered records. After a write error nothing more is
// written (as bufio's writer did): a short write left a partial line, and
// a record written after it would join that line.
func (w *Writer) Flush() error {
	if w.start > 0 && w.err == nil {
		if _, err := w.out.Write(w.buf[:w.start]); err != nil {
			w.err = err
		}
	}
	w.buf, w.start = w.buf[:0], 0
	if cap(w.buf) > 4*(bufSize+bufSlack) {
		// A huge record grew it: the memory goes back.
		w.buf = make([]byte, 0, bufSize+bufSlack)
	}
	return w.err
}

// Err is the first write error seen.
func (w *Writer) Err() error { return w.err }

func (w *Writer) end() error {
	if len(w.ext) > 0 {
		w.buf = append(w.buf, `,"opsdeck":{`...)
		w.buf = append(w.buf, w.ext...)
		w.buf = append(w.buf, '}')
	}
	w.buf = append(w.buf, '}', '\n')
	w.start = len(w.buf)
	if w.FlushEach || w.start >= bufSize {
		w.Flush()
	}
	return w.err
}

type endpoints struct {
	src, dst     netip.Addr
	sport, dport uint16
	hasPorts     bool
}

func flowEndpoints(f *flow.Flow) endpoints {
	return endpoints{src: f.Client, dst: f.Server, sport: f.CPort, dport: f.SPort, hasPorts: f.Proto == packet.ProtoTCP || f.Proto == packet.ProtoUDP || f.Proto == packet.ProtoSCTP}
}

// extKey starts a member of the record's "opsdeck" object.
func (w *Writer) extKey(name string) {
	if len(w.ext) > 0 {
		w.ext = append(w.ext, ',')
	}
	w.ext = append(w.ext, '"')
	w.ext = append(w.ext, name...)
	w.ext = append(w.ext, '"', ':')
}

// extJSON adds a member holding v, encoded by encoding/json.
func (w *Writer) extJSON(name string, v any) error {
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode opsdeck.%s: %w", name, err)
	}
	w.extKey(name)
	w.ext = append(w.ext, j...)
	return nil
}

// head starts a record with the fields every event type shares.
func (w *Writer) head(ts time.Time, eventType string, f *flow.Flow, ep endpoints, pcapCnt uint64) {
	w.ext = w.ext[:0]
	b := w.buf[:w.start]
	b = append(b, `{"timestamp":"`...)
	b = w.ts.append(b, ts)
	b = append(b, '"')
	if f != nil {
		b = append(b, `,"flow_id":`...)
		b = appendUint(b, f.ID)
	}
	if w.FileInput && pcapCnt > 0 {
		b = append(b, `,"pcap_cnt":`...)
		b = appendUint(b, pcapCnt)
	}
	if w.InIface != "" {
		b = append(b, `,"in_iface":`...)
		b = appendString(b, w.InIface)
	}
	b = append(b, `,"event_type":"`...)
	b = append(b, eventType...)
	b = append(b, '"')
	if w.SensorName != "" {
		b = append(b, `,"host":`...)
		b = appendString(b, w.SensorName)
	}
	if f != nil && f.VLAN[0] != 0 {
		b = append(b, `,"vlan":[`...)
		b = appendUint(b, uint64(f.VLAN[0]))
		if f.VLAN[1] != 0 {
			b = append(b, ',')
			b = appendUint(b, uint64(f.VLAN[1]))
		}
		b = append(b, ']')
	}
	if ep.src.IsValid() {
		b = append(b, `,"src_ip":"`...)
		b = appendAddr(b, ep.src)
		b = append(b, '"')
		if ep.hasPorts {
			b = append(b, `,"src_port":`...)
			b = appendUint(b, uint64(ep.sport))
		}
		if ep.dst.IsValid() { // an alert about one host has no destination
			b = append(b, `,"dest_ip":"`...)
			b = appendAddr(b, ep.dst)
			b = append(b, '"')
		}
		if ep.hasPorts {
			b = append(b, `,"dest_port":`...)
			b = appendUint(b, uint64(ep.dport))
		}
	}
	if f != nil {
		b = append(b, protoFields[f.Proto]...)
		if f.Proto == packet.ProtoICMP || f.Proto == packet.ProtoICMPv6 {
			b = append(b, `,"icmp_type":`...)
			b = appendUint(b, uint64(f.ICMPType))
			b = append(b, `,"icmp_code":`...)
			b = appendUint(b, uint64(f.ICMPCode))
			b = append(b, `,"community_id":"`...)
		}
		b = w.cid.AppendFlow(b, f, w.CommunityIDSeed)
		b = append(b, '"')
		if f.AppProto != "" {
			b = append(b, `,"app_proto":"`...)
			b = append(b, f.AppProto...)
			b = append(b, '"')
		}
		if o := f.Owner; o != nil {
			switch st := attrib.State(o.State); {
			case o.PID > 0:
				w.appendProcess(o.PID, o.Process)
			case st == attrib.Gone || st == attrib.OtherNamespace:
				// Say why there is no process rather than guess one.
				w.extKey("process")
				w.ext = append(w.ext, `{"state":"`...)
				w.ext = append(w.ext, st.String()...)
				w.ext = append(w.ext, `"}`...)
			}
		}
	}
	w.buf = b
}

func (w *Writer) appendProcess(pid int32, name string) {
	w.extKey("process")
	w.ext = append(w.ext, `{"pid":`...)
	w.ext = appendInt(w.ext, int64(pid))
	w.ext = append(w.ext, `,"name":`...)
	w.ext = appendString(w.ext, name)
	w.ext = append(w.ext, '}')
}

func (w *Writer) appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = w.ts.append(b, t)
	return append(b, '"')
}

// tsCache keeps the last two seconds formatted ("2026-01-01T09:00:00."):
// records come in time order, a flow record carries its end twice and its
// start once, and the calendar arithmetic is most of a timestamp's cost.
// What changes from one record to the next is then six digits.
type tsCache struct {
	sec    [2]int64 // Unix seconds of prefix[i]
	prefix [2][20]byte
	ok     [2]bool
	next   uint8 // the slot the next miss replaces
}

// append appends t in TimeFormat, as appendTimestamp does.
func (c *tsCache) append(b []byte, t time.Time) []byte {
	sec := t.Unix()
	i := 0
	switch {
	case c.ok[0] && c.sec[0] == sec:
	case c.ok[1] && c.sec[1] == sec:
		i = 1
	default:
		if year := t.UTC().Year(); year < 0 || year > 9999 {
			return appendTimestamp(b, t)
		}
		i = int(c.next)
		c.next ^= 1
		appendTimestamp(c.prefix[i][:0], t)
		c.sec[i], c.ok[i] = sec, true
	}
	// Stored whole (an array copy, not a call to memmove), then the
	// microseconds and the zone.
	b = slices.Grow(b, len(c.prefix[i])+11)
	at := len(b)
	*(*[20]byte)(b[at : at+20]) = c.prefix[i]
	return appendMicros(b[:at+20], t.Nanosecond()/1000)
}

// appendMicros appends the six digits of us (below 1e6) and the zone.
func appendMicros(b []byte, us int) []byte {
	hi, mid, lo := us/10000, us/100%100, us%100
	return append(b, digits2[2*hi], digits2[2*hi+1], digits2[2*mid], digits2[2*mid+1],
		digits2[2*lo], digits2[2*lo+1], '+', '0', '0', '0', '0')
}

// digits2 is every number below 100 in two digits.
const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendTimestamp appends t in TimeFormat. Every record carries one to
// three timestamps; this is several times faster than time.AppendFormat,
// and TestAppendTimestamp holds it to the same output.
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeFormat)
	}
	b = append2(b, year/100)
	b = append2(b, year%100)
	b = append(b, '-')
	b = append2(b, int(month))
	b = append(b, '-')
	b = append2(b, day)
	b = append(b, 'T')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, min)
	b = append(b, ':')
	b = append2(b, sec)
	b = append(b, '.')
	return appendMicros(b, t.Nanosecond()/1000)
}

// append2 appends v (below 100) in two digits.
func append2(b []byte, v int) []byte {
	return append(b, digits2[2*v], digits2[2*v+1])
}

func appendHex2(b []byte, v uint8) []byte {
	const hexd = "0123456789abcdef"
	return append(b, hexd[v>>4], hexd[v&0xf])
}

// Record writes the EVE record of one record of the engine's stream (the
// Writer is a record.Subscriber): every alert and update, and the protocol
// events and flow ends NoProto and NoFlows do not turn off. Host samples
// have no record here: watch writes a host event at its own interval. A
// write error is kept for Flush and Err. A nil Writer writes nothing (an
// engine handed a nil *Writer, as engine.New(cfg, nil) once meant).
func (w *Writer) Record(r record.Record) {
	if w == nil {
		return
	}
	switch r.Kind {
	case record.Alert, record.AlertUpdate:
		w.Alert(r.Alert, r.Flow)
	case record.ProtoEvent:
		if !w.NoProto {
			w.Proto(r.Event, r.Flow)
		}
	case record.FlowEnd:
		if !w.NoFlows {
			w.Flow(r.Flow, r.End)
		}
	}
}

// Flow writes the record of a flow that ended (and an incident bundle's
// flows.json, from the flows still in the table). It is written by hand,
// as head and the DNS, TLS and HTTP encoders are, not by encoding/json: a
// flow record is written for every flow analyze and watch see, a hot path.
func (w *Writer) Flow(f *flow.Flow, reason flow.EndReason) error {
	w.head(f.Last(), "flow", f, flowEndpoints(f), 0)
	b := w.buf
	if (f.Proto == packet.ProtoICMP || f.Proto == packet.ProtoICMPv6) && f.PktsToClient > 0 {
		// The answer's type and code, as Suricata's flow records carry them.
		b = append(b, `,"response_icmp_type":`...)
		b = appendUint(b, uint64(f.RespICMPType))
		b = append(b, `,"response_icmp_code":`...)
		b = appendUint(b, uint64(f.RespICMPCode))
	}
	b = append(b, `,"flow":{"pkts_toserver":`...)
	b = appendUint(b, f.PktsToServer)
	b = append(b, `,"pkts_toclient":`...)
	b = appendUint(b, f.PktsToClient)
	b = append(b, `,"bytes_toserver":`...)
	b = appendUint(b, f.BytesToServer)
	b = append(b, `,"bytes_toclient":`...)
	b = appendUint(b, f.BytesToClient)
	b = append(b, `,"start":`...)
	b = w.appendTime(b, f.First())
	b = append(b, `,"end":`...)
	b = w.appendTime(b, f.Last())
	b = append(b, `,"age":`...)
	b = appendInt(b, f.Age())
	b = append(b, flowEndFields(f.State, reason, f.Alerted)...)
	if f.Proto == packet.ProtoTCP {
		all := f.FlagsTS | f.FlagsTC
		b = append(b, `,"tcp":{"tcp_flags":"`...)
		b = appendHex2(b, all)
		b = append(b, `","tcp_flags_ts":"`...)
		b = appendHex2(b, f.FlagsTS)
		b = append(b, `","tcp_flags_tc":"`...)
		b = appendHex2(b, f.FlagsTC)
		b = append(b, tcpFlagFields[all]...)
		b = append(b, tcpStateFields[min(int(f.TCPState), len(tcpStateFields)-1)]...)
	}
	w.buf = b
	return w.end()
}

// Proto writes a protocol event of flow f.
func (w *Writer) Proto(ev *proto.Event, f *flow.Flow) error {
	ep := endpoints{}
	if f != nil {
		ep = flowEndpoints(f)
		// Records of the protocols that say so (DNS, mDNS, QUIC, RDP)
		// follow the packet, as Suricata's do: a response goes from the
		// server to the client. Suricata 7's DNS format (v2) kept the
		// flow's direction.
		if !ev.ToServer && proto.FollowsPacket(ev.Type) && !(ev.DNS != nil && w.DNSVersion == 2) {
			ep.src, ep.dst, ep.sport, ep.dport = ep.dst, ep.src, ep.dport, ep.sport
		}
	}
	w.head(ev.TS, ev.Type, f, ep, ev.PcapCnt)
	var body any
	switch {
	case ev.DNS != nil && w.DNSVersion == 2:
		return w.dnsV2(ev, f, ep)
	case ev.DNS != nil:
		w.buf = append(w.buf, `,"dns":`...)
		w.buf = appendDNS(w.buf, ev.DNS)
	case ev.TLS != nil:
		w.buf = append(w.buf, `,"tls":`...)
		w.buf = appendTLS(w.buf, ev.TLS)
	case ev.QUIC != nil:
		w.buf = append(w.buf, `,"quic":`...)
		w.buf = appendQUIC(w.buf, ev.QUIC)
	case ev.HTTP != nil:
		w.buf = append(w.buf, `,"tx_id":`...)
		w.buf = appendInt(w.buf, int64(ev.HTTP.TxID))
		w.buf = append(w.buf, `,"http":`...)
		w.buf = appendHTTP(w.buf, ev.HTTP)
	case ev.FTP != nil:
		ftp := *ev.FTP
		ftp.CommandData = ftp.ShownData(w.ShowSecrets)
		body = &ftp
	case ev.RDP != nil:
		body = ev.RDP
	case ev.Body != nil:
		// A parser on the registry writes its own object.
		w.buf = append(w.buf, ',')
		w.buf = appendString(w.buf, ev.Type)
		w.buf = append(w.buf, ':')
		b, err := ev.Body.AppendEVE(w.buf, proto.EVEOptions{ShowSecrets: w.ShowSecrets})
		if err != nil {
			return fmt.Errorf("encode %s event: %w", ev.Type, err)
		}
		w.buf = b
	}
	if body != nil {
		w.buf = append(w.buf, ',')
		w.buf = appendString(w.buf, ev.Type)
		w.buf = append(w.buf, ':')
		j, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s event: %w", ev.Type, err)
		}
		w.buf = append(w.buf, j...)
	}
	if ev.Cred != nil {
		if err := w.extJSON("credential", w.credential(ev.Cred)); err != nil {
			return err
		}
	}
	return w.end()
}

type credentialJSON struct {
	Protocol string `json:"protocol"`
	User     string `json:"user"`
	Password string `json:"password"`
	Outcome  string `json:"outcome"`
	Reply    string `json:"reply,omitempty"`
}

func (w *Writer) credential(c *proto.Credential) credentialJSON {
	return credentialJSON{Protocol: c.Protocol, User: c.User, Password: proto.ShowSecret(c.Password, w.ShowSecrets), Outcome: c.Outcome, Reply: c.Reply}
}

type alertJSON struct {
	Action      string              `json:"action"`
	GID         int                 `json:"gid"`
	SignatureID uint32              `json:"signature_id"`
	Rev         uint32              `json:"rev"`
	Signature   string              `json:"signature"`
	Category    string              `json:"category"`
	Severity    int                 `json:"severity"`
	Metadata    map[string][]string `json:"metadata"`
}

// Alert writes an alert; f is the flow it concerns, or nil.
func (w *Writer) Alert(a *detect.Alert, f *flow.Flow) error {
	ep := endpoints{src: a.Src, dst: a.Dst, sport: a.SrcPort, dport: a.DstPort, hasPorts: a.SrcPort != 0 || a.DstPort != 0}
	if !ep.src.IsValid() && f != nil {
		ep = flowEndpoints(f)
	}
	w.head(a.TS, "alert", f, ep, 0)
	if f == nil && a.FlowID != 0 {
		// Tied to a flow other than the one being handled.
		w.buf = append(w.buf, `,"flow_id":`...)
		w.buf = appendUint(w.buf, a.FlowID)
	}
	if f == nil && a.Proto != "" {
		w.buf = append(w.buf, `,"proto":`...)
		w.buf = appendString(w.buf, a.Proto)
	}
	if f == nil && a.Community != "" {
		w.buf = append(w.buf, `,"community_id":`...)
		w.buf = appendString(w.buf, a.Community)
	}
	md := map[string][]string{"rule": {a.Rule.Name}}
	if len(a.Rule.MITRE) > 0 {
		md["mitre_technique_id"] = a.Rule.MITRE
	}
	sev := a.Sev()
	j, err := json.Marshal(alertJSON{Action: "allowed", GID: GID, SignatureID: a.Rule.SID, Rev: a.Rule.Rev, Signature: a.Signature,
		Category: a.Rule.Category, Severity: int(sev), Metadata: md})
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
	}
	w.buf = append(w.buf, `,"alert":`...)
	w.buf = append(w.buf, j...)
	if len(a.Evidence) > 0 {
		if err := w.extJSON("evidence", a.Evidence); err != nil {
			return err
		}
	}
	if a.Suppressed > 0 {
		w.extKey("suppressed")
		w.ext = appendUint(w.ext, a.Suppressed)
	}
	if a.Update {
		w.extKey("update")
		w.ext = append(w.ext, "true"...)
	}
	if a.PID > 0 && (f == nil || f.PID() <= 0) {
		w.appendProcess(a.PID, a.Process)
	}
	return w.end()
}

// Object writes a record whose body is an arbitrary JSON-encodable value
// under the key named like the event type, for the event types Suricata
// defines ("stats"); ext, when not nil, goes in opsdeck.<eventType>.
func (w *Writer) Object(ts time.Time, eventType string, body, ext any) error {
	w.head(ts, eventType, nil, endpoints{}, 0)
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s record: %w", eventType, err)
		}
		w.buf = append(w.buf, ',')
		w.buf = appendString(w.buf, eventType)
		w.buf = append(w.buf, ':')
		w.buf = append(w.buf, j...)
	}
	if ext != nil {
		if err := w.extJSON(eventType, ext); err != nil {
			return err
		}
	}
	return w.end()
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is plain and not appended yet
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			if c == '"' || c == '\\' {
				b = append(b, '\\', c)
			} else {
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonPlain marks the ASCII bytes a JSON string holds as they are: not a
// control character, DEL, quote or backslash.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
