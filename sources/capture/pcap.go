package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

// pcapReader reads classic libpcap files in either byte order, with
// microsecond or nanosecond timestamps.
type pcapReader struct {
	name    string
	br      *bufio.Reader
	closer  io.Closer
	order   binary.ByteOrder
	big     bool // order is big-endian (u32 without a call through order)
	nano    bool
	link    LinkType
	snaplen uint32
	off     int64 // byte offset of the next record
	index   uint64
	// win is what br held buffered at the last fill, used the bytes of it
	// handed out (still to discard from br): the records already in the
	// buffer are read from win without a call into br each.
	win  []byte
	used int
	// pkts and bytes are counted here and added to stats (atomics, for
	// Stats from another goroutine) at each fill of the buffer and at the
	// end: a locked add per packet was a fifth of reading.
	pkts, bytes uint64
	err         error
	stats       counters

	closeOnce closer
}

func newPcapReader(name string, br *bufio.Reader, c io.Closer) (*pcapReader, error) {
	h, err := peekFull(br, pcapFileHeaderLen)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("open capture %q: truncated pcap file header (%d of %d bytes): %w", name, len(h), pcapFileHeaderLen, err)
	}
	r := &pcapReader{name: name, br: br, closer: c, off: pcapFileHeaderLen}
	switch binary.BigEndian.Uint32(h) {
	case magicPcapMicro:
		r.order = binary.BigEndian
	case magicPcapNano:
		r.order, r.nano = binary.BigEndian, true
	case magicPcapMicroSwapped:
		r.order = binary.LittleEndian
	case magicPcapNanoSwapped:
		r.order, r.nano = binary.LittleEndian, true
	}
	r.big = r.order == binary.BigEndian
	if major := r.order.Uint16(h[4:]); major != 2 {
		return nil, fmt.Errorf("open capture %q: unsupported pcap version %d.%d", name, major, r.order.Uint16(h[6:]))
	}
	r.snaplen = r.order.Uint32(h[16:])
	// The upper bits of the link-type field carry FCS length flags
	// (pcap spec, LinkType and additional information); the type is the low 16.
	r.link = LinkType(r.order.Uint32(h[20:]) & 0xffff)
	br.Discard(pcapFileHeaderLen)
	return r, nil
}

func (r *pcapReader) Name() string { return r.name }

// Link returns the file's link type.
func (r *pcapReader) Link() LinkType { return r.link }

func (r *pcapReader) Next() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	if r.closeOnce.closed.Load() {
		r.flushStats()
		return Frame{}, io.EOF
	}
	// The next record is whole in the buffer: no call into br. Its bytes
	// stay where they are until a later Next refills the buffer.
	if rest := r.win[r.used:]; len(rest) >= pcapRecordHeaderLen {
		capLen := r.u32(rest[8:])
		if total := pcapRecordHeaderLen + int(capLen); capLen <= MaxRecordLen && len(rest) >= total {
			r.used += total
			return r.frame(rest[:total:total]), nil
		}
	}
	if r.used > 0 {
		r.br.Discard(r.used)
		r.used = 0
	}
	r.win = nil
	r.flushStats()
	h, err := peekFull(r.br, pcapRecordHeaderLen)
	if err != nil {
		if err == io.EOF || r.closeOnce.closed.Load() {
			r.err = io.EOF
		} else {
			r.err = fmt.Errorf("read capture %q: truncated record header at offset %d: %w", r.name, r.off, err)
		}
		return Frame{}, r.err
	}
	capLen := r.order.Uint32(h[8:])
	if capLen > MaxRecordLen {
		r.err = fmt.Errorf("read capture %q: packet record at offset %d claims %d bytes (limit %d): corrupt file", r.name, r.off, capLen, MaxRecordLen)
		return Frame{}, r.err
	}
	total := pcapRecordHeaderLen + int(capLen)
	rec, err := peekFull(r.br, total)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if r.closeOnce.closed.Load() {
			err = io.EOF
			r.err = err
			return Frame{}, err
		}
		r.err = fmt.Errorf("read capture %q: truncated packet record at offset %d (%d of %d bytes): %w", r.name, r.off, len(rec), total, err)
		return Frame{}, r.err
	}
	// Peek filled the buffer as far as the input allowed: the records
	// after this one are read from it.
	r.win, _ = r.br.Peek(r.br.Buffered())
	r.used = total
	return r.frame(rec[:total:total]), nil
}

// u32 reads a record header's field in the file's byte order.
func (r *pcapReader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// frame makes the Frame of rec, one whole record whose length was checked.
func (r *pcapReader) frame(rec []byte) Frame {
	sec := r.u32(rec[0:])
	frac := r.u32(rec[4:])
	capLen := r.u32(rec[8:])
	wireLen := r.u32(rec[12:])
	if !r.nano {
		frac *= 1000
	}
	r.off += int64(len(rec))
	r.index++
	if wireLen < capLen {
		wireLen = capLen
	}
	r.pkts++
	r.bytes += uint64(capLen)
	return Frame{
		Data:    rec[pcapRecordHeaderLen:],
		TS:      time.Unix(int64(sec), int64(frac)),
		CapLen:  int(capLen),
		WireLen: int(wireLen),
		Link:    r.link,
		Index:   r.index,
	}
}

// flushStats adds the packets counted since the last call to stats.
func (r *pcapReader) flushStats() {
	if r.pkts > 0 {
		r.stats.packets.Add(r.pkts)
		r.stats.bytes.Add(r.bytes)
		r.pkts, r.bytes = 0, 0
	}
}

// Stats counts the records read up to the last fill of the read buffer
// (about 300 KiB of input) while reading, and every record once Next has
// returned io.EOF or an error.
func (r *pcapReader) Stats() Stats {
	return Stats{Packets: r.stats.packets.Load(), Bytes: r.stats.bytes.Load()}
}

func (r *pcapReader) Close() error { return r.closeOnce.close(r.closer) }
