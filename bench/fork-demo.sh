#!/usr/bin/env bash
# fork-demo bench against the same operations in C (gcc -O2), in one run,
# alternating Rust and C each round. The goal: each operation's p50 within
# 1.10x of C's (rust/C <= 1.10). The median round decides; absolute times on a
# shared machine are noise.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
ITERATIONS=${ITERATIONS:-1000}

. bench/lib.sh
need gcc gcc libc6-dev
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -pthread -o "$work/fork_bench" bench/c/fork_bench.c
FORK_DEMO=$(release_bin fork-demo)

echo "fork-demo bench vs C: $ITERATIONS iterations per operation, $ROUNDS rounds, $(nproc) CPUs"
printf '%-6s %-28s %12s %12s %10s\n' round operation "rust p50 us" "C p50 us" "rust/C"
for round in $(seq 1 "$ROUNDS"); do
  "$FORK_DEMO" bench --json -i "$ITERATIONS" |
    sed -E 's/.*"operation":"([^"]*)".*"p50_us":([0-9.e+-]*).*/\1\t\2/' >"$work/rust"
  "$work/fork_bench" "$ITERATIONS" >"$work/c"
  # Join on the operation name; std Command has no C row.
  awk -F'\t' -v r="$round" 'NR == FNR { c[$1] = $2; next }
    ($1 in c) { printf "%-6s %-28s %12.1f %12.1f %10.3f\n", r, $1, $2, c[$1], $2 / c[$1] }' \
    "$work/c" "$work/rust" | tee -a "$work/table"
done
echo
cut -c8-36 "$work/table" | sort -u | while read -r op; do
  grep -F " $op " "$work/table" | awk '{ print $NF }' | sort -n |
    awk -v op="$op" '{ v[NR] = $1 } END { printf "median %-28s rust/C = %.3f (goal <= 1.10)\n", op, v[int((NR + 1) / 2)] }'
done
