#!/usr/bin/env bash
# spin-cores against stress-ng, measured the same way in one run, alternating
# the two tools each round. The measuring harness is our own `subproc --json`:
# wall, user and sys time and peak RSS from wait4, to the microsecond (GNU
# time's 10ms steps are as large as the differences measured here). Goals:
#   - at 100% load, CPU share = cpu / (workers x wall) >= 99% and >= stress-ng's
#   - at --load 50 and 20, achieved load per worker within 2 points of the
#     target and closer to it than stress-ng --cpu-load
#   - peak RSS <= 1/2 of stress-ng's
# Absolute numbers on a shared machine are noise; compare the columns.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
WORKERS=${WORKERS:-$(nproc)}

. bench/lib.sh
need stress-ng stress-ng
SPIN=$(release_bin spin-cores)
SUBPROC=$(release_bin subproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# field NAME: a number from the JSON report in $work/report.
field() { grep -o "\"$1\":[0-9.e+-]*" "$work/report" | cut -d: -f2; }

# measure TOOL LOAD CMD...: one run under subproc; appends a result row.
measure() {
  local tool=$1 load=$2; shift 2
  "$SUBPROC" --json --report "$work/report" "$@" >/dev/null 2>&1
  local wall user sys rss
  wall=$(field wall_s) user=$(field user_s) sys=$(field sys_s) rss=$(field max_rss_kib)
  awk -v t="$tool" -v l="$load" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v n="$WORKERS" \
    'BEGIN { a = (u + s) / (n * w) * 100;
             printf "%-10s %5s %8.3f %8.3f %10.3f %10.3f %10d\n", t, l, w, u + s, a, a - l, m }' |
    tee -a "$work/rows"
}

echo "spin-cores vs stress-ng: $WORKERS workers, ${SECONDS_PER_RUN}s runs, $ROUNDS rounds, $(nproc) CPUs"
printf '%-10s %5s %8s %8s %10s %10s %10s\n' tool load "wall s" "cpu s" "achieved%" "error pts" "maxRSS KiB"
for round in $(seq 1 "$ROUNDS"); do
  for load in 100 50 20; do
    measure spin-cores "$load" "$SPIN" -n "$WORKERS" --load "$load" -t "${SECONDS_PER_RUN}s" --interval 10s
    measure stress-ng "$load" stress-ng --cpu "$WORKERS" --cpu-load "$load" -t "${SECONDS_PER_RUN}s" --quiet
  done
done

echo
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for load in 100 50 20; do
  s=$(awk -v l="$load" '$1 == "spin-cores" && $2 == l { print ($6 < 0 ? -$6 : $6) }' "$work/rows" | median)
  g=$(awk -v l="$load" '$1 == "stress-ng" && $2 == l { print ($6 < 0 ? -$6 : $6) }' "$work/rows" | median)
  sa=$(awk -v l="$load" '$1 == "spin-cores" && $2 == l { print $5 }' "$work/rows" | median)
  ga=$(awk -v l="$load" '$1 == "stress-ng" && $2 == l { print $5 }' "$work/rows" | median)
  echo "load $load: median achieved spin-cores $sa% vs stress-ng $ga%; |error| spin-cores $s pts vs stress-ng $g pts"
done
sr=$(awk '$1 == "spin-cores" { print $7 }' "$work/rows" | median)
gr=$(awk '$1 == "stress-ng" { print $7 }' "$work/rows" | median)
awk -v s="$sr" -v g="$gr" 'BEGIN { printf "peak RSS: spin-cores %d KiB vs stress-ng %d KiB, ratio %.3f (goal <= 0.5)\n", s, g, s / g }'
