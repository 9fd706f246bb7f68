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
# As root, live on lo is also measured the way a deployment runs it (the
# systemd unit, a setcap'd binary): as nobody, keeping only opsdeck's four
# capabilities (setpriv, ambient), its own pid measured (NAME=opsdeck).
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
# Not root: nobody's own config and state directory, and the capabilities
# of docs/opsdeck-watch.service. The binaries must be readable by nobody.
chmod 0711 "$tmp"
mkdir -m 0777 "$tmp/home"
caps=+net_raw,+net_admin,+sys_ptrace,+dac_read_search
nonroot="env HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=$caps --ambient-caps=$caps"
# Rows: warm-up seconds|process to measure|command.
rows=(
  "25|$(basename "$bin")|$bin -r $cap --speed 0"
  "25|$(basename "$bin")|$bin -r $cap --speed 0 --config $tmp/small-ring.toml"
  "8|$(basename "$bin")|$bin -i lo"
)
[ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || rows+=("8|$(basename "$bin")|$nonroot $bin -i lo")
rows+=("8|htop|htop" "8|btop|btop")
if [ -n "${BASE:-}" ]; then # a baseline build, measured in the same rounds
  rows+=("25|$(basename "$BASE")|$BASE -r $cap --speed 0" "8|$(basename "$BASE")|$BASE -i lo")
  [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || rows+=("8|$(basename "$BASE")|$nonroot $BASE -i lo")
fi
for r in $(seq "$rounds"); do
  for row in "${rows[@]}"; do
    warm=${row%%|*} rest=${row#*|}
    name=${rest%%|*} cmd=${rest#*|}
    if [ "${ONLY:-}" = live ] && [[ $cmd == *" -r "* ]]; then
      continue # no replay: the rows a process count changes
    fi
    prog=${cmd%% *}
    [ "$prog" != env ] || prog=setpriv
    if ! command -v "$prog" >/dev/null && [ ! -x "$prog" ]; then
      echo "round $r: $prog is not installed, skipped"
      continue
    fi
    echo "round $r: $(NAME=$name WARMUP=$warm "$here/console-idle.sh" "$cmd" "$secs")"
  done
done
