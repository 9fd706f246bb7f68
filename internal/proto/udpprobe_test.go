package proto

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// Probing without a State decides as a State does: the same datagram
// finds the same protocol, and a flow of noise is given up after the same
// number of datagrams. Keeping the count in an interface allocates nothing.
func TestUDPProbeAsState(t *testing.T) {
	q, r := dnsPair(t, "www.example.com")
	noise := []byte("\x17\x00not any protocol we know")
	cases := []struct {
		name     string
		dgrams   [][]byte
		toServer []bool
	}{
		{"dns query first", [][]byte{q, r}, []bool{true, false}},
		{"dns answer first", [][]byte{r, q}, []bool{false, true}},
		{"noise then dns", [][]byte{noise, noise, q}, []bool{true, false, true}},
		{"noise only", [][]byte{noise, noise, noise, noise, noise, noise, noise, noise, noise, q}, []bool{true, true, false, true, true, true, true, true, true, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &State{}
			var n UDPProbes
			probing := true
			for i, b := range tc.dgrams {
				s := udpSummary(tc.toServer[i], b, uint64(i+1))
				wasDone := st.Done()
				st.Packet(&Config{}, tc.toServer[i], &s, func(*Event) {})
				if !probing {
					continue
				}
				next, found, givenUp := n.Probe(tc.toServer[i], &s)
				n = next
				if found != (st.AppProto() != "") && !wasDone {
					t.Fatalf("datagram %d: Probe found %v, State detected %q", i, found, st.AppProto())
				}
				if givenUp != (st.Done() && st.AppProto() == "") {
					t.Fatalf("datagram %d: Probe gave up %v, State done %v", i, givenUp, st.Done())
				}
				probing = !found && !givenUp
			}
		})
	}
	s := udpSummary(true, noise, 1)
	var app any
	if a := testing.AllocsPerRun(100, func() {
		n, _ := app.(UDPProbes)
		n, _, _ = n.Probe(true, &s)
		app = n % maxUDPProbes
	}); a != 0 {
		t.Errorf("probing a datagram and keeping the count allocates %v times", a)
	}
}

// A UDP DNS flow parked between datagrams (ParkDNS, Resume) gives the
// events of one State that lived through them all, transaction ids
// included; a flow that holds anything else is not parked.
func TestDNSParkResume(t *testing.T) {
	q, r := dnsPair(t, "www.example.com")
	var pkts []packet.Summary
	for i := 0; i < 6; i++ {
		pkts = append(pkts, udpSummary(true, q, uint64(2*i+1)), udpSummary(false, r, uint64(2*i+2)))
	}
	encode := func(out *[]string) func(*Event) {
		return func(e *Event) {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			*out = append(*out, string(b))
		}
	}
	cfg := &Config{}
	var want, got []string
	st := &State{}
	for i := range pkts {
		st.Packet(cfg, pkts[i].DstPort == 53, &pkts[i], encode(&want))
	}
	var pool Pool
	var parked DNSFlow
	var cur *State
	for i := range pkts {
		if cur == nil {
			cur = parked.Resume(&pool)
		}
		cur.Packet(cfg, pkts[i].DstPort == 53, &pkts[i], encode(&got))
		v, ok := cur.ParkDNS()
		if !ok {
			t.Fatalf("datagram %d: a UDP DNS flow was not parked", i)
		}
		parked = v
		pool.Put(cur)
		cur = nil
	}
	if !slices.Equal(got, want) || len(want) != len(pkts) {
		t.Fatalf("parked flow's events differ:\n got %q\nwant %q", got, want)
	}
	tcp := seg1(53, 1000, "\x00\x1d")
	st = &State{}
	st.Packet(cfg, true, &tcp, func(*Event) {})
	if _, ok := st.ParkDNS(); ok {
		t.Error("a TCP flow was parked")
	}
}
