package capture

// Batch is frames copied out of a live capture's buffer by ReadBatch. Their
// Data stays valid until the next Reset, so a batch can be read in another
// goroutine while the capture fills the next one.
type Batch struct {
	Frames []Frame
	data   []byte
}

// BatchBytes bounds the bytes one Batch holds: a batch is full when the
// next frame would pass it (a first frame always fits: frames are at most
// MaxRecordLen plus a header).
const BatchBytes = 512 << 10

// BatchReader is implemented by live sources that can copy every frame
// ready in their buffer at once (Linux's ring).
type BatchReader interface {
	ReadBatch(b *Batch, maxFrames int) error
}

// Reset empties b for reuse; its frames' Data must no longer be in use.
func (b *Batch) Reset() {
	clear(b.Frames) // drop the Iface strings for the collector
	b.Frames = b.Frames[:0]
	b.data = b.data[:0]
}

// fits says whether a frame of n bytes can be added.
func (b *Batch) fits(n int) bool {
	return len(b.Frames) == 0 || len(b.data)+n <= cap(b.data)
}

// add copies f into the batch.
func (b *Batch) add(f Frame) {
	if b.data == nil {
		b.data = make([]byte, 0, max(BatchBytes, len(f.Data)))
	}
	if len(b.data)+len(f.Data) > cap(b.data) {
		// Only a first frame gets here (fits); never grow a batch whose
		// earlier frames point into the old array.
		b.data = make([]byte, 0, max(BatchBytes, len(f.Data)))
	}
	off := len(b.data)
	b.data = append(b.data, f.Data...)
	f.Data = b.data[off:len(b.data):len(b.data)]
	b.Frames = append(b.Frames, f)
}
