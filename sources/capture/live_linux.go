package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Live capture on Linux is an AF_PACKET socket with a TPACKET_V3 receive
// ring, written against x/sys/unix rather than gopacket's afpacket (cgo-free
// but needs its own ring code anyway) or pcapgo.EthernetHandle (one recvfrom
// per packet, no wake-up on Close, no ring). The ring hands frames out
// without a copy or a system call per packet; Next only polls when a whole
// block has been consumed.
//
// Next waits for a block in the Go runtime's network poller (the socket is
// an os.File), not in a blocking poll(2): a goroutine parked there costs no
// thread and no wake-up until the kernel retires a block, the socket
// reports an error, or Close closes the file. A blocking poll with a
// timeout woke the process twice a second on an idle link, and each return
// from it set the runtime's monitor thread polling every 20 µs for a while:
// most of the wake-ups of the console at rest.

const permissionHint = "CAP_NET_RAW: run with sudo, or `sudo setcap cap_net_raw,cap_net_admin=eip $(which opsdeck)`"

// ARPHRD_ values of the interfaces captured as Ethernet or raw IP; all others
// are captured cooked (SOCK_DGRAM) and given a Linux SLL header.
const (
	arphrdEther        = 1
	arphrdLoopback     = 772
	arphrdNone         = 0xfffe // tun, WireGuard: packets are bare IP
	sllHeaderLen       = 16
	tpacket3HdrLen     = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
	sockaddrLLLen      = 20
	maxBPFInstructions = 4096 // BPF_MAXINSNS
)

// How long Next waits before it checks the interface itself. The kernel
// reports a link going down or being deleted on the socket, but only while
// the socket is running: a link deleted (or renamed, or moved to another
// namespace) while it is down says nothing more, so while down the link is
// checked every downCheck. Up, the check is a backstop only.
const (
	downCheck = 500 * time.Millisecond
	upCheck   = 30 * time.Second
)

// Interfaces lists the names OpenLive accepts: "any" and every interface
// that is up.
func Interfaces() ([]string, error) { return upInterfaces("any") }

// OpenLive captures on one interface, or on every interface with "any"
// (frames then come as LinkLinuxSLL with Frame.Iface naming the interface).
// It needs CAP_NET_RAW; without it the error wraps ErrPermission.
func OpenLive(iface string, opts LiveOptions) (Source, error) {
	if opts.Fanout > 1 {
		return openFanout(iface, opts)
	}
	s, err := openSocket(iface, opts, nil)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// openSocket opens one packet socket on iface. With join set, the socket
// drops every packet until join has run on it, bound, and only then gets
// its filter: a member of a fanout group sees no packet before it is in
// the group (else it would see every packet, twice with the others').
func openSocket(iface string, opts LiveOptions, join func(*afPacket) error) (*afPacket, error) {
	if iface == "" {
		return nil, errors.New("open capture: no interface given")
	}
	ifindex := 0
	sockType := unix.SOCK_DGRAM
	link := LinkLinuxSLL
	if iface != "any" {
		ifc, err := net.InterfaceByName(iface)
		if err != nil {
			return nil, noSuchInterface(iface)
		}
		ifindex = ifc.Index
		switch arphrd(iface) {
		case arphrdEther, arphrdLoopback:
			sockType, link = unix.SOCK_RAW, LinkEthernet
		case arphrdNone:
			sockType, link = unix.SOCK_RAW, LinkRaw
		}
	}
	// Protocol 0 receives nothing until bind, so no packet slips past the
	// filter before it is attached.
	fd, err := unix.Socket(unix.AF_PACKET, sockType|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, &PermissionError{Iface: iface, Err: err}
		}
		return nil, fmt.Errorf("open capture on %s: socket: %w", iface, err)
	}
	s := &afPacket{rm: &ringMap{}, name: iface, iface: iface, ifindex: ifindex, fd: fd, link: link, cooked: sockType == unix.SOCK_DGRAM}
	if opts.SnapLen > 0 {
		s.snaplen = min(opts.SnapLen, MaxRecordLen)
	}
	if err := s.setup(opts, join); err != nil {
		s.closeFDs()
		s.unmap()
		return nil, fmt.Errorf("open capture on %s: %w", iface, err)
	}
	// Backstop for a Close that could not unmap because the caller might
	// still have held the last frame; see Close.
	runtime.AddCleanup(s, (*ringMap).unmap, s.rm)
	return s, nil
}

// arphrd returns the ARPHRD_ type of an interface, or 0 when unknown.
func arphrd(iface string) int {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		return 0
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

type afPacket struct {
	name    string
	iface   string
	ifindex int
	link    LinkType
	cooked  bool
	snaplen int

	mu     sync.Mutex // held by Next; Close takes it to wait for Next to leave
	fd     int        // -1 once closed; under statsFdMu after setup
	file   *os.File   // owns fd once setup is done; closing it wakes Next
	rc     syscall.RawConn
	down   bool // the link went down: check it every downCheck (Next's)
	closed atomic.Bool

	ring      []byte // rm.b while mapped, nil after
	rm        *ringMap
	blockSize int
	blockNr   int
	block     int  // current block
	inBlock   bool // the current block is ours (TP_STATUS_USER)
	pktLeft   int
	pktOff    int
	frameOut  bool // a frame pointing into the ring was handed out
	vm        *bpf.VM
	// kernelFilter is the program attached in the kernel by attachFilter
	// (nil: none).
	kernelFilter []BPFInstruction
	scratch      []byte
	names        map[int]string
	lastIfindex  int    // the ifindex ifaceName last looked up
	lastIface    string // and its name
	index        uint64
	err          error
	stats        liveCounters
	statsFdMu    sync.Mutex // guards fd against Close while Stats reads counters
}

func (s *afPacket) setup(opts LiveOptions, join func(*afPacket) error) error {
	prog, err := opts.program(s.link)
	if err != nil {
		return fmt.Errorf("capture filter: %w", err)
	}
	if join != nil {
		err = s.setKernelFilter([]BPFInstruction{{Op: 0x06, K: 0}}) // ret #0: nothing yet
	} else {
		err = s.attachFilter(prog)
	}
	if err != nil {
		return err
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("set TPACKET_V3: %w", err)
	}
	size := opts.BufferSize
	if size <= 0 {
		size = defaultBufferSize
	}
	s.blockSize = 1 << 20
	if size < 4<<20 {
		s.blockSize = 512 << 10 // still holds a 256 KiB GRO frame with headers
	}
	s.blockNr = max(size/s.blockSize, 2)
	tov := opts.BlockTimeout
	if tov <= 0 {
		tov = defaultBlockTimeout
	}
	const frameSize = 2048 // only checked by the kernel for V3; frames are variable
	req := unix.TpacketReq3{
		Block_size:     uint32(s.blockSize),
		Block_nr:       uint32(s.blockNr),
		Frame_size:     frameSize,
		Frame_nr:       uint32(s.blockSize / frameSize * s.blockNr),
		Retire_blk_tov: uint32(max(tov.Milliseconds(), 1)),
	}
	if err := unix.SetsockoptTpacketReq3(s.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("set up %d x %d KiB receive ring: %w", s.blockNr, s.blockSize>>10, err)
	}
	ring, err := unix.Mmap(s.fd, 0, s.blockSize*s.blockNr, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map receive ring: %w", err)
	}
	s.ring = ring
	s.rm.b = ring
	if err := unix.Bind(s.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: s.ifindex}); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("bind: %w", ErrNoSuchInterface)
		}
		return fmt.Errorf("bind: %w", err)
	}
	if join != nil {
		if err := join(s); err != nil {
			return err
		}
		if err := s.attachFilter(prog); err != nil {
			return err
		}
		if s.kernelFilter == nil {
			// Nothing replaced the hold: take it off.
			if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0); err != nil {
				return fmt.Errorf("detach capture filter: %w", err)
			}
		}
	}
	if opts.Promisc && s.ifindex != 0 {
		mreq := unix.PacketMreq{Ifindex: int32(s.ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("promiscuous mode: %w", err)
		}
	}
	s.scratch = make([]byte, MaxRecordLen+sllHeaderLen+4)
	s.names = map[int]string{}
	if s.ifindex != 0 {
		s.names[s.ifindex] = s.iface
	}
	// A non-blocking descriptor makes the os.File pollable: Next then
	// waits in the runtime's network poller.
	if err := unix.SetNonblock(s.fd, true); err != nil {
		return fmt.Errorf("set non-blocking: %w", err)
	}
	s.file = os.NewFile(uintptr(s.fd), "packet socket on "+s.iface)
	if s.rc, err = s.file.SyscallConn(); err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// attachFilter installs prog in the kernel. For a cooked socket the kernel
// runs the filter on the packet without the SLL header the program was
// compiled for, so offsets are rewritten as libpcap does (fix_program); a
// program that cannot be rewritten runs in user space instead.
func (s *afPacket) attachFilter(prog []BPFInstruction) error {
	if len(prog) == 0 {
		if s.snaplen == 0 {
			return nil
		}
		// No filter but a snap length: let the kernel copy only that much.
		prog = []BPFInstruction{{Op: 0x06, K: uint32(s.snaplen)}} // ret #snaplen
	}
	if len(prog) > maxBPFInstructions {
		return fmt.Errorf("capture filter: %d instructions, the kernel takes at most %d", len(prog), maxBPFInstructions)
	}
	kprog := prog
	if s.cooked {
		if fixed, ok := fixCooked(prog); ok {
			kprog = fixed
		} else {
			insns, allOK := bpf.Disassemble(prog)
			vm, err := bpf.NewVM(insns)
			if !allOK || err != nil {
				return fmt.Errorf("capture filter: cannot run in user space: %v", err)
			}
			s.vm = vm
			return nil
		}
	}
	if err := s.setKernelFilter(kprog); err != nil {
		return err
	}
	s.kernelFilter = kprog
	return nil
}

// setKernelFilter attaches prog to the socket, replacing any filter there.
func (s *afPacket) setKernelFilter(prog []BPFInstruction) error {
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("attach capture filter: %w", err)
	}
	return nil
}

// fixCooked rewrites packet loads of a program compiled for LinkLinuxSLL so
// the kernel can run it on a SOCK_DGRAM socket, whose packets start at the
// network header: offsets past the SLL header move back 16 bytes, and the
// packet-type and protocol fields become ancillary loads.
func fixCooked(prog []BPFInstruction) ([]BPFInstruction, bool) {
	const (
		classLD, classLDX     = 0x00, 0x01
		modeABS, modeIND, msh = 0x20, 0x40, 0xa0
		skfAdOff              = 0xfffff000 // SKF_AD_OFF (-4096)
		skfAdProtocol         = 0
		skfAdPktType          = 4
	)
	out := make([]BPFInstruction, len(prog))
	copy(out, prog)
	for i := range out {
		p := &out[i]
		class, mode := p.Op&0x07, p.Op&0xe0
		if (class != classLD && class != classLDX) || (mode != modeABS && mode != modeIND && mode != msh) {
			continue
		}
		switch {
		case p.K >= sllHeaderLen:
			p.K -= sllHeaderLen
		case p.K == 0:
			p.K = skfAdOff + skfAdPktType
		case p.K == 14:
			p.K = skfAdOff + skfAdProtocol
		default:
			return nil, false
		}
	}
	return out, true
}

func (s *afPacket) Name() string { return s.name }

// Link returns the link type of the frames.
func (s *afPacket) Link() LinkType { return s.link }

func (s *afPacket) blockDesc(i int) []byte {
	return s.ring[i*s.blockSize : (i+1)*s.blockSize]
}

func (s *afPacket) blockStatus(b []byte) *uint32 {
	return (*uint32)(unsafe.Pointer(&b[8])) // tpacket_block_desc.hdr.bh1.block_status
}

func (s *afPacket) Next() (Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frameOut = false
	for {
		if s.err != nil {
			return Frame{}, s.err
		}
		if s.closed.Load() {
			// The caller asked for another frame, so it is done with the
			// last one: the ring can go.
			s.unmap()
			s.err = io.EOF
			continue
		}
		if s.advance() {
			f, ok := s.packet()
			if !ok {
				continue // rejected by the user-space filter
			}
			s.frameOut = true
			return f, nil
		}
		if err := s.wait(); err != nil {
			s.err = err
		}
	}
}

// advance reports whether a packet is ready at s.pktOff, giving each block
// whose packets were all taken back to the kernel and moving into the next
// block the kernel has retired. Caller holds mu.
func (s *afPacket) advance() bool {
	for {
		if s.inBlock && s.pktLeft > 0 {
			return true
		}
		if s.inBlock {
			b := s.blockDesc(s.block)
			atomic.StoreUint32(s.blockStatus(b), unix.TP_STATUS_KERNEL)
			s.inBlock = false
			s.block = (s.block + 1) % s.blockNr
		}
		if !s.blockReady() {
			return false
		}
		b := s.blockDesc(s.block)
		s.inBlock = true
		s.pktLeft = int(binary.NativeEndian.Uint32(b[12:])) // num_pkts
		s.pktOff = int(binary.NativeEndian.Uint32(b[16:]))  // offset_to_first_pkt
	}
}

// ReadBatch copies every frame the ring holds now into b, up to maxFrames
// and b's byte bound, waiting only while the ring is empty. Each block is
// given back to the kernel as soon as its last frame is copied, so a
// consumer that works on the batch elsewhere holds no ring space. It
// returns the source's error (io.EOF after Close) once no frame is left to
// hand out with it.
func (s *afPacket) ReadBatch(b *Batch, maxFrames int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frameOut = false // frames handed out before point into the ring no more
	for {
		if s.err != nil {
			if len(b.Frames) > 0 {
				return nil
			}
			return s.err
		}
		if s.closed.Load() {
			s.unmap()
			s.err = io.EOF
			continue
		}
		if s.advance() {
			if len(b.Frames) >= maxFrames || !b.fits(s.nextCapLen()) {
				return nil
			}
			if f, ok := s.packet(); ok {
				b.add(f)
			}
			continue
		}
		if len(b.Frames) > 0 {
			return nil
		}
		if err := s.wait(); err != nil {
			s.err = err
		}
	}
}

// nextCapLen is the most bytes packet returns for the frame at s.pktOff:
// its captured length plus a cooked header or a restored VLAN tag.
func (s *afPacket) nextCapLen() int {
	h := s.blockDesc(s.block)[s.pktOff:]
	return int(binary.NativeEndian.Uint32(h[12:])) + sllHeaderLen
}

// wait blocks until the ring may have a block, Close is called, or the
// link changes (down, gone).
func (s *afPacket) wait() error {
	check := upCheck
	if s.down {
		check = downCheck
	}
	if err := s.file.SetReadDeadline(time.Now().Add(check)); err != nil {
		return s.closedOr(fmt.Errorf("capture on %s: %w", s.iface, err))
	}
	woke, waited := false, false
	soErr, early := 0, false
	err := s.rc.Read(func(fd uintptr) bool {
		if woke {
			waited = true
			return true // any readiness: the caller looks at the ring
		}
		woke = true
		if s.blockReady() {
			return true
		}
		// Read forgets readiness that came before it began, and the poller
		// reports edges: an error the kernel reported while no one waited
		// (a link deleted between two waits) would not wake this one. So
		// look before waiting (reading SO_ERROR clears it).
		v, gerr := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if gerr == nil && v != 0 {
			soErr, early = v, true
			return true
		}
		return false
	})
	if s.closed.Load() {
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		up, err := s.linkState()
		if err == nil && up {
			s.down = false
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("capture on %s: wait: %w", s.iface, err)
	}
	if !waited && !early {
		return nil // a block was ready without waiting
	}
	// Woken: a block, an error, or both. The poller reports edges, so an
	// error that came with a block is not reported again: look every time.
	// The kernel sets ENETDOWN when the interface goes down or is
	// unregistered; reading SO_ERROR clears it. Down is not gone: the socket
	// works again when the interface comes back up.
	if !early {
		cerr := s.rc.Control(func(fd uintptr) {
			soErr, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		})
		if cerr != nil {
			return s.closedOr(fmt.Errorf("capture on %s: %w", s.iface, cerr))
		}
		if err != nil {
			return fmt.Errorf("capture on %s: %w", s.iface, err)
		}
	}
	if soErr != 0 {
		if _, gone := s.linkState(); gone != nil {
			return gone
		}
	}
	switch {
	case soErr == int(unix.ENETDOWN):
		s.down = true
	case soErr != 0:
		return fmt.Errorf("capture on %s: %w", s.iface, unix.Errno(soErr))
	case s.down && s.blockReady():
		// A block is no sign the link is back: the kernel's block timer
		// still retires a block filled before the link went down. Taken
		// for one, a link deleted after that would go unnoticed until
		// the up backstop (TestLiveLostAfterDrop hung so under -race).
		up, gone := s.linkState()
		if gone != nil {
			return gone
		}
		s.down = !up
	}
	return nil
}

// closedOr returns nil once Close was called (Next then returns io.EOF),
// else err.
func (s *afPacket) closedOr(err error) error {
	if s.closed.Load() {
		return nil
	}
	return err
}

// blockReady says whether the current block is the reader's.
func (s *afPacket) blockReady() bool {
	return atomic.LoadUint32(s.blockStatus(s.blockDesc(s.block)))&unix.TP_STATUS_USER != 0
}

// linkState returns an error wrapping ErrInterfaceGone when the interface this
// socket is bound to no longer exists (or now has another name), and
// whether it is up.
func (s *afPacket) linkState() (up bool, err error) {
	if s.ifindex == 0 {
		return true, nil
	}
	cerr := s.rc.Control(func(fd uintptr) {
		ifr, e := unix.NewIfreq("")
		if e != nil {
			return
		}
		ifr.SetUint32(uint32(s.ifindex))
		e = unix.IoctlIfreq(int(fd), unix.SIOCGIFNAME, ifr)
		if e == unix.ENODEV || (e == nil && ifr.Name() != s.iface) {
			err = fmt.Errorf("capture on %s: %w", s.iface, ErrInterfaceGone)
			return
		}
		if e != nil {
			return
		}
		if e = unix.IoctlIfreq(int(fd), unix.SIOCGIFFLAGS, ifr); e == nil {
			up = ifr.Uint16()&unix.IFF_UP != 0
		}
	})
	if cerr != nil {
		return false, s.closedOr(fmt.Errorf("capture on %s: %w", s.iface, cerr))
	}
	return up, err
}

// packet returns the frame at s.pktOff of the current block and advances.
// ok is false when the user-space filter rejects it, or when it is the
// outgoing copy of a loopback packet.
func (s *afPacket) packet() (Frame, bool) {
	b := s.blockDesc(s.block)
	off := s.pktOff
	h := b[off:]
	next := binary.NativeEndian.Uint32(h[0:])
	sec := binary.NativeEndian.Uint32(h[4:])
	nsec := binary.NativeEndian.Uint32(h[8:])
	capLen := int(binary.NativeEndian.Uint32(h[12:]))
	wireLen := int(binary.NativeEndian.Uint32(h[16:]))
	status := binary.NativeEndian.Uint32(h[20:])
	mac := int(binary.NativeEndian.Uint16(h[24:]))
	s.pktLeft--
	s.pktOff += int(next)
	if next == 0 {
		s.pktLeft = 0
	}
	if mac+capLen > len(h) {
		capLen = max(len(h)-mac, 0) // never trust an offset past the block
	}
	data := h[mac : mac+capLen : mac+capLen]
	sll := h[tpacket3HdrLen : tpacket3HdrLen+sockaddrLLLen]
	ifindex := int(int32(binary.NativeEndian.Uint32(sll[4:])))
	if sll[10] == unix.PACKET_OUTGOING && binary.NativeEndian.Uint16(sll[8:]) == unix.ARPHRD_LOOPBACK {
		// Loopback shows every packet twice, once leaving and once
		// arriving; keep the arrival only, as libpcap does.
		return Frame{}, false
	}

	switch {
	case s.cooked:
		// Build the SLL header in the 16 bytes the kernel leaves in front of
		// a cooked packet for exactly this; copy only if they are missing.
		var hdr []byte
		if mac >= tpacket3HdrLen+sockaddrLLLen+sllHeaderLen {
			hdr = h[mac-sllHeaderLen : mac]
			data = h[mac-sllHeaderLen : mac+capLen : mac+capLen]
		} else {
			hdr = s.scratch[:sllHeaderLen]
			n := copy(s.scratch[sllHeaderLen:], data)
			data = s.scratch[:sllHeaderLen+n]
		}
		halen := min(sll[11], 8)
		binary.BigEndian.PutUint16(hdr[0:], uint16(sll[10])) // sll_pkttype
		binary.BigEndian.PutUint16(hdr[2:], binary.NativeEndian.Uint16(sll[8:]))
		binary.BigEndian.PutUint16(hdr[4:], uint16(halen))
		copy(hdr[6:14], sll[12:20])
		copy(hdr[14:16], sll[2:4]) // sll_protocol, already in network order
		capLen += sllHeaderLen
		wireLen += sllHeaderLen
	case s.link == LinkEthernet && status&unix.TP_STATUS_VLAN_VALID != 0 && capLen >= 12:
		// The NIC stripped the 802.1Q tag into the ring header; put it back
		// so the decoder sees the frame as it was on the wire.
		tpid := uint16(0x8100)
		if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			tpid = binary.NativeEndian.Uint16(h[36:])
		}
		tci := uint16(binary.NativeEndian.Uint32(h[32:]))
		out := s.scratch
		copy(out, data[:12])
		binary.BigEndian.PutUint16(out[12:], tpid)
		binary.BigEndian.PutUint16(out[14:], tci)
		n := copy(out[16:], data[12:])
		data = out[:16+n]
		capLen += 4
		wireLen += 4
	}
	if s.vm != nil {
		if keep, err := s.vm.Run(data); err != nil || keep == 0 {
			return Frame{}, false
		} else if keep < len(data) {
			data = data[:keep]
			capLen = keep
		}
	}
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
		TS:      time.Unix(int64(sec), int64(nsec)),
		CapLen:  capLen,
		WireLen: wireLen,
		Link:    s.link,
		IfIndex: ifindex,
		Iface:   s.ifaceName(ifindex),
		Index:   s.index,
	}, true
}

// ifaceName maps an ifindex to its name, caching; names of interfaces that
// have gone are shown as their index.
func (s *afPacket) ifaceName(ifindex int) string {
	if ifindex == s.lastIfindex && s.lastIface != "" {
		return s.lastIface // one interface, or a run from one: no map lookup
	}
	if name, ok := s.names[ifindex]; ok {
		s.lastIfindex, s.lastIface = ifindex, name
		return name
	}
	name := fmt.Sprintf("if%d", ifindex)
	if ifc, err := net.InterfaceByIndex(ifindex); err == nil {
		name = ifc.Name
	}
	if len(s.names) > 4096 { // containers come and go; keep the cache bounded
		clear(s.names)
	}
	s.names[ifindex] = name
	s.lastIfindex, s.lastIface = ifindex, name
	return name
}

func (s *afPacket) Stats() Stats {
	s.statsFdMu.Lock()
	if s.fd >= 0 {
		s.readKernelStats()
	}
	s.statsFdMu.Unlock()
	return s.stats.snapshot()
}

// readKernelStats adds PACKET_STATISTICS, which the kernel resets on each
// read, to the running totals. Caller holds statsFdMu.
func (s *afPacket) readKernelStats() {
	st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return
	}
	s.stats.mu.Lock()
	s.stats.kernelPackets += uint64(st.Packets) // includes the drops
	s.stats.kernelDrops += uint64(st.Drops)
	s.stats.mu.Unlock()
}

// Close stops the capture; a Next blocked in another goroutine returns
// io.EOF. The ring is unmapped at once unless a frame from it may still be
// in use, in which case the next Next (or the garbage collector) unmaps it.
func (s *afPacket) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.statsFdMu.Lock()
	if s.fd >= 0 {
		s.readKernelStats()
	}
	// Closing the file wakes a Next waiting in the poller; it returns once
	// that Next has let go of the descriptor.
	err := s.closeFDs()
	s.statsFdMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.frameOut {
		s.unmap()
	}
	return err
}

func (s *afPacket) closeFDs() error {
	var err error
	switch {
	case s.file != nil:
		err = s.file.Close()
	case s.fd >= 0:
		err = unix.Close(s.fd)
	}
	s.fd = -1
	return err
}

// unmap releases the ring. The mapping holds its own reference to the
// socket, so it stays valid after the descriptor is closed.
func (s *afPacket) unmap() {
	s.rm.unmap()
	s.ring = nil
	s.inBlock = false
}

// ringMap owns the ring mapping so that it is unmapped exactly once, by
// Close, Next or the garbage collector, whichever comes first.
type ringMap struct {
	mu sync.Mutex
	b  []byte
}

func (r *ringMap) unmap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.b != nil {
		unix.Munmap(r.b)
		r.b = nil
	}
}
