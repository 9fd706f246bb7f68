#!/usr/bin/env bash
# Whole-process comparison on one capture: opsdeck analyze (every detector
# on) against tcpdump and tshark reading the same file. Prints wall time,
# CPU time, peak RSS and packets per second for each.
#   scripts/perf.sh testdata/gen/mixed-1.5m.pcap
set -euo pipefail
cap=${1:?usage: scripts/perf.sh FILE}
bin=${OPSDECK:-./opsdeck}
pkts=$(tcpdump -r "$cap" -nn -q 2>/dev/null | wc -l || true)
echo "capture: $cap ($(du -h "$cap" | cut -f1), $pkts packets)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
run() {
  local name=$1; shift
  # warm the page cache so every tool reads from memory
  cat "$cap" >/dev/null
  /usr/bin/time -f "%e %U %S %M" -o /tmp/perf.$$ "$@" >/dev/null 2>/tmp/perf.err.$$ || { echo "$name failed:"; cat /tmp/perf.err.$$; return; }
  read -r wall user sys rss </tmp/perf.$$
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v p="$pkts" \
    'BEGIN { printf "%-34s wall %6.2fs  cpu %6.2fs  peak RSS %5.0f MB  %6.2f Mpkt/s (wall)\n", n, w, u+s, r/1024, (w>0 ? p/w/1e6 : 0) }'
}
GOMAXPROCS=1 run "opsdeck analyze (GOMAXPROCS=1)" "$bin" analyze -o /dev/null "$cap"
run "opsdeck analyze" "$bin" analyze -o /dev/null "$cap"
run "opsdeck analyze --no-detect" "$bin" analyze --no-detect -o /dev/null "$cap"
run "opsdeck analyze --no-detect --no-extract" "$bin" analyze --no-detect --no-extract -o /dev/null "$cap"
command -v tcpdump >/dev/null && run "tcpdump -r F -w /dev/null" tcpdump -r "$cap" -w /dev/null
command -v tshark >/dev/null && run "tshark -r F -q -z conv,ip" tshark -r "$cap" -q -z conv,ip
rm -f /tmp/perf.$$ /tmp/perf.err.$$
