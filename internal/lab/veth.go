package lab

import (
	"os"
	"os/exec"
	"testing"
)

// Veth is a network namespace with one veth pair into it: Host here with
// Prefix.1/30, Peer inside NS with Prefix.2/30. Traffic stays on the pair.
// It is the small rig of the capture tests (interface loss, the pump's
// live source); New builds the whole attack lab.
type Veth struct {
	NS, Host, Peer, Prefix string
}

// Setup makes the namespace and the pair, removed at the end of the test
// (any left by an earlier run first). Without root or iproute2 the test is
// skipped.
func (v Veth) Setup(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a network namespace and a veth need root: skipped")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed: skipped")
	}
	v.remove()
	if out, err := exec.Command("ip", "netns", "add", v.NS).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(v.remove)
	v.Pair(t)
}

// Pair creates the veth pair into the namespace again (after a test
// deleted it), addressed and up.
func (v Veth) Pair(t testing.TB) {
	t.Helper()
	for _, args := range [][]string{
		{"link", "add", v.Host, "type", "veth", "peer", "name", v.Peer, "netns", v.NS},
		{"addr", "add", v.Prefix + ".1/30", "dev", v.Host},
		{"link", "set", v.Host, "up"},
		{"-n", v.NS, "addr", "add", v.Prefix + ".2/30", "dev", v.Peer},
		{"-n", v.NS, "link", "set", v.Peer, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
}

func (v Veth) remove() {
	exec.Command("ip", "link", "del", v.Host).Run()
	exec.Command("ip", "netns", "del", v.NS).Run()
}
