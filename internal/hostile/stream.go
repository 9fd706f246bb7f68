package hostile

import (
	"math/rand/v2"
)

// StreamTarget is the server the stream kinds aim at.
var StreamTarget = [4]byte{10, 0, 0, 81}

// SeqHalf writes, for each of n/2 flows from random spoofed sources to
// random ports, a segment of data at sequence S and then one byte at
// S+len+2^31: half the sequence space away, where a 32-bit difference
// cannot be negated (issue 12, finding 1). No handshake.
func SeqHalf(w Sink, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 7))
	c := newClock(10000)
	var f builder
	req := []byte("GET /index.html HTTP/1.1\r\nHost: victim\r\n")
	for range max(n/2, 1) {
		src := addr4(0x0a000000 | r.Uint32()&0xffffff)
		sport, dport := uint16(1024+r.IntN(60000)), uint16(1+r.IntN(65535))
		s0 := r.Uint32()
		for i, seg := range [][]byte{req, []byte("x")} {
			seq := s0
			if i == 1 {
				seq = s0 + uint32(len(req)) + 1<<31
			}
			f.eth(victimMAC, clientMAC, 0x0800)
			ip := f.ip4(src, StreamTarget, 6, uint16(i), 0, 0)
			at := f.tcp(sport, dport, seq, 1, tcpACK|tcpPSH, seg)
			f.fix4(ip)
			f.fixL4(ip, at)
			if err := w.Frame(c.next(), f.b, len(f.b)); err != nil {
				return err
			}
		}
	}
	return nil
}

// OOOFlood writes flows that each try to hold as much reassembly memory as
// they can: a handshake, a request line that never ends, then segments of
// 1400 bytes just past a two-byte gap that is never filled. Even flows send
// eight overlapping segments (issue 12, finding 2: 16,384 such flows held
// 586 MB); odd flows two side by side that fit within what one direction
// may hold, and the server a response header never ended, so that only the
// shared memcap bounds them. About n/9.5 flows.
func OOOFlood(w Sink, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 8))
	c := newClock(50000)
	var f builder
	partial := make([]byte, 1200)
	copy(partial, "GET /")
	for i := 5; i < len(partial); i++ {
		partial[i] = 'a' + byte(i%26)
	}
	response := make([]byte, 1200)
	copy(response, "HTTP/1.1 200 OK\r\nX-Pad: ")
	for i := 25; i < len(response); i++ {
		response[i] = 'c'
	}
	chunk := make([]byte, 1400)
	for i := range chunk {
		chunk[i] = 'b'
	}
	send := func(src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags uint8, payload []byte, smac, dmac [6]byte) error {
		f.eth(dmac, smac, 0x0800)
		ip := f.ip4(src, dst, 6, 0, 0, 0)
		at := f.tcp(sport, dport, seq, ack, flags, payload)
		f.fix4(ip)
		f.fixL4(ip, at)
		return w.Frame(c.next(), f.b, len(f.b))
	}
	for k := range max(n*2/19+1, 2) { // 12 frames and 7, alternately
		src := addr4(0x0a000000 | r.Uint32()&0xffffff)
		sport := uint16(1024 + r.IntN(60000))
		cs, ss := r.Uint32(), r.Uint32()
		if err := send(src, StreamTarget, sport, 80, cs, 0, tcpSYN, nil, clientMAC, victimMAC); err != nil {
			return err
		}
		if err := send(StreamTarget, src, 80, sport, ss, cs+1, tcpSYN|tcpACK, nil, victimMAC, clientMAC); err != nil {
			return err
		}
		if err := send(src, StreamTarget, sport, 80, cs+1, ss+1, tcpACK, nil, clientMAC, victimMAC); err != nil {
			return err
		}
		if err := send(src, StreamTarget, sport, 80, cs+1, ss+1, tcpACK|tcpPSH, partial, clientMAC, victimMAC); err != nil {
			return err
		}
		if k%2 == 1 {
			// The server's side too: a response header line never ended.
			if err := send(StreamTarget, src, 80, sport, ss+1, cs+1+uint32(len(partial)), tcpACK|tcpPSH, response, victimMAC, clientMAC); err != nil {
				return err
			}
		}
		next := cs + 1 + uint32(len(partial))
		for j := range 8 {
			seq := next + 2 + uint32(j) // overlapping
			if k%2 == 1 {
				if j == 2 {
					break
				}
				seq = next + 2 + uint32(j)*uint32(len(chunk)) // side by side
			}
			if err := send(src, StreamTarget, sport, 80, seq, ss+1, tcpACK|tcpPSH, chunk, clientMAC, victimMAC); err != nil {
				return err
			}
		}
	}
	return nil
}
