#!/usr/bin/env bash
# pool-run --pipe and --pipe-part against their floors and GNU parallel, on
# one file of LINES lines (default 40 M, 349 MB, in the page cache), all
# counting lines with `wc -l`, -j2 --block 10M, timed by hyperfine in one
# run with the commands taking turns. Tables:
#   --pipe       floor: `cat FILE | wc -l` (every byte crosses one pipe)
#                goals: <= 1.2x the floor, >= 3x faster than GNU --pipe
#   --round-robin  floor as --pipe: -j jobs share the blocks
#                goal: >= 3x faster than GNU --pipe --round-robin
#   --pipe-part  floor: `wc -l FILE` (one process reads the page cache)
#                goals: <= 2x the floor, >= 3x faster than GNU --pipepart
#   --tee        floor as --pipe: every job reads all of FILE
#   peak RSS     goals: --pipe <= (jobs + 1) x block + 8 MiB = 38 MiB,
#                --pipe-part <= 8 MiB
# BASELINE=/path/to/an/older/pool-run adds its --pipe rows.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-7}
LINES=${LINES:-40000000}
BLOCK=${BLOCK:-10M}

. bench/lib.sh
need hyperfine hyperfine
need parallel parallel
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
POOL=$(release_bin pool-run)
SUBPROC=$(release_bin subproc)
BASELINE=${BASELINE:-}
FILE=$work/lines
seq "$LINES" >"$FILE"
cat "$FILE" >/dev/null   # into the page cache
LABELS="$POOL=pool-run $FILE=FILE"
[ -n "$BASELINE" ] && LABELS="$BASELINE=pool-run(before) $LABELS"
GNU="parallel --will-cite"

echo "pool-run --pipe / --pipe-part: -j2 --block $BLOCK, $(nproc) CPUs, $(du -m "$FILE" | cut -f1) MB ($LINES lines)," \
  "median of $ROUNDS interleaved hyperfine rounds (ratio: time / the floor's)"

# vs_gnu TABLE OURS THEIRS: GNU parallel's time over ours, from bench's lines.
vs_gnu() {
  awk -v ours="$2" -v theirs="$3" '
    index($0, ours) && !o { o = $(NF - 2) }
    index($0, theirs) && !t { t = $(NF - 2) }
    END { if (o && t) printf "  GNU parallel / pool-run: %.2fx\n", t / o }' <<<"$1"
}

rows=("sh -c 'cat $FILE | wc -l'"
      "sh -c '$POOL -j2 --pipe --block $BLOCK wc -l < $FILE'"
      "sh -c '$POOL -k -j2 --pipe --block $BLOCK wc -l < $FILE'"
      "sh -c 'cat $FILE | $POOL -j2 --pipe --block $BLOCK wc -l'")
[ -n "$BASELINE" ] && rows+=("sh -c '$BASELINE -j2 --pipe --block $BLOCK wc -l < $FILE'")
rows+=("sh -c '$GNU -j2 --pipe --block $BLOCK wc -l < $FILE'")
table=$(bench "--pipe (floor: cat FILE | wc -l)" "${rows[@]}")
echo "$table"
vs_gnu "$table" "pool-run -j2 --pipe" "parallel --will-cite -j2 --pipe"

table=$(bench "--pipe --round-robin (floor: cat FILE | wc -l)" \
  "sh -c 'cat $FILE | wc -l'" \
  "sh -c '$POOL -j2 --pipe --round-robin --block $BLOCK wc -l < $FILE'" \
  "sh -c '$GNU -j2 --pipe --round-robin --block $BLOCK wc -l < $FILE'")
echo "$table"
vs_gnu "$table" "pool-run -j2 --pipe --round-robin" "parallel --will-cite -j2 --pipe --round-robin"

table=$(bench "--pipe-part (floor: wc -l FILE)" \
  "wc -l $FILE" \
  "$POOL -j2 --pipe-part --block $BLOCK -a $FILE wc -l" \
  "$GNU -j2 --pipepart --block $BLOCK -a $FILE wc -l")
echo "$table"
vs_gnu "$table" "pool-run -j2 --pipe-part" "parallel --will-cite -j2 --pipepart"

# --tee: every job counts all of FILE; from the file itself (each job its
# own open) and through a pipe (streamed through the spool).
TEE="--pipe --tee 'wc -l; : {}' ::: 1 2"
table=$(bench "--tee, 2 jobs (floor: cat FILE | wc -l)" \
  "sh -c 'cat $FILE | wc -l'" \
  "sh -c \"$POOL $TEE < $FILE\"" \
  "sh -c \"cat $FILE | $POOL $TEE\"" \
  "sh -c \"$GNU $TEE < $FILE\"")
echo "$table"
vs_gnu "$table" "pool-run --pipe --tee" "parallel --will-cite --pipe --tee"

echo "== peak RSS (subproc --json max_rss_kib: the largest of the command and its jobs)"
rss() { "$SUBPROC" --json --report "$work/r.json" sh -c "$1" >/dev/null 2>&1;
  grep -o '"max_rss_kib":[0-9]*' "$work/r.json" | cut -d: -f2; }
printf '  %-44s %8s KiB\n' "cat FILE | wc -l" "$(rss "cat $FILE | wc -l")"
printf '  %-44s %8s KiB\n' "pool-run --pipe" "$(rss "$POOL -j2 --pipe --block $BLOCK wc -l < $FILE")"
printf '  %-44s %8s KiB\n' "pool-run -k --pipe" "$(rss "$POOL -k -j2 --pipe --block $BLOCK wc -l < $FILE")"
printf '  %-44s %8s KiB\n' "cat FILE | pool-run --pipe" "$(rss "cat $FILE | $POOL -j2 --pipe --block $BLOCK wc -l")"
[ -n "$BASELINE" ] && printf '  %-44s %8s KiB\n' "pool-run(before) --pipe" "$(rss "$BASELINE -j2 --pipe --block $BLOCK wc -l < $FILE")"
printf '  %-44s %8s KiB\n' "GNU parallel --pipe" "$(rss "$GNU -j2 --pipe --block $BLOCK wc -l < $FILE")"
printf '  %-44s %8s KiB\n' "pool-run --pipe --round-robin" "$(rss "$POOL -j2 --pipe --round-robin --block $BLOCK wc -l < $FILE")"
printf '  %-44s %8s KiB\n' "GNU parallel --pipe --round-robin" "$(rss "$GNU -j2 --pipe --round-robin --block $BLOCK wc -l < $FILE")"
printf '  %-44s %8s KiB\n' "pool-run --pipe-part" "$(rss "$POOL -j2 --pipe-part --block $BLOCK -a $FILE wc -l")"
printf '  %-44s %8s KiB\n' "GNU parallel --pipepart" "$(rss "$GNU -j2 --pipepart --block $BLOCK -a $FILE wc -l")"
