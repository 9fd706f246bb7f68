package capture

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sys/unix"
)

// A fanout source is several packet sockets on one interface in one
// PACKET_FANOUT_HASH group: the kernel hands each packet to one member,
// chosen by a hash of its flow (both directions alike; an IP fragment by
// its addresses, not reassembled: see join), so a flow's unfragmented
// packets stay in order in one member's ring. Each member has its
// own ring and its own goroutine that copies what the ring holds into
// batches; ReadBatch and Next hand the batches out in the order they were
// filled. Which member's batch comes first is not ordered, so packets of
// different flows may come out of time order by up to a batch; the engine
// keeps its clock monotonic.
//
// Why members meet again in one consumer: opsdeck's detectors keep state
// across flows (a scan is many flows from one source, a flood many sources
// to one target), so they cannot be split by flow hash without merging
// that state; what fans out is the kernel's ring (no one ring's lock taken
// by every CPU that receives) and the reading and copying.
//
// No PACKET_FANOUT_FLAG_ROLLOVER: a full member drops (and counts it) rather
// than sending a flow's packets to another member out of order.

type fanoutSource struct {
	name    string
	members []*afPacket
	full    chan fanoutItem
	free    chan *Batch
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	mu    sync.Mutex // ReadBatch and Next
	cur   Batch      // Next's batch
	pos   int
	index uint64
	err   error
}

type fanoutItem struct {
	b   *Batch
	err error
}

// openFanout opens opts.Fanout sockets on iface in one new fanout group.
// The group's id is the kernel's choice (FLAG_UNIQUEID), so two captures
// never join each other's group and split each other's packets.
func openFanout(iface string, opts LiveOptions) (Source, error) {
	n := min(opts.Fanout, MaxFanout)
	per := opts
	per.Fanout = 0
	size := opts.BufferSize
	if size <= 0 {
		size = defaultBufferSize
	}
	per.BufferSize = max(size/n, 2<<20)
	f := &fanoutSource{name: iface, done: make(chan struct{})}
	var id uint32 // the group's, once the first member made it
	join := func(s *afPacket) error {
		// By flow hash, without FLAG_DEFRAG: the kernel would reassemble
		// IP fragments before any member saw them, and the engine (its
		// fragment counter, the detectors, -w) would never see a
		// fragment, overlapping and incomplete ones included. A
		// fragment is hashed on its addresses, so a datagram's fragments
		// may reach another member than its flow's first fragment; the
		// one engine behind the members takes them all.
		const typ = unix.PACKET_FANOUT_HASH
		if id == 0 {
			if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, (typ|unix.PACKET_FANOUT_FLAG_UNIQUEID)<<16); err != nil {
				return fmt.Errorf("PACKET_FANOUT: %w", err)
			}
			v, err := unix.GetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
			if err != nil {
				return fmt.Errorf("PACKET_FANOUT group id: %w", err)
			}
			id = uint32(v) & 0xffff
			return nil
		}
		if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, int(id|typ<<16)); err != nil {
			return fmt.Errorf("join PACKET_FANOUT group %d: %w", id, err)
		}
		return nil
	}
	for range n {
		s, err := openSocket(iface, per, join)
		if err != nil {
			f.closeMembers()
			return nil, err
		}
		f.members = append(f.members, s)
	}
	// Two batches a member: one being filled, one waiting to be read.
	f.full = make(chan fanoutItem, 2*n)
	f.free = make(chan *Batch, 2*n)
	for range 2 * n {
		f.free <- new(Batch)
	}
	for _, s := range f.members {
		f.wg.Add(1)
		go f.read(s)
	}
	return f, nil
}

// read copies member s's ring into batches until s fails or is closed.
func (f *fanoutSource) read(s *afPacket) {
	defer f.wg.Done()
	for {
		var b *Batch
		select {
		case b = <-f.free:
		case <-f.done:
			return
		}
		b.Reset()
		err := s.ReadBatch(b, fanoutBatchFrames)
		if len(b.Frames) > 0 {
			select {
			case f.full <- fanoutItem{b: b}:
			case <-f.done:
				return
			}
		}
		if err != nil {
			select {
			case f.full <- fanoutItem{err: err}:
			case <-f.done:
			}
			return
		}
	}
}

// fanoutBatchFrames bounds a member's batch.
const fanoutBatchFrames = 1024

func (f *fanoutSource) Name() string { return f.name }

// Link returns the link type of the frames.
func (f *fanoutSource) Link() LinkType { return f.members[0].link }

// ReadBatch hands out the next batch a member filled, swapped into b, and
// numbers its frames.
func (f *fanoutSource) ReadBatch(b *Batch, maxFrames int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readBatch(b)
}

func (f *fanoutSource) readBatch(b *Batch) error {
	for f.err == nil {
		select {
		case it := <-f.full:
			if it.err != nil {
				// Any member's error ends the capture, as for one socket:
				// a link that went away went away for all of them.
				f.err = it.err
				if it.err != io.EOF {
					f.stop()
				}
				continue
			}
			*b, *it.b = *it.b, *b
			for i := range b.Frames {
				f.index++
				b.Frames[i].Index = f.index
			}
			select {
			case f.free <- it.b:
			default: // b was not one of ours: let the collector have it
			}
			return nil
		case <-f.done:
			f.err = io.EOF
		}
	}
	return f.err
}

// Next returns the frames of the current batch one by one; Data is valid
// until the next call.
func (f *fanoutSource) Next() (Frame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.pos >= len(f.cur.Frames) {
		f.cur.Reset()
		f.pos = 0
		if err := f.readBatch(&f.cur); err != nil {
			return Frame{}, err
		}
	}
	f.pos++
	return f.cur.Frames[f.pos-1], nil
}

// Stats adds the members' counters up: Packets and Bytes are what the
// members copied out, which is ahead of what was handed out by at most
// the batches in flight.
func (f *fanoutSource) Stats() Stats {
	var st Stats
	for _, s := range f.members {
		o := s.Stats()
		st.Packets += o.Packets
		st.Bytes += o.Bytes
		st.KernelPackets += o.KernelPackets
		st.KernelDrops += o.KernelDrops
	}
	return st
}

// stop ends the member goroutines: closing a member wakes its ReadBatch.
func (f *fanoutSource) stop() error {
	var err error
	f.once.Do(func() {
		close(f.done)
		err = f.closeMembers()
		f.wg.Wait()
	})
	return err
}

func (f *fanoutSource) closeMembers() error {
	var err error
	for _, s := range f.members {
		err = errors.Join(err, s.Close())
	}
	return err
}

// Close stops the capture; a ReadBatch or Next waiting in another
// goroutine returns io.EOF.
func (f *fanoutSource) Close() error { return f.stop() }
