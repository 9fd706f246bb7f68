package detect

import (
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/gen"
)

// detectorFamilies groups the lab's real-tool captures by the detector
// family they exercise: every family of the registry (family.go) and the
// rules outside it (dhcp, port.suspicious, cred.cleartext,
// bruteforce.success).
var detectorFamilies = []struct{ name, prefixes string }{
	{"scan", "nmap-"},
	{"flood", "hping3-syn-flood hping3-icmp-flood"},
	{"reflection", "hping3-synack-reflection hping3-dns-amplification"},
	{"bruteforce", "hydra- medusa- sshpass-"},
	{"breakin", "medusa-ftp sshpass- benign-anonymous-ftp"},
	{"dns-tunnel", "iodine- dnscat-"},
	{"icmp-tunnel", "icmp-text-message"},
	{"arp", "arpspoof- nmap-arp-sweep benign-aliases"},
	{"dhcp", "dhcpstarv benign-dhcp"},
	{"host.new", "benign-dhcp benign-aliases benign-mdns"},
	{"traffic.surge", "hping3-icmp-flood hping3-dns-amplification benign-burst-500"},
	{"port+cred", "benign-irc hydra-ftp benign-anonymous-ftp"},
	{"benign", "benign-"},
}

// BenchmarkDetectorSpoofed replays, for each detector family, its lab
// captures (real tools, cmd/opsdeck-gen -lab's rewriting: fresh addresses
// each replay) together with the spoofed-source SYN flood and generated
// browsing, through one Detector, with the protocol events and flow ends
// the engine would deliver, and reports the cost per packet. The flood
// keeps every per-source table under churn while the family's own trackers
// work.
func BenchmarkDetectorSpoofed(b *testing.B) {
	caps, err := gen.LoadCaptures("../../testdata/lab")
	if err != nil {
		b.Fatal(err)
	}
	for _, fam := range detectorFamilies {
		b.Run(fam.name, func(b *testing.B) {
			var sel []gen.Capture
			for _, c := range caps {
				for _, p := range strings.Fields(fam.prefixes + " hping3-syn-flood") {
					if strings.HasPrefix(c.Name, p) {
						sel = append(sel, c)
						break
					}
				}
			}
			if len(sel) < 2 {
				b.Fatalf("no lab capture for %s", fam.name)
			}
			r := loadReplayFrom(b, gen.NewMixer(gen.MixOptions{Options: gen.Options{Seed: 1}, Lanes: 64}, sel), 200_000)
			benchReplay(b, r, func(*Alert) {})
		})
	}
}

// BenchmarkDetectorAttackMix replays 300,000 packets of the attack-heavy
// benchmark capture's traffic (cmd/opsdeck-gen -lab testdata/lab: every lab
// capture, 160 lanes, seed 1; a quarter of packets open a flow) through one
// Detector, over and over later in time, and reports the cost per packet
// and the bytes the Detector holds.
func BenchmarkDetectorAttackMix(b *testing.B) {
	caps, err := gen.LoadCaptures("../../testdata/lab")
	if err != nil {
		b.Fatal(err)
	}
	alerts := 0
	benchReplay(b, loadReplayFrom(b, gen.NewMixer(gen.MixOptions{Options: gen.Options{Seed: 1}}, caps), 300_000), func(*Alert) { alerts++ })
	if alerts == 0 {
		b.Fatal("no alert on the attack mix")
	}
}
