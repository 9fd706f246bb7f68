// Package proto extracts application facts (DNS, TLS, HTTP, FTP, SSH, RDP,
// Telnet, mail, LDAP, PostgreSQL, Redis and SOCKS5 logins) from the first
// bytes of each direction of a flow.
package proto

import "time"

// Event is one application-layer fact. Exactly one of the typed fields or
// Body is set; Type names it and is the EVE event_type ("dns", "tls",
// "http", "ftp", "rdp", "quic", "credential", or the Body's: "ssh").
// The engine adds the flow's common fields (addresses, ports, flow_id,
// community_id, timestamp) when it encodes the event.
type Event struct {
	Type     string
	TS       time.Time
	ToServer bool   // direction of the packet that completed the event
	PcapCnt  uint64 // frame number of that packet (file input)

	DNS  *DNS
	TLS  *TLS
	HTTP *HTTP
	FTP  *FTP
	RDP  *RDP
	QUIC *QUIC
	// Cred is a credential seen in clear (FTP, Telnet, HTTP Basic and form
	// or JSON logins, POP3, IMAP and SMTP logins and SASL PLAIN, LOGIN,
	// XOAUTH2 and OAUTHBEARER, LDAP binds, PostgreSQL cleartext passwords,
	// Redis AUTH, SOCKS5). It travels as its own event so detectors need not know each
	// protocol; the protocol's own event may also carry it.
	Cred *Credential
	// Body is the event of a parser on the registry (registry.go): it
	// writes its own EVE object and console line.
	Body Record
}

// DNSQuery is one question (EVE dns.queries[]).
type DNSQuery struct {
	RRName          string `json:"rrname"`
	RRType          string `json:"rrtype"`
	RRNameTruncated bool   `json:"rrname_truncated,omitempty"`
}

// DNSAnswer is one resource record (EVE dns.answers[], authorities[], additionals[]).
type DNSAnswer struct {
	RRName string `json:"rrname"`
	// RRNameTruncated and RDataTruncated are set where Suricata's schema
	// has them (queries, authorities): names longer than 1025 bytes.
	RRNameTruncated bool      `json:"rrname_truncated,omitempty"`
	RRType          string    `json:"rrtype"`
	TTL             uint32    `json:"ttl"`
	RData           string    `json:"rdata,omitempty"`
	RDataTruncated  bool      `json:"rdata_truncated,omitempty"`
	SOA             *DNSSOA   `json:"soa,omitempty"`
	SRV             *DNSSRV   `json:"srv,omitempty"`
	SSHFP           *DNSSSHFP `json:"sshfp,omitempty"`
	Opt             []DNSOpt  `json:"opt,omitempty"` // EDNS options of an OPT record
}

// DNSSRV is the data of a SRV record (EVE answers[].srv).
type DNSSRV struct {
	Priority uint16 `json:"priority"`
	Weight   uint16 `json:"weight"`
	Port     uint16 `json:"port"`
	Name     string `json:"name"`
}

// DNSSOA is the data of a SOA record.
type DNSSOA struct {
	MName          string `json:"mname"`
	MNameTruncated bool   `json:"mname_truncated,omitempty"`
	RName          string `json:"rname"`
	Serial         uint32 `json:"serial"`
	Refresh        uint32 `json:"refresh"`
	Retry          uint32 `json:"retry"`
	Expire         uint32 `json:"expire"`
	Minimum        uint32 `json:"minimum"`
}

// DNS is a DNS request or response, in Suricata's EVE v3 shape.
type DNS struct {
	Version     int         `json:"version"`
	Type        string      `json:"type"` // "request" or "response"
	TxID        int         `json:"tx_id"`
	ID          uint16      `json:"id"`
	Flags       string      `json:"flags,omitempty"` // hex, e.g. "8180"
	QR          bool        `json:"qr,omitempty"`
	AA          bool        `json:"aa,omitempty"`
	TC          bool        `json:"tc,omitempty"`
	RD          bool        `json:"rd,omitempty"`
	RA          bool        `json:"ra,omitempty"`
	Z           bool        `json:"z,omitempty"` // the reserved header bit
	Opcode      int         `json:"opcode"`
	RCode       string      `json:"rcode,omitempty"` // "NOERROR", "NXDOMAIN", ...
	Queries     []DNSQuery  `json:"queries,omitempty"`
	Answers     []DNSAnswer `json:"answers,omitempty"`
	Authorities []DNSAnswer `json:"authorities,omitempty"`
	Additionals []DNSAnswer `json:"additionals,omitempty"`
}

// TLS is what a TLS handshake showed (EVE tls object).
type TLS struct {
	SNI         string   `json:"sni,omitempty"`
	Version     string   `json:"version,omitempty"` // "TLS 1.3", "TLS 1.2", ...
	Subject     string   `json:"subject,omitempty"`
	IssuerDN    string   `json:"issuerdn,omitempty"`
	Serial      string   `json:"serial,omitempty"`
	Fingerprint string   `json:"fingerprint,omitempty"`
	NotBefore   string   `json:"notbefore,omitempty"`
	NotAfter    string   `json:"notafter,omitempty"`
	ALPN        []string `json:"alpn_ts,omitempty"`
	ALPNServer  []string `json:"alpn_tc,omitempty"` // protocol the server chose
	JA3         *JA      `json:"ja3,omitempty"`
	JA3S        *JA      `json:"ja3s,omitempty"`
	JA4         string   `json:"ja4,omitempty"`
	// Ciphers offered by the client, as IANA numbers.
	Ciphers []uint16 `json:"-"`
}

// JA is a JA3/JA3S fingerprint: the string and its MD5.
type JA struct {
	Hash   string `json:"hash"`
	String string `json:"string"`
}

// HTTP is one HTTP/1.x request and, when seen, its response (EVE http object).
type HTTP struct {
	Hostname      string `json:"hostname,omitempty"`
	Port          uint16 `json:"http_port,omitempty"`
	URL           string `json:"url,omitempty"`
	UserAgent     string `json:"http_user_agent,omitempty"`
	ContentType   string `json:"http_content_type,omitempty"`
	Method        string `json:"http_method,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
	Status        int    `json:"status,omitempty"`
	Length        int64  `json:"length"`
	Referer       string `json:"http_refer,omitempty"`
	Authorization string `json:"-"` // scheme only is shown; the credential goes to Cred
	// TxID numbers the flow's transactions from 0 (EVE's top-level tx_id).
	TxID int `json:"-"`
}

// FTP is one FTP command and its reply (EVE ftp object).
type FTP struct {
	Command        string   `json:"command"`
	CommandData    string   `json:"command_data,omitempty"`
	Reply          []string `json:"reply,omitempty"`
	CompletionCode []string `json:"completion_code,omitempty"`
}

// RDP is one transaction of an RDP connection set-up, in Suricata's EVE rdp
// shape (see rdp.go): which fields are set depends on EventType.
type RDP struct {
	TxID      int    `json:"tx_id"`
	EventType string `json:"event_type"`
	// initial_request
	Cookie string   `json:"cookie,omitempty"`
	Flags  []string `json:"flags,omitempty"`
	// initial_response: the selected protocol and what the server
	// supports, or the negotiation failure.
	ServerSupports []string `json:"server_supports,omitempty"`
	Protocol       string   `json:"protocol,omitempty"`
	ErrorCode      *int     `json:"error_code,omitempty"`
	Reason         string   `json:"reason,omitempty"`
	// connect_request
	Client   *RDPClient `json:"client,omitempty"`
	Channels []string   `json:"channels,omitempty"`
	// tls_handshake: present, possibly empty, in that event only.
	X509Serials []string `json:"x509_serials,omitzero"`
}

// RDPClient is the client core data of an MCS Connect Initial (EVE
// rdp.client).
type RDPClient struct {
	Version            string   `json:"version"`
	DesktopWidth       int      `json:"desktop_width"`
	DesktopHeight      int      `json:"desktop_height"`
	ColorDepth         int      `json:"color_depth,omitempty"`
	KeyboardLayout     string   `json:"keyboard_layout"`
	Build              string   `json:"build"`
	ClientName         string   `json:"client_name,omitempty"`
	KeyboardType       string   `json:"keyboard_type,omitempty"`
	KeyboardSubtype    int      `json:"keyboard_subtype,omitempty"`
	FunctionKeys       int      `json:"function_keys,omitempty"`
	IME                string   `json:"ime,omitempty"`
	ProductID          *int     `json:"product_id,omitempty"`
	SerialNumber       int64    `json:"serial_number,omitempty"`
	Capabilities       []string `json:"capabilities,omitempty"`
	ID                 string   `json:"id,omitempty"`
	ConnectionHint     string   `json:"connection_hint,omitempty"`
	PhysicalWidth      *int     `json:"physical_width,omitempty"`
	PhysicalHeight     *int     `json:"physical_height,omitempty"`
	DesktopOrientation *int     `json:"desktop_orientation,omitempty"`
	ScaleFactor        *int     `json:"scale_factor,omitempty"`
	DeviceScaleFactor  *int     `json:"device_scale_factor,omitempty"`
}

// Credential is a login seen in clear.
type Credential struct {
	Protocol string `json:"protocol"` // "ftp", "telnet", "http", "pop3", "imap", "smtp", "ldap", "pgsql", "redis", "socks5"
	User     string `json:"user"`
	// Password is the secret as sent. Encoders mask it unless told to show
	// secrets (--show-secrets).
	Password string `json:"-"`
	// Outcome is "success", "failure" or "unknown" when the reply is not seen.
	Outcome string `json:"outcome"`
	Reply   string `json:"reply,omitempty"` // server reply code or status line
}
