#!/usr/bin/env bash
# lock-demo bench against the same loops in C (gcc -O2), measured side by side
# in one run: atomic fetch_add and Mutex/pthread_mutex throughput with the
# same threads and iterations, alternating Rust and C each round. The goal:
# Rust within 1.2x of C (C ops/s / Rust ops/s <= 1.2). The median round
# decides; absolute numbers on a shared machine are noise.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
ITERATIONS=${ITERATIONS:-5000000}

. bench/lib.sh
need gcc gcc libc6-dev
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -pthread -o "$work/lock_bench" bench/c/lock_bench.c
LOCK_DEMO=$(release_bin lock-demo)

rust_ops() { "$LOCK_DEMO" bench --json --sync "$1" -t "$THREADS" -i "$ITERATIONS" |
  grep -o '"ops_per_s":[0-9.e+]*' | cut -d: -f2; }

echo "lock-demo bench vs C: $THREADS threads x $ITERATIONS increments, $ROUNDS rounds, $(nproc) CPUs"
printf '%-6s %-7s %16s %16s %12s\n' round sync "rust ops/s" "C ops/s" "C/rust"
for round in $(seq 1 "$ROUNDS"); do
  for sync in atomic mutex; do
    rust=$(rust_ops "$sync")
    c=$("$work/lock_bench" "$sync" "$THREADS" "$ITERATIONS")
    awk -v r="$round" -v s="$sync" -v a="$rust" -v b="$c" \
      'BEGIN { printf "%-6s %-7s %16.0f %16.0f %12.3f\n", r, s, a, b, b / a }' | tee -a "$work/table"
  done
done
for sync in atomic mutex; do
  grep " $sync " "$work/table" | sort -k5,5n | awk -v n="$ROUNDS" -v s="$sync" 'NR==int((n+1)/2) {
    printf "median %s: C/rust = %.3f (goal <= 1.2)\n", s, $5 }'
done
