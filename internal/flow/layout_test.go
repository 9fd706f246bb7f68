package flow

import (
	"testing"
	"unsafe"
)

var flowSink [100]*Flow // heap-allocated flows

// A Flow is a whole number of cache lines and starts on one, and its fields
// sit on the lines the comment on Flow gives them.
func TestFlowLayout(t *testing.T) {
	var f Flow
	if n := unsafe.Sizeof(f); n != 192 {
		t.Errorf("Flow is %d bytes, want 192 (a size class of whole cache lines)", n)
	}
	for i := range flowSink {
		flowSink[i] = new(Flow)
		if p := uintptr(unsafe.Pointer(flowSink[i])); p%64 != 0 {
			t.Fatalf("a new Flow is at %#x, not on a cache line", p)
		}
	}
	line := func(off uintptr) uintptr { return off / 64 }
	for name, tc := range map[string]struct {
		off, size uintptr
		want      uintptr
	}{
		"FirstNS":       {unsafe.Offsetof(f.FirstNS), 8, 0},
		"PktsToClient":  {unsafe.Offsetof(f.PktsToClient), 8, 0},
		"BytesToServer": {unsafe.Offsetof(f.BytesToServer), 8, 0},
		"NextSeq":       {unsafe.Offsetof(f.NextSeq), 8, 0},
		"Proto":         {unsafe.Offsetof(f.Proto), 1, 0},
		"AppDone":       {unsafe.Offsetof(f.AppDone), 1, 0},
		"App":           {unsafe.Offsetof(f.App), unsafe.Sizeof(f.App), 1},
		"next":          {unsafe.Offsetof(f.next), 8, 1},
		"AppProto":      {unsafe.Offsetof(f.AppProto), 16, 1},
		"ID":            {unsafe.Offsetof(f.ID), 8, 1},
		"VLAN":          {unsafe.Offsetof(f.VLAN), 4, 1},
		"Client":        {unsafe.Offsetof(f.Client), unsafe.Sizeof(f.Client), 2},
		"Server":        {unsafe.Offsetof(f.Server), unsafe.Sizeof(f.Server), 2},
		"Owner":         {unsafe.Offsetof(f.Owner), 8, 2},
		"vlan3":         {unsafe.Offsetof(f.vlan3), 2, 2},
		"ICMPType":      {unsafe.Offsetof(f.ICMPType), 1, 2},
		"RespICMPCode":  {unsafe.Offsetof(f.RespICMPCode), 1, 2},
	} {
		if a, b := line(tc.off), line(tc.off+tc.size-1); a != tc.want || b != tc.want {
			t.Errorf("Flow.%s spans cache lines %d-%d, want %d", name, a, b, tc.want)
		}
	}
}
