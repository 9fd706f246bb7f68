#!/bin/sh
# mkdnscap.sh OUT.pcap: records dig against two dnsmasq servers in a private
# network namespace (loopback only), for the DNS corpus test
# (internal/proto/dns_capture_test.go): 127.0.0.1 answers from its own
# records with additional addresses (MX, SRV), SSHFP, HTTPS and CAA records
# (--dns-rr); 127.0.0.2 is authoritative for "lab" (SOA, NXDOMAIN with SOA,
# NS, PTR). dig sends EDNS cookies (additionals with an OPT option), +zflag
# the z bit, +tcp one query over TCP. Needs root, dnsmasq, dig, tcpdump.
set -e
OUT=${1:?usage: mkdnscap.sh OUT.pcap}
NS=opsdeck-dns$$
# dnsmasq's pid files and logs go here, never to a device: dnsmasq removes
# its pid file when it exits.
DIR=$(mktemp -d)
ip netns add "$NS"
DM1= DM2= TD=
cleanup() {
	for p in $TD $DM1 $DM2; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NS"
	rm -rf "$DIR"
}
trap cleanup EXIT
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
FP=198c34a92fc0b2ab1da52b688c2f191d2d960c09 # SSHFP algo 1 (RSA) type 1 (SHA-1)
HTTPS=00010000010003026832                   # priority 1, target ".", alpn=h2
CAA=000569737375656c65742e6f7267             # 0 issue "let.org"
COMMON="--no-daemon --no-resolv --no-hosts --bind-interfaces --port=53"
ip netns exec "$NS" dnsmasq $COMMON --listen-address=127.0.0.1 --pid-file=$DIR/1.pid --log-facility=$DIR/1.log \
	--host-record=a.lab,192.0.2.1,2001:db8::1 --cname=www.lab,a.lab \
	--host-record=mail.lab,192.0.2.25,2001:db8::25 --mx-host=lab,mail.lab,10 \
	--host-record=sip.lab,192.0.2.5 --srv-host=_sip._udp.lab,sip.lab,5060,10,20 \
	--txt-record=txt.lab,"v=one","two" \
	--dns-rr=ssh.lab,44,0101$FP --dns-rr=web.lab,65,$HTTPS --dns-rr=caa.lab,257,$CAA \
	--local=/lab/ &
DM1=$!
ip netns exec "$NS" dnsmasq $COMMON --listen-address=127.0.0.2 --pid-file=$DIR/2.pid --log-facility=$DIR/2.log \
	--host-record=a.lab,192.0.2.1 --host-record=ns.lab,192.0.2.53 \
	--auth-zone=lab,192.0.2.0/24 --auth-server=ns.lab,127.0.0.2 \
	--auth-soa=2026120301,hostmaster.lab,1200,120,604800 &
DM2=$!
sleep 1
ip netns exec "$NS" tcpdump -i lo -U -w "$OUT" 'port 53' 2>/dev/null &
TD=$!
sleep 1
D="ip netns exec $NS dig +tries=1 +time=2"
$D @127.0.0.1 a.lab A
$D @127.0.0.1 www.lab A
$D @127.0.0.1 a.lab AAAA +noedns
$D @127.0.0.1 lab MX
$D @127.0.0.1 _sip._udp.lab SRV
$D @127.0.0.1 txt.lab TXT
$D @127.0.0.1 ssh.lab SSHFP +dnssec
$D @127.0.0.1 web.lab HTTPS
$D @127.0.0.1 caa.lab TYPE257
$D @127.0.0.2 +norec missing.lab A
$D @127.0.0.2 +norec lab SOA +zflag
$D @127.0.0.2 +norec lab NS
$D @127.0.0.2 +norec -x 192.0.2.1
$D @127.0.0.1 +tcp a.lab A
sleep 1
