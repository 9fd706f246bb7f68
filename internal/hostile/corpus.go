package hostile

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
)

// CorpusFrame is one packet of a corpus capture, for fuzz seeds.
type CorpusFrame struct {
	File string
	Link uint16 // LINKTYPE_*
	Data []byte
}

// CorpusFrames returns the frames of every .pcap and .pcapng file under
// dir (testdata/corpus), in file order. It is a minimal reader for seeding
// fuzz targets in packages that must not import sources/capture; records it
// cannot make sense of end that file's frames.
func CorpusFrames(dir string) ([]CorpusFrame, error) {
	var files []string
	for _, pat := range []string{"*/*.pcap", "*/*.pcapng"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, errors.New("no captures under " + dir)
	}
	var out []CorpusFrame
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, splitCapture(filepath.Base(f), b)...)
	}
	return out, nil
}

func splitCapture(name string, b []byte) []CorpusFrame {
	if len(b) < 24 {
		return nil
	}
	var out []CorpusFrame
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1:
		var o binary.ByteOrder = binary.LittleEndian
		if m := binary.LittleEndian.Uint32(b); m == 0xd4c3b2a1 || m == 0x4d3cb2a1 {
			o = binary.BigEndian
		}
		link := uint16(o.Uint32(b[20:]))
		for off := 24; off+16 <= len(b); {
			n := int(o.Uint32(b[off+8:]))
			if n < 0 || off+16+n > len(b) {
				break
			}
			out = append(out, CorpusFrame{name, link, b[off+16 : off+16+n]})
			off += 16 + n
		}
	case 0x0a0d0d0a:
		var o binary.ByteOrder = binary.LittleEndian
		if binary.BigEndian.Uint32(b[8:]) == 0x1a2b3c4d {
			o = binary.BigEndian
		}
		var links []uint16
		for off := 0; off+12 <= len(b); {
			typ, n := o.Uint32(b[off:]), int(o.Uint32(b[off+4:]))
			if n < 12 || off+n > len(b) {
				break
			}
			body := b[off+8 : off+n-4]
			switch {
			case typ == 0x0a0d0d0a:
				links = links[:0]
			case typ == 1 && len(body) >= 2:
				links = append(links, o.Uint16(body))
			case typ == 6 && len(body) >= 20:
				id, capLen := int(o.Uint32(body)), int(o.Uint32(body[12:]))
				if id < len(links) && 20+capLen <= len(body) {
					out = append(out, CorpusFrame{name, links[id], body[20 : 20+capLen]})
				}
			}
			off += n
		}
	}
	return out
}
