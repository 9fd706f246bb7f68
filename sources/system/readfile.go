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
	return s.readFD(fd, path, false)
}

// readFD reads fd to its end into the reusable buffer, from offset 0 with
// pread when again is set (a file kept open, read before).
func (s *Sampler) readFD(fd int, path string, again bool) ([]byte, error) {
	n := 0
	for {
		if n == len(s.buf) {
			nb := make([]byte, 2*len(s.buf))
			copy(nb, s.buf)
			s.buf = nb
		}
		var m int
		var err error
		if again {
			m, err = syscall.Pread(fd, s.buf[n:], int64(n))
		} else {
			m, err = syscall.Read(fd, s.buf[n:])
		}
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

// keptFile is a process's /proc file the sampler keeps open between
// samples: 0 none, else the descriptor plus one. Reading it again from
// offset 0 is one system call where opening, reading and closing are three,
// and the open (a path walk through /proc) is the dearest: with a few
// hundred processes, most of a sample. A kept descriptor stays bound to
// its process: once the process has exited, reading it fails (ESRCH), so
// a pid the kernel gave to a new process is opened afresh.
type keptFile int

// maxKeptFiles bounds the descriptors kept open (two per process: stat and
// io); past it, files are opened per sample as before. A quarter of the
// process's descriptor limit bounds it too (keptLimit).
const maxKeptFiles = 2048

// keptLimit is the bound on kept files: maxKeptFiles, or a quarter of the
// open-file limit when that is lower, so the rest of the program (capture,
// the terminal, evidence files) keeps most descriptors.
func keptLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur/4 < maxKeptFiles {
		return int(rl.Cur / 4)
	}
	return maxKeptFiles
}

// readKept reads the file at path through *k, opening and keeping it when
// it is not kept yet and the bound allows. Files are kept only under the
// real /proc (a test's fixture files may be replaced between samples).
func (s *Sampler) readKept(k *keptFile, path string) ([]byte, error) {
	if *k != 0 {
		if b, err := s.readFD(int(*k)-1, path, true); err == nil {
			return b, nil
		}
		s.closeKept(k) // the process exited: try the path (its pid may be new)
	}
	if s.ProcRoot != "/proc" || s.kept.n >= s.kept.limit {
		return s.read(path)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	b, err := s.readFD(fd, path, false)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	*k = keptFile(fd + 1)
	s.kept.n++
	return b, nil
}

// closeKept closes a kept file, if any.
func (s *Sampler) closeKept(k *keptFile) {
	if *k != 0 {
		syscall.Close(int(*k) - 1)
		*k = 0
		s.kept.n--
	}
}

// keptCount counts the kept files; a Sampler dropped without Close closes
// them when collected (runtime.AddCleanup on the Sampler, with this).
type keptCount struct {
	n, limit int
	procs    map[int32]*procState
}

func (c *keptCount) closeAll() {
	for _, st := range c.procs {
		for _, k := range []*keptFile{&st.statFile, &st.ioFile} {
			if *k != 0 {
				syscall.Close(int(*k) - 1)
				*k = 0
			}
		}
	}
	c.n = 0
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
