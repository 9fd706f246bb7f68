package detect

import (
	"math/rand/v2"
	"testing"
)

// TestShakeKeyOwnSteps: a connection's SYN and its SYN-ACK/ACK land in the
// same cache line of the handshake cache (the later steps cost no miss)
// and never in the same slot (the SYN-ACK would overwrite the SYN's tag,
// and the SYN's retransmission would count as a new attempt).
func TestShakeKeyOwnSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const slot = 1<<17 - 1
	for range 100000 {
		c, s := rng.Uint32(), rng.Uint32()
		cp, sp := uint16(rng.Uint32()), uint16(rng.Uint32())
		isn, srvISN := rng.Uint32(), rng.Uint32()
		syn := shakeKey(c, s, cp, sp, isn, 0, false)
		// synAckSeen and handshakeACK both key the step so.
		synAck := shakeKey(c, s, cp, sp, isn+1, srvISN+1, true)
		if syn&slot == synAck&slot {
			t.Fatalf("SYN and SYN-ACK share slot %d", syn&slot)
		}
		if syn&slot>>4 != synAck&slot>>4 {
			t.Fatalf("SYN and SYN-ACK in different lines")
		}
	}
}
