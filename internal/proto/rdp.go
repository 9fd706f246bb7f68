package proto

import (
	"bytes"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

func init() {
	registerProtocol(protocol{name: "rdp", packetDir: true,
		tcp: []probe{{order: tierSignature + 30, first: "\x03", match: func(b []byte, toServer bool, _, _ uint16) bool {
			// TPKT carrying an X.224 Connection Request.
			return len(b) >= 11 && b[0] == 3 && b[1] == 0 && b[5]&0xf0 == 0xe0 && toServer
		}}},
		newTCP: func(*State) parser { return &rdpParser{} }})
}

// RDP connection set-up, logged the way Suricata's rdp parser logs it: one
// transaction per message of the negotiation (MS-RDPBCGR 1.3.1.1), numbered
// from 1 in the flow as Suricata 7 and later number them:
//
//   - initial_request: the client's X.224 Connection Request (cookie, flags)
//   - initial_response: the server's X.224 Connection Confirm (selected
//     protocol and flags, or the negotiation failure)
//   - connect_request: the client's MCS Connect Initial (client core data
//     and channel list, only in clear with standard RDP security)
//   - connect_response: the server's MCS Connect Response
//   - tls_handshake: the serial numbers of the certificate chain the server
//     sends when the connection moves to TLS (hidden under TLS 1.3)
//
// After connect_response or tls_handshake nothing more is parsed. Bytes
// that are neither TPKT nor, once TLS started, TLS records end the parsing
// of the flow, as a parser error does in Suricata.

// RDP event types (EVE rdp.event_type).
const (
	RDPInitialRequest  = "initial_request"
	RDPInitialResponse = "initial_response"
	RDPConnectRequest  = "connect_request"
	RDPConnectResponse = "connect_response"
	RDPTLSHandshake    = "tls_handshake"
)

// maxRDPTLSRecord bounds a TLS record in an RDP flow (2^14 plus the
// expansion TLS allows).
const maxRDPTLSRecord = 1<<14 + 2048

// maxRDPChannels bounds the channel names kept from the client network data
// (MS-RDPBCGR allows 31).
const maxRDPChannels = 64

// maxRDPCerts bounds the serial numbers kept from one certificate chain.
const maxRDPCerts = 16

// ParseRDPCookie returns the user hint of an RDP X.224 Connection Request
// ("Cookie: mstshash=NAME") from a TPKT-framed packet; ok is false when b
// does not start with a complete Connection Request.
func ParseRDPCookie(b []byte) (cookie string, ok bool) {
	body, ok := tpktBody(b)
	if !ok {
		return "", false
	}
	r, ok := parseX224Request(body)
	if !ok {
		return "", false
	}
	return r.Cookie, true
}

// tpktBody returns the payload of a complete TPKT (T.123) packet at the
// start of b.
func tpktBody(b []byte) ([]byte, bool) {
	if len(b) < 4 || b[0] != 3 {
		return nil, false
	}
	l := int(binary.BigEndian.Uint16(b[2:]))
	if l < 4 || l > len(b) {
		return nil, false
	}
	return b[4:l], true
}

// x224Header checks an X.224 class 0 TPDU header of the given type (0xe
// Connection Request, 0xd Connection Confirm) and returns its variable part.
func x224Header(b []byte, typ byte) ([]byte, bool) {
	// LI, CR|CDT, DST-REF(2), SRC-REF(2), CLASS|OPTIONS
	if len(b) < 7 || b[0] == 0xff || b[0] < 6 {
		return nil, false
	}
	if b[1]>>4 != typ || b[1]&0xf > 1 || b[2] != 0 || b[3] != 0 || b[6] != 0 {
		return nil, false
	}
	n := int(b[0]) - 6
	if len(b)-7 < n {
		return nil, false
	}
	return b[7 : 7+n], true
}

// parseX224Request decodes a Connection Request TPDU (MS-RDPBCGR 2.2.1.1):
// the routing cookie and the flags of an RDP Negotiation Request.
func parseX224Request(b []byte) (*RDP, bool) {
	v, ok := x224Header(b, 0xe)
	if !ok {
		return nil, false
	}
	r := &RDP{EventType: RDPInitialRequest}
	const pfx = "Cookie: mstshash="
	if rest, found := bytes.CutPrefix(v, []byte(pfx)); found {
		if i := bytes.Index(rest, []byte("\r\n")); i >= 0 && utf8.Valid(rest[:i]) {
			r.Cookie = string(rest[:i])
			v = rest[i+2:]
		}
	}
	// RDP_NEG_REQ: type 1, flags, length 8, requestedProtocols. Unknown
	// flag or protocol bits make it unknown, as in Suricata.
	if len(v) >= 8 && v[0] == 1 && v[1]&^0x0b == 0 && binary.LittleEndian.Uint16(v[2:]) == 8 &&
		binary.LittleEndian.Uint32(v[4:])&^0xf == 0 {
		r.Flags = namedBits(uint32(v[1]), rdpRequestFlags)
	}
	return r, true
}

// parseX224Confirm decodes a Connection Confirm TPDU (MS-RDPBCGR 2.2.1.2):
// an RDP Negotiation Response or Failure.
func parseX224Confirm(b []byte) (*RDP, bool) {
	v, ok := x224Header(b, 0xd)
	if !ok {
		return nil, false
	}
	r := &RDP{EventType: RDPInitialResponse}
	if len(v) < 8 || binary.LittleEndian.Uint16(v[2:]) != 8 {
		return r, true
	}
	code := binary.LittleEndian.Uint32(v[4:])
	switch v[0] {
	case 2: // RDP_NEG_RSP
		proto, known := rdpProtocols[code]
		if !known || v[1]&^0x1f != 0 {
			break
		}
		r.ServerSupports = namedBits(uint32(v[1]), rdpResponseFlags)
		r.Protocol = proto
	case 3: // RDP_NEG_FAILURE
		if code >= 1 && int(code) < len(rdpFailures) {
			c := int(code)
			r.ErrorCode = &c
			r.Reason = rdpFailures[code]
		}
	}
	return r, true
}

// x224Data returns the user data of an X.224 class 0 Data TPDU.
func x224Data(b []byte) ([]byte, bool) {
	if len(b) < 3 || b[0] != 2 || b[1] != 0xf0 || b[2] != 0x80 {
		return nil, false
	}
	return b[3:], true
}

// perLength reads an ASN.1 PER length determinant (X.691 10.9) of up to
// two octets.
func perLength(b []byte) (n int, rest []byte, ok bool) {
	switch {
	case len(b) >= 1 && b[0]&0x80 == 0:
		return int(b[0]), b[1:], true
	case len(b) >= 2 && b[0]&0xc0 == 0x80:
		return int(b[0]&0x3f)<<8 | int(b[1]), b[2:], true
	}
	return 0, nil, false
}

// parseMCSConnectInitial decodes the client data blocks of an MCS Connect
// Initial (T.125 ConnectMCSPDU 101) carrying a GCC Conference Create
// Request (MS-RDPBCGR 2.2.1.3): the client core data and the channel names
// of the client network data. ok is false when b is not a Connect Initial.
func parseMCSConnectInitial(b []byte) (*RDP, bool) {
	if len(b) < 2 || b[0] != 0x7f || b[1] != 0x65 {
		return nil, false
	}
	// The H.221 key "Duca" ends the GCC header; the client data follows.
	i := bytes.Index(b[2:], []byte("Duca"))
	if i < 0 {
		return nil, false
	}
	n, rest, ok := perLength(b[2+i+4:])
	if !ok || n > len(rest) {
		return nil, false
	}
	r := &RDP{EventType: RDPConnectRequest}
	blocks := rest[:n]
	for len(blocks) >= 4 {
		typ := binary.LittleEndian.Uint16(blocks)
		l := int(binary.LittleEndian.Uint16(blocks[2:]))
		if l < 4 || l > len(blocks) {
			break
		}
		data := blocks[4:l]
		switch typ {
		case 0xc001: // CS_CORE
			c, ok := parseClientCore(data)
			if !ok {
				return r, true
			}
			if r.Client == nil {
				r.Client = c
			}
		case 0xc003: // CS_NET
			if l < 8 {
				return r, true
			}
			chans, ok := parseClientNet(blocks[8:l], binary.LittleEndian.Uint32(blocks[4:]))
			if !ok {
				return r, true
			}
			if len(chans) > 0 {
				r.Channels = chans
			}
		}
		blocks = blocks[l:]
	}
	return r, true
}

// parseClientNet reads count CHANNEL_DEF structures (8-byte name, options).
func parseClientNet(b []byte, count uint32) ([]string, bool) {
	var out []string
	for i := uint32(0); i < count; i++ {
		if len(b) < 12 {
			return nil, false
		}
		name := b[:8]
		if j := bytes.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		if !utf8.Valid(name) {
			return nil, false
		}
		if len(out) < maxRDPChannels {
			out = append(out, string(name))
		}
		b = b[12:]
	}
	return out, true
}

// utf16z decodes a NUL-terminated (or NUL-padded) UTF-16LE field; ok is
// false for an unpaired surrogate.
func utf16z(b []byte) (string, bool) {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	for i := 0; i < len(u); i++ {
		switch {
		case u[i] >= 0xd800 && u[i] < 0xdc00:
			if i+1 >= len(u) || u[i+1] < 0xdc00 || u[i+1] >= 0xe000 {
				return "", false
			}
			i++
		case u[i] >= 0xdc00 && u[i] < 0xe000:
			return "", false
		}
	}
	return string(utf16.Decode(u)), true
}

// parseClientCore decodes TS_UD_CS_CORE (MS-RDPBCGR 2.2.1.3.2). Its
// optional fields each need the one before: the first one missing or out
// of its defined range ends them, as it does in Suricata.
func parseClientCore(b []byte) (*RDPClient, bool) {
	if len(b) < 128 {
		return nil, false
	}
	le16 := func(o int) uint16 { return binary.LittleEndian.Uint16(b[o:]) }
	le32 := func(o int) uint32 { return binary.LittleEndian.Uint32(b[o:]) }
	name, ok := utf16z(b[20:52])
	if !ok {
		return nil, false
	}
	ime, ok := utf16z(b[64:128])
	if !ok {
		return nil, false
	}
	c := &RDPClient{
		Version:         rdpVersion(le32(0)),
		DesktopWidth:    int(le16(4)),
		DesktopHeight:   int(le16(6)),
		KeyboardLayout:  lcidName(le32(12)),
		Build:           windowsBuild(le32(16)),
		ClientName:      name,
		KeyboardType:    rdpKeyboards[min(le32(52), uint32(len(rdpKeyboards)-1))],
		KeyboardSubtype: int(le32(56)),
		FunctionKeys:    int(le32(60)),
		IME:             ime,
	}
	switch le16(8) { // colorDepth, overridden by the optional fields
	case 0xca00:
		c.ColorDepth = 4
	case 0xca01:
		c.ColorDepth = 8
	}
	coreOptional(c, b[128:])
	return c, true
}

// coreOptional reads the optional fields of TS_UD_CS_CORE that follow
// imeFileName, up to the first one missing or out of its defined range.
func coreOptional(c *RDPClient, b []byte) {
	le16 := func() uint16 { return binary.LittleEndian.Uint16(b) }
	le32 := func() uint32 { return binary.LittleEndian.Uint32(b) }
	intp := func(v uint32) *int { i := int(v); return &i }
	if len(b) < 2 {
		return
	}
	post, ok := rdpPostBeta2Depth[le16()]
	if !ok {
		return
	}
	if post != 0 {
		c.ColorDepth = post
	}
	if b = b[2:]; len(b) < 2 {
		return
	}
	c.ProductID = intp(uint32(le16()))
	if b = b[2:]; len(b) < 4 {
		return
	}
	c.SerialNumber = int64(le32())
	if b = b[4:]; len(b) < 2 {
		return
	}
	high, ok := rdpHighDepth[le16()]
	if !ok {
		return
	}
	if high != 0 {
		c.ColorDepth = high
	}
	// supportedColorDepths, then earlyCapabilityFlags: unknown bits end
	// the fields.
	if b = b[2:]; len(b) < 2 || le16()&^0xf != 0 {
		return
	}
	if b = b[2:]; len(b) < 2 || le16()&^0x7ff != 0 {
		return
	}
	c.Capabilities = namedBits(uint32(le16()), rdpCapabilities)
	if b = b[2:]; len(b) < 64 {
		return
	}
	id, ok := utf16z(b[:64])
	if !ok {
		return
	}
	c.ID = id
	if b = b[64:]; len(b) < 1 || b[0] > 7 { // connectionType
		return
	}
	c.ConnectionHint = rdpConnectionHints[b[0]]
	// pad1octet, then serverSelectedProtocol
	if b = b[1:]; len(b) < 1 {
		return
	}
	if b = b[1:]; len(b) < 4 || le32()&^0xf != 0 {
		return
	}
	mm := func(v uint32) bool { return v >= 10 && v <= 10000 }
	if b = b[4:]; len(b) < 4 || !mm(le32()) {
		return
	}
	c.PhysicalWidth = intp(le32())
	if b = b[4:]; len(b) < 4 || !mm(le32()) {
		return
	}
	c.PhysicalHeight = intp(le32())
	if b = b[4:]; len(b) < 2 {
		return
	}
	switch o := le16(); o {
	case 0, 90, 180, 270:
		c.DesktopOrientation = intp(uint32(o))
	default:
		return
	}
	if b = b[2:]; len(b) < 4 || le32() < 100 || le32() > 500 {
		return
	}
	c.ScaleFactor = intp(le32())
	if b = b[4:]; len(b) < 4 {
		return
	}
	switch v := le32(); v {
	case 100, 140, 180:
		c.DeviceScaleFactor = intp(v)
	}
}

// certSerials returns the serial numbers, in lowercase hexadecimal without
// leading zeros, of the certificates of a TLS Certificate message body that
// are complete and well formed. A body cut short yields the ones before
// the cut.
func certSerials(body []byte) []string {
	out := []string{}
	if len(body) < 3 {
		return out
	}
	body = body[3:] // certificate_list length: the list may be cut short
	for len(body) >= 3 && len(out) < maxRDPCerts {
		l := int(body[0])<<16 | int(body[1])<<8 | int(body[2])
		if l > len(body)-3 {
			break
		}
		if s, ok := certSerial(body[3 : 3+l]); ok {
			out = append(out, s)
		}
		body = body[3+l:]
	}
	return out
}

// certSerial reads the serial number of a DER certificate that has the
// shape of one (TBS, algorithm, signature).
func certSerial(der []byte) (string, bool) {
	var cert struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &cert); err != nil || len(rest) != 0 {
		return "", false
	}
	raw := rawSerial(cert.TBS.FullBytes)
	if len(raw) == 0 {
		return "", false
	}
	s := strings.TrimLeft(hex.EncodeToString(raw), "0")
	if s == "" {
		s = "0"
	}
	return s, true
}

// rdpParser follows an RDP connection set-up in both directions.
type rdpParser struct {
	nextTx  int    // id of the last transaction (the first is 1)
	off     [2]int // stream bytes consumed per direction
	end     int    // stream offset of the end of the bytes being fed
	tls     bool   // TPKTs gave way to TLS records
	stopped bool   // bypass after the last logged message, or a parse error
}

func (p *rdpParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	d := 1
	if toServer {
		d = 0
	}
	p.end = p.off[d] + len(b)
	n := 0
	for n < len(b) && !p.stopped {
		var k int
		if p.tls {
			k = p.tlsRecord(c, toServer, b[n:])
		} else {
			k = p.tpkt(c, toServer, b[n:])
		}
		if k == 0 {
			break
		}
		n += k
	}
	p.off[d] += n
	if p.stopped {
		return len(b), true
	}
	return n, false
}

// tpkt parses one TPKT packet at the start of b and returns its length, or
// 0 when it is not complete yet.
func (p *rdpParser) tpkt(c *ctx, toServer bool, b []byte) int {
	if b[0] != 3 {
		if b[0] == 0x16 {
			// A TLS handshake where a TPKT was due: the connection moved
			// to TLS (security protocol ssl, hybrid or hybrid_ex).
			p.tls = true
			return p.tlsRecord(c, toServer, b)
		}
		p.stopped = true
		return 0
	}
	if len(b) < 4 {
		return 0
	}
	l := int(binary.BigEndian.Uint16(b[2:]))
	if l < 4 {
		p.stopped = true
		return 0
	}
	if len(b) < l {
		return 0
	}
	body := b[4:l]
	if toServer {
		if r, ok := parseX224Request(body); ok {
			p.log(c, toServer, r)
		} else if _, ok := parseX224Confirm(body); ok {
			// A confirm sent by the client is not a transaction.
		} else if data, ok := x224Data(body); ok {
			if r, ok := parseMCSConnectInitial(data); ok {
				p.log(c, toServer, r)
			}
		}
		return l
	}
	if _, ok := parseX224Request(body); ok {
		return l
	}
	if r, ok := parseX224Confirm(body); ok {
		p.log(c, toServer, r)
	} else if data, ok := x224Data(body); ok {
		if len(data) >= 2 && data[0] == 0x7f && data[1] == 0x66 {
			p.log(c, toServer, &RDP{EventType: RDPConnectResponse})
			p.stopped = true
		}
	}
	return l
}

// tlsRecord steps over one TLS record and logs the server's certificate
// chain; it returns the record's length, or 0 when it is not complete.
func (p *rdpParser) tlsRecord(c *ctx, toServer bool, b []byte) int {
	if len(b) < 5 {
		return 0
	}
	typ, l := b[0], int(binary.BigEndian.Uint16(b[3:]))
	if typ < 20 || typ > 23 || b[1] != 3 || l > maxRDPTLSRecord {
		p.stopped = true
		return 0
	}
	if len(b)-5 < l {
		// A record that cannot come whole within the bytes a direction
		// inspects is read as far as it goes: a long chain still gives
		// the serials of its first certificates.
		if !toServer && typ == 22 && p.end >= c.cfg.maxBytes() {
			p.handshake(c, b[5:])
			p.stopped = true
		}
		return 0
	}
	if !toServer && typ == 22 {
		p.handshake(c, b[5:5+l])
	}
	return 5 + l
}

// handshake looks for a Certificate message in the handshake messages of a
// server record.
func (p *rdpParser) handshake(c *ctx, b []byte) {
	for len(b) >= 4 && !p.stopped {
		typ := b[0]
		l := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		body := b[4:]
		if l < len(body) {
			body = body[:l]
		}
		if typ == 11 {
			p.log(c, false, &RDP{EventType: RDPTLSHandshake, X509Serials: certSerials(body)})
			p.stopped = true
			return
		}
		if l > len(b)-4 {
			return
		}
		b = b[4+l:]
	}
}

// log sends one transaction. Suricata logs a transaction from the packet
// that made it parsed, which for stream data is the other side's
// acknowledgement (from the flow-end pseudo packet or, on a one-sided
// capture, the data itself otherwise): the event's direction is that
// packet's.
func (p *rdpParser) log(c *ctx, dataToServer bool, r *RDP) {
	p.nextTx++
	r.TxID = p.nextTx
	pkt := dataToServer
	if c.st != nil && c.st.lastIdx != 0 && !c.st.async {
		pkt = !dataToServer
	}
	c.send(&Event{Type: "rdp", RDP: r}, pkt)
}

func (p *rdpParser) close(*ctx) {}

func (p *rdpParser) done() bool { return p.stopped }

// namedBits lists the names of the bits set in v, in the table's order;
// nil when none is named.
func namedBits(v uint32, names []bitName) []string {
	var out []string
	for _, n := range names {
		if v&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

type bitName struct {
	bit  uint32
	name string
}

var rdpRequestFlags = []bitName{
	{0x1, "restricted_admin_mode_required"},
	{0x2, "redirected_authentication_mode_required"},
	{0x8, "correlation_info_present"},
}

// rdpResponseFlags leaves out NEGRSP_FLAG_RESERVED (0x4), which Suricata
// does not log.
var rdpResponseFlags = []bitName{
	{0x1, "extended_client_data"},
	{0x2, "dynvc_gfx"},
	{0x8, "restricted_admin"},
	{0x10, "redirected_authentication"},
}

// rdpCapabilities are the early capability flags of the client core data;
// RNS_UD_CS_UNUSED (0x10) is not logged.
var rdpCapabilities = []bitName{
	{0x1, "support_errinfo_pdf"},
	{0x2, "want_32bpp_session"},
	{0x4, "support_statusinfo_pdu"},
	{0x8, "strong_asymmetric_keys"},
	{0x20, "valid_connection_type"},
	{0x40, "support_monitor_layout_pdu"},
	{0x80, "support_netchar_autodetect"},
	{0x100, "support_dynvc_gfx_protocol"},
	{0x200, "support_dynamic_time_zone"},
	{0x400, "support_heartbeat_pdu"},
}

// rdpProtocols are the selectedProtocol values of an RDP_NEG_RSP.
var rdpProtocols = map[uint32]string{0: "rdp", 1: "ssl", 2: "hybrid", 4: "rds_tls", 8: "hybrid_ex"}

// rdpFailures are the failureCode reasons of an RDP_NEG_FAILURE.
var rdpFailures = [...]string{1: "ssl required by server", 2: "ssl not allowed by server",
	3: "ssl cert not on server", 4: "inconsistent flags", 5: "hybrid required by server",
	6: "ssl with user auth required by server"}

// rdpKeyboards names keyboardType 1-7; anything else is left out.
var rdpKeyboards = [...]string{1: "xt", 2: "ico", 3: "at", 4: "enhanced", 5: "1050", 6: "9140", 7: "jp", 8: ""}

var rdpConnectionHints = [...]string{0: "", 1: "modem", 2: "low_broadband", 3: "satellite",
	4: "high_broadband", 5: "wan", 6: "lan", 7: "autodetect"}

// rdpPostBeta2Depth maps postBeta2ColorDepth to bits per pixel (0: not
// provided); a value not listed ends the optional fields.
var rdpPostBeta2Depth = map[uint16]int{0: 0, 0xca00: 4, 0xca01: 8, 0xca02: 15, 0xca03: 16, 0xca04: 24}

// rdpHighDepth maps highColorDepth to bits per pixel (0: not provided).
var rdpHighDepth = map[uint16]int{0: 0, 4: 4, 8: 8, 15: 15, 16: 16, 24: 24}

// rdpVersion names the client's RDP version as Suricata does.
func rdpVersion(v uint32) string {
	switch {
	case v == 0x80001:
		return "v4"
	case v == 0x80004:
		return "v5"
	case v >= 0x80005 && v <= 0x8000c:
		return "v10." + string(rune('0'+v-0x80005))
	}
	return "unknown"
}

// windowsBuild names the client's Windows build as Suricata does.
func windowsBuild(b uint32) string {
	switch b {
	case 528:
		return "Windows NT 3.1"
	case 807:
		return "Windows NT 3.5"
	case 1057:
		return "Windows NT 3.51"
	case 1381:
		return "Windows NT 4.0"
	case 2195:
		return "Windows 2000"
	case 2600:
		return "Windows XP"
	case 3790:
		return "Windows Server 2003"
	case 6000:
		return "Windows Vista RTM"
	case 6001:
		return "Windows Vista SP1"
	case 6002:
		return "Windows Vista SP2"
	case 7600:
		return "Windows 7 RTM"
	case 7601:
		return "Windows 7 SP1"
	case 9200:
		return "Windows 8"
	case 9600:
		return "Windows 8.1"
	case 10240:
		return "Windows 10 TH1"
	case 10586:
		return "Windows 10 TH2"
	case 14393:
		return "Windows 10 RS1"
	case 15063:
		return "Windows 10 RS2"
	case 16299:
		return "Windows 10 RS3"
	case 17134:
		return "Windows 10 RS4"
	case 17763:
		return "Windows 10 RS5"
	}
	return "unknown"
}

// Summary is a one-line account of the transaction for the console.
func (r *RDP) Summary() string {
	switch r.EventType {
	case RDPInitialRequest:
		if r.Cookie != "" {
			return "cookie " + r.Cookie
		}
		return "connection request"
	case RDPInitialResponse:
		switch {
		case r.Protocol != "":
			return "server selected " + r.Protocol
		case r.Reason != "":
			return "refused: " + r.Reason
		}
		return "connection confirm"
	case RDPConnectRequest:
		s := "client"
		if c := r.Client; c != nil {
			s += " " + c.ClientName + " (" + c.Build + ", " + c.KeyboardLayout + ")"
		}
		if len(r.Channels) > 0 {
			s += " channels " + strings.Join(r.Channels, ",")
		}
		return s
	case RDPTLSHandshake:
		return "TLS, server certificate serials " + strings.Join(r.X509Serials, ",")
	}
	return strings.ReplaceAll(r.EventType, "_", " ")
}
