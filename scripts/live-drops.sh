#!/usr/bin/env bash
# The packet rate at which live capture starts to drop, opsdeck against
# tcpdump on the same link in the same run.
#
# Two network namespaces made here (odperf-tx, odperf-rx) are joined by a
# veth pair. trafgen (netsniff-ng) in odperf-tx sends a spoofed-source SYN
# flood to 10.99.0.2:80 in odperf-rx (every packet a new flow: the source
# address 10.99.X.Y and port are random) at each rate of RATES for SECS
# seconds; in odperf-rx, `opsdeck watch` (every detector on) and `tcpdump -w
# /dev/null` capture the same interface at the same time, each with its
# default buffer. After each step both are stopped and their own counts are
# read: opsdeck's final stats record (capture.kernel_packets/kernel_drops,
# the kernel's PACKET_STATISTICS) and tcpdump's "dropped by kernel" line.
# The receiving namespace has no route to the spoofed sources, so it never
# answers them: no packet leaves the two namespaces.
#
#   sudo scripts/live-drops.sh                 # RATES="25000 50000 100000 200000 400000 max"
#   sudo RATES="100000 max" SECS=5 scripts/live-drops.sh
#   sudo OPSDECK=./opsdeck BASE=/tmp/opsdeck-old ROUNDS=3 scripts/live-drops.sh
#
# With BASE, each step runs twice, once with each binary (the order swapped
# every round), so both meet the same machine load: interleaved rounds on a
# shared machine, not one run of each at different times. ROUNDS repeats
# every rate that many times.
#
# Needs root, iproute2, trafgen (Debian netsniff-ng) and tcpdump.
set -euo pipefail
bin=$(readlink -f "${OPSDECK:-./opsdeck}")
base=${BASE:+$(readlink -f "$BASE")}
rates=${RATES:-25000 50000 100000 200000 400000 max}
secs=${SECS:-3}
rounds=${ROUNDS:-1}
tx=odperf-tx rx=odperf-rx
for c in ip trafgen tcpdump; do
  command -v "$c" >/dev/null || { echo "live-drops: $c is missing (apt install iproute2 netsniff-ng tcpdump)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "live-drops: needs root (network namespaces, raw sockets)" >&2; exit 2; }
[ -x "$bin" ] || { echo "live-drops: no opsdeck binary at $bin (make build)" >&2; exit 2; }
[ -z "$base" ] || [ -x "$base" ] || { echo "live-drops: no baseline binary at $base" >&2; exit 2; }

# A directory only root can write: watch refuses an output directory that
# every user can write.
tmp=$(mktemp -d /root/odperf.XXXXXX 2>/dev/null || mktemp -d)
chmod 700 "$tmp"
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  ip netns del $tx 2>/dev/null || true
  ip netns del $rx 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns del $tx 2>/dev/null || true
ip netns del $rx 2>/dev/null || true
ip netns add $tx
ip netns add $rx
ip link add odp0 netns $tx type veth peer name odp1 netns $rx
ip -n $tx link set lo up
ip -n $rx link set lo up
ip -n $tx addr add 10.99.0.1/32 dev odp0
ip -n $rx addr add 10.99.0.2/32 dev odp1
ip -n $tx link set odp0 up
ip -n $rx link set odp1 up
ip -n $tx route add 10.99.0.2/32 dev odp0
ip -n $rx route add 10.99.0.1/32 dev odp1
smac=$(ip netns exec $tx cat /sys/class/net/odp0/address)
dmac=$(ip netns exec $rx cat /sys/class/net/odp1/address)
hex() { echo "$1" | sed 's/^/0x/; s/:/, 0x/g'; }
tck=$(getconf CLK_TCK)
cpusecs() { awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null || echo "?"; }

# Ethernet, IPv4 (DF, TTL 64, random ID), TCP SYN from 10.99.R.R:R to
# 10.99.0.2:80, checksums filled in by trafgen.
cat >"$tmp/syn.cfg" <<EOF
{
  $(hex "$dmac"), $(hex "$smac"), c16(0x0800),
  0x45, 0x00, c16(40), drnd(2), c16(0x4000), 64, 6, csumip(14, 33),
  10, 99, drnd(2), 10, 99, 0, 2,
  drnd(2), c16(80), drnd(4), c32(0), 0x50, 0x02, c16(512), csumtcp(14, 34), c16(0)
}
EOF

echo "opsdeck: $bin ($("$bin" version 2>/dev/null | head -1))"
[ -z "$base" ] || echo "baseline: $base ($("$base" version 2>/dev/null | head -1))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "traffic: spoofed-source TCP SYN flood (54-byte frames, every packet a new flow), $secs s per rate, trafgen on one CPU"
echo
echo "| offered rate | binary | sent | achieved | opsdeck: kernel packets | opsdeck: dropped | opsdeck: drop % | opsdeck: CPU s | opsdeck: µs/packet | tcpdump: received | tcpdump: dropped | tcpdump: drop % | tcpdump: CPU s |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
# step RATE BINARY LABEL: one rate with one opsdeck binary, one table row.
step() {
  local rate=$1 bin=$2 which=$3
  eve="$tmp/eve-$rate.json"
  rm -f "$eve"
  ip netns exec $rx "$bin" watch -i odp1 -o "$eve" --stats-interval 0 --host-interval 0 2>"$tmp/od.err" &
  od=$!
  # -Z root: as root, tcpdump hands the file it writes to its own user, /dev/null included.
  ip netns exec $rx tcpdump -Z root -n -i odp1 -w /dev/null 2>"$tmp/td.err" &
  td=$!
  # Both attach within a second; wait until tcpdump says it listens.
  for _ in $(seq 50); do grep -q listening "$tmp/td.err" && break; sleep 0.1; done
  sleep 1
  if [ "$rate" = max ]; then
    n=$((1000000 * secs))
    args=()
  else
    n=$((rate * secs))
    args=(-b "${rate}pps")
  fi
  t0=$(date +%s.%N)
  ip netns exec $tx trafgen --dev odp0 --conf "$tmp/syn.cfg" -P 1 -n "$n" "${args[@]}" >"$tmp/tg.out" 2>&1 || true
  t1=$(date +%s.%N)
  sent=$(grep -o '[0-9]* packets outgoing' "$tmp/tg.out" | head -1 | cut -d' ' -f1)
  achieved=$(awk -v n="${sent:-0}" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d k/s", (b>a ? n/(b-a)/1000 : 0) }')
  sleep 1
  # CPU seconds each used (user+system, /proc/PID/stat fields 14 and 15):
  # on a shared machine the share of a core a capturer gets decides its
  # drops as much as its cost per packet, so both are shown.
  ocpu=$(cpusecs $od) tcpu=$(cpusecs $td)
  kill -INT $od $td 2>/dev/null || true
  wait $od 2>/dev/null || true
  wait $td 2>/dev/null || true
  stats=$(grep '"event_type":"stats"' "$eve" | tail -1)
  okp=$(grep -o '"kernel_packets":[0-9]*' <<<"$stats" | head -1 | cut -d: -f2)
  okd=$(grep -o '"kernel_drops":[0-9]*' <<<"$stats" | head -1 | cut -d: -f2)
  tdr=$(grep -o '[0-9]* packets received by filter' "$tmp/td.err" | cut -d' ' -f1)
  tdd=$(grep -o '[0-9]* packets dropped by kernel' "$tmp/td.err" | cut -d' ' -f1)
  pct() { awk -v d="${1:-0}" -v t="${2:-0}" 'BEGIN { printf "%.1f%%", (t>0 ? 100*d/t : 0) }'; }
  label=$rate
  [ "$rate" = max ] && label="as fast as trafgen sends"
  [ "$rate" != max ] && label="$(awk -v r="$rate" 'BEGIN { printf "%d k/s", r/1000 }')"
  # CPU per packet opsdeck analysed (kernel packets less drops).
  us=$(awk -v c="$ocpu" -v p="${okp:-0}" -v d="${okd:-0}" 'BEGIN { printf "%.1f", (p>d && c+0>0 ? c*1e6/(p-d) : 0) }')
  echo "| $label | $which | ${sent:-?} | $achieved | ${okp:-?} | ${okd:-?} | $(pct "$okd" "$okp") | $ocpu | $us | ${tdr:-?} | ${tdd:-?} | $(pct "$tdd" "$tdr") | $tcpu |"
}
for round in $(seq "$rounds"); do
  for rate in $rates; do
    if [ -z "$base" ]; then
      step "$rate" "$bin" opsdeck
    elif [ $((round % 2)) = 1 ]; then
      step "$rate" "$base" baseline
      step "$rate" "$bin" opsdeck
    else
      step "$rate" "$bin" opsdeck
      step "$rate" "$base" baseline
    fi
  done
done
