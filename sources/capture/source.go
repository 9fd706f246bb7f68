// Package capture reads packets from the outside world: pcap and pcapng files,
// standard input, and live interfaces (AF_PACKET on Linux, BPF devices on macOS).
// It hands raw frames to the engine; it decodes nothing beyond the file format.
package capture

import (
	"time"

	"github.com/opsdeck/opsdeck/internal/packet"
)

// LinkType is a pcap LINKTYPE_ value (https://www.tcpdump.org/linktypes.html).
type LinkType uint16

// Link types opsdeck decodes: internal/packet's values, typed.
const (
	LinkNull      = LinkType(packet.LinkNull)      // BSD loopback, host-order 4-byte family
	LinkEthernet  = LinkType(packet.LinkEthernet)  // Ethernet II / 802.3
	LinkRaw       = LinkType(packet.LinkRaw)       // raw IPv4 or IPv6
	LinkLoop      = LinkType(packet.LinkLoop)      // OpenBSD loopback, network-order family
	LinkLinuxSLL  = LinkType(packet.LinkLinuxSLL)  // Linux cooked v1 (tcpdump -i any)
	LinkIPv4      = LinkType(packet.LinkIPv4)      // raw IPv4
	LinkIPv6      = LinkType(packet.LinkIPv6)      // raw IPv6
	LinkLinuxSLL2 = LinkType(packet.LinkLinuxSLL2) // Linux cooked v2
	LinkRaw12     = LinkType(packet.LinkRaw12)     // DLT_RAW on some BSDs (written as 12 by old files)
	LinkRaw14     = LinkType(packet.LinkRaw14)     // DLT_RAW on OpenBSD
)

// Frame is one captured frame. Data is only valid until the next call to Next
// on the same Source; a consumer that keeps bytes must copy them.
type Frame struct {
	Data    []byte
	TS      time.Time
	CapLen  int // bytes captured (len(Data))
	WireLen int // bytes on the wire (may exceed CapLen when snapped)
	Link    LinkType
	IfIndex int    // interface index within the source (pcapng IDB index, or OS ifindex when live)
	Iface   string // interface name when known ("" for plain pcap)
	Index   uint64 // 1-based frame number within this source (pcap_cnt)
}

// Stats are the counters a source reports. Kernel counters are zero for files.
type Stats struct {
	Packets       uint64 // frames handed out by Next
	Bytes         uint64 // sum of captured bytes handed out
	KernelPackets uint64 // packets the kernel saw for this socket (live only)
	KernelDrops   uint64 // packets the kernel dropped for lack of buffer (live only)
	IfDrops       uint64 // drops reported by the interface/pcapng ISB when known
}

// Source is a packet input. Next returns io.EOF at the normal end of input; any
// other error ends the input and should name what failed and where (file and offset).
type Source interface {
	Name() string
	Next() (Frame, error)
	Stats() Stats
	Close() error
}
