package packet_test

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/opsdeck/opsdeck/internal/hostile"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// FuzzDecodeCorpus decodes frames seeded from every corpus capture and from
// the hostile captures. Beyond not panicking, the decoder must be
// zero-copy (the payload points into the frame) and stateless between
// frames: the engine reuses one Summary, so a field left over from the
// previous frame would be a lie about this one.
func FuzzDecodeCorpus(f *testing.F) {
	frames, err := hostile.CorpusFrames(filepath.Join("..", "..", "testdata", "corpus"))
	if err != nil {
		f.Fatal(err)
	}
	for i, fr := range frames {
		if i%4 == 0 { // every fourth frame keeps the seed set quick to replay
			f.Add(fr.Link, fr.Data)
		}
	}
	for _, k := range hostile.Kinds() {
		n := 0
		k.Write(hostile.SinkFunc(func(_ time.Time, data []byte, _ int) error {
			if n < 12 {
				f.Add(uint16(1), append([]byte(nil), data...))
			}
			n++
			return nil
		}), 12, 1)
	}
	other := frames[0].Data
	d := packet.NewDecoder()
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		var fresh, reused packet.Summary
		ts := time.Unix(1, 0)
		errFresh := d.Decode(link, data, ts, len(data), &fresh)
		_ = d.Decode(1, other, ts, len(other), &reused)
		errReused := d.Decode(link, data, ts, len(data), &reused)
		if (errFresh == nil) != (errReused == nil) {
			t.Fatalf("error depends on the previous frame: %v vs %v", errFresh, errReused)
		}
		if !reflect.DeepEqual(fresh, reused) {
			t.Fatalf("summary depends on the previous frame:\nfresh  %+v\nreused %+v", fresh, reused)
		}
		if p := fresh.Payload; len(p) > 0 {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
			at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
			if at < start || at+uintptr(len(p)) > start+uintptr(len(data)) {
				t.Fatalf("payload (%d bytes) is not inside the frame (%d bytes)", len(p), len(data))
			}
		}
	})
}
