package system

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// readKmsg returns every record still in the kernel log, one per line. Each
// read(2) of /dev/kmsg returns one record; EAGAIN marks the end, EPIPE a
// record overwritten while we read (skipped).
func readKmsg(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open kernel log %s: %w", path, err)
	}
	defer syscall.Close(fd)
	var out []byte
	rec := make([]byte, 16<<10)
	for i := 0; i < 1<<20; i++ { // bounded, in case a writer keeps up with us
		n, err := syscall.Read(fd, rec)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return out, nil
		case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return out, fmt.Errorf("read kernel log %s: %w", path, err)
		case n <= 0:
			return out, nil
		}
		out = append(out, rec[:n]...)
		if rec[n-1] != '\n' {
			out = append(out, '\n')
		}
	}
	return out, nil
}

// kmsgLastSeq returns the sequence number of the newest OOM record in the
// kernel log now (0 when none or unreadable), so only later kills are named.
func (s *Sampler) kmsgLastSeq() uint64 {
	b, err := readKmsg(s.KmsgPath)
	if err != nil {
		return 1 // unreadable: do not try again every sample
	}
	var last uint64 = 1
	for _, o := range parseKmsgOOM(b) {
		if o.seq > last {
			last = o.seq
		}
	}
	return last
}

// oomVictims names the processes the OOM killer killed since the last look,
// from the kernel log, or says why it cannot.
func (s *Sampler) oomVictims(snap *hoststat.Snapshot) error {
	b, err := readKmsg(s.KmsgPath)
	if err != nil {
		snap.Memory.OOMLogError = fmt.Sprintf("kernel log not readable (%v): the killed process is unknown; run as root or set kernel.dmesg_restrict=0", errors.Unwrap(err))
		return err
	}
	var fresh []hoststat.OOMVictim
	for _, o := range parseKmsgOOM(b) {
		if o.seq > s.kmsgSeq || o.seq == 0 {
			fresh = append(fresh, o.victim)
			if o.seq > s.kmsgSeq {
				s.kmsgSeq = o.seq
			}
		}
	}
	// The counter is authoritative; the log may hold fewer lines (rate
	// limited) or more (older kills still in the ring when seq is absent).
	if n := int(snap.Memory.OOMKillsNew); len(fresh) > n {
		fresh = fresh[len(fresh)-n:]
	}
	if len(fresh) == 0 {
		snap.Memory.OOMLogError = "no OOM kill record in the kernel log (rate limited or rotated out): the killed process is unknown"
	}
	snap.Memory.OOMVictims = fresh
	return nil
}
