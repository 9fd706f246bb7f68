//go:build linux

package system

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// addrsByIndex lists every address of the namespace, by interface index, in
// one RTM_GETADDR dump. net.Interface.Addrs makes one dump of all addresses
// per interface, so listing them that way costs N+1 dumps (quadratic in the
// interfaces: a container host has hundreds of veths) and was a seventh of
// the idle console's CPU with four.
func addrsByIndex([]net.Interface) (map[int][]netip.Prefix, error) {
	b, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("netlink address dump: %w", err)
	}
	return parseAddrDump(b)
}

// parseAddrDump reads an RTM_GETADDR dump. As the net package does, a
// point-to-point link's own address is IFA_LOCAL (IFA_ADDRESS is the
// peer's); elsewhere IFA_ADDRESS.
func parseAddrDump(b []byte) (map[int][]netip.Prefix, error) {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return nil, fmt.Errorf("parse netlink address dump: %w", err)
	}
	out := map[int][]netip.Prefix{}
	for i := range msgs {
		m := &msgs[i]
		switch m.Header.Type {
		case syscall.NLMSG_DONE:
			return out, nil
		case syscall.NLMSG_ERROR:
			return out, fmt.Errorf("netlink address dump: error message")
		case syscall.RTM_NEWADDR:
		default:
			continue
		}
		if len(m.Data) < syscall.SizeofIfAddrmsg {
			continue
		}
		family, bits := m.Data[0], int(m.Data[1])
		index := int(binary.NativeEndian.Uint32(m.Data[4:8]))
		// The attributes are walked here: syscall.ParseNetlinkRouteAttr
		// panics on a short attribute (found by FuzzParseAddrDump).
		var local, addr []byte
		for rest := m.Data[syscall.SizeofIfAddrmsg:]; len(rest) >= syscall.SizeofRtAttr; {
			n := int(binary.NativeEndian.Uint16(rest[0:2]))
			if n < syscall.SizeofRtAttr || n > len(rest) {
				break
			}
			switch binary.NativeEndian.Uint16(rest[2:4]) {
			case syscall.IFA_LOCAL:
				local = rest[syscall.SizeofRtAttr:n]
			case syscall.IFA_ADDRESS:
				addr = rest[syscall.SizeofRtAttr:n]
			}
			n = (n + syscall.RTA_ALIGNTO - 1) &^ (syscall.RTA_ALIGNTO - 1)
			rest = rest[min(n, len(rest)):]
		}
		if local != nil {
			addr = local
		}
		var ip netip.Addr
		switch {
		case family == syscall.AF_INET && len(addr) >= 4:
			ip = netip.AddrFrom4([4]byte(addr[:4]))
		case family == syscall.AF_INET6 && len(addr) >= 16:
			ip = netip.AddrFrom16([16]byte(addr[:16]))
		default:
			continue
		}
		if bits > ip.BitLen() {
			continue
		}
		// The address itself with its length, not the masked network.
		out[index] = append(out[index], netip.PrefixFrom(ip, bits))
	}
	return out, nil
}

// addrEvents is a netlink socket subscribed to the namespace's link and
// address changes: the sampler re-lists addresses when one arrives instead
// of making two netlink dumps (links, addresses) every second for lists that
// change a few times a day.
type addrEvents struct {
	fd  int
	buf []byte
}

func openAddrEvents() (*addrEvents, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, syscall.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	sa := &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK,
		Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("netlink bind to link and address changes: %w", err)
	}
	return &addrEvents{fd: fd, buf: make([]byte, 4096)}, nil
}

// changed drains the notifications that arrived since the last call and
// says whether there were any. A full receive queue (ENOBUFS: some were
// lost) or any other error counts as a change.
func (e *addrEvents) changed() bool {
	changed := false
	for {
		_, _, err := syscall.Recvfrom(e.fd, e.buf, syscall.MSG_DONTWAIT)
		switch err {
		case nil:
			changed = true
		case syscall.EINTR:
		case syscall.EAGAIN:
			return changed
		default:
			return true
		}
	}
}

func (e *addrEvents) close() { syscall.Close(e.fd) }
