#!/usr/bin/env bash
# Compare opsdeck with nDPI's ndpiReader on the lab's labelled captures
# (testdata/lab, recorded by TestLabLive from real tools in namespaces).
#
# For each capture it prints one markdown row: the label (rule, actor ->
# target, or benign), what opsdeck analyze raised (rule, severity and
# actor -> target, counted), whether that matches the label, and the flow
# risks ndpiReader reports. nDPI scores flows one at a time, so it has no
# notion of a scan, a sweep or a flood across flows; the table shows what
# each tool tells an on-call engineer about the same traffic.
#
# Usage: scripts/lab-compare.sh [opsdeck binary]   (needs jq, ndpiReader from
# Debian's libndpi-bin; builds ./cmd/opsdeck when no binary is given)
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in jq ndpiReader; do
  command -v "$tool" >/dev/null || { echo "lab-compare: $tool not installed (apt-get install jq libndpi-bin)" >&2; exit 2; }
done
bin=${1:-}
if [ -z "$bin" ]; then
  bin=$(mktemp -d)/opsdeck
  go build -o "$bin" ./cmd/opsdeck
fi

echo "| capture | label | opsdeck alerts (records×severity rule actor->target) | opsdeck verdict | nDPI flow risks (flows) |"
echo "| --- | --- | --- | --- | --- |"
attacks=0; hit=0; benign=0; quiet=0; ndpi_attacks=0; ndpi_benign=0
while IFS=$'\t' read -r name rule src dst _why; do
  case "$name" in ''|'#'*) continue ;; esac
  pcap="testdata/lab/$name.pcap"
  alerts=$("$bin" analyze --alerts-only "$pcap" 2>/dev/null |
    jq -r 'select(.event_type=="alert") | "\(.alert.severity) \(.alert.metadata.rule[0]) \(.src_ip)->\(.dest_ip)"' || true)
  # One entry per severity, rule and actor: records of one alert stream
  # (updates, and sweeps whose latest target changes) are counted together.
  summary=$(printf '%s\n' "$alerts" | sed '/^$/d' | awk '{ split($3, e, "->"); k=$1" "$2" "e[1]; if (!(k in n)) { order[++m]=k; dst[k]=e[2] } else if (dst[k] != e[2]) dst[k]="many"; n[k]++ }
    END { for (i=1; i<=m; i++) { k=order[i]; split(k, f, " "); printf "%s%d×sev%s %s %s->%s", (i>1?"; ":""), n[k], f[1], f[2], f[3], dst[k] } }')
  risks=$(ndpiReader -i "$pcap" -v 1 2>/dev/null | sed -n '/^Risk stats/,/NOTE/p' |
    awk '/^\t[A-Za-z]/ && !/NOTE/ { line=$0; sub(/^\t/, "", line); n=split(line, f, /  +/); printf "%s%s (%s)", (c++?"; ":""), f[1], f[2]+0 }')
  if [ "$rule" = "-" ]; then
    label="benign"; benign=$((benign+1))
    if printf '%s\n' "$alerts" | grep -Eq '^[12] '; then verdict="false alarm"; else verdict="quiet"; quiet=$((quiet+1)); fi
    [ -n "$risks" ] && ndpi_benign=$((ndpi_benign+1))
  else
    label="$rule $src -> $dst"; attacks=$((attacks+1))
    want="$rule "
    [ "$src" != "-" ] && want="$want$src->" || want="$want[^ ]*->"
    [ "$dst" != "-" ] && want="$want$dst\$" || want="$want[^ ]*\$"
    if printf '%s\n' "$alerts" | grep -Eq "^[0-9] $want"; then verdict="detected"; hit=$((hit+1)); else verdict="MISSED"; fi
    # The lab's victim (10.77.0.10) never attacks: naming it is misattribution.
    if printf '%s\n' "$alerts" | grep -Eq '^[12] [^ ]+ 10\.77\.0\.10->'; then verdict="$verdict, but names the victim as an actor"; fi
    [ -n "$risks" ] && ndpi_attacks=$((ndpi_attacks+1))
  fi
  echo "| $name | $label | ${summary:-none} | $verdict | ${risks:-none} |"
done < testdata/lab/labels.tsv
echo
echo "opsdeck: $hit of $attacks attacks with the right rule, actor and target; $quiet of $benign benign captures without a severity-1/2 alert."
echo "nDPI: a flow risk on $ndpi_attacks of $attacks attack captures (no rule, actor or target to match) and on $ndpi_benign of $benign benign captures."
