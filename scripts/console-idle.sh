#!/usr/bin/env bash
# What a terminal program costs while the host is idle: CPU time (from
# /proc/PID/task/*/schedstat, to the nanosecond, summed over its threads)
# and bytes written to the terminal, over SECS seconds (default 30) in a
# 160x45 tmux pane, after 8 s of start-up.
#   scripts/console-idle.sh "./opsdeck -r testdata/corpus/ndpi/synscan-nmap-1000-ports.pcap --speed 0"
#   scripts/console-idle.sh htop
#   NAME=opsdeck scripts/console-idle.sh "runuser -u nobody -- ./opsdeck -i lo"
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
# NAME=PROG: measure the process named PROG at or under the pane's (a
# wrapper such as runuser or sudo forks it; setpriv and env exec it).
if [ -n "${NAME:-}" ]; then
  found=$(ps -e -o pid=,ppid=,comm= | awk -v root="$pid" -v name="${NAME:0:15}" '
    { parent[$1] = $2; comm[$1] = $3 }
    END {
      for (p in comm) {
        if (comm[p] != name) continue
        for (q = p; q != "" && q != 1; q = parent[q]) if (q == root) { print p; exit }
      }
    }')
  [ -n "$found" ] || { echo "console-idle: no process $NAME under pane pid $pid" >&2; exit 1; }
  pid=$found
fi
user=$(ps -o user= -p "$pid")
tmux -L "$sock" pipe-pane -o -t m "cat >> $tmp/pipe"
sleep 1
cpu() { cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }
c0=$(cpu); b0=$(stat -c %s "$tmp/pipe"); t0=$(date +%s%N)
sleep "$secs"
c1=$(cpu); b1=$(stat -c %s "$tmp/pipe"); t1=$(date +%s%N)
rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
awk -v c=$((c1 - c0)) -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v r="$rss" -v n="$cmd" -v u="$user" -v p="$pid" \
  'BEGIN { printf "%s: %.2f%% of a core, %.0f bytes/s to the terminal, RSS %.1f MB over %.0f s (pid %s, user %s)\n", n, 100*c/t, b/(t/1e9), r/1024, t/1e9, p, u }'
