package proto

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// SSH: both banners and both KEXINITs make one ssh event (EVE ssh, with
// HASSH), when both sides are done or the flow ends.
func init() {
	registerProtocol(protocol{name: "ssh",
		tcp: []probe{{order: tierSignature + 10, first: "S", match: func(b []byte, _ bool, _, _ uint16) bool {
			return bytes.HasPrefix(b, []byte("SSH-"))
		}}},
		newTCP: func(*State) parser { return &sshParser{} }})
}

// maxSSHPacket bounds the binary packet the parser waits for; a KEXINIT is
// around 1-2 KB.
const maxSSHPacket = 35000

// maxSSHPreBanner bounds the lines a server may send before its banner
// (RFC 4253 4.2).
const maxSSHPreBanner = 8

// SSH is both sides' banners and HASSH (EVE ssh object).
type SSH struct {
	Client SSHSide `json:"client"`
	Server SSHSide `json:"server"`
}

// SSHSide is one side of an SSH session.
type SSHSide struct {
	ProtoVersion    string `json:"proto_version,omitempty"`
	SoftwareVersion string `json:"software_version,omitempty"`
	HASSH           *HASSH `json:"hassh,omitempty"`
}

// HASSH is an SSH key-exchange fingerprint.
type HASSH struct {
	Hash   string `json:"hash"`
	String string `json:"string"`
}

// EventType is "ssh".
func (s *SSH) EventType() string { return "ssh" }

// AppendEVE appends the EVE ssh object.
func (s *SSH) AppendEVE(b []byte, _ EVEOptions) ([]byte, error) {
	j, err := json.Marshal(s)
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}

// Line is "client software -> server software".
func (s *SSH) Line() (summary, detail string) {
	return s.Client.SoftwareVersion + " -> " + s.Server.SoftwareVersion, ""
}

// KexInit holds the name-lists of an SSH_MSG_KEXINIT that HASSH uses.
type KexInit struct {
	Kex, HostKey, EncCS, EncSC, MACCS, MACSC, CompCS, CompSC string
}

// ParseKexInit decodes an SSH_MSG_KEXINIT payload (starting with the message
// number 20).
func ParseKexInit(b []byte) (*KexInit, error) {
	if len(b) < 17 || b[0] != 20 {
		return nil, errors.New("parse ssh kexinit: not a KEXINIT")
	}
	b = b[17:]
	var lists [8]string
	for i := range lists {
		if len(b) < 4 {
			return nil, errors.New("parse ssh kexinit: truncated")
		}
		l := binary.BigEndian.Uint32(b)
		if uint64(l) > uint64(len(b)-4) {
			return nil, errors.New("parse ssh kexinit: truncated")
		}
		lists[i] = string(b[4 : 4+l])
		b = b[4+l:]
	}
	return &KexInit{Kex: lists[0], HostKey: lists[1], EncCS: lists[2], EncSC: lists[3],
		MACCS: lists[4], MACSC: lists[5], CompCS: lists[6], CompSC: lists[7]}, nil
}

// HASSH returns the client (toServer) or server fingerprint
// (https://github.com/salesforce/hassh).
func (k *KexInit) HASSH(client bool) *HASSH {
	var s string
	if client {
		s = k.Kex + ";" + k.EncCS + ";" + k.MACCS + ";" + k.CompCS
	} else {
		s = k.Kex + ";" + k.EncSC + ";" + k.MACSC + ";" + k.CompSC
	}
	sum := md5.Sum([]byte(s))
	return &HASSH{Hash: hex.EncodeToString(sum[:]), String: s}
}

// parseBanner splits "SSH-2.0-OpenSSH_7.4 comments" into its versions.
func parseBanner(line string) (proto, software string, ok bool) {
	rest, found := strings.CutPrefix(line, "SSH-")
	if !found {
		return "", "", false
	}
	proto, software, _ = strings.Cut(rest, "-")
	if i := strings.IndexByte(software, ' '); i >= 0 {
		software = software[:i]
	}
	return proto, software, true
}

// sshParser reads both banners and both KEXINITs, then emits one ssh event.
type sshParser struct {
	info     SSH
	banner   [2]bool
	pre      [2]int
	finished [2]bool
	emitted  bool
}

func (p *sshParser) feed(c *ctx, toServer bool, b []byte) (int, bool) {
	d := 1
	side := &p.info.Server
	if toServer {
		d, side = 0, &p.info.Client
	}
	n := 0
	for !p.banner[d] {
		i := bytes.IndexByte(b[n:], '\n')
		if i < 0 {
			if len(b)-n > 255 {
				p.finished[d] = true
				return len(b), true
			}
			return n, false
		}
		line := strings.TrimRight(string(b[n:n+i]), "\r")
		n += i + 1
		if pv, sv, ok := parseBanner(line); ok {
			side.ProtoVersion, side.SoftwareVersion = pv, sv
			p.banner[d] = true
			break
		}
		p.pre[d]++
		if p.pre[d] > maxSSHPreBanner {
			p.finished[d] = true
			return len(b), true
		}
	}
	if len(b)-n < 6 {
		return n, false
	}
	l := binary.BigEndian.Uint32(b[n:])
	if l > maxSSHPacket || l < 2 {
		p.finish(c, d)
		return len(b), true
	}
	if uint64(len(b)-n-4) < uint64(l) {
		return n, false
	}
	pad := int(b[n+4])
	payload := b[n+5 : n+4+int(l)]
	if pad <= len(payload) {
		payload = payload[:len(payload)-pad]
	}
	if k, err := ParseKexInit(payload); err == nil {
		side.HASSH = k.HASSH(toServer)
	}
	p.finish(c, d)
	return len(b), true
}

func (p *sshParser) finish(c *ctx, d int) {
	p.finished[d] = true
	if p.finished[0] && p.finished[1] {
		p.emit(c, d == 0)
	}
}

func (p *sshParser) emit(c *ctx, toServer bool) {
	if p.emitted || (!p.banner[0] && !p.banner[1]) {
		return
	}
	p.emitted = true
	s := p.info
	c.record(&s, toServer)
}

func (p *sshParser) close(c *ctx) { p.emit(c, true) }

func (p *sshParser) done() bool { return p.emitted }
