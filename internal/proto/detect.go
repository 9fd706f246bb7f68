package proto

import "bytes"

// detectMinBytes is how much of a direction's first data detection waits for
// before it decides; every signature below fits in it.
const detectMinBytes = 8

var httpMethods = [...]string{"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ", "TRACE ", "PROPFIND "}

// detectTCP names the application protocol from the first stream bytes of one
// direction. Content decides first; well-known ports only break ties for
// protocols whose first bytes are plain text (a mail or FTP banner, Telnet
// without option negotiation). more is set when b is too short to decide.
func detectTCP(b []byte, toServer bool, sport, cport uint16) (app appID, more bool) {
	if len(b) < detectMinBytes {
		// A short first segment may still be a complete banner or command.
		if !bytes.Contains(b, []byte{'\n'}) && !(len(b) >= 3 && b[0] == 0xff && b[1] >= 0xfb) {
			return appNone, true
		}
	}
	switch {
	case len(b) >= 6 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && (b[5] == 1 || b[5] == 2):
		return appTLS, false
	case bytes.HasPrefix(b, []byte("SSH-")):
		return appSSH, false
	case bytes.HasPrefix(b, []byte("HTTP/1.")):
		return appHTTP, false
	case len(b) >= 11 && b[0] == 3 && b[1] == 0 && b[5]&0xf0 == 0xe0 && toServer:
		return appRDP, false
	case b[0] == 0xff && len(b) >= 2 && b[1] >= 0xf0:
		return appTelnet, false
	}
	if looksLDAP(b, toServer) {
		return appLDAP, false
	}
	if toServer {
		switch {
		case looksPgsql(b):
			return appPgsql, false
		case looksSOCKS5(b):
			return appSOCKS5, false
		}
		for _, m := range httpMethods {
			if bytes.HasPrefix(b, []byte(m)) {
				return appHTTP, false
			}
		}
		if looksRedis(b, sport) {
			return appRedis, false
		}
	} else {
		switch {
		case bytes.HasPrefix(b, []byte("+OK")):
			return appPOP3, false
		case bytes.HasPrefix(b, []byte("* OK")) || bytes.HasPrefix(b, []byte("* PREAUTH")):
			return appIMAP, false
		case len(b) >= 4 && string(b[:3]) == "220" && (b[3] == ' ' || b[3] == '-'):
			line := b
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			up := bytes.ToUpper(line)
			switch {
			case bytes.Contains(up, []byte("SMTP")) || bytes.Contains(up, []byte("MAIL")):
				return appSMTP, false
			case bytes.Contains(up, []byte("FTP")):
				return appFTP, false
			case sport == 25 || sport == 587 || sport == 465 || sport == 2525:
				return appSMTP, false
			}
			return appFTP, false
		}
	}
	if looksDNS(b, true, sport, cport) {
		return appDNS, false
	}
	switch sport {
	case 21:
		return appFTP, false
	case 23:
		return appTelnet, false
	case 25, 587:
		return appSMTP, false
	case 110:
		return appPOP3, false
	case 143:
		return appIMAP, false
	}
	return appNone, false
}

func isDNSPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }

// looksDNS reports whether b is plausibly a DNS message (with its two-byte
// length prefix over TCP). On DNS ports a parseable header is enough;
// elsewhere the whole message must parse with one question.
func looksDNS(b []byte, tcp bool, sport, cport uint16) bool {
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
		if len(b) < n && !isDNSPort(sport) {
			return false
		}
		if isDNSPort(sport) {
			return qdPlausible(b)
		}
	}
	if len(b) < 12 {
		return false
	}
	if isDNSPort(sport) || isDNSPort(cport) {
		return qdPlausible(b)
	}
	m, err := ParseDNS(b)
	return err == nil && len(m.Queries) == 1 && m.Opcode == 0
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
