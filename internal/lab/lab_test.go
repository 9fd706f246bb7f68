package lab

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLabWebFetch: the lab's namespaces reach each other, the victim's web
// server answers, and the capture on its interface holds the exchange; the
// namespaces are gone afterwards.
func TestLabWebFetch(t *testing.T) {
	var names []string
	t.Run("run", func(t *testing.T) {
		l := New(t)
		names = []string{l.Victim.NS, l.Attacker.NS, l.Client.NS, l.lan}
		l.HTTP()
		pcap := filepath.Join(l.Dir, "web.pcap")
		stop := l.Capture(pcap)
		out := l.MustRun(l.Client.NS, 10*time.Second, "curl", "-sS", "http://"+VictimAddr.String()+"/")
		stop()
		if len(out) == 0 {
			t.Fatal("empty page")
		}
		st, err := os.Stat(pcap)
		if err != nil {
			t.Fatal(err)
		}
		// A pcap header is 24 bytes; a fetch is at least 8 packets.
		if st.Size() < 24+8*60 {
			t.Errorf("capture holds %d bytes, want a whole HTTP exchange", st.Size())
		}
	})
	for _, n := range names {
		if _, err := os.Stat(filepath.Join("/var/run/netns", n)); err == nil {
			t.Errorf("namespace %s left behind", n)
		}
	}
}
