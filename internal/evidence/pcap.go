package evidence

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/detect"
	"github.com/opsdeck/opsdeck/internal/packet"
	"github.com/opsdeck/opsdeck/internal/pcapfile"
)

// Exports are classic pcap (microsecond timestamps), one file per link type.
// pcapng could hold several link types in one file, but libpcap (and so
// tcpdump, Zeek, Suricata and most scripts) refuses a pcapng whose interfaces
// have different link types ("an interface has a type N different from the
// type of the first interface"); evidence must open in the tools of whoever
// receives it. So the main file holds the most common link type and the rare
// others (a tun interface next to Ethernet ones) go to sibling files named
// NAME.linkN.pcap.

// FileMode is the permission of every evidence file: packets may hold
// credentials and private data.
const FileMode = 0o600

// Export describes the files an export wrote.
type Export struct {
	// Files are the paths written; the first is the path asked for and
	// holds the most common link type.
	Files []string
	// Links are the link types of Files, and Counts their packet counts,
	// in the same order.
	Links  []uint16
	Counts []int
	// Packets is how many packets were written over all files.
	Packets int
}

// AlertSelection selects an alert's packets: those between its actor and
// target around its time (see PairSelection).
func AlertSelection(a *detect.Alert) Selection {
	return PairSelection(a.Src, a.Dst, a.TS)
}

// ExportAlert writes the packets of one alert to path (see AlertSelection).
func (r *Ring) ExportAlert(path string, a *detect.Alert) (Export, error) {
	return r.Export(path, AlertSelection(a))
}

// ExportLast writes the last d of packets (packet time) to path.
func (r *Ring) ExportLast(path string, d time.Duration) (Export, error) {
	return r.Export(path, r.LastSelection(d))
}

// Export writes the selected packets to path as pcap. The file must not
// exist. With no packet selected an empty capture is still written, so the
// file's absence never has to be explained.
func (r *Ring) Export(path string, s Selection) (Export, error) {
	return WritePcap(path, r.Select(s))
}

// WritePcap writes packets to path (and sibling files for minority link
// types), mode 0600, refusing to overwrite an existing file.
func WritePcap(path string, pkts []Packet) (Export, error) {
	byLink := map[uint16][]Packet{}
	for _, p := range pkts {
		byLink[p.Link] = append(byLink[p.Link], p)
	}
	links := make([]uint16, 0, len(byLink))
	for l := range byLink {
		links = append(links, l)
	}
	slices.SortFunc(links, func(a, b uint16) int {
		return cmp.Or(cmp.Compare(len(byLink[b]), len(byLink[a])), cmp.Compare(a, b))
	})
	if len(links) == 0 {
		links = []uint16{packet.LinkEthernet}
	}
	var ex Export
	for i, l := range links {
		name := path
		if i > 0 {
			name = siblingName(path, l)
		}
		if err := writePcapFile(name, l, byLink[l]); err != nil {
			for _, f := range ex.Files {
				os.Remove(f)
			}
			return Export{}, err
		}
		ex.Files = append(ex.Files, name)
		ex.Links = append(ex.Links, l)
		ex.Counts = append(ex.Counts, len(byLink[l]))
		ex.Packets += len(byLink[l])
	}
	return ex, nil
}

func siblingName(path string, link uint16) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".link" + strconv.Itoa(int(link)) + cmp.Or(ext, ".pcap")
}

func writePcapFile(name string, link uint16, pkts []Packet) (err error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return fmt.Errorf("create evidence %q: %w", name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write evidence %q: %w", name, cerr)
		}
		if err != nil {
			os.Remove(name)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := writePcap(bw, link, pkts); err != nil {
		return fmt.Errorf("write evidence %q: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write evidence %q: %w", name, err)
	}
	// Evidence is kept because something happened: make sure it survives a
	// crash of the machine that is perhaps under attack.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync evidence %q: %w", name, err)
	}
	return nil
}

// writePcap writes a classic pcap stream.
func writePcap(w *bufio.Writer, link uint16, pkts []Packet) error {
	pw, err := pcapfile.NewWriter(w, uint32(link), pcapfile.DefaultSnapLen)
	if err != nil {
		return err
	}
	for _, p := range pkts {
		if err := pw.WritePacket(p.TS, p.Data, p.WireLen); err != nil {
			return err
		}
	}
	return nil
}
