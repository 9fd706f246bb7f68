package capture

import (
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
	name   string
	in     *input
	closer io.Closer
	order  binary.ByteOrder
	fieldOrder
	nano    bool
	link    LinkType
	snaplen uint32
	off     int64 // byte offset of the next record
	index   uint64
	err     error

	closeOnce closer
}

func newPcapReader(name string, in *input, c io.Closer) (*pcapReader, error) {
	h, err := in.peek(pcapFileHeaderLen)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("open capture %q: truncated pcap file header (%d of %d bytes): %w", name, len(h), pcapFileHeaderLen, err)
	}
	r := &pcapReader{name: name, in: in, closer: c, off: pcapFileHeaderLen}
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
	in.used += pcapFileHeaderLen
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
		r.in.flush()
		return Frame{}, io.EOF
	}
	// The next record is whole in the window: no call at all. Its bytes
	// stay where they are until a later Next moves the window.
	in := r.in
	if rest := in.win[in.used:]; len(rest) >= pcapRecordHeaderLen {
		capLen := r.u32(rest[8:])
		if total := pcapRecordHeaderLen + int(capLen); capLen <= MaxRecordLen && len(rest) >= total {
			in.used += total
			return r.frame(rest[:total:total]), nil
		}
	}
	return r.nextFill()
}

// nextFill is Next for a record not whole in the window: it moves the
// window, and says what is wrong with the record when it cannot.
func (r *pcapReader) nextFill() (Frame, error) {
	h, err := r.in.fill(pcapRecordHeaderLen)
	if err != nil {
		if err == io.EOF || r.closeOnce.closed.Load() {
			r.err = io.EOF
		} else {
			r.err = fmt.Errorf("read capture %q: truncated record header at offset %d: %w", r.name, r.off, err)
		}
		return Frame{}, r.err
	}
	capLen := r.u32(h[8:])
	if capLen > MaxRecordLen {
		r.err = fmt.Errorf("read capture %q: packet record at offset %d claims %d bytes (limit %d): corrupt file", r.name, r.off, capLen, MaxRecordLen)
		return Frame{}, r.err
	}
	total := pcapRecordHeaderLen + int(capLen)
	rec, err := r.in.peek(total)
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
	r.in.used += total
	return r.frame(rec[:total:total]), nil
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
	r.in.count(capLen)
	return Frame{
		Data:    rec[pcapRecordHeaderLen:],
		TS:      time.Unix(int64(sec), int64(frac)),
		CapLen:  int(capLen),
		WireLen: int(wireLen),
		Link:    r.link,
		Index:   r.index,
	}
}

// Stats counts the records read up to the last fill of the read buffer
// (about 300 KiB of input) while reading, and every record once Next has
// returned io.EOF or an error.
func (r *pcapReader) Stats() Stats {
	return Stats{Packets: r.in.stats.packets.Load(), Bytes: r.in.stats.bytes.Load()}
}

func (r *pcapReader) Close() error { return r.closeOnce.close(r.closer) }
