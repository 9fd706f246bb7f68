package flow

import (
	"testing"
	"unsafe"
)

var flowSink [100]*Flow // heap-allocated flows

// A Flow fills a size class without waste and its fields sit on the
// cache lines the comment on Flow gives them.
func TestFlowLayout(t *testing.T) {
	var f Flow
	if n := unsafe.Sizeof(f); n != 224 {
		t.Errorf("Flow is %d bytes, want 224 (a size class)", n)
	}
	for i := range flowSink {
		flowSink[i] = new(Flow)
	}
	line := func(off uintptr) uintptr { return off / 64 }
	for name, tc := range map[string]struct {
		off, size uintptr
		want      uintptr
	}{
		"First":         {unsafe.Offsetof(f.First), unsafe.Sizeof(f.First), 0},
		"PktsToClient":  {unsafe.Offsetof(f.PktsToClient), 8, 0},
		"BytesToServer": {unsafe.Offsetof(f.BytesToServer), 8, 1},
		"Proto":         {unsafe.Offsetof(f.Proto), 1, 1},
		"AppDone":       {unsafe.Offsetof(f.AppDone), 1, 1},
		"App":           {unsafe.Offsetof(f.App), unsafe.Sizeof(f.App), 1},
		"next":          {unsafe.Offsetof(f.next), 8, 1},
		"AppProto":      {unsafe.Offsetof(f.AppProto), 16, 2},
		"ID":            {unsafe.Offsetof(f.ID), 8, 2},
		"Client":        {unsafe.Offsetof(f.Client), unsafe.Sizeof(f.Client), 2},
		"VLAN":          {unsafe.Offsetof(f.VLAN), 4, 2},
		"vlan3":         {unsafe.Offsetof(f.vlan3), 2, 2},
		"depth":         {unsafe.Offsetof(f.depth), 1, 2},
		"ICMPType":      {unsafe.Offsetof(f.ICMPType), 1, 2},
		"RespICMPCode":  {unsafe.Offsetof(f.RespICMPCode), 1, 2},
		"Server":        {unsafe.Offsetof(f.Server), unsafe.Sizeof(f.Server), 3},
		"Owner":         {unsafe.Offsetof(f.Owner), 8, 3},
	} {
		if a, b := line(tc.off), line(tc.off+tc.size-1); a != tc.want || b != tc.want {
			t.Errorf("Flow.%s spans cache lines %d-%d, want %d", name, a, b, tc.want)
		}
	}
}
