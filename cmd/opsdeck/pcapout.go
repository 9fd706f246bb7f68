package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/opsdeck/opsdeck/internal/pcapfile"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// pcapOut is -w: the packets opsdeck analysed, written as classic pcap
// (microsecond timestamps), as tcpdump -w writes them, with
// internal/pcapfile. A pcap file has one link type: the first packet's. A
// packet of another link type (watch on several interfaces of different
// kinds) is left out and counted; the count is reported at the end, and
// evidence exports (which split by link type) remain the way to get them.
type pcapOut struct {
	name    string
	f       *os.File // nil for stdout
	bw      *bufio.Writer
	w       *pcapfile.Writer // nil until the first packet names the link type
	snaplen int
	link    capture.LinkType
	started bool
	written uint64
	skipped uint64 // packets of another link type
	err     error  // the first write error; later writes are not tried
}

// openPcapOut creates name (0600: packets hold whatever crossed the wire;
// an existing file is replaced, as tcpdump -w does), or uses stdout for "-".
func openPcapOut(name string, snaplen int) (*pcapOut, error) {
	p := &pcapOut{name: name, snaplen: snaplen}
	var w io.Writer = os.Stdout
	if name != "-" {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, fmt.Errorf("-w: %w", err)
		}
		p.f, w = f, f
	}
	p.bw = bufio.NewWriterSize(w, 256<<10)
	return p, nil
}

// write adds one frame. Errors are kept for close: a full disk must not
// stop the analysis, and is reported once.
func (p *pcapOut) write(fr *capture.Frame) {
	if p == nil || p.err != nil {
		return
	}
	if !p.started {
		p.start(fr.Link)
	}
	if fr.Link != p.link {
		p.skipped++
		return
	}
	if err := p.w.WritePacket(fr.TS, fr.Data, fr.WireLen); err != nil {
		p.err = fmt.Errorf("-w %q: %w", p.name, err)
		return
	}
	p.written++
}

func (p *pcapOut) start(link capture.LinkType) {
	p.started, p.link = true, link
	w, err := pcapfile.NewWriter(p.bw, uint32(link), p.snaplen)
	if err != nil {
		p.err = fmt.Errorf("-w %q: %w", p.name, err)
	}
	p.w = w
}

// flush pushes buffered packets to the file (watch calls it every tick,
// so the file can be read while the capture runs).
func (p *pcapOut) flush() {
	if p == nil || p.err != nil {
		return
	}
	if err := p.bw.Flush(); err != nil {
		p.err = fmt.Errorf("-w %q: %w", p.name, err)
	}
}

// close writes the header if no packet came (an empty capture still opens
// in every tool), flushes and closes, and says what was left out.
func (p *pcapOut) close() error {
	if p == nil {
		return nil
	}
	if !p.started {
		p.start(capture.LinkEthernet)
	}
	p.flush()
	var errs []error
	if p.err != nil {
		errs = append(errs, p.err)
	}
	if p.f != nil {
		if err := p.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("-w %q: %w", p.name, err))
		}
	}
	if p.skipped > 0 {
		fmt.Fprintf(os.Stderr, "opsdeck: -w %q: %d packets of a link type other than the first packet's (%d) were not written: a pcap file holds one link type\n", p.name, p.skipped, p.link)
	}
	return errors.Join(errs...)
}
