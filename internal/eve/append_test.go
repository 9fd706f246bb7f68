package eve

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/flow"
	"github.com/opsdeck/opsdeck/internal/packet"
)

// TestAppenders: the in-place appenders write what strconv and
// packet.AppendAddr write, after what b held, at every digit count and
// for every octet.
func TestAppenders(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ints := []uint64{0, 1, 9, 10, 99, 100, 999, 1000, 65535, 1<<51 - 1, math.MaxUint64}
	for i := range pow10 {
		ints = append(ints, pow10[i]-1, pow10[i], pow10[i]+1)
	}
	for range 10000 {
		ints = append(ints, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range ints {
		if got, want := string(appendUint([]byte("x"), v)), strconv.AppendUint([]byte("x"), v, 10); got != string(want) {
			t.Fatalf("appendUint(%d) = %q, want %q", v, got, want)
		}
		if got, want := string(appendInt([]byte("x"), -int64(v>>1))), strconv.AppendInt([]byte("x"), -int64(v>>1), 10); got != string(want) {
			t.Fatalf("appendInt(%d) = %q, want %q", -int64(v>>1), got, want)
		}
	}
	if got := string(appendInt(nil, math.MinInt64)); got != strconv.FormatInt(math.MinInt64, 10) {
		t.Errorf("appendInt(MinInt64) = %q", got)
	}
	addrs := []netip.Addr{{}, netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::1%eth0")}
	for i := range 256 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(i), byte(255 - i), byte(i * 7), byte(i / 3)}))
	}
	for _, a := range addrs {
		// A short buffer: the appender grows it.
		if got, want := string(appendAddr(make([]byte, 1, 2), a)), packet.AppendAddr(make([]byte, 1, 2), a); got != string(want) {
			t.Fatalf("appendAddr(%v) = %q, want %q", a, got, want)
		}
	}
}

// TestFragments: the pre-rendered fragments say what String says of every
// value of a state, reason and flag set, known or not.
func TestFragments(t *testing.T) {
	for v := range 256 {
		if got, want := tcpStateFields[min(v, len(tcpStateFields)-1)], `,"state":"`+flow.TCPState(v).String()+`"}`; got != want {
			t.Fatalf("TCP state %d: %q, want %q", v, got, want)
		}
		for r := range 256 {
			for _, a := range []bool{false, true} {
				want := `,"state":"` + flow.State(v).String() + `","reason":"` + flow.EndReason(r).String() + `","alerted":` + strconv.FormatBool(a) + `}`
				if got := flowEndFields(flow.State(v), flow.EndReason(r), a); got != want {
					t.Fatalf("state %d reason %d alerted %v: %q, want %q", v, r, a, got, want)
				}
			}
		}
		if got := protoFields[v]; !strings.HasPrefix(got, `,"proto":"`+packet.ProtoName(uint8(v))+`"`) {
			t.Fatalf("proto %d: %q", v, got)
		}
	}
	if got, want := tcpFlagFields[packet.TCPSyn|packet.TCPAck|packet.TCPCwr], `","syn":true,"ack":true,"cwr":true`; got != want {
		t.Errorf("SYN|ACK|CWR: %q, want %q", got, want)
	}
}
