package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/bpf"
)

// upInterfaces names the interfaces that are up, after the given names.
func upInterfaces(first ...string) ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list capture interfaces: %w", err)
	}
	names := first
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp != 0 {
			names = append(names, ifc.Name)
		}
	}
	return names, nil
}

// BPFInstruction is one classic BPF instruction as the kernel takes it
// (struct sock_filter / struct bpf_insn). It is x/net/bpf's RawInstruction so
// the output of bpf.Assemble can be passed as is.
type BPFInstruction = bpf.RawInstruction

// LiveOptions configures a live capture.
type LiveOptions struct {
	// SnapLen is the most bytes kept of each packet; 0 means whole packets.
	SnapLen int
	// Promisc puts the interface into promiscuous mode (not for "any").
	Promisc bool
	// BPF is a classic BPF program attached in the kernel, compiled for the
	// link type the source reports (see Filter when that is not known yet).
	BPF []BPFInstruction
	// Filter, when BPF is nil, is called with the interface's link type to
	// compile the program; useful for "any" (LinkLinuxSLL) and OpenLiveMulti,
	// where interfaces may differ.
	Filter func(LinkType) ([]BPFInstruction, error)
	// BufferSize is the kernel buffer (ring) size in bytes; 0 means 32 MiB
	// on Linux (see defaultBufferSize).
	BufferSize int
	// BlockTimeout bounds how long a captured packet may wait in a partly
	// filled ring block before Next sees it; 0 means 100 ms.
	BlockTimeout time.Duration
	// Fanout, above 1, captures with that many sockets in one
	// PACKET_FANOUT group (Linux): the kernel spreads packets over them by
	// flow hash, each has its own ring (BufferSize shared among them), and
	// each is read by its own goroutine. 0 or 1: one socket; at most
	// MaxFanout. Elsewhere than Linux it is ignored. Fragments are not
	// reassembled: each is hashed, and seen, as it came.
	Fanout int
}

// MaxFanout bounds LiveOptions.Fanout.
const MaxFanout = 16

const (
	// defaultBufferSize is Linux's ring: the ring must hold the packets
	// that arrive while the engine is behind (a burst, a flood, its
	// once-a-second work). At minimum-size frames (144 bytes of ring each)
	// 32 MiB holds about 230,000 packets: over a second of what one core
	// analyses under a spoofed-source flood. 8 MiB held a tenth of a
	// second of a 500 kpps burst and dropped at a quarter of that rate on
	// average. Zeek's AF_Packet default is 128 MiB, tcpdump's 2 MiB.
	defaultBufferSize   = 32 << 20
	defaultBlockTimeout = 100 * time.Millisecond
)

// program returns the filter to attach for link, or nil.
func (o *LiveOptions) program(link LinkType) ([]BPFInstruction, error) {
	if o.BPF != nil {
		return o.BPF, nil
	}
	if o.Filter != nil {
		return o.Filter(link)
	}
	return nil, nil
}

// ErrPermission is wrapped by live-capture errors caused by missing
// privileges (CAP_NET_RAW on Linux, /dev/bpf access on macOS).
var ErrPermission = errors.New("capture permission denied")

// ErrInterfaceGone is wrapped by the error Next returns when the captured
// interface disappears; callers may wait and reopen it.
var ErrInterfaceGone = errors.New("capture interface went away")

// ErrNoSuchInterface is wrapped by OpenLive when the interface does not exist.
var ErrNoSuchInterface = errors.New("no such interface")

// PermissionError says how to get the privilege a live capture needs.
type PermissionError struct {
	Iface string
	Err   error // the system error, e.g. EPERM
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("capture on %s needs %s", e.Iface, permissionHint)
}

// Is makes errors.Is(err, ErrPermission) true.
func (e *PermissionError) Is(target error) bool { return target == ErrPermission }

func (e *PermissionError) Unwrap() error { return e.Err }

func noSuchInterface(name string) error {
	return fmt.Errorf("capture interface %q: %w", name, ErrNoSuchInterface)
}

// OpenLiveMulti captures on several interfaces at once and merges their
// frames in arrival order. "any" already covers every interface, so when it
// is listed the others are ignored. Frames are copied out of each
// interface's buffer (one goroutine per interface), unlike OpenLive.
func OpenLiveMulti(ifaces []string, opts LiveOptions) (Source, error) {
	var uniq []string
	for _, name := range ifaces {
		if name == "any" {
			uniq = []string{"any"}
			break
		}
		if !slices.Contains(uniq, name) {
			uniq = append(uniq, name)
		}
	}
	switch len(uniq) {
	case 0:
		return nil, errors.New("open capture: no interface given")
	case 1:
		return OpenLive(uniq[0], opts)
	}
	srcs := make([]Source, 0, len(uniq))
	for _, name := range uniq {
		s, err := OpenLive(name, opts)
		if err != nil {
			for _, o := range srcs {
				o.Close()
			}
			return nil, err
		}
		srcs = append(srcs, s)
	}
	return newMulti(srcs), nil
}

// multiSource merges sources; each has a goroutine copying its frames into
// pooled buffers and sending them on one channel.
type multiSource struct {
	name     string
	srcs     []Source
	ch       chan multiItem
	done     chan struct{}
	wg       sync.WaitGroup
	pool     sync.Pool
	last     *[]byte
	running  int
	index    uint64
	err      error
	stats    counters
	stopOnce sync.Once
}

type multiItem struct {
	f   Frame
	buf *[]byte
	err error
}

func newMulti(srcs []Source) *multiSource {
	m := &multiSource{
		srcs:    srcs,
		ch:      make(chan multiItem, 1024),
		done:    make(chan struct{}),
		running: len(srcs),
	}
	for i, s := range srcs {
		if i > 0 {
			m.name += ","
		}
		m.name += s.Name()
	}
	m.pool.New = func() any { b := make([]byte, 0, 2048); return &b }
	for _, s := range srcs {
		m.wg.Add(1)
		go m.pump(s)
	}
	return m
}

func (m *multiSource) pump(s Source) {
	defer m.wg.Done()
	for {
		f, err := s.Next()
		if err != nil {
			select {
			case m.ch <- multiItem{err: err}:
			case <-m.done:
			}
			return
		}
		buf := m.pool.Get().(*[]byte)
		*buf = append((*buf)[:0], f.Data...)
		f.Data = *buf
		select {
		case m.ch <- multiItem{f: f, buf: buf}:
		case <-m.done:
			m.pool.Put(buf)
			return
		}
	}
}

func (m *multiSource) Name() string { return m.name }

func (m *multiSource) Next() (Frame, error) {
	if m.last != nil {
		m.pool.Put(m.last)
		m.last = nil
	}
	for m.err == nil {
		select {
		case it := <-m.ch:
			if it.err == io.EOF {
				if m.running--; m.running == 0 {
					m.err = io.EOF
				}
				continue
			}
			if it.err != nil {
				// Any error ends the merged input, as the Source contract
				// says; callers reopen (e.g. after ErrInterfaceGone).
				m.err = it.err
				m.stop()
				break
			}
			m.last = it.buf
			m.index++
			it.f.Index = m.index
			m.stats.add(it.f.CapLen)
			return it.f, nil
		case <-m.done:
			m.err = io.EOF
		}
	}
	return Frame{}, m.err
}

func (m *multiSource) Stats() Stats {
	st := Stats{Packets: m.stats.packets.Load(), Bytes: m.stats.bytes.Load()}
	for _, s := range m.srcs {
		o := s.Stats()
		st.KernelPackets += o.KernelPackets
		st.KernelDrops += o.KernelDrops
		st.IfDrops += o.IfDrops
	}
	return st
}

// stop ends the pumps: closing each source wakes its blocked Next.
func (m *multiSource) stop() error {
	var err error
	m.stopOnce.Do(func() {
		close(m.done)
		for _, s := range m.srcs {
			err = errors.Join(err, s.Close())
		}
		m.wg.Wait()
	})
	return err
}

func (m *multiSource) Close() error { return m.stop() }

// liveCounters are shared by the live sources: frames handed out plus the
// kernel's counters, accumulated because reading them resets them (Linux).
type liveCounters struct {
	counters
	mu            sync.Mutex
	kernelPackets uint64
	kernelDrops   uint64
}

func (c *liveCounters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Packets:       c.packets.Load(),
		Bytes:         c.bytes.Load(),
		KernelPackets: c.kernelPackets,
		KernelDrops:   c.kernelDrops,
	}
}
