package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// pcapng block types (draft-ietf-opsawg-pcapng).
const (
	blockSHB      = 0x0a0d0d0a
	blockIDB      = 0x00000001
	blockOPB      = 0x00000002 // obsolete packet block, still written by old tools
	blockSPB      = 0x00000003
	blockISB      = 0x00000005
	blockEPB      = 0x00000006
	ngBOM         = 0x1a2b3c4d
	optEndOfOpt   = 0
	optIfName     = 2
	optIfTsresol  = 9
	optIfTsoffset = 14
	optIsbIfdrop  = 5
	optIsbOsdrop  = 7
)

// Bounds on what a file can make the reader keep. A section may describe at
// most maxInterfaces interfaces (the OPB's interface field is 16 bits; real
// captures have a handful), and an interface name keeps at most
// maxIfaceNameLen bytes (Windows' \Device\NPF_{GUID} names are about 50), so
// one section holds at most a few tens of MB of interface state whatever
// its blocks claim.
const (
	maxInterfaces   = 1 << 16
	maxIfaceNameLen = 256
)

// ngIface is what an Interface Description Block tells about the packets
// that refer to it.
type ngIface struct {
	link    LinkType
	name    string
	snaplen uint32
	// Timestamp units: 10^-exp seconds, or 2^-exp when binary is set.
	binary   bool
	exp      uint8
	pow10    uint64 // 10^exp when !binary
	tsOffset int64  // seconds added to every timestamp (if_tsoffset)
	drops    uint64 // latest isb_ifdrop + isb_osdrop; ISB counters are cumulative
}

// ts converts a raw 64-bit pcapng timestamp into a time.
func (ifc *ngIface) ts(raw uint64) time.Time {
	var sec, ns uint64
	if ifc.binary {
		sec = raw >> ifc.exp
		frac := raw & (1<<ifc.exp - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		ns = lo>>ifc.exp | hi<<(64-ifc.exp)
		if ifc.exp == 0 {
			ns = 0
		}
	} else {
		sec = raw / ifc.pow10
		frac := raw % ifc.pow10
		if ifc.exp <= 9 {
			ns = frac * pow10(9-ifc.exp)
		} else {
			ns = frac / pow10(ifc.exp-9)
		}
	}
	return time.Unix(int64(sec)+ifc.tsOffset, int64(ns))
}

func pow10(n uint8) uint64 {
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// ngReader reads pcapng files: any byte order (per section), several
// interfaces with their own link types and timestamp resolutions, EPB, SPB and
// OPB packets; other blocks are skipped.
type ngReader struct {
	name    string
	in      *input
	closer  io.Closer
	order   binary.ByteOrder
	ifaces  []ngIface
	off     int64 // offset of the next block
	index   uint64
	pending int // bytes of the current block still to consume
	fieldOrder
	err       error
	prevDrops uint64 // drops of earlier sections
	// secDrops is the sum of ifaces[i].drops, kept up to date as each ISB
	// replaces one interface's counters, so an ISB costs the same whatever
	// the number of interfaces (summing them per ISB was quadratic).
	secDrops  uint64
	ifDrops   atomic.Uint64
	closeOnce closer
}

func newNgReader(name string, in *input, c io.Closer) (*ngReader, error) {
	r := &ngReader{name: name, in: in, closer: c}
	// Reading the first SHB up front gives "open" errors for a bad header,
	// like the pcap reader, and leaves Next to deal with packets.
	if err := r.readSHB(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("open capture %q: %w", name, err)
	}
	return r, nil
}

func (r *ngReader) Name() string { return r.name }

// readSHB parses the section header block at r.off and starts a new section.
func (r *ngReader) readSHB() error {
	h, err := r.peek(12)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("truncated section header block at offset %d: %w", r.off, err)
	}
	switch binary.BigEndian.Uint32(h[8:]) {
	case ngBOM:
		r.order, r.big = binary.BigEndian, true
	case bits.ReverseBytes32(ngBOM):
		r.order, r.big = binary.LittleEndian, false
	default:
		return fmt.Errorf("section header block at offset %d: bad byte-order magic 0x%08x", r.off, binary.BigEndian.Uint32(h[8:]))
	}
	length := r.order.Uint32(h[4:])
	if length < 28 || length%4 != 0 {
		return fmt.Errorf("section header block at offset %d: invalid length %d", r.off, length)
	}
	const what = "section header block"
	if length <= readBufSize {
		// Checks the trailing length too, so a wrong byte order is caught.
		if h, err = r.block(what, length); err != nil {
			return err
		}
	} else if h, err = r.peek(16); err != nil {
		return fmt.Errorf("truncated %s at offset %d: %w", what, r.off, io.ErrUnexpectedEOF)
	}
	if major := r.order.Uint16(h[12:]); major != 1 {
		return fmt.Errorf("%s at offset %d: unsupported pcapng version %d.%d", what, r.off, major, r.order.Uint16(h[14:]))
	}
	// Interface numbers restart in each section; keep earlier drops counted.
	r.prevDrops += r.secDrops
	r.secDrops = 0
	r.ifaces = r.ifaces[:0]
	r.pending = int(length)
	return r.skipPending()
}

// skipPending discards the rest of the current block and advances the offset.
func (r *ngReader) skipPending() error {
	if r.pending == 0 {
		return nil
	}
	n, err := r.in.skip(r.pending)
	start := r.off
	r.off += int64(n)
	want := r.pending
	r.pending = 0
	if n < want {
		if err == io.EOF || err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("truncated block at offset %d (%d of %d bytes): %w", start, n, want, err)
	}
	return nil
}

func (r *ngReader) fail(err error) (Frame, error) {
	r.in.flush()
	if r.closeOnce.closed.Load() {
		err = io.EOF
	} else if err != io.EOF {
		err = fmt.Errorf("read capture %q: %w", r.name, err)
	}
	r.err = err
	return Frame{}, err
}

func (r *ngReader) Next() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	if r.closeOnce.closed.Load() {
		r.in.flush()
		return Frame{}, io.EOF
	}
	for {
		if err := r.skipPending(); err != nil {
			return r.fail(err)
		}
		h, err := r.peek(8)
		if err != nil {
			if err == io.EOF {
				return r.fail(io.EOF)
			}
			return r.fail(fmt.Errorf("truncated block header at offset %d: %w", r.off, err))
		}
		typ := r.u32(h)
		if typ == blockSHB {
			if err := r.readSHB(); err != nil {
				return r.fail(err)
			}
			continue
		}
		length := r.u32(h[4:])
		if length < 12 || length%4 != 0 {
			return r.fail(fmt.Errorf("block type 0x%x at offset %d: invalid length %d", typ, r.off, length))
		}
		switch typ {
		case blockEPB, blockOPB, blockSPB:
			f, err := r.packet(typ, length)
			if err != nil {
				return r.fail(err)
			}
			return f, nil
		case blockIDB:
			if err := r.readIDB(length); err != nil {
				return r.fail(err)
			}
		case blockISB:
			if err := r.readISB(length); err != nil {
				return r.fail(err)
			}
		default:
			r.pending = int(length)
		}
	}
}

// block returns the whole block at r.off; used for the small control blocks
// whose options we read.
func (r *ngReader) block(what string, length uint32) ([]byte, error) {
	if length > readBufSize {
		return nil, fmt.Errorf("%s at offset %d: length %d too large (limit %d)", what, r.off, length, readBufSize)
	}
	b, err := r.peek(int(length))
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("truncated %s at offset %d (%d of %d bytes): %w", what, r.off, len(b), length, err)
	}
	if tail := r.order.Uint32(b[length-4:]); tail != length {
		return nil, fmt.Errorf("%s at offset %d: trailing length %d does not match %d", what, r.off, tail, length)
	}
	r.pending = int(length)
	return b, nil
}

// options calls fn for each option in opts (the block's option area).
func (r *ngReader) options(opts []byte, fn func(code uint16, val []byte)) {
	for len(opts) >= 4 {
		code := r.order.Uint16(opts)
		n := int(r.order.Uint16(opts[2:]))
		if code == optEndOfOpt || 4+n > len(opts) {
			return
		}
		fn(code, opts[4:4+n])
		adv := 4 + (n+3)&^3
		if adv > len(opts) {
			return
		}
		opts = opts[adv:]
	}
}

func (r *ngReader) readIDB(length uint32) error {
	const what = "interface description block"
	if length < 20 {
		return fmt.Errorf("%s at offset %d: invalid length %d", what, r.off, length)
	}
	b, err := r.block(what, length)
	if err != nil {
		return err
	}
	ifc := ngIface{
		link:    LinkType(r.order.Uint16(b[8:])),
		snaplen: r.order.Uint32(b[12:]),
		exp:     6,
		pow10:   1e6,
	}
	var optErr error
	r.options(b[16:length-4], func(code uint16, val []byte) {
		switch code {
		case optIfName:
			ifc.name = string(truncUTF8(val, maxIfaceNameLen))
		case optIfTsresol:
			if len(val) < 1 {
				return
			}
			ifc.binary = val[0]&0x80 != 0
			ifc.exp = val[0] & 0x7f
			if (ifc.binary && ifc.exp > 63) || (!ifc.binary && ifc.exp > 19) {
				optErr = fmt.Errorf("%s at offset %d: unsupported if_tsresol 0x%02x", what, r.off, val[0])
				return
			}
			if !ifc.binary {
				ifc.pow10 = pow10(ifc.exp)
			}
		case optIfTsoffset:
			if len(val) == 8 {
				ifc.tsOffset = int64(r.order.Uint64(val))
			}
		}
	})
	if optErr != nil {
		return optErr
	}
	if len(r.ifaces) >= maxInterfaces {
		return fmt.Errorf("%s at offset %d: more than %d interfaces in one section (limit %d): corrupt or hostile file", what, r.off, maxInterfaces, maxInterfaces)
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

func (r *ngReader) readISB(length uint32) error {
	const what = "interface statistics block"
	if length < 24 {
		return fmt.Errorf("%s at offset %d: invalid length %d", what, r.off, length)
	}
	b, err := r.block(what, length)
	if err != nil {
		return err
	}
	id := r.order.Uint32(b[8:])
	if id >= uint32(len(r.ifaces)) {
		return nil // statistics for an interface we never saw: nothing to attach them to
	}
	var ifdrop, osdrop uint64
	seen := false
	r.options(b[20:length-4], func(code uint16, val []byte) {
		if len(val) != 8 {
			return
		}
		switch code {
		case optIsbIfdrop:
			ifdrop, seen = r.order.Uint64(val), true
		case optIsbOsdrop:
			osdrop, seen = r.order.Uint64(val), true
		}
	})
	if seen {
		// ISB counters are cumulative: this one replaces the interface's
		// previous figure. Wrapping arithmetic keeps secDrops equal to the
		// (wrapping) sum of all interfaces' figures.
		ifc := &r.ifaces[id]
		r.secDrops += ifdrop + osdrop - ifc.drops
		ifc.drops = ifdrop + osdrop
		r.ifDrops.Store(r.prevDrops + r.secDrops)
	}
	return nil
}

// truncUTF8 returns at most n bytes of b, cut before a UTF-8 sequence that
// would not fit whole.
func truncUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

// packet reads an EPB, OPB or SPB at r.off and returns its frame, pointing
// into the read buffer.
func (r *ngReader) packet(typ, length uint32) (Frame, error) {
	hdrLen := 28 // EPB and OPB: block header + id + ts(2) + caplen + origlen
	if typ == blockSPB {
		hdrLen = 12
	}
	if length < uint32(hdrLen)+4 {
		return Frame{}, fmt.Errorf("packet block at offset %d: invalid length %d", r.off, length)
	}
	h, err := r.peek(hdrLen)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("truncated packet record at offset %d (%d of %d bytes): %w", r.off, len(h), length, err)
	}
	var id, capLen, wireLen uint32
	var raw uint64
	switch typ {
	case blockEPB:
		id = r.u32(h[8:])
		raw = uint64(r.u32(h[12:]))<<32 | uint64(r.u32(h[16:]))
		capLen = r.u32(h[20:])
		wireLen = r.u32(h[24:])
	case blockOPB:
		id = uint32(r.order.Uint16(h[8:]))
		raw = uint64(r.order.Uint32(h[12:]))<<32 | uint64(r.order.Uint32(h[16:]))
		capLen = r.order.Uint32(h[20:])
		wireLen = r.order.Uint32(h[24:])
	case blockSPB:
		wireLen = r.order.Uint32(h[8:])
		capLen = min(wireLen, length-16)
	}
	if id >= uint32(len(r.ifaces)) {
		return Frame{}, fmt.Errorf("packet block at offset %d: interface %d has no description block", r.off, id)
	}
	ifc := &r.ifaces[id]
	if typ == blockSPB && ifc.snaplen > 0 {
		capLen = min(capLen, ifc.snaplen)
	}
	if capLen > MaxRecordLen {
		return Frame{}, fmt.Errorf("packet record at offset %d claims %d bytes (limit %d): corrupt file", r.off, capLen, MaxRecordLen)
	}
	if uint32(hdrLen)+capLen+4 > length {
		return Frame{}, fmt.Errorf("packet block at offset %d: captured length %d exceeds block length %d", r.off, capLen, length)
	}
	// Peek the whole block when it fits, so its trailing length can be
	// checked; otherwise (huge options) just the packet.
	want := int(length)
	if want > readBufSize {
		want = hdrLen + int(capLen)
	}
	b, err := r.peek(want)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("truncated packet record at offset %d (%d of %d bytes): %w", r.off, len(b), length, err)
	}
	if want == int(length) {
		if tail := r.u32(b[length-4:]); tail != length {
			return Frame{}, fmt.Errorf("packet block at offset %d: trailing length %d does not match %d", r.off, tail, length)
		}
	}
	r.pending = int(length)
	r.index++
	if wireLen < capLen {
		wireLen = capLen
	}
	r.in.count(capLen)
	var ts time.Time
	if typ != blockSPB { // SPBs carry no timestamp
		ts = ifc.ts(raw)
	}
	end := hdrLen + int(capLen)
	return Frame{
		Data:    b[hdrLen:end:end],
		TS:      ts,
		CapLen:  int(capLen),
		WireLen: int(wireLen),
		Link:    ifc.link,
		IfIndex: int(id),
		Iface:   ifc.name,
		Index:   r.index,
	}, nil
}

// peek returns the next n bytes of the file (at r.off).
func (r *ngReader) peek(n int) ([]byte, error) { return r.in.peek(n) }

// Stats counts the packets read up to the last fill of the read buffer
// while reading, and every packet once Next has returned io.EOF or an
// error.
func (r *ngReader) Stats() Stats {
	return Stats{
		Packets: r.in.stats.packets.Load(),
		Bytes:   r.in.stats.bytes.Load(),
		IfDrops: r.ifDrops.Load(),
	}
}

func (r *ngReader) Close() error { return r.closeOnce.close(r.closer) }
