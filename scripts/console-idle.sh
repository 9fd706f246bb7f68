#!/usr/bin/env bash
# What a terminal program costs while the host is idle: CPU time (from
# /proc/PID/task/*/schedstat, to the nanosecond, summed over its threads)
# and bytes written to the terminal, over SECS seconds (default 30) in a
# 160x45 tmux pane, after 8 s of start-up.
#   scripts/console-idle.sh "./opsdeck -r testdata/corpus/ndpi/synscan-nmap-1000-ports.pcap --speed 0"
#   scripts/console-idle.sh htop
# Needs tmux.
set -euo pipefail
cmd=${1:?usage: scripts/console-idle.sh COMMAND [SECS]}
secs=${2:-30}
sock=console-idle-$$
tmp=$(mktemp -d)
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT
: >"$tmp/pipe"
tmux -L "$sock" new-session -d -s m -x 160 -y 45 "TERM=tmux-256color exec $cmd"
sleep "${WARMUP:-8}" # WARMUP=SECS: longer, for a replay to finish first
pid=$(tmux -L "$sock" display-message -p -t m '#{pane_pid}')
tmux -L "$sock" pipe-pane -o -t m "cat >> $tmp/pipe"
sleep 1
cpu() { cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }
c0=$(cpu); b0=$(stat -c %s "$tmp/pipe"); t0=$(date +%s%N)
sleep "$secs"
c1=$(cpu); b1=$(stat -c %s "$tmp/pipe"); t1=$(date +%s%N)
rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
awk -v c=$((c1 - c0)) -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v r="$rss" -v n="$cmd" \
  'BEGIN { printf "%s: %.2f%% of a core, %.0f bytes/s to the terminal, RSS %.1f MB over %.0f s\n", n, 100*c/t, b/(t/1e9), r/1024, t/1e9 }'
