//go:build linux

package capture

import (
	"bytes"
	"net"
	"os"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/filter"
)

// TestLiveLoopbackOnce: a packet over loopback is seen once, not once
// leaving and once arriving (libpcap drops the outgoing copy too).
func TestLiveLoopbackOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture test needs root (CAP_NET_RAW)")
	}
	ln, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.LocalAddr().(*net.UDPAddr).Port
	for _, iface := range []string{"lo", "any"} {
		t.Run(iface, func(t *testing.T) {
			expr := "udp dst port " + itoa(port)
			src, err := OpenLive(iface, LiveOptions{SnapLen: 256, BlockTimeout: 20 * time.Millisecond,
				Filter: func(l LinkType) ([]BPFInstruction, error) {
					p, err := filter.Compile(expr, uint16(l), 256)
					if err != nil {
						return nil, err
					}
					return p.Instructions(), nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			c, err := net.DialUDP("udp4", nil, ln.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const sent = 10
			for i := 0; i < sent; i++ {
				c.Write([]byte("opsdeck loopback test"))
			}
			c.Write([]byte("opsdeck loopback end"))
			got := make(chan int, 1)
			go func() {
				n := 0
				for {
					f, err := src.Next()
					if err != nil {
						got <- -1
						return
					}
					if bytes.HasSuffix(f.Data, []byte("opsdeck loopback end")) {
						got <- n
						return
					}
					n++
				}
			}()
			select {
			case n := <-got:
				if n != sent {
					t.Errorf("captured %d packets on %s before the end marker, sent %d", n, iface, sent)
				}
			case <-time.After(20 * time.Second): // hang guard, not a timing assertion
				t.Fatalf("the end marker never arrived on %s", iface)
			}
		})
	}
}
