package detect

import (
	"fmt"
	"maps"
	"testing"
	"unsafe"
)

// A dns.tunnel entry is held per client and parent domain: it fits the
// allocator's 256-byte class, the record types past the first few living
// outside it.
func TestDNSEntrySmall(t *testing.T) {
	if n := unsafe.Sizeof(slot[dnsKey, dnsEntry]{}); n > 256 {
		t.Errorf("a dns.tunnel slot is %d bytes, want at most 256", n)
	}
}

// A dos.synflood entry is held per server and port a flood touches: it
// fits the allocator's 288-byte class.
func TestSynEntrySmall(t *testing.T) {
	if n := unsafe.Sizeof(slot[floodKey, synEntry]{}); n > 288 {
		t.Errorf("a dos.synflood slot is %d bytes, want at most 288", n)
	}
}

// qtypeCounts counts the first maxQTypes record types exactly, whether
// they sit inline or past it, and ignores later new types.
func TestQTypeCounts(t *testing.T) {
	for _, types := range []int{1, qtypesInline, qtypesInline + 1, maxQTypes, maxQTypes + 5} {
		var c qtypeCounts
		want := map[string]uint32{}
		for round := range 3 {
			for i := range types {
				name := fmt.Sprintf("TYPE%d", i)
				for range i%3 + 1 + round {
					c.inc(name)
					if i < maxQTypes {
						want[name]++
					}
				}
			}
		}
		if got := c.toMap(); !maps.Equal(got, want) {
			t.Errorf("%d types: counted %v, want %v", types, got, want)
		}
		if (types > qtypesInline) != (c.more != nil) {
			t.Errorf("%d types: overflow allocated %v", types, c.more != nil)
		}
	}
}
