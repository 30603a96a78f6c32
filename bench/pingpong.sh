#!/usr/bin/env bash
# pingpong bench against its anchors, measured in one run with the same
# placement: `perf bench sched pipe` (usecs/op = one round trip), a minimal C
# two-pipe ping-pong, a minimal C shared-memory spin ping-pong, and Python's
# multiprocessing.Queue ping-pong (the tutorial's tool). Goals:
#   pipe p50 RT <= 1.05x perf's usecs/op and <= 1.05x the C pipe ping-pong
#   shm p50 RT (split CPUs) <= 1.5x the C spin ping-pong
#   every transport >= 10x faster than multiprocessing.Queue
# Placement dominates latency on this kind of VM, so each comparison is made
# at one placement; ratios, not absolute times, are the result.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-50000}
PY_ROUNDS=${PY_ROUNDS:-5000}

. bench/lib.sh
need gcc gcc libc6-dev
need perf linux-perf || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/pingpong_c" bench/c/pingpong.c
PINGPONG=$(release_bin pingpong)

ours() { "$PINGPONG" bench --json --iterations "$ROUNDS" --transport "$1" --pin "$2" |
  grep -o '"rt_p50_us":[0-9.e+-]*' | cut -d: -f2; }
row() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" -v e="$5" \
  'BEGIN { printf "%-7s %-8s %12.3f %-26s %12.3f %8.3f %s\n", a, b, c, d, e, c / e, "" }'; }

echo "pingpong bench: $ROUNDS round trips (python: $PY_ROUNDS), $(nproc) CPUs; p50 round trip in us"
printf '%-7s %-8s %12s %-26s %12s %8s\n' pin transport "pingpong" anchor "anchor" ratio
for pin in same split; do
  c_pipe=$("$work/pingpong_c" pipe "$pin" "$ROUNDS")
  row "$pin" pipe "$(ours pipe "$pin")" "C two-pipe p50" "$c_pipe"
  if [ "$pin" = same ] && command -v perf >/dev/null; then
    perf_op=$(taskset -c 0 perf bench sched pipe -l "$ROUNDS" 2>/dev/null | awk '/usecs\/op/ { print $1 }')
    [ -n "$perf_op" ] && row "$pin" pipe "$(ours pipe "$pin")" "perf sched pipe usecs/op" "$perf_op"
  fi
done
c_shm=$("$work/pingpong_c" shm split "$ROUNDS")
row split shm "$(ours shm split)" "C shm spin p50" "$c_shm"

if command -v python3 >/dev/null; then
  cat >"$work/mp_queue.py" <<'PY'
import sys, time
from multiprocessing import Process, Queue
def echo(inbox, outbox, n):
    for _ in range(n):
        outbox.put(inbox.get())
if __name__ == "__main__":
    n = int(sys.argv[1])
    to_child, to_parent = Queue(), Queue()
    p = Process(target=echo, args=(to_child, to_parent, n + 100))
    p.start()
    for i in range(100):
        to_child.put(i); to_parent.get()
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        to_child.put(i); to_parent.get()
        samples.append((time.perf_counter() - t0) * 1e6)
    p.join()
    samples.sort()
    print("%.3f" % samples[(n + 1) // 2 - 1])
PY
  # Same placement for both: one CPU (unpinned, both sides pay the
  # cross-CPU wake-up, which hides the difference in the software).
  py=$(taskset -c 0 python3 "$work/mp_queue.py" "$PY_ROUNDS")
  for transport in pipe socket eventfd shm; do
    row same "$transport" "$(ours "$transport" same)" "python mp.Queue p50" "$py"
  done
  echo "(python rows: ratio = pingpong/python; the goal is <= 0.100, i.e. >= 10x faster)"
fi
