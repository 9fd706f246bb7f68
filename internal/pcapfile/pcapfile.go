// Package pcapfile writes classic pcap files, the format tcpdump -w writes
// and every packet tool reads: a 24-byte header, then a 16-byte record
// header before each packet, little-endian, microsecond timestamps.
//
// It is opsdeck's one pcap writer (-w, evidence exports, the generator and
// the tests). gopacket's pcapgo writer is not used because it takes the
// link type as layers.LinkType, eight bits, and so writes
// LINKTYPE_LINUX_SLL2 (276, what tcpdump -i any records on current
// kernels) as 20; the format's field is 32 bits.
package pcapfile

import (
	"encoding/binary"
	"io"
	"time"
)

// DefaultSnapLen is tcpdump's default snapshot length.
const DefaultSnapLen = 262144

// Writer appends packets to a pcap stream. It does no buffering: hand it a
// bufio.Writer for files.
type Writer struct {
	w       io.Writer
	snaplen int
	rec     [16]byte
}

// NewWriter writes the file header for link (a LINKTYPE_ value) and
// snaplen (0 means DefaultSnapLen) and returns the writer.
func NewWriter(w io.Writer, link uint32, snaplen int) (*Writer, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnapLen
	}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], uint32(snaplen))
	binary.LittleEndian.PutUint32(h[20:], link)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Writer{w: w, snaplen: snaplen}, nil
}

// WritePacket appends one packet captured at ts. wireLen is its length on
// the wire; a value below len(data) means len(data). A packet longer than
// the snap length is cut to it, as tcpdump -s does (readers refuse a record
// longer than the file's snap length); its wire length stays.
func (w *Writer) WritePacket(ts time.Time, data []byte, wireLen int) error {
	wireLen = max(wireLen, len(data))
	if len(data) > w.snaplen {
		data = data[:w.snaplen]
	}
	us := ts.UnixMicro()
	binary.LittleEndian.PutUint32(w.rec[0:], uint32(us/1e6))
	binary.LittleEndian.PutUint32(w.rec[4:], uint32(us%1e6))
	binary.LittleEndian.PutUint32(w.rec[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(w.rec[12:], uint32(wireLen))
	if _, err := w.w.Write(w.rec[:]); err != nil {
		return err
	}
	_, err := w.w.Write(data)
	return err
}
