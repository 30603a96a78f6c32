#!/usr/bin/env bash
# The figures the README shows for the tutorial scenes, measured: spin-cores
# compare's speed-ups at the default size (the tutorial's point: CPU-bound
# work speeds up on threads and processes; the goal is >= 1.8x on a quiet
# 2-CPU machine), and how often the default `lock-demo race` loses updates
# (the goal: at least 19 runs of 20). Prints the machine and the date, so a
# README figure can say where it came from. No anchor tool: the comparison
# is within each run (sequential vs concurrent, expected vs final balance).
# Usage: [RUNS=5] [RACES=20] bash bench/figures.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
RACES=${RACES:-20}

. bench/lib.sh
SPIN_CORES=$(release_bin spin-cores)
LOCK_DEMO=$(release_bin lock-demo)

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "machine: $(nproc) CPUs ($model), load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"

echo
echo "== spin-cores compare (default size), $RUNS runs: speed-up over sequential"
printf '%-4s %10s %10s %10s %10s %12s\n' run threads processes pool "IO best" "sequential s"
for run in $(seq "$RUNS"); do
  "$SPIN_CORES" compare --json >"${TMPDIR:-/tmp}/figures.$$"
  awk -v run="$run" -F'[:,}]' '
    { for (i = 1; i < NF; i++) { key = $i; gsub(/[{"]/, "", key); value[key] = $(i + 1) }
      way = value["way"]; gsub(/"/, "", way)
      if (way == "sequential") seq = value["cpu_bound_s"]
      if (way == "threads") t = value["cpu_bound_speedup"]
      if (way == "processes") p = value["cpu_bound_speedup"]
      if (way ~ /^pool/) pool = value["cpu_bound_speedup"]
      if (value["io_bound_speedup"] + 0 > io) io = value["io_bound_speedup"] + 0 }
    END { printf "%-4s %9.2fx %9.2fx %9.2fx %9.2fx %12.3f\n", run, t, p, pool, io, seq }
  ' "${TMPDIR:-/tmp}/figures.$$"
done | tee "${TMPDIR:-/tmp}/figures.rows.$$"
median() { # median COLUMN: of the rows' column, "1.97x" read as 1.97
  awk -v c="$1" '{ print $c + 0 }' "${TMPDIR:-/tmp}/figures.rows.$$" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }'
}
echo "median: threads $(median 2)x, processes $(median 3)x (goal >= 1.80x)"
echo "one run as the README shows it:"
"$SPIN_CORES" compare
rm -f "${TMPDIR:-/tmp}/figures.$$" "${TMPDIR:-/tmp}/figures.rows.$$"

echo
echo "== lock-demo race (default: 2 threads x 1000000), $RACES runs"
lost_runs=0 drifted=0 least=-1 most=0
for _ in $(seq "$RACES"); do
  line=$("$LOCK_DEMO" race --json)
  lost=$(grep -o '"lost_updates":[0-9]*' <<<"$line" | cut -d: -f2)
  writes=$(grep -o '"writes":[0-9]*' <<<"$line" | cut -d: -f2)
  balance=$(grep -o '"balance":-*[0-9]*' <<<"$line" | cut -d: -f2)
  [ "$lost" -gt 0 ] && lost_runs=$((lost_runs + 1))
  [ "$balance" -ne 0 ] && drifted=$((drifted + 1))
  if [ "$least" -lt 0 ] || [ "$lost" -lt "$least" ]; then least=$lost; fi
  [ "$lost" -gt "$most" ] && most=$lost
done
awk -v runs="$RACES" -v lost="$lost_runs" -v drifted="$drifted" -v least="$least" \
  -v most="$most" -v writes="$writes" 'BEGIN {
  printf "runs that lost updates: %d of %d (goal >= 19 of 20); balance not 0: %d of %d\n", lost, runs, drifted, runs
  printf "lost per run: %d to %d of %d writes (%.2f%% to %.2f%%)\n", least, most, writes, 100 * least / writes, 100 * most / writes }'
