//go:build linux

package system

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// Reading /proc/net/tcp walks the kernel's whole established-connection hash
// on every read(2); on a host with a lot of memory that table is large and
// one read costs milliseconds even with three sockets open. The sock_diag
// netlink interface (what ss(8) uses) returns the same list in a fraction of
// that, without privileges. TCP is read through it; UDP's /proc tables are
// cheap and stay the source for UDP.
//
// Even through sock_diag the kernel walks every bucket of that hash, once
// per request, and the IPv4 and IPv6 sockets share it. The older request
// (TCPDIAG_GETSOCK, struct inet_diag_req) dumps both families in one walk;
// diagTCPAll uses it, which halves the cost of the console's periodic socket
// sample, and falls back to one SOCK_DIAG_BY_FAMILY request per family on a
// kernel without it.

const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	tcpDiagGetSock   = 18 // TCPDIAG_GETSOCK: inet_diag's compat request
	netlinkInetDiag  = 4  // NETLINK_INET_DIAG (== NETLINK_SOCK_DIAG)
	inetDiagReqLen   = 56 // sizeof(struct inet_diag_req_v2)
	inetDiagReqV1Len = 60 // sizeof(struct inet_diag_req)
)

// diagTCPAll dumps the TCP sockets of both address families.
func diagTCPAll() ([]hoststat.Socket, error) {
	if out, err := diagTCP(0); err == nil {
		return out, nil
	}
	v4, err := diagTCP(syscall.AF_INET)
	if err != nil {
		return nil, err
	}
	v6, err := diagTCP(syscall.AF_INET6)
	if err != nil && !errors.Is(err, syscall.EAFNOSUPPORT) {
		return v4, err
	}
	return append(v4, v6...), nil
}

// diagTCP dumps the TCP sockets of one address family through sock_diag,
// or of both with family 0 (the compat request).
func diagTCP(family uint8) ([]hoststat.Socket, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, netlinkInetDiag)
	if err != nil {
		return nil, fmt.Errorf("open sock_diag socket: %w", err)
	}
	defer syscall.Close(fd)

	ne := binary.NativeEndian
	var req []byte
	if family == 0 {
		// struct inet_diag_req: family (ignored for a dump), lengths,
		// ext, the 48-byte socket id, states, dbs.
		req = make([]byte, syscall.NLMSG_HDRLEN+inetDiagReqV1Len)
		ne.PutUint16(req[4:], tcpDiagGetSock)
		ne.PutUint32(req[syscall.NLMSG_HDRLEN+52:], 0xffffffff) // every state
	} else {
		// struct inet_diag_req_v2: family, protocol, ext, pad, states, id.
		req = make([]byte, syscall.NLMSG_HDRLEN+inetDiagReqLen)
		ne.PutUint16(req[4:], sockDiagByFamily)
		r := req[syscall.NLMSG_HDRLEN:]
		r[0] = family
		r[1] = syscall.IPPROTO_TCP
		ne.PutUint32(r[4:], 0xffffffff) // every state
	}
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	ne.PutUint32(req[8:], 1) // seq
	sa := &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}
	if err := syscall.Sendto(fd, req, 0, sa); err != nil {
		return nil, fmt.Errorf("send sock_diag request: %w", err)
	}

	var out []hoststat.Socket
	buf := make([]byte, 64<<10)
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("read sock_diag: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return out, fmt.Errorf("parse sock_diag: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case syscall.NLMSG_DONE:
				return out, nil
			case syscall.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(ne.Uint32(m.Data)); e != 0 {
						return out, fmt.Errorf("sock_diag: %w", syscall.Errno(-e))
					}
				}
				return out, nil
			}
			if s, ok := parseInetDiagMsg(m.Data); ok {
				out = append(out, s)
			}
		}
	}
}
