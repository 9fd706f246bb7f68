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
	nano    bool
	link    LinkType
	snaplen uint32
	off     int64 // byte offset of the next record
	index   uint64
	pending int // bytes of the last frame still to discard from br
	err     error
	stats   counters

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
		return Frame{}, io.EOF
	}
	if r.pending > 0 {
		r.br.Discard(r.pending)
		r.pending = 0
	}
	h, err := peekFull(r.br, pcapRecordHeaderLen)
	if err != nil {
		if err == io.EOF || r.closeOnce.closed.Load() {
			r.err = io.EOF
		} else {
			r.err = fmt.Errorf("read capture %q: truncated record header at offset %d: %w", r.name, r.off, err)
		}
		return Frame{}, r.err
	}
	sec := r.order.Uint32(h[0:])
	frac := r.order.Uint32(h[4:])
	capLen := r.order.Uint32(h[8:])
	wireLen := r.order.Uint32(h[12:])
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
	if !r.nano {
		frac *= 1000
	}
	r.pending = total
	r.off += int64(total)
	r.index++
	if wireLen < capLen {
		wireLen = capLen
	}
	r.stats.add(int(capLen))
	return Frame{
		Data:    rec[pcapRecordHeaderLen:total:total],
		TS:      time.Unix(int64(sec), int64(frac)),
		CapLen:  int(capLen),
		WireLen: int(wireLen),
		Link:    r.link,
		Index:   r.index,
	}, nil
}

func (r *pcapReader) Stats() Stats {
	return Stats{Packets: r.stats.packets.Load(), Bytes: r.stats.bytes.Load()}
}

func (r *pcapReader) Close() error { return r.closeOnce.close(r.closer) }
