#!/bin/sh
# mkmdnscap.sh OUT.pcap: records unicast mDNS (RFC 6762 5.5, port 5353) in
# a private network namespace, for internal/proto/mdns_test.go: dig asks
# dnsmasq, listening on 127.0.0.1:5353, for a DNS-SD service's PTR, TXT
# (two strings), SRV and A records. Needs root, dnsmasq, dig, tcpdump.
set -e
OUT=${1:?usage: mkmdnscap.sh OUT.pcap}
NS=opsdeck-mdns$$
# dnsmasq's pid file and log go here, never to a device: dnsmasq removes
# its pid file when it exits.
DIR=$(mktemp -d)
ip netns add "$NS"
DM= TD=
cleanup() {
	for p in $TD $DM; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NS"
	rm -rf "$DIR"
}
trap cleanup EXIT
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --port=5353 \
	--listen-address=127.0.0.1 --pid-file="$DIR/dnsmasq.pid" --log-facility="$DIR/dnsmasq.log" \
	--ptr-record=_http._tcp.local,web._http._tcp.local \
	--txt-record=web._http._tcp.local,"path=/","v=1" \
	--srv-host=web._http._tcp.local,web.local,80 \
	--host-record=web.local,192.0.2.80 --local=/local/ &
DM=$!
sleep 1
ip netns exec "$NS" tcpdump -i lo -U -w "$OUT" 'udp port 5353' 2>/dev/null &
TD=$!
sleep 1
D="ip netns exec $NS dig -p 5353 @127.0.0.1 +tries=1 +time=2"
$D _http._tcp.local PTR
$D web._http._tcp.local TXT
$D web._http._tcp.local SRV
$D web.local A
sleep 1
