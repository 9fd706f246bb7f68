package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
)

// The file readers are written here rather than taken from gopacket/pcapgo:
// pcapgo cannot say at which byte offset a file was cut (the error users need
// to salvage a truncated capture), its pcapng reader does not expose ISB drop
// counters, allocates per packet unless ZeroCopy is used, and trusts a
// record's length up to the snaplen, which a corrupt header sets to 4 GiB.
// Both formats are small enough to read directly from a bufio.Reader, whose
// Peek gives zero-copy frames and which returns as soon as a pipe has the
// bytes of one record (so "-r -" delivers packets as they arrive).

// MaxRecordLen is the largest packet record accepted from a file. libpcap
// refuses records above 256 KiB too; a larger claimed length means a corrupt
// file, and honouring it would let one header allocate gigabytes.
const MaxRecordLen = 256 << 10

// readBufSize holds one maximal record plus block headers and options, so a
// record is always handed out by Peek without copying.
const readBufSize = MaxRecordLen + 64<<10

// Magic numbers at the start of a capture file, as read in big-endian order.
const (
	magicPcapMicro        = 0xa1b2c3d4
	magicPcapMicroSwapped = 0xd4c3b2a1
	magicPcapNano         = 0xa1b23c4d
	magicPcapNanoSwapped  = 0x4d3cb2a1
	magicPcapng           = 0x0a0d0d0a
)

// counters are the per-source Stats fields; atomic so Stats may be read
// from another goroutine (the UI) while Next runs.
type counters struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
}

func (c *counters) add(n int) {
	c.packets.Add(1)
	c.bytes.Add(uint64(n))
}

// fieldOrder reads a file's 32-bit fields in its byte order with a test
// of big rather than a call through binary.ByteOrder: the readers do it
// several times per packet.
type fieldOrder struct {
	big bool
}

func (o fieldOrder) u32(b []byte) uint32 {
	if o.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// statBatch counts the frames handed out and adds them to the atomic
// counters in batches (at each fill of the input and at the end): an
// atomic add per packet was a fifth of reading.
type statBatch struct {
	pkts, bytes uint64
	stats       counters
}

func (s *statBatch) count(capLen uint32) {
	s.pkts++
	s.bytes += uint64(capLen)
}

// flush adds the frames counted since the last call to stats.
func (s *statBatch) flush() {
	if s.pkts > 0 {
		s.stats.packets.Add(s.pkts)
		s.stats.bytes.Add(s.bytes)
		s.pkts, s.bytes = 0, 0
	}
}

// closer closes the underlying input once and remembers that it did, so a
// Next blocked on a pipe that Close interrupts ends with io.EOF rather than a
// misleading "truncated" error.
type closer struct {
	closed atomic.Bool
}

func (c *closer) close(in io.Closer) error {
	if c.closed.Swap(true) || in == nil {
		return nil
	}
	return in.Close()
}

// input hands the pcap and pcapng readers the file's bytes in place. win
// is what br held buffered at its last fill and used the bytes of it
// consumed (still to discard from br): a record whole in win is read with
// no call into br.
//
// Mapping regular files into memory instead was measured and left out:
// it saves the kernel's copy into the buffer (a fifth of the CPU time on
// a capture of full-size packets), but each record's first read then
// misses the CPU cache, which the copy had warmed, and the total came out
// the same (analyze --no-detect --no-extract, both benchmark captures).
type input struct {
	win  []byte
	used int
	br   *bufio.Reader
	statBatch
}

// peek returns the next n bytes (n <= readBufSize) without consuming them.
// At the end of input it returns what there is with io.EOF (nothing) or
// io.ErrUnexpectedEOF (some).
func (in *input) peek(n int) ([]byte, error) {
	if n <= len(in.win)-in.used {
		return in.win[in.used : in.used+n], nil
	}
	return in.fill(n)
}

// fill makes win start at the first unconsumed byte and hold at least n
// bytes when the input has them.
func (in *input) fill(n int) ([]byte, error) {
	in.flush()
	if in.used > 0 {
		in.br.Discard(in.used)
	}
	in.win, in.used = nil, 0
	b, err := peekFull(in.br, n)
	if err != nil {
		return b, err
	}
	// Peek filled the buffer as far as the input allowed: what follows is
	// read from it.
	in.win, _ = in.br.Peek(in.br.Buffered())
	return in.win[:n], nil
}

// skip consumes n bytes, which may be more than a peek can hold, and
// returns how many there were.
func (in *input) skip(n int) (int, error) {
	if n <= len(in.win)-in.used {
		in.used += n
		return n, nil
	}
	in.flush()
	if in.used > 0 {
		in.br.Discard(in.used)
	}
	in.win, in.used = nil, 0
	return in.br.Discard(n)
}

// OpenFile opens a pcap or pcapng file. It needs no privilege.
func OpenFile(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open capture %q: %w", path, unwrapPath(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open capture %q: %w", path, unwrapPath(err))
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open capture %q: is a directory, not a capture file", path)
	}
	src, err := newReader(path, f, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return src, nil
}

// OpenReader reads a pcap or pcapng stream from r, which may be a
// non-seekable pipe such as standard input; name is used in errors and
// Name(). Frames are returned as soon as their bytes arrive. Close does not
// close r unless r is an io.Closer.
func OpenReader(name string, r io.Reader) (Source, error) {
	var c io.Closer
	if rc, ok := r.(io.Closer); ok {
		c = rc
	}
	return newReader(name, r, c)
}

// unwrapPath drops the *fs.PathError wrapper: the path is already in our own
// message, and repeating it makes the line hard to read.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func newReader(name string, r io.Reader, c io.Closer) (Source, error) {
	size := readBufSize
	if l, ok := r.(interface{ Len() int }); ok && l.Len() < size {
		// An in-memory input cannot hold a record longer than itself, so a
		// smaller buffer is enough; this keeps small inputs (fuzzing, tests)
		// from paying for a 320 KiB buffer each.
		size = l.Len()
	}
	in := &input{br: bufio.NewReaderSize(r, size)}
	head, err := in.peek(4)
	if err != nil {
		if len(head) == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("open capture %q: empty file, not a pcap or pcapng file", name)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("open capture %q: truncated file header at offset %d: %w", name, len(head), unwrapPath(err))
	}
	magic := binary.BigEndian.Uint32(head)
	switch magic {
	case magicPcapMicro, magicPcapMicroSwapped, magicPcapNano, magicPcapNanoSwapped:
		return newPcapReader(name, in, c)
	case magicPcapng:
		return newNgReader(name, in, c)
	}
	hint := ""
	switch {
	case head[0] == 0x1f && head[1] == 0x8b:
		hint = " (it is gzip-compressed: decompress it first)"
	case magic == 0x0a0d0a0d || magic == 0x0d0a0d0a || magic == 0x0a0a0d0d:
		// The pcapng magic is chosen so that line-ending conversion corrupts it.
		hint = " (looks like a pcapng file damaged by a text-mode transfer)"
	}
	return nil, fmt.Errorf("open capture %q: not a pcap or pcapng file (magic 0x%08x)%s", name, magic, hint)
}

// peekFull peeks n bytes at the reader and reports how many were there when
// the input ended, so callers can say where a file was cut.
func peekFull(br *bufio.Reader, n int) ([]byte, error) {
	b, err := br.Peek(n)
	if err == nil {
		return b, nil
	}
	if err == io.EOF {
		if len(b) == 0 {
			return b, io.EOF
		}
		return b, io.ErrUnexpectedEOF
	}
	if err == bufio.ErrBufferFull {
		// Only an in-memory input sized below the record gets here.
		return b, io.ErrUnexpectedEOF
	}
	return b, err
}
