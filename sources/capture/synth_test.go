package capture

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/opsdeck/opsdeck/internal/testpkt"
)

// udpFrame serializes an Ethernet/IPv4/UDP frame whose payload carries n so
// tests can tell frames apart.
func udpFrame(t testing.TB, n int) []byte {
	t.Helper()
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0, 1},
		DstMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0, 2},
		EthernetType: layers.EthernetTypeIPv4,
	}
	return testpkt.Frame(t, append([]gopacket.SerializableLayer{eth}, udpLayers(n)...)...)
}

// rawIPv4Frame is udpFrame without the Ethernet header (LINKTYPE_RAW).
func rawIPv4Frame(t testing.TB, n int) []byte {
	t.Helper()
	return testpkt.Frame(t, udpLayers(n)...)
}

func udpLayers(n int) []gopacket.SerializableLayer {
	ip := &layers.IPv4{
		Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IPv4(10, 0, 0, 1), DstIP: net.IPv4(10, 0, 0, 2),
	}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 9999}
	udp.SetNetworkLayerForChecksum(ip)
	payload := make([]byte, 8)
	binary.BigEndian.PutUint64(payload, uint64(n))
	return []gopacket.SerializableLayer{ip, udp, gopacket.Payload(payload)}
}

// pcapRec is one record for writePcap.
type pcapRec struct {
	ts      time.Time
	data    []byte
	wireLen int
}

// writePcap builds a classic pcap file by hand, in the given byte order and
// timestamp precision, so the reader is tested against the format and not
// against another library's writer.
func writePcap(order binary.ByteOrder, nano bool, link uint32, snaplen uint32, recs []pcapRec) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	magic := uint32(magicPcapMicro)
	if nano {
		magic = magicPcapNano
	}
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], snaplen)
	order.PutUint32(h[20:], link)
	b.Write(h)
	for _, r := range recs {
		rh := make([]byte, 16)
		order.PutUint32(rh[0:], uint32(r.ts.Unix()))
		frac := uint32(r.ts.Nanosecond())
		if !nano {
			frac /= 1000
		}
		order.PutUint32(rh[4:], frac)
		order.PutUint32(rh[8:], uint32(len(r.data)))
		wl := r.wireLen
		if wl == 0 {
			wl = len(r.data)
		}
		order.PutUint32(rh[12:], uint32(wl))
		b.Write(rh)
		b.Write(r.data)
	}
	return b.Bytes()
}

// ngWriter builds pcapng files block by block.
type ngWriter struct {
	order binary.ByteOrder
	b     bytes.Buffer
}

type ngOpt struct {
	code uint16
	val  []byte
}

func (w *ngWriter) opts(opts []ngOpt) []byte {
	if len(opts) == 0 {
		return nil
	}
	var b bytes.Buffer
	for _, o := range opts {
		h := make([]byte, 4)
		w.order.PutUint16(h, o.code)
		w.order.PutUint16(h[2:], uint16(len(o.val)))
		b.Write(h)
		b.Write(o.val)
		b.Write(make([]byte, (4-len(o.val)%4)%4))
	}
	b.Write([]byte{0, 0, 0, 0})
	return b.Bytes()
}

func (w *ngWriter) block(typ uint32, body []byte) {
	body = append(body, make([]byte, (4-len(body)%4)%4)...)
	n := uint32(12 + len(body))
	h := make([]byte, 8)
	w.order.PutUint32(h, typ)
	w.order.PutUint32(h[4:], n)
	w.b.Write(h)
	w.b.Write(body)
	t := make([]byte, 4)
	w.order.PutUint32(t, n)
	w.b.Write(t)
}

func (w *ngWriter) shb() {
	body := make([]byte, 16)
	w.order.PutUint32(body, ngBOM)
	w.order.PutUint16(body[4:], 1)
	w.order.PutUint64(body[8:], ^uint64(0))
	w.block(blockSHB, body)
}

func (w *ngWriter) idb(link uint16, snaplen uint32, opts ...ngOpt) {
	body := make([]byte, 8)
	w.order.PutUint16(body, link)
	w.order.PutUint32(body[4:], snaplen)
	w.block(blockIDB, append(body, w.opts(opts)...))
}

func (w *ngWriter) epb(iface uint32, rawTS uint64, data []byte, wireLen int) {
	body := make([]byte, 20)
	w.order.PutUint32(body, iface)
	w.order.PutUint32(body[4:], uint32(rawTS>>32))
	w.order.PutUint32(body[8:], uint32(rawTS))
	w.order.PutUint32(body[12:], uint32(len(data)))
	w.order.PutUint32(body[16:], uint32(wireLen))
	w.block(blockEPB, append(body, data...))
}

func (w *ngWriter) spb(wireLen int, data []byte) {
	body := make([]byte, 4)
	w.order.PutUint32(body, uint32(wireLen))
	w.block(blockSPB, append(body, data...))
}

func (w *ngWriter) isb(iface uint32, ifdrop, osdrop uint64) {
	body := make([]byte, 12)
	w.order.PutUint32(body, iface)
	u64 := func(v uint64) []byte {
		b := make([]byte, 8)
		w.order.PutUint64(b, v)
		return b
	}
	w.block(blockISB, append(body, w.opts([]ngOpt{{optIsbIfdrop, u64(ifdrop)}, {optIsbOsdrop, u64(osdrop)}})...))
}
