//go:build linux

package capture

import (
	"testing"

	"github.com/opsdeck/opsdeck/internal/filter"
)

// TestLiveCompiledFilter: tcpdump-syntax filters compiled by internal/filter
// run in the kernel: packets that do not match never reach the process (the
// kernel's own packet counter, which counts after the filter, stays low).
func TestLiveCompiledFilter(t *testing.T) {
	v := newVeth(t)
	for _, expr := range []string{"udp dst port 9999", "ip and udp and (port 9999 or port 7)", "not tcp and dst port 9999", "udp[2:2] = 9999"} {
		t.Run(expr, func(t *testing.T) {
			src, err := OpenLive(v.host, LiveOptions{Filter: func(l LinkType) ([]BPFInstruction, error) {
				p, err := filter.Compile(expr, uint16(l), 262144)
				if err != nil {
					return nil, err
				}
				return p.Instructions(), nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			v.sendUDP(t, 8888, 40, "opsdeck-nomatch")
			v.sendUDP(t, 9999, 5, "opsdeck-match")
			v.sendUDP(t, 8888, 40, "opsdeck-nomatch")
			v.sendUDP(t, 9999, 1, "opsdeck-end")
			frames := collect(t, src, "opsdeck-end")
			got := 0
			for _, f := range frames {
				port, p, ok := udpDst(f)
				if !ok || port != 9999 {
					t.Fatalf("frame %d passed the filter (udp %v, port %d)", f.Index, ok, port)
				}
				if p == "opsdeck-match" {
					got++
				}
			}
			if got != 5 {
				t.Errorf("captured %d matching packets, sent 5", got)
			}
			if st := src.Stats(); st.KernelPackets > 20 {
				t.Errorf("the kernel passed %d packets to the socket: the 80 non-matching ones were not filtered in the kernel", st.KernelPackets)
			}
		})
	}
}
