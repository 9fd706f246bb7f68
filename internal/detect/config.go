package detect

import (
	"net/netip"
	"time"
)

// Config holds every threshold and window of the network rules. The zero
// value of a field means "use the default" (see DefaultConfig); docs/detection.md
// explains each default and how to tune it.
type Config struct {
	// LocalNets are the networks treated as the local segment (host.new,
	// gateway learning, traffic.surge per host). Default: RFC 1918, RFC 6598
	// (CGNAT), link-local and IPv6 ULA/link-local; configured ones are added.
	LocalNets []netip.Prefix
	// Gateways are the default gateways' addresses, when known. arp.spoof also
	// learns the gateway from the MAC that carries off-net traffic.
	Gateways []netip.Addr

	// Suppress is the suppression window: one alert per rule, actor and
	// target per window. Default 10 min. Zeek's notice default is 1 h; we
	// use less because an on-call screen should show that an attack is still
	// running, and Update records already fold a growing attack into one line.
	Suppress time.Duration

	// MaxEntries caps every per-key table (trackers per rule, suppression).
	// When a table is full, the least recently seen of a sample of 5 entries
	// is evicted and counted. Default 16384 (about 10 MB for the largest table).
	MaxEntries int

	// ScanWindow is the window of scan.port and scan.sweep. Default 5 min,
	// Zeek's Scan::scan_interval.
	ScanWindow time.Duration
	// ScanPorts is how many distinct ports one source must probe on one host
	// (with at most half of the attempts answered). Default 15, Zeek's
	// Scan::port_scan_threshold.
	ScanPorts int
	// SweepHosts is how many distinct hosts one source must probe on one port
	// (or with ICMP echo), with at most half answered. Default 25, Zeek's
	// Scan::addr_scan_threshold.
	SweepHosts int
	// SweepFastHosts is how many distinct hosts probed with probes that
	// open no session (ICMP echo, bare TCP ACK, ARP who-has) within
	// SweepFastSpan raise scan.sweep whatever the answers: no person and no
	// application asks 10 hosts in a second that way; nmap does it in
	// milliseconds. Default 10.
	SweepFastHosts int
	// SweepFastSpan is the span of SweepFastHosts. Default 1 s.
	SweepFastSpan time.Duration
	// StealthProbes is how many invalid-flag probes (NULL, FIN, Xmas,
	// SYN+FIN, ...) one source must send to one host. Default 1: no TCP stack
	// sends these, so one is already a probe (nDPI flags single packets too).
	StealthProbes int

	// SynFloodWindow is the window of dos.synflood. Default 1 s, as
	// Suricata's example threshold (100 per 1 s).
	SynFloodWindow time.Duration
	// SynFloodSYNs is how many SYNs without completed handshakes toward one
	// host:port within the window raise dos.synflood (and completed
	// handshakes must be under half of the SYNs). Default 100 (Suricata's
	// example "threshold: type both, track by_dst, count 100, seconds 1").
	SynFloodSYNs int
	// ReflectionWindow is the window of dos.reflection. Default 1 s.
	ReflectionWindow time.Duration
	// ReflectionPackets is how many unsolicited responses (SYN-ACKs, echo
	// replies, UDP datagrams from an amplifying service port, with no
	// request seen) toward one host within the window raise dos.reflection,
	// when they come from at least ReflectionSources reflectors or average
	// at least ReflectionAvgBytes (amplification). Default 100.
	ReflectionPackets int
	// ReflectionSources is the least number of distinct reflectors. Default 10.
	ReflectionSources int
	// ReflectionAvgBytes is the mean response size (IP length) from which
	// few reflectors suffice. Default 512: DNS ANY, NTP monlist and memcached
	// responses are 500-1500 bytes; ordinary DNS answers are under 200.
	ReflectionAvgBytes int
	// DHCPStarveWindow is the window of dhcp.starvation. Default 10 s.
	DHCPStarveWindow time.Duration
	// DHCPStarveClients is how many distinct client hardware addresses
	// asking for leases (DISCOVER, REQUEST) within the window raise
	// dhcp.starvation; a fifth of it suffices when 90% of the requests come
	// from an Ethernet source that is not the client they name. Default 50:
	// starvation tools ask hundreds per second; a boot storm after a power
	// cut brings tens of clients within a few seconds.
	DHCPStarveClients int
	// ICMPFloodWindow is the window of dos.icmpflood. Default 1 s.
	ICMPFloodWindow time.Duration
	// ICMPFloodPackets is how many ICMP packets toward one host or from one
	// host within the window raise dos.icmpflood. Default 500: ping -f sends
	// 100/s or more, normal monitoring sends about 1/s per target.
	ICMPFloodPackets int

	// ARPWindow is the window for "one MAC claims many IPs" and for repeated
	// unsolicited gateway replies. Default 5 min.
	ARPWindow time.Duration
	// ARPMACIPs is no longer used by arp.spoof: a host that owns many
	// addresses (aliases) answers ARP for each, and that is normal. Poisoning
	// is detected as a binding that contradicts one already seen. Kept so
	// configurations that set it still load.
	ARPMACIPs int
	// ARPSolicit is how long after a request a reply counts as solicited.
	// Default 5 s (Linux ARP retransmits every 1 s, three times).
	ARPSolicit time.Duration

	// BruteWindow is the window of the bruteforce.* rules. Default 10 min.
	BruteWindow time.Duration
	// BruteSSH is how many short SSH sessions from one source to one server
	// raise bruteforce.ssh. Default 10: Zeek's SSH::password_guesses_limit is
	// 30 in 30 min counting guesses; we count sessions (2-6 guesses each).
	BruteSSH int
	// BruteRDP is how many short RDP sessions raise bruteforce.rdp. Default 10.
	BruteRDP int
	// BruteFTP is how many FTP 530 replies to logins raise bruteforce.ftp.
	// Default 20, Zeek's FTP::bruteforce_threshold (in 15 min).
	BruteFTP int
	// BruteTelnet is how many failed Telnet logins (or short Telnet
	// sessions) raise bruteforce.telnet. Default 10.
	BruteTelnet int
	// BruteHTTP is how many 401/407 answers to requests carrying credentials
	// raise bruteforce.http. Default 20, like FTP.
	BruteHTTP int
	// ShortSession is the longest session counted as one login attempt for
	// SSH, RDP and Telnet. Default 30 s: a failed SSH login ends within
	// LoginGraceTime after 3-6 guesses; interactive sessions last longer.
	ShortSession time.Duration
	// ShortBytes is the most bytes (both directions) in a session counted as
	// one login attempt. Default 32 KiB: a failed SSH session is 5-10 KB, a
	// failed RDP/NLA one 10-25 KB; a real RDP session is far more.
	ShortBytes uint64

	// DNSWindow is the window of dns.tunnel and dns.dga. Default 10 min.
	DNSWindow time.Duration
	// DNSTunnelQueries is how many tunnel-like queries (NULL type, or a long
	// high-entropy label) under one parent raise dns.tunnel. Default 20:
	// iodine and dnscat send tens per second.
	DNSTunnelQueries int
	// DNSUniqueNames is how many unique names under one parent from one
	// client raise dns.tunnel on volume alone. Default 300 (Packetbeat's
	// example watch alerts at 200 unique hostnames per parent per 5 min).
	DNSUniqueNames int
	// DNSLongLabel is the label length from which a high-entropy label is
	// tunnel-like. Default 24 (base32/hex payload labels are 30-63; normal
	// labels rarely pass 20).
	DNSLongLabel int
	// DGANXDomains is how many distinct random-looking names answered
	// NXDOMAIN for one client raise dns.dga. Default 10.
	DGANXDomains int

	// ICMPTunnelPackets is how many echo packets with varied content and
	// sizes a host pair must exchange before icmp.tunnel; a payload carrying
	// an IP header or a protocol banner alerts at once. Default 10.
	ICMPTunnelPackets int

	// SuspiciousPorts are the backdoor/C2 ports of port.suspicious; only
	// sessions the server answered count. Default: see DefaultConfig.
	SuspiciousPorts []uint16

	// SurgeWarmup is how long a host's (and the total) rate baseline learns
	// before traffic.surge may fire. Default 5 min.
	SurgeWarmup time.Duration
	// SurgeFactor is how many times its baseline a rate must be. Default 10.
	SurgeFactor float64
	// SurgeMinBytes is the least bytes/s a surging host (or the total) must
	// carry, so idle hosts waking up are not surges. Default 1 MB/s.
	SurgeMinBytes float64
	// SurgeSeconds is how many consecutive surging seconds raise the alert.
	// Default 3.
	SurgeSeconds int

	// HostNewWarmup is how long host.new learns the segment before it
	// reports new hosts. Default 10 min.
	HostNewWarmup time.Duration
	// HostNewPerMinute caps host.new alerts per minute (a spoofed flood
	// would otherwise raise one per source). Default 10.
	HostNewPerMinute int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		LocalNets: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("172.16.0.0/12"),
			netip.MustParsePrefix("192.168.0.0/16"),
			netip.MustParsePrefix("100.64.0.0/10"),
			netip.MustParsePrefix("169.254.0.0/16"),
			netip.MustParsePrefix("fc00::/7"),
			netip.MustParsePrefix("fe80::/10"),
		},
		Suppress:           10 * time.Minute,
		MaxEntries:         16384,
		ScanWindow:         5 * time.Minute,
		SweepFastHosts:     10,
		SweepFastSpan:      time.Second,
		ReflectionWindow:   time.Second,
		ReflectionPackets:  100,
		ReflectionSources:  10,
		ReflectionAvgBytes: 512,
		DHCPStarveWindow:   10 * time.Second,
		DHCPStarveClients:  50,
		ScanPorts:          15,
		SweepHosts:         25,
		StealthProbes:      1,
		SynFloodWindow:     time.Second,
		SynFloodSYNs:       100,
		ICMPFloodWindow:    time.Second,
		ICMPFloodPackets:   500,
		ARPWindow:          5 * time.Minute,
		ARPMACIPs:          10,
		ARPSolicit:         5 * time.Second,
		BruteWindow:        10 * time.Minute,
		BruteSSH:           10,
		BruteRDP:           10,
		BruteFTP:           20,
		BruteTelnet:        10,
		BruteHTTP:          20,
		ShortSession:       30 * time.Second,
		ShortBytes:         32 << 10,
		DNSWindow:          10 * time.Minute,
		DNSTunnelQueries:   20,
		DNSUniqueNames:     300,
		DNSLongLabel:       24,
		DGANXDomains:       10,
		ICMPTunnelPackets:  10,
		// Metasploit (4444, 4445), leet/Back Orifice (1337, 31337, 31338),
		// IRC botnets (6666-6669), NetBus (12345, 12346, 20034), SubSeven
		// (27374), Sasser (5554, 9996), BO2K (54320, 54321).
		SuspiciousPorts:  []uint16{1337, 4444, 4445, 5554, 6666, 6667, 6668, 6669, 9996, 12345, 12346, 20034, 27374, 31337, 31338, 54320, 54321},
		SurgeWarmup:      5 * time.Minute,
		SurgeFactor:      10,
		SurgeMinBytes:    1e6,
		SurgeSeconds:     3,
		HostNewWarmup:    10 * time.Minute,
		HostNewPerMinute: 10,
	}
}

// fill replaces zero fields with defaults, so a partly set Config works.
func (c *Config) fill() {
	d := DefaultConfig()
	if c.LocalNets == nil {
		c.LocalNets = d.LocalNets
	}
	if c.SuspiciousPorts == nil {
		c.SuspiciousPorts = d.SuspiciousPorts
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	setI := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	setD(&c.Suppress, d.Suppress)
	setI(&c.MaxEntries, d.MaxEntries)
	setD(&c.ScanWindow, d.ScanWindow)
	setI(&c.ScanPorts, d.ScanPorts)
	setI(&c.SweepHosts, d.SweepHosts)
	setI(&c.StealthProbes, d.StealthProbes)
	setI(&c.SweepFastHosts, d.SweepFastHosts)
	setD(&c.SweepFastSpan, d.SweepFastSpan)
	setD(&c.ReflectionWindow, d.ReflectionWindow)
	setI(&c.ReflectionPackets, d.ReflectionPackets)
	setI(&c.ReflectionSources, d.ReflectionSources)
	setI(&c.ReflectionAvgBytes, d.ReflectionAvgBytes)
	setD(&c.DHCPStarveWindow, d.DHCPStarveWindow)
	setI(&c.DHCPStarveClients, d.DHCPStarveClients)
	setD(&c.SynFloodWindow, d.SynFloodWindow)
	setI(&c.SynFloodSYNs, d.SynFloodSYNs)
	setD(&c.ICMPFloodWindow, d.ICMPFloodWindow)
	setI(&c.ICMPFloodPackets, d.ICMPFloodPackets)
	setD(&c.ARPWindow, d.ARPWindow)
	setI(&c.ARPMACIPs, d.ARPMACIPs)
	setD(&c.ARPSolicit, d.ARPSolicit)
	setD(&c.BruteWindow, d.BruteWindow)
	setI(&c.BruteSSH, d.BruteSSH)
	setI(&c.BruteRDP, d.BruteRDP)
	setI(&c.BruteFTP, d.BruteFTP)
	setI(&c.BruteTelnet, d.BruteTelnet)
	setI(&c.BruteHTTP, d.BruteHTTP)
	setD(&c.ShortSession, d.ShortSession)
	if c.ShortBytes == 0 {
		c.ShortBytes = d.ShortBytes
	}
	setD(&c.DNSWindow, d.DNSWindow)
	setI(&c.DNSTunnelQueries, d.DNSTunnelQueries)
	setI(&c.DNSUniqueNames, d.DNSUniqueNames)
	setI(&c.DNSLongLabel, d.DNSLongLabel)
	setI(&c.DGANXDomains, d.DGANXDomains)
	setI(&c.ICMPTunnelPackets, d.ICMPTunnelPackets)
	setD(&c.SurgeWarmup, d.SurgeWarmup)
	if c.SurgeFactor <= 0 {
		c.SurgeFactor = d.SurgeFactor
	}
	if c.SurgeMinBytes <= 0 {
		c.SurgeMinBytes = d.SurgeMinBytes
	}
	setI(&c.SurgeSeconds, d.SurgeSeconds)
	setD(&c.HostNewWarmup, d.HostNewWarmup)
	setI(&c.HostNewPerMinute, d.HostNewPerMinute)
}
