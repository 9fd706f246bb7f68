package system

import (
	"os"
	"syscall"
)

// read returns the whole file at path in the Sampler's reusable buffer; the
// bytes are valid until the next read. It uses raw system calls because
// os.ReadFile's stat, poller registration and fresh buffer cost more than
// reading a small /proc file, and a sample reads about a thousand of them.
func (s *Sampler) read(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(s.buf) {
			nb := make([]byte, 2*len(s.buf))
			copy(nb, s.buf)
			s.buf = nb
		}
		m, err := syscall.Read(fd, s.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m <= 0 {
			break
		}
		n += m
		if n < len(s.buf) {
			// procfs and sysfs fill the buffer as far as they can in one
			// read; a short read is the end. Skipping the read(2) that would
			// return 0 saves a syscall per file, a third of the sample.
			break
		}
	}
	return s.buf[:n], nil
}

// readPrefix returns at most limit bytes from the start of the file at path,
// in the reusable buffer like read, and whether the file holds more. Only
// limit+1 bytes are read, whatever the file's size: a command line of
// another user's process can be 2 MB.
func (s *Sampler) readPrefix(path string, limit int) ([]byte, bool, error) {
	if len(s.buf) <= limit {
		s.buf = make([]byte, limit+1)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := s.buf[:limit+1]
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m <= 0 {
			break
		}
		n += m
		if n < len(buf) {
			break // a short read is the end, as in read
		}
	}
	if n > limit {
		return buf[:limit], true, nil
	}
	return buf[:n], false, nil
}
