package proto

// Throwaway differential harness (perf helper); not to be committed.

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func equivInputs(tb testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*.pcap*"))
	var ins [][]byte
	for _, f := range files {
		rel, _ := filepath.Rel(corpusDir, f)
		for _, s := range readPcap(tb, rel) {
			if len(s.Payload) > 0 {
				ins = append(ins, s.Payload)
				if len(s.Payload) > 2 {
					ins = append(ins, s.Payload[2:])
				}
				if len(s.Payload) > 9 {
					ins = append(ins, s.Payload[9:])
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	base := len(ins)
	for k := 0; k < 200000; k++ {
		src := ins[rng.IntN(base)]
		b := append([]byte(nil), src...)
		switch rng.IntN(3) {
		case 0:
			if len(b) > 0 {
				b = b[:rng.IntN(len(b))]
			}
		case 1:
			for j := 0; j < 1+rng.IntN(4) && len(b) > 0; j++ {
				b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
			}
		case 2:
			for j := 0; j < 1+rng.IntN(3) && len(b) > 0; j++ {
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
			}
		}
		ins = append(ins, b)
	}
	return ins
}

func TestEquivDumpTmp(t *testing.T) {
	out := os.Getenv("EQUIV_OUT")
	if out == "" {
		t.Skip("EQUIV_OUT not set")
	}
	f, _ := os.Create(out)
	defer f.Close()
	h := sha256.New()
	for i, b := range equivInputs(t) {
		var line string
		m, err := ParseDNS(b)
		if err != nil {
			line = "dnserr " + err.Error()
		} else {
			j, _ := json.Marshal(m)
			line = fmt.Sprintf("dns %s qnil=%v anil=%v nnil=%v", j, m.Queries == nil, m.Answers == nil, m.Authorities == nil)
		}
		line += fmt.Sprintf(" looks=%v/%v/%v", looksDNS(b, false, 123, 40000), looksDNS(b, true, 80, 40000), looksDNS(b, false, 53, 40000))
		if ch, err := ParseClientHello(b); err == nil {
			j, _ := json.Marshal(ch)
			j3, _ := json.Marshal(ch.JA3())
			line += fmt.Sprintf(" ch %s %s %s", j, j3, ch.JA4())
		} else {
			line += " cherr " + err.Error()
		}
		if sh, err := ParseServerHello(b); err == nil {
			j, _ := json.Marshal(sh)
			j3, _ := json.Marshal(sh.JA3S())
			line += fmt.Sprintf(" sh %s %s", j, j3)
		} else {
			line += " sherr " + err.Error()
		}
		for _, tcp := range []bool{false, true} {
			st := &State{}
			var evs []string
			emit := func(e *Event) {
				j, _ := json.Marshal(e)
				x := ""
				if e.TLS != nil {
					x = fmt.Sprint(e.TLS.Ciphers)
				}
				evs = append(evs, string(j)+x)
			}
			p := &dnsParser{tcp: tcp}
			c := &ctx{cfg: &Config{}, st: st, emit: emit}
			if tcp {
				p.feed(c, true, b)
			} else {
				p.message(c, false, b)
			}
			tp := &tlsParser{}
			feedParserQuiet(tp, c, i%2 == 0, b, 1+i%50)
			line += fmt.Sprintf(" ev%v %v", tcp, evs)
		}
		fmt.Fprintln(f, line)
		h.Write([]byte(line))
	}
	t.Logf("digest %x", h.Sum(nil))
}

func feedParserQuiet(p parser, c *ctx, toServer bool, data []byte, chunk int) {
	var buf []byte
	for i := 0; i < len(data); i += chunk {
		buf = append(buf, data[i:min(i+chunk, len(data))]...)
		n, stop := p.feed(c, toServer, buf)
		if stop {
			break
		}
		buf = buf[n:]
	}
	p.close(c)
}
