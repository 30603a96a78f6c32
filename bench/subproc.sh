#!/usr/bin/env bash
# Overhead of subproc against its anchors, measured side by side in one run:
#   subproc -q true   vs   coreutils `timeout 10 true`   vs   `env true`
# Whole-process wall time by hyperfine (no shell, -N). The goal: subproc costs
# no more than 1.10x `timeout 10 true`. Absolute times on a shared machine are
# noise; the ratios are the result. Several rounds, ratio per round, and the
# median round, so one noisy moment does not decide.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-1000}

. bench/lib.sh
need hyperfine hyperfine
SUBPROC=$(release_bin subproc)
TRUE=$(command -v true)
TIMEOUT=$(command -v timeout)
ENV=$(command -v env)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "subproc overhead: $RUNS runs per command, $ROUNDS rounds, $(nproc) CPUs"
printf '%-6s %12s %12s %12s %16s %12s\n' round "subproc ms" "timeout ms" "env ms" "subproc/timeout" "subproc/env"
for round in $(seq 1 "$ROUNDS"); do
  hyperfine -N --warmup 100 --runs "$RUNS" --style none --export-csv "$work/r$round.csv" \
    "$SUBPROC -q $TRUE" "$TIMEOUT 10 $TRUE" "$ENV $TRUE" >/dev/null 2>&1
  # CSV columns: command,mean,stddev,median,user,system,min,max (seconds)
  awk -F, -v round="$round" 'NR>1 { mean[NR-1]=$2 }
    END { printf "%-6s %12.3f %12.3f %12.3f %16.3f %12.3f\n", round,
            mean[1]*1000, mean[2]*1000, mean[3]*1000, mean[1]/mean[2], mean[1]/mean[3] }' \
    "$work/r$round.csv" | tee -a "$work/table"
done
sort -k5,5n "$work/table" | awk -v n="$ROUNDS" 'NR==int((n+1)/2) {
  printf "median round: subproc/timeout = %.3f (goal <= 1.10), subproc/env = %.3f\n", $5, $6 }'
