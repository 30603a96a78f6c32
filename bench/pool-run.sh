#!/usr/bin/env bash
# pool-run against xargs -P, GNU parallel and rust-parallel, and a C floor
# (fork+exec of /bin/true keeping 2 children running), all with 2 workers and
# timed by hyperfine in one run, the commands taking turns. Rows:
#   2000 `true` jobs            per-job overhead (goal <= 1.3x the floor, <= 0.9x xargs)
#   2000 shell jobs             `echo {}` through sh
#   200 jobs x 1 MiB output     grouped output throughput
#   peak RSS, 20,000 inputs     pool-run vs xargs (and rust-parallel if present),
#                               median of RSS_ROUNDS runs taken turn by turn
#   many slots                  3,000 `sleep 1` at -j1000 and 10,000 at -j4000
#                               vs xargs -P (goal <= 1.05x xargs), MANY=0 skips
# Ratios are against pool-run measured in the same run.
# BASELINE=/path/to/an/older/pool-run adds that binary's row after each
# pool-run row, measured in the same rounds (for a before/after table).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-7}
JOBS=${JOBS:-2000}
RSS_INPUTS=${RSS_INPUTS:-20000}
RSS_ROUNDS=${RSS_ROUNDS:-5}

. bench/lib.sh
need hyperfine hyperfine
need parallel parallel
need gcc gcc libc6-dev
if ! command -v rust-parallel >/dev/null && [ "${INSTALL_RUST_PARALLEL:-1}" = 1 ]; then
  echo "installing rust-parallel (cargo, a few minutes)..." >&2
  cargo install --quiet rust-parallel >/dev/null 2>&1 || echo "rust-parallel could not be installed; its rows are skipped" >&2
fi
RP=$(command -v rust-parallel || true)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/floor" bench/c/spawn_floor.c
POOL=$(release_bin pool-run)
SUBPROC=$(release_bin subproc)
BASELINE=${BASELINE:-}
LABELS="$POOL=pool-run $work/floor=C-floor"
[ -n "$BASELINE" ] && LABELS="$BASELINE=pool-run(before) $LABELS"
[ -n "$RP" ] && LABELS="$LABELS $RP=rust-parallel"
# with_baseline ROW...: the rows, with the baseline's copy of the first
# (pool-run's) right after it.
with_baseline() {
  rows=("$1")
  [ -n "$BASELINE" ] && rows+=("${1//"$POOL"/"$BASELINE"}")
  shift
  rows+=("$@")
}
seq "$JOBS" >"$work/inputs"
seq 200 >"$work/inputs200"

echo "pool-run vs anchors: 2 workers, $(nproc) CPUs, median of $ROUNDS interleaved hyperfine rounds (ratio: time / pool-run's)"
with_baseline "sh -c '$POOL -j2 true < $work/inputs'"
rows+=("$work/floor $JOBS 2"
      "sh -c 'xargs -P2 -n1 true < $work/inputs'"
      "sh -c 'parallel --will-cite -j2 true < $work/inputs'")
[ -n "$RP" ] && rows+=("sh -c '$RP -j2 true < $work/inputs'")
bench "$JOBS true jobs" "${rows[@]}"

with_baseline "sh -c '$POOL -j2 --shell echo {} < $work/inputs > /dev/null'"
rows+=("sh -c 'xargs -P2 -I{} sh -c \"echo {}\" < $work/inputs > /dev/null'"
      "sh -c 'parallel --will-cite -j2 echo {} < $work/inputs > /dev/null'")
[ -n "$RP" ] && rows+=("sh -c '$RP -j2 -s echo {} < $work/inputs > /dev/null'")
bench "$JOBS shell jobs (echo {})" "${rows[@]}"

# `; : {}` keeps the input value out of head's arguments in every tool.
mib='head -c 1048576 /dev/zero; : {}'
with_baseline "sh -c '$POOL -j2 \"$mib\" < $work/inputs200 > /dev/null'"
rows+=("sh -c 'parallel --will-cite -j2 \"$mib\" < $work/inputs200 > /dev/null'")
[ -n "$RP" ] && rows+=("sh -c '$RP -j2 -s \"$mib\" < $work/inputs200 > /dev/null'")
bench "200 jobs x 1 MiB grouped output" "${rows[@]}"

echo "== peak RSS, $RSS_INPUTS inputs of true (subproc --json max_rss_kib, median of $RSS_ROUNDS interleaved runs)"
seq "$RSS_INPUTS" >"$work/many"
rss() { "$SUBPROC" --json --report "$work/r.json" sh -c "$1 < $work/many" >/dev/null 2>&1;
  grep -o '"max_rss_kib":[0-9]*' "$work/r.json" | cut -d: -f2; }
# One run's peak moves by several percent with where the page cache puts
# the binary's text: each tool is run RSS_ROUNDS times, turn by turn, and the
# median is its row.
rss_names=(pool-run) rss_cmds=("$POOL -j2 true")
[ -n "$BASELINE" ] && rss_names+=("pool-run(before)") rss_cmds+=("$BASELINE -j2 true")
rss_names+=("xargs -P2") rss_cmds+=("xargs -P2 -n1 true")
[ -n "$RP" ] && rss_names+=(rust-parallel) rss_cmds+=("$RP -j2 true")
declare -A rss_seen
for _ in $(seq "$RSS_ROUNDS"); do
  for i in "${!rss_cmds[@]}"; do rss_seen[$i]+="$(rss "${rss_cmds[$i]}") "; done
done
for i in "${!rss_cmds[@]}"; do
  median=$(tr ' ' '\n' <<<"${rss_seen[$i]}" | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  printf '  %-20s %8s KiB   (%s)\n' "${rss_names[$i]}" "$median" "${rss_seen[$i]% }"
done

if [ "${MANY:-1}" = 1 ]; then
  # Every job is `sleep 1` exec'd directly by both tools (the input is the
  # argument). Needs about 2 descriptors per running job: the hard limit.
  ulimit -n "$(ulimit -Hn)"
  seq 3000 | sed "s/.*/1/" >"$work/ones3k"
  seq 10000 | sed "s/.*/1/" >"$work/ones10k"
  with_baseline "sh -c '$POOL -j1000 sleep < $work/ones3k'"
  rows+=("sh -c 'xargs -P1000 -n1 sleep < $work/ones3k'")
  bench "3000 x sleep 1 at -j1000" "${rows[@]}"
  with_baseline "sh -c '$POOL -j4000 sleep < $work/ones10k'"
  rows+=("sh -c 'xargs -P4000 -n1 sleep < $work/ones10k'")
  bench "10000 x sleep 1 at -j4000" "${rows[@]}"
fi
true
