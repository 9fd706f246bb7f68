#!/usr/bin/env bash
# Whole-process comparison on each capture given: opsdeck analyze (one core,
# with and without detection and extraction) against ndpiReader (nDPI's flow
# and risk analysis), tcpdump and tshark reading the same file. Each row is the median of RUNS runs (default 3) with a warm
# page cache: wall time, CPU time (user+sys), peak RSS, packets per second
# of CPU time.
#
# The runs go round-robin (every command once per round), so a slow spell
# of a shared machine falls on all commands alike. The costs of extraction
# and detection are the medians of the per-round ratios of CPU time, which
# hold still better than the ratio of two medians.
#   scripts/perf.sh testdata/gen/mixed-1.5m.pcap testdata/gen/attack-1.5m.pcap
# (`make perf` makes both captures and runs this.)
# Needs GNU time (/usr/bin/time, Debian package "time"); ndpiReader (Debian
# libndpi-bin), tcpdump and tshark rows appear when they are installed.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/perf.sh FILE..." >&2; exit 2; }
bin=${OPSDECK:-./opsdeck}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() {
cap=$1
[ -r "$cap" ] || { echo "perf.sh: cannot read capture $cap (make perf builds it)" >&2; exit 2; }
rm -f "$tmp"/[0-9]*
pkts=$(tcpdump -r "$cap" -nn -q 2>/dev/null | wc -l || true)
flows=$("$bin" analyze --no-extract --no-detect -o - "$cap" 2>/dev/null | grep '"event_type":"stats"' | tail -1 |
  grep -o '"flow":{"active":[0-9]*,[^}]*"total":[0-9]*' | grep -o '[0-9]*$' || true)
echo
echo "capture: $cap ($(du -h "$cap" | cut -f1), $pkts packets, ${flows:-?} flows: $(awk -v f="${flows:-0}" -v p="$pkts" 'BEGIN { printf "%.0f", (p>0 ? 100*f/p : 0) }')% of packets open a new flow)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); median of $runs runs, round-robin"
cat "$cap" >/dev/null

names=() cmds=()
add() { names+=("$1"); shift; cmds+=("$*"); }
add "opsdeck analyze (one core, everything on)" env GOMAXPROCS=1 "$bin" analyze -o /dev/null "$cap"
add "opsdeck analyze --no-extract" env GOMAXPROCS=1 "$bin" analyze --no-extract -o /dev/null "$cap"
add "opsdeck analyze --no-detect" env GOMAXPROCS=1 "$bin" analyze --no-detect -o /dev/null "$cap"
add "opsdeck analyze --no-detect --no-extract" env GOMAXPROCS=1 "$bin" analyze --no-detect --no-extract -o /dev/null "$cap"
add "opsdeck analyze (2 cores)" "$bin" analyze -o /dev/null "$cap"
# The flow table's bound sets most of the peak RSS under a flood (a Flow is
# 384 bytes); this row shows the price of the default's headroom.
add "opsdeck analyze --max-flows 32768" env GOMAXPROCS=1 "$bin" analyze --max-flows 32768 -o /dev/null "$cap"
if command -v ndpiReader >/dev/null; then add "ndpiReader -i F -q" ndpiReader -i "$cap" -q; fi
# As root, tcpdump hands the files it writes to its own user (Debian:
# tcpdump), /dev/null included; -Z root keeps /dev/null root's.
zroot=(); [ "$(id -u)" -eq 0 ] && zroot=(-Z root)
if command -v tcpdump >/dev/null; then add "tcpdump -r F -w /dev/null" tcpdump "${zroot[@]}" -r "$cap" -w /dev/null; fi
if command -v tshark >/dev/null; then add "tshark -r F -q -z conv,ip" tshark -r "$cap" -q -z conv,ip; fi

# secs 1m2.345s -> 62.345
secs() { awk -v t="$1" 'BEGIN { split(t, a, "m"); sub("s", "", a[2]); print a[1]*60 + a[2] }'; }
for _ in $(seq "$runs"); do
  for i in "${!cmds[@]}"; do
    # GNU time gives wall time and peak RSS; CPU time comes from the shell's
    # times, to the millisecond (GNU time rounds it to 10 ms).
    # shellcheck disable=SC2086 # the command line is split on purpose
    cpu=$( (/usr/bin/time -f "%e %M" -o "$tmp/t" ${cmds[$i]} >/dev/null 2>"$tmp/err" || echo fail; times) | tail -1)
    if grep -q fail <<<"$cpu" || [ ! -s "$tmp/t" ]; then
      echo "${names[$i]} failed:"; cat "$tmp/err"; exit 1
    fi
    read -r wall rss <"$tmp/t"
    read -r u s <<<"$cpu"
    echo "$wall $(secs "$u") $(secs "$s") $rss" >>"$tmp/$i"
  done
done

echo "| command | wall | CPU (median) | CPU (best) | peak RSS | packets/s (median) | packets/s (best) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for i in "${!cmds[@]}"; do
  awk '{print $2+$3, $0}' "$tmp/$i" | sort -n | awk -v n="${names[$i]}" -v p="$pkts" -v m=$(( (runs+1)/2 )) \
    'NR==1 { best=$1 } NR==m { printf "| %-44s | %6.2f s | %6.2f s | %6.2f s | %5.0f MB | %5.2f M | %5.2f M |\n", n, $2, $1, best, $5/1024, ($1>0 ? p/$1/1e6 : 0), (best>0 ? p/best/1e6 : 0) }'
done

# ratio A B: the median over rounds of CPU(A)/CPU(B), as a percentage added.
ratio() {
  paste "$tmp/$1" "$tmp/$2" | awk '{a=$2+$3; b=$6+$7; if (b>0) print (a/b-1)*100}' | sort -n |
    awk -v m=$(( (runs+1)/2 )) '{v[NR]=$1} END { printf "%.0f%% (rounds: %.0f%% to %.0f%%)", v[m], v[1], v[NR] }'
}
echo
echo "extraction adds $(ratio 0 1) to analyze"
echo "detection adds $(ratio 0 2) to analyze"
}

for cap in "$@"; do
  measure "$cap"
done
