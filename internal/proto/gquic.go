package proto

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Google QUIC (Q043 to Q046) sends its client hello, CHLO, in clear: a
// STREAM frame holding a tag-value message. Suricata logs its SNI, its
// user agent (UAID) and CYU, the version and tag order hashed as JA3 hashes
// a TLS hello; so does this. References: the gQUIC crypto handshake and
// wire layout documents, and Suricata's rust/src/quic for what it logs.

const (
	gquicQ043 = 0x51303433
	gquicQ044 = 0x51303434
	gquicQ045 = 0x51303435
	gquicQ046 = 0x51303436
)

// isGQUIC is Suricata's test for the gQUIC versions whose headers it reads
// the gQUIC way.
func isGQUIC(v uint32) bool { return v >= gquicQ043 && v <= gquicQ046 }

// gquicTagNames are the CHLO tags Suricata knows; a message with any other
// tag is not read (as Suricata does not).
var gquicTagNames = map[uint32]string{
	0x41454144: "AEAD", 0x43435254: "CCRT", 0x43435300: "CCS", 0x43455456: "CETV",
	0x43464357: "CFCW", 0x43484c4f: "CHLO", 0x434f5054: "COPT", 0x43534354: "CSCT",
	0x4354494d: "CTIM", 0x4943534c: "ICSL", 0x49525454: "IRTT", 0x4b455853: "KEXS",
	0x4d494453: "MIDS", 0x4d535043: "MSPC", 0x4e4f4e43: "NONC", 0x4e4f4e50: "NONP",
	0x50414400: "PAD", 0x50444d44: "PDMD", 0x50554253: "PUBS", 0x53434944: "SCID",
	0x53434c53: "SCLS", 0x53464357: "SFCW", 0x534d484c: "SMHL", 0x534e4900: "SNI",
	0x534e4f00: "SNO", 0x53544b00: "STK", 0x54434944: "TCID", 0x55414944: "UAID",
	0x56455200: "VER", 0x584c4354: "XLCT",
}

const (
	gquicTagSNI  = 0x534e4900
	gquicTagUAID = 0x55414944
)

// gquicCYUVersion is the version as CYU writes it ("" when CYU is not
// defined for it; Suricata writes Q045 as 44).
func gquicCYUVersion(v uint32) string {
	switch v {
	case gquicQ043:
		return "43"
	case gquicQ044, gquicQ045:
		return "44"
	case gquicQ046:
		return "46"
	}
	return ""
}

// gquicPublic reads a gQUIC public header (first byte without the long
// header and fixed bits: Q043 and earlier). It returns the version (0
// when the version flag is clear) and the frames that follow, which are
// in clear when the version flag is set.
func gquicPublic(b []byte) (version uint32, frames []byte, ok bool) {
	flags := b[0]
	i := 1
	if flags&0x08 != 0 {
		i += 8 // connection ID
	} else if flags&0x04 != 0 {
		i += 32 // diversification nonce
	}
	if flags&0x01 != 0 {
		if len(b) < i+4 {
			return 0, nil, false
		}
		version = binary.BigEndian.Uint32(b[i:])
		i += 4
	}
	i += 1 + int(flags&0x30)>>4 // packet number, as Suricata sizes it
	if flags&0x08 != 0 {
		i += 12 // message authentication hash
	}
	if len(b) < i {
		return 0, nil, false
	}
	return version, b[i:], true
}

// gquicLong reads a Q044 to Q046 long header: its type and, for an
// Initial, the frames in clear.
func gquicLong(b []byte, v uint32) (typ quicPacketType, frames []byte, ok bool) {
	if len(b) < 6 {
		return 0, nil, false
	}
	if v == gquicQ046 {
		typ = quicPacketType((b[0] >> 4) & 3)
	} else {
		switch b[0] & 0x7f {
		case 0x7f:
			typ = quicInitial
		case 0x7e:
			typ = quicRetry
		case 0x7d:
			typ = quicHandshake
		case 0x7c:
			typ = quic0RTT
		default:
			return 0, nil, false
		}
	}
	dl, sl := int(b[5]>>4), int(b[5]&0x0f)
	if dl != 0 {
		dl += 3
	}
	if sl != 0 {
		sl += 3
	}
	i := 6 + dl + sl
	if typ == quicInitial {
		i += 4 + 12 // packet number, message authentication hash
	}
	if len(b) < i {
		return 0, nil, false
	}
	return typ, b[i:], true
}

// gquicFrames reads the frames of a gQUIC packet in clear and fills ev
// from the tag-value messages its STREAM frames carry.
func gquicFrames(ev *QUIC, v uint32, p []byte) {
	for len(p) > 0 {
		typ := p[0]
		p = p[1:]
		switch {
		case typ&0x80 != 0: // STREAM
			offLen := int(typ&0x1c) >> 2
			if offLen != 0 {
				offLen++
			}
			n := int(typ&3) + 1 + offLen
			if len(p) < n {
				return
			}
			p = p[n:]
			l := len(p)
			if typ&0x20 != 0 {
				if len(p) < 2 {
					return
				}
				l = int(binary.BigEndian.Uint16(p))
				p = p[2:]
				if l > len(p) {
					return
				}
			}
			gquicMessage(ev, v, p[:l])
			p = p[l:]
		case typ == 0x00: // PADDING runs to the next non-zero byte
			for len(p) > 0 && p[0] == 0 {
				p = p[1:]
			}
		case typ == 0x01: // PING
		default:
			// Anything else ends what can be read without the frame
			// layouts of each gQUIC version.
			return
		}
	}
}

// gquicMessage reads one tag-value message (a CHLO): a message tag, a
// count, two bytes of padding, count pairs of tag and end offset, then
// the values.
func gquicMessage(ev *QUIC, v uint32, b []byte) {
	if len(b) < 8 {
		return
	}
	if _, ok := gquicTagNames[binary.BigEndian.Uint32(b)]; !ok {
		return
	}
	n := int(binary.LittleEndian.Uint16(b[4:]))
	b = b[8:]
	if len(b) < 8*n {
		return
	}
	idx, vals := b[:8*n], b[8*n:]
	names := make([]string, 0, n)
	var sni, ua []byte
	prev := uint32(0)
	for i := 0; i < n; i++ {
		tag := binary.BigEndian.Uint32(idx[8*i:])
		end := binary.LittleEndian.Uint32(idx[8*i+4:])
		name, ok := gquicTagNames[tag]
		if !ok || end < prev || int(end) > len(vals) {
			return
		}
		val := vals[prev:end]
		prev = end
		names = append(names, name)
		switch tag {
		case gquicTagSNI:
			sni = val
		case gquicTagUAID:
			ua = val
		}
	}
	if int(prev) != len(vals) {
		return
	}
	if sni != nil {
		ev.SNI = strings.ToValidUTF8(string(sni), "\uFFFD")
	}
	if ua != nil {
		ev.UA = strings.ToValidUTF8(string(ua), "\uFFFD")
	}
	if cv := gquicCYUVersion(v); cv != "" {
		s := cv + "," + strings.Join(names, "-")
		sum := md5.Sum([]byte(s))
		ev.CYU = append(ev.CYU, JA{Hash: hex.EncodeToString(sum[:]), String: s})
	}
}
