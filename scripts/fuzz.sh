#!/usr/bin/env bash
# Run every fuzz target of the module for FUZZTIME each and print a table of
# target, time, executions and result (the README's Reliability section
# quotes it). A crasher is written by the go tool to the package's
# testdata/fuzz/FuzzName/ directory, where `go test` replays it from then on
# as a regression test; fix the bug, keep the file.
#
# Usage: scripts/fuzz.sh [FUZZTIME]     (default 30s; SHORT=1 means 3s)
# Env:   FUZZPAR  fuzz workers per target (default: number of CPUs)
#        PKGS     packages to search (default ./...)
#        FUZZ_REPORT  also write the table to this file
set -uo pipefail
GO=${GO:-go}
FUZZTIME=${1:-${FUZZTIME:-30s}}
if [ "${SHORT:-0}" = 1 ]; then FUZZTIME=3s; fi
PAR=${FUZZPAR:-$(nproc 2>/dev/null || echo 2)}
PKGS=${PKGS:-./...}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

rows=()
failed=0
for pkg in $($GO list $PKGS); do
	targets=$($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		out="$log/out"
		echo "== $pkg $t ($FUZZTIME)" >&2
		start=$(date +%s)
		# Minimizing a new input can take a minute on big seeds; keep it short
		# so the time goes to fuzzing.
		run() {
			$GO test -run='^$' -fuzz="^$t\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=10s \
				-parallel="$PAR" "$pkg" >"$out" 2>&1
		}
		if run; then
			result=ok
		elif grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out" && run; then
			# The go command sometimes reports its own deadline when a
			# worker was busy as fuzzing time ran out, with no failing
			# input: not a crasher. Once more decides.
			result="ok (rerun)"
		else
			result=CRASH
			failed=1
			cat "$out" >&2
		fi
		secs=$(( $(date +%s) - start ))
		execs=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | awk '{print $2}')
		new=$(grep -o 'new interesting: [0-9]*' "$out" | tail -1 | awk '{print $3}')
		rows+=("| ${pkg#github.com/opsdeck/opsdeck/} | $t | $FUZZTIME (${secs}s wall) | ${execs:-?} | ${new:-0} | $result |")
	done
done

{
	echo "| package | target | time | executions | new inputs | result |"
	echo "| --- | --- | --- | --- | --- | --- |"
	printf '%s\n' "${rows[@]}"
} | tee ${FUZZ_REPORT:+"$FUZZ_REPORT"}
if [ "$failed" = 1 ]; then
	echo "fuzz: crashers found; see testdata/fuzz/ in the packages marked CRASH (git status)" >&2
fi
exit $failed
