#!/usr/bin/env bash
# The console at rest beside htop and btop, in one run: each program in
# turn in the same 160x45 tmux pane (scripts/console-idle.sh), ROUNDS
# rounds (default 2), so a slow spell of a shared machine falls on all.
# opsdeck is measured idle after replaying the attack-heavy capture (its
# tables and evidence ring as a flood left them), the same with the
# evidence ring bounded to 1 MiB (the difference in RSS is the ring's
# share), and live on loopback.
#   scripts/console-compare.sh [CAPTURE]    # default testdata/gen/attack-1.5m.pcap (make perf makes it)
#   PROCS=300 ONLY=live scripts/console-compare.sh   # a busier host: 300 more sleeping processes; live, htop, btop only
#   BASE=/tmp/opsdeck-base scripts/console-compare.sh # also another build's live and replay rows, in the same rounds
# Needs tmux, htop and btop (apt install tmux htop btop); live capture needs root.
set -euo pipefail
cap=${1:-testdata/gen/attack-1.5m.pcap}
rounds=${ROUNDS:-2}
secs=${SECS:-30}
bin=${OPSDECK:-./opsdeck}
[ "${ONLY:-}" = live ] || [ -f "$cap" ] || { echo "console-compare: no capture $cap (make perf builds it)" >&2; exit 2; }
tmp=$(mktemp -d)
sleepers=()
trap 'rm -rf "$tmp"; [ ${#sleepers[@]} -eq 0 ] || kill "${sleepers[@]}" 2>/dev/null || true' EXIT
# PROCS=N: N more processes for every program to list (sleeping, as most
# of a busy host's are); killed by their pids at the end.
for _ in $(seq "${PROCS:-0}"); do
  sleep 3600 &
  sleepers+=($!)
done
printf '[evidence]\nmax_bytes = "1MiB"\n' >"$tmp/small-ring.toml"
here=$(dirname "$0")
rows=(
  "25|$bin -r $cap --speed 0"
  "25|$bin -r $cap --speed 0 --config $tmp/small-ring.toml"
  "8|$bin -i lo"
  "8|htop"
  "8|btop"
)
if [ -n "${BASE:-}" ]; then # a baseline build, measured in the same rounds
  rows+=("25|$BASE -r $cap --speed 0" "8|$BASE -i lo")
fi
if [ "${ONLY:-}" = live ]; then # no replay: the rows a process count changes
  rows=("${rows[@]:2}")
  [ -z "${BASE:-}" ] || rows=("${rows[@]:0:3}" "${rows[@]:4}")
fi
for r in $(seq "$rounds"); do
  for row in "${rows[@]}"; do
    warm=${row%%|*} cmd=${row#*|}
    prog=${cmd%% *}
    if ! command -v "$prog" >/dev/null && [ ! -x "$prog" ]; then
      echo "round $r: $prog is not installed, skipped"
      continue
    fi
    echo "round $r: $(WARMUP=$warm "$here/console-idle.sh" "$cmd" "$secs")"
  done
done
