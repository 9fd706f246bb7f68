package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Live capture on macOS reads a /dev/bpfN device. It uses the standard
// library's BPF ioctl helpers (what gopacket/bsdbpf uses underneath) rather
// than bsdbpf itself, because bsdbpf panics when no device can be opened
// (the usual case without privileges), aligns records to 8 bytes where
// Darwin's BPF_WORDALIGN uses 4, reports the captured length as the wire
// length, allocates a buffer per read, cannot set a filter, report drops, or
// be woken by Close.

const permissionHint = "read access to /dev/bpf*: run with sudo, or give your user access to the BPF devices (Wireshark's ChmodBPF does this)"

const (
	darwinMaxBuf       = 512 << 10 // BPF_MAXBUFSIZE
	darwinMaxInsns     = 512       // BPF_MAXINSNS
	darwinReadTimeout  = 250 * time.Millisecond
	darwinBpfHdrMinLen = 18 // bh_tstamp(8) + bh_caplen + bh_datalen + bh_hdrlen
)

// Interfaces lists the interfaces that are up. macOS has no "any".
func Interfaces() ([]string, error) { return upInterfaces() }

// OpenLive captures on one interface through a BPF device. Without access to
// /dev/bpf* the error wraps ErrPermission.
func OpenLive(iface string, opts LiveOptions) (Source, error) {
	if iface == "" {
		return nil, errors.New("open capture: no interface given")
	}
	if iface == "any" {
		return nil, fmt.Errorf(`capture interface "any": not available on macOS; name the interfaces instead (-i en0 -i en1): %w`, ErrNoSuchInterface)
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, noSuchInterface(iface)
	}
	fd, err := openBPFDevice(iface)
	if err != nil {
		return nil, err
	}
	s := &bpfDevice{name: iface, ifindex: ifc.Index, fd: fd}
	if opts.SnapLen > 0 {
		s.snaplen = min(opts.SnapLen, MaxRecordLen)
	}
	if err := s.setup(iface, opts); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("open capture on %s: %w", iface, err)
	}
	return s, nil
}

func openBPFDevice(iface string) (int, error) {
	for i := 0; i < 256; i++ {
		fd, err := syscall.Open(fmt.Sprintf("/dev/bpf%d", i), syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		switch {
		case err == nil:
			return fd, nil
		case err == syscall.EBUSY:
			continue
		case err == syscall.EACCES || err == syscall.EPERM:
			return -1, &PermissionError{Iface: iface, Err: err}
		default:
			return -1, fmt.Errorf("open capture on %s: /dev/bpf%d: %w", iface, i, err)
		}
	}
	return -1, fmt.Errorf("open capture on %s: every /dev/bpf device is busy", iface)
}

type bpfDevice struct {
	name    string
	ifindex int
	link    LinkType
	snaplen int

	mu     sync.Mutex // held by Next; Close takes it to wait for Next to leave
	fd     int
	closed atomic.Bool
	buf    []byte
	n, off int // bytes read into buf, and the next record
	index  uint64
	err    error

	statsMu sync.Mutex // guards fd for Stats against Close
	stats   liveCounters
}

func (s *bpfDevice) setup(iface string, opts LiveOptions) error {
	size := opts.BufferSize
	if size <= 0 || size > darwinMaxBuf {
		size = darwinMaxBuf
	}
	// The buffer size must be set before the interface is attached.
	size, err := syscall.SetBpfBuflen(s.fd, size)
	if err != nil {
		return fmt.Errorf("set BPF buffer size: %w", err)
	}
	s.buf = make([]byte, size)
	if err := syscall.SetBpfInterface(s.fd, iface); err != nil {
		if err == syscall.ENXIO {
			return ErrNoSuchInterface
		}
		return fmt.Errorf("attach BPF device: %w", err)
	}
	// Immediate mode returns each packet as it arrives; the timeout lets
	// Next notice Close.
	if err := syscall.SetBpfImmediate(s.fd, 1); err != nil {
		return fmt.Errorf("BPF immediate mode: %w", err)
	}
	tv := syscall.NsecToTimeval(darwinReadTimeout.Nanoseconds())
	if err := syscall.SetBpfTimeout(s.fd, &tv); err != nil {
		return fmt.Errorf("BPF read timeout: %w", err)
	}
	if opts.Promisc {
		if err := syscall.SetBpfPromisc(s.fd, 1); err != nil {
			return fmt.Errorf("promiscuous mode: %w", err)
		}
	}
	dlt, err := syscall.BpfDatalink(s.fd)
	if err != nil {
		return fmt.Errorf("BPF link type: %w", err)
	}
	s.link = LinkType(dlt) // DLT_ and LINKTYPE_ agree for the types macOS uses (0, 1, 12)
	prog, err := opts.program(s.link)
	if err != nil {
		return fmt.Errorf("capture filter: %w", err)
	}
	if len(prog) == 0 && s.snaplen > 0 {
		prog = []BPFInstruction{{Op: 0x06, K: uint32(s.snaplen)}} // ret #snaplen
	}
	if len(prog) > 0 {
		if len(prog) > darwinMaxInsns {
			return fmt.Errorf("capture filter: %d instructions, macOS takes at most %d", len(prog), darwinMaxInsns)
		}
		insns := make([]syscall.BpfInsn, len(prog))
		for i, in := range prog {
			insns[i] = syscall.BpfInsn{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
		}
		if err := syscall.SetBpf(s.fd, insns); err != nil {
			return fmt.Errorf("attach capture filter: %w", err)
		}
	}
	return nil
}

func (s *bpfDevice) Name() string { return s.name }

func (s *bpfDevice) Next() (Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.err == nil {
		if s.closed.Load() {
			s.err = io.EOF
			break
		}
		if s.off+darwinBpfHdrMinLen <= s.n {
			if f, ok := s.record(); ok {
				return f, nil
			}
			continue
		}
		n, err := syscall.Read(s.fd, s.buf)
		switch {
		case err == syscall.EINTR || err == syscall.EAGAIN:
		case err == syscall.ENXIO || err == syscall.ENODEV || err == syscall.ENETDOWN:
			s.err = fmt.Errorf("capture on %s: %w", s.name, ErrInterfaceGone)
		case err != nil:
			s.err = fmt.Errorf("capture on %s: read: %w", s.name, err)
		default:
			s.n, s.off = n, 0
		}
	}
	return Frame{}, s.err
}

// record parses the bpf_hdr at s.off; ok is false for a record to skip.
func (s *bpfDevice) record() (Frame, bool) {
	h := s.buf[s.off:s.n]
	ne := binary.NativeEndian
	sec := int32(ne.Uint32(h[0:]))
	usec := int32(ne.Uint32(h[4:]))
	capLen := int(ne.Uint32(h[8:]))
	wireLen := int(ne.Uint32(h[12:]))
	hdrLen := int(ne.Uint16(h[16:]))
	if hdrLen < darwinBpfHdrMinLen || hdrLen+capLen > len(h) {
		s.off = s.n // corrupt: drop the rest of this read
		return Frame{}, false
	}
	s.off += (hdrLen + capLen + 3) &^ 3 // BPF_WORDALIGN, 4 on Darwin
	data := h[hdrLen : hdrLen+capLen : hdrLen+capLen]
	if s.snaplen > 0 && capLen > s.snaplen {
		data, capLen = data[:s.snaplen], s.snaplen
	}
	if wireLen < capLen {
		wireLen = capLen
	}
	s.index++
	s.stats.add(capLen)
	return Frame{
		Data:    data,
		TS:      time.Unix(int64(sec), int64(usec)*1000),
		CapLen:  capLen,
		WireLen: wireLen,
		Link:    s.link,
		IfIndex: s.ifindex,
		Iface:   s.name,
		Index:   s.index,
	}, true
}

func (s *bpfDevice) Stats() Stats {
	s.statsMu.Lock()
	if s.fd >= 0 {
		s.readKernelStats()
	}
	s.statsMu.Unlock()
	return s.stats.snapshot()
}

// readKernelStats copies BIOCGSTATS, which counts since open (not reset on
// read, unlike Linux). Caller holds statsMu.
func (s *bpfDevice) readKernelStats() {
	st, err := syscall.BpfStats(s.fd)
	if err != nil {
		return
	}
	s.stats.mu.Lock()
	s.stats.kernelPackets = uint64(st.Recv)
	s.stats.kernelDrops = uint64(st.Drop)
	s.stats.mu.Unlock()
}

// Close stops the capture; a Next blocked in another goroutine returns
// io.EOF within the read timeout.
func (s *bpfDevice) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.readKernelStats()
	err := syscall.Close(s.fd)
	s.fd = -1
	return err
}
