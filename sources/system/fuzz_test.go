package system

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hoststat"
)

// seed adds every fixture file to the corpus.
func seed(f *testing.F) {
	for _, dir := range []string{"testdata/real", "testdata/odd"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(b)
			}
		}
	}
}

func FuzzParseStat(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := parseStat(b); err == nil && len(s.comm) > len(b) {
			t.Fatalf("comm longer than input")
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) { parseStatus(b) })
}

func FuzzParseNetTCP(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		socks, err := parseNetTCP(b, "TCP", true)
		if err == nil {
			for _, s := range socks {
				if !s.Local.IsValid() || s.State == "" {
					t.Fatalf("invalid socket %+v without error", s)
				}
			}
		}
	})
}

func FuzzParseVmstat(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) { parseVmstat(b) })
}

func FuzzParseProcFiles(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		parseProcStat(b)
		parseLoadavg(b)
		if m, err := parseMeminfo(b); err == nil && m.Used > m.Total {
			t.Fatalf("used %d > total %d", m.Used, m.Total)
		}
		parseDiskstats(b)
		parseNetDev(b)
		parseMountinfo(b)
		parseIO(b)
		if c, _ := parseCmdline(b, len(b)%2 == 1); len(c) > hoststat.MaxCmdlineBytes {
			t.Fatalf("command line of %d bytes, budget %d", len(c), hoststat.MaxCmdlineBytes)
		}
		parsePasswd(b)
		parseKmsgOOM(b)
	})
}

func FuzzParseInetDiag(f *testing.F) {
	f.Add(make([]byte, inetDiagMsgLen))
	f.Add([]byte{10, 10, 0, 0, 0x1f, 0x90, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) { parseInetDiagMsg(b) })
}
