#!/bin/sh
# Make testdata/corpus/tunnels/*.pcap: real kernel tunnels between two
# network namespaces made here (odt-a, odt-b joined by a veth underlay
# 192.0.2.1 <-> 192.0.2.2, fd00:2::1 <-> fd00:2::2), one TCP connection
# (nc) through each tunnel, captured with tcpdump on the underlay.
# Needs root, iproute2, tcpdump, nc (netcat-openbsd). Removes what it made.
set -eu
out=${1:-testdata/corpus/tunnels}
mkdir -p "$out"
A="ip netns exec odt-a"; B="ip netns exec odt-b"
cleanup() { ip netns del odt-a 2>/dev/null || true; ip netns del odt-b 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add odt-a; ip netns add odt-b
ip link add odt-va netns odt-a type veth peer name odt-vb netns odt-b
$A ip addr add 192.0.2.1/24 dev odt-va; $B ip addr add 192.0.2.2/24 dev odt-vb
$A ip -6 addr add fd00:2::1/64 dev odt-va nodad; $B ip -6 addr add fd00:2::2/64 dev odt-vb nodad
for ns in odt-a odt-b; do ip netns exec $ns ip link set lo up; done
$A ip link set odt-va up; $B ip link set odt-vb up

run() { # name, link args for a, link args for b, inner a, inner b, [prefix]
	name=$1 la=$2 lb=$3 ia=$4 ib=$5 pfx=${6:-24}
	if ! $A ip link add odt-t type $la 2>/dev/null || ! $B ip link add odt-t type $lb 2>/dev/null; then
		echo "$name: the kernel cannot make this tunnel here; skipped" >&2
		$A ip link del odt-t 2>/dev/null || true
		return 0
	fi
	$A ip addr add $ia/$pfx dev odt-t; $B ip addr add $ib/$pfx dev odt-t
	$A ip link set odt-t up; $B ip link set odt-t up
	$A tcpdump -i odt-va -w "$out/$name.pcap" -U -s 0 not icmp6 and not arp 2>/dev/null &
	dump=$!
	sleep 1
	$B sh -c "echo hello-from-server | timeout 5 nc -l -p 8080 >/dev/null" &
	srv=$!
	sleep 0.5
	echo "GET /$name HTTP/1.0" | $A timeout 5 nc -q 1 $ib 8080 >/dev/null || true
	wait $srv || true
	sleep 0.5
	kill $dump; wait $dump 2>/dev/null || true
	$A ip link del odt-t; $B ip link del odt-t
}
run vxlan "vxlan id 42 remote 192.0.2.2 local 192.0.2.1 dstport 4789" "vxlan id 42 remote 192.0.2.1 local 192.0.2.2 dstport 4789" 10.42.0.1 10.42.0.2
run geneve "geneve id 43 remote 192.0.2.2" "geneve id 43 remote 192.0.2.1" 10.43.0.1 10.43.0.2
run gre "gre remote 192.0.2.2 local 192.0.2.1" "gre remote 192.0.2.1 local 192.0.2.2" 10.44.0.1 10.44.0.2
run gretap "gretap remote 192.0.2.2 local 192.0.2.1 key 7" "gretap remote 192.0.2.1 local 192.0.2.2 key 7" 10.45.0.1 10.45.0.2
run ipip "ipip remote 192.0.2.2 local 192.0.2.1" "ipip remote 192.0.2.1 local 192.0.2.2" 10.46.0.1 10.46.0.2
run sit "sit remote 192.0.2.2 local 192.0.2.1" "sit remote 192.0.2.1 local 192.0.2.2" fd00:47::1 fd00:47::2 64
run ip6tnl "ip6tnl mode ip6ip6 remote fd00:2::2 local fd00:2::1" "ip6tnl mode ip6ip6 remote fd00:2::1 local fd00:2::2" fd00:48::1 fd00:48::2 64
run erspan "erspan remote 192.0.2.2 local 192.0.2.1 seq key 9 erspan_ver 1 erspan 12" "erspan remote 192.0.2.1 local 192.0.2.2 seq key 9 erspan_ver 1 erspan 12" 10.49.0.1 10.49.0.2
run erspan3 "erspan remote 192.0.2.2 local 192.0.2.1 seq key 10 erspan_ver 2 erspan_dir ingress erspan_hwid 7" "erspan remote 192.0.2.1 local 192.0.2.2 seq key 10 erspan_ver 2 erspan_dir ingress erspan_hwid 7" 10.50.0.1 10.50.0.2
