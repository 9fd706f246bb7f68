package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// eveOutput is where watch writes its records: a file (lineFile) or a
// unix socket (socketOut).
type eveOutput interface {
	Write(p []byte) (int, error)
	// Boundary is called between records (each tick): retry what waits.
	Boundary() error
	Sync() error
	RequestReopen()
	Close() error
	// Lost is what the bounded backlog dropped; Held what it holds.
	Lost() (records, bytes uint64)
	Held() uint64
	Healthy() bool
}

// socketSpec parses -o unix:PATH (a stream socket, Suricata's
// filetype: unix_stream), unix-stream:PATH or unix-dgram:PATH (Suricata's
// unix_dgram); ok is false for anything else (a file name).
func socketSpec(o string) (network, path string, ok bool) {
	for _, p := range []struct{ prefix, network string }{{"unix:", "unix"}, {"unix-stream:", "unix"}, {"unix-dgram:", "unixgram"}} {
		if rest, found := strings.CutPrefix(o, p.prefix); found {
			return p.network, rest, true
		}
	}
	return "", "", false
}

// socketOut writes EVE records to a unix socket someone else listens on
// (FEVER, Logstash, a shipper), as Suricata does: one record per line on a
// stream, one per datagram on a datagram socket. Whole records only: a
// partial one waits for its newline. While the socket cannot take them,
// records wait in a bounded backlog and the connection is retried at each
// Boundary; what the bound drops is counted. Writes never block for long:
// the engine's lock is held while they run.
type socketOut struct {
	network, path string
	conn          net.Conn
	pending       []byte // the start of a record whose newline has not come
	queue         []byte // whole records waiting for the socket
	queueMax      int
	timeout       time.Duration // bound on one write
	block         bool          // analyze: wait for the reader instead of dropping
	lostN, lostB  atomic.Uint64
	heldB         atomic.Uint64
	healthy       atomic.Bool
	said          bool
	logf          func(format string, args ...any)
}

// openSocketOut connects to the socket; a socket nobody listens on is an
// error at start, so a typo is caught before the capture runs.
func openSocketOut(network, path string, block bool) (*socketOut, error) {
	s := &socketOut{network: network, path: path, queueMax: outputBacklog, timeout: time.Second, block: block,
		logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "opsdeck: output: "+format+"\n", args...) }}
	if err := s.connect(); err != nil {
		return nil, fmt.Errorf("connect to EVE socket %s:%s: %w (start the reader first, e.g. FEVER's -i %s)", s.kind(), path, err, path)
	}
	s.healthy.Store(true)
	return s, nil
}

func (s *socketOut) kind() string {
	if s.network == "unixgram" {
		return "unix-dgram"
	}
	return "unix"
}

func (s *socketOut) connect() error {
	c, err := net.DialTimeout(s.network, s.path, s.timeout)
	if err != nil {
		return err
	}
	s.conn = c
	return nil
}

// Write takes whole records into the queue and sends what it can.
func (s *socketOut) Write(p []byte) (int, error) {
	n := len(p)
	if i := bytes.LastIndexByte(p, '\n'); i < 0 {
		s.pending = append(s.pending, p...)
		return n, nil
	} else {
		s.enqueue(s.pending)
		s.enqueue(p[:i+1])
		s.pending = append(s.pending[:0], p[i+1:]...)
	}
	s.send()
	return n, nil
}

// enqueue adds whole records, dropping the oldest waiting ones past the
// bound (counted).
func (s *socketOut) enqueue(b []byte) {
	s.queue = append(s.queue, b...)
	for len(s.queue) > s.queueMax && !s.block {
		i := bytes.IndexByte(s.queue, '\n')
		s.lostN.Add(1)
		s.lostB.Add(uint64(i + 1))
		s.queue = s.queue[i+1:]
	}
	s.heldB.Store(uint64(len(s.queue)))
}

// send writes queued records until the queue is empty or the socket fails.
func (s *socketOut) send() {
	for len(s.queue) > 0 {
		if s.conn == nil {
			if err := s.connect(); err != nil {
				s.fail(err)
				return
			}
		}
		// One record per write, as Suricata sends them: one datagram each,
		// and on a stream one send each (FEVER reads a record per read).
		i := bytes.IndexByte(s.queue, '\n')
		rec := s.queue[:i+1]
		if s.network == "unixgram" {
			rec = rec[:i] // without the newline
		}
		if !s.block {
			s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
		}
		n, err := s.conn.Write(rec)
		if s.network == "unixgram" && err == nil {
			n = len(rec) + 1
		}
		if s.network != "unixgram" && n > 0 {
			// A stream cut inside a record resends the record whole on the
			// next connection; the reader lost the cut one with the old.
			if err != nil {
				n = bytes.LastIndexByte(s.queue[:n], '\n') + 1
			}
		}
		s.queue = s.queue[n:]
		s.heldB.Store(uint64(len(s.queue)))
		if err != nil {
			s.conn.Close()
			s.conn = nil
			s.fail(err)
			return
		}
	}
	if !s.healthy.Load() {
		s.logf("EVE socket %s:%s takes records again", s.kind(), s.path)
	}
	s.healthy.Store(true)
	s.said = false
}

func (s *socketOut) fail(err error) {
	s.healthy.Store(false)
	if !s.said {
		s.said = true
		s.logf("EVE socket %s:%s: %v; records wait (at most %d MiB) and the socket is retried every second", s.kind(), s.path, err, s.queueMax>>20)
	}
}

func (s *socketOut) Boundary() error { s.send(); return nil }
func (s *socketOut) Sync() error     { return nil }
func (s *socketOut) RequestReopen()  {}

// Close sends what is queued, once more, and closes the connection.
func (s *socketOut) Close() error {
	s.enqueue(s.pending)
	s.pending = nil
	s.send()
	var err error
	if len(s.queue) > 0 {
		n := bytes.Count(s.queue, []byte("\n"))
		s.lostN.Add(uint64(n))
		s.lostB.Add(uint64(len(s.queue)))
		err = fmt.Errorf("EVE socket %s:%s: %d records could not be sent", s.kind(), s.path, n)
	}
	if s.conn != nil {
		err = errors.Join(err, s.conn.Close())
	}
	return err
}

func (s *socketOut) Lost() (records, bytes uint64) { return s.lostN.Load(), s.lostB.Load() }
func (s *socketOut) Held() uint64                  { return s.heldB.Load() }
func (s *socketOut) Healthy() bool                 { return s.healthy.Load() }
