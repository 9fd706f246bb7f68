#!/usr/bin/env bash
# Whole-process comparison on one capture: opsdeck analyze (one core, with
# and without detection and extraction) against tcpdump and tshark reading
# the same file. Each row is the median of RUNS runs (default 3) with a warm
# page cache: wall time, CPU time (user+sys), peak RSS, packets per second
# of CPU time.
#   scripts/perf.sh testdata/gen/mixed-1.5m.pcap
# Needs GNU time (/usr/bin/time, Debian package "time").
set -euo pipefail
cap=${1:?usage: scripts/perf.sh FILE}
bin=${OPSDECK:-./opsdeck}
runs=${RUNS:-3}
pkts=$(tcpdump -r "$cap" -nn -q 2>/dev/null | wc -l || true)
echo "capture: $cap ($(du -h "$cap" | cut -f1), $pkts packets)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); median of $runs runs"
cat "$cap" >/dev/null
run() {
  local name=$1; shift
  local rows=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o /tmp/perf.$$ "$@" >/dev/null 2>/tmp/perf.err.$$ || { echo "$name failed:"; cat /tmp/perf.err.$$; return; }
    rows+=("$(cat /tmp/perf.$$)")
  done
  printf '%s\n' "${rows[@]}" | awk '{print $2+$3, $0}' | sort -n | awk -v n="$name" -v p="$pkts" -v m=$(( (runs+1)/2 )) \
    'NR==1 { best=$1 } NR==m { printf "| %-44s | %6.2f s | %6.2f s | %6.2f s | %5.0f MB | %5.2f M | %5.2f M |\n", n, $2, $1, best, $5/1024, ($1>0 ? p/$1/1e6 : 0), (best>0 ? p/best/1e6 : 0) }'
}
echo "| command | wall | CPU (median) | CPU (best) | peak RSS | packets/s (median) | packets/s (best) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
export GOMAXPROCS=1
run "opsdeck analyze (one core, everything on)" "$bin" analyze -o /dev/null "$cap"
run "opsdeck analyze --no-extract" "$bin" analyze --no-extract -o /dev/null "$cap"
run "opsdeck analyze --no-detect" "$bin" analyze --no-detect -o /dev/null "$cap"
run "opsdeck analyze --no-detect --no-extract" "$bin" analyze --no-detect --no-extract -o /dev/null "$cap"
unset GOMAXPROCS
run "opsdeck analyze (2 cores)" "$bin" analyze -o /dev/null "$cap"
command -v tcpdump >/dev/null && run "tcpdump -r F -w /dev/null" tcpdump -r "$cap" -w /dev/null
command -v tshark >/dev/null && run "tshark -r F -q -z conv,ip" tshark -r "$cap" -q -z conv,ip
rm -f /tmp/perf.$$ /tmp/perf.err.$$
