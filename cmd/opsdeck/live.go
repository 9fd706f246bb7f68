package main

import (
	"github.com/opsdeck/opsdeck/internal/pump"
	"github.com/opsdeck/opsdeck/sources/capture"
)

// captureIfaces are the interfaces -i named, or "any".
func (o *options) captureIfaces() []string {
	if len(o.ifaces) == 0 {
		return []string{"any"}
	}
	return []string(o.ifaces)
}

// liveSource is live capture as the console and watch run it: the -i
// interfaces, the snap length, the capture filter in the kernel, and
// --fanout.
func (o *options) liveSource(promisc bool) *pump.Live {
	return pump.NewLive(o.captureIfaces(), capture.LiveOptions{
		SnapLen: o.snaplen, Promisc: promisc, Filter: pump.KernelFilter(o.filter, o.snaplen),
		Fanout: o.fanout,
	})
}
