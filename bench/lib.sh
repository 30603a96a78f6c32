# Shared by the bench scripts (sourced, not run): installing the anchors and
# building the release binaries the README's install way: static (glibc
# crt-static) for this machine's own target triple, which puts them under
# target/<triple>/release/ (see HACKING.md, "Static binaries").

# need COMMAND PACKAGE...: apt-installs the packages if COMMAND is missing.
need() {
  local command=$1; shift
  if ! command -v "$command" >/dev/null; then
    echo "installing $* (apt)..." >&2
    (apt-get update -qq && apt-get install -y -qq "$@") >/dev/null
  fi
}

# release_bins NAME...: builds the binaries in release mode and prints
# NAME=PATH lines.
release_bins() {
  local args=() built name
  for name in "$@"; do args+=(--bin "$name"); done
  local host
  host=$(rustc -vV | sed -n 's/^host: //p')
  built=$(RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --target "$host" "${args[@]}" --message-format=json-render-diagnostics 2>/dev/null)
  for name in "$@"; do
    printf '%s=%s\n' "$name" "$(grep -o "\"executable\":\"[^\"]*/$name\"" <<<"$built" | cut -d'"' -f4)"
  done
}

# release_bin NAME: the path of one release binary, built if needed.
release_bin() {
  local path
  path=$(release_bins "$1" | cut -d= -f2-)
  [ -x "$path" ] || { echo "bench: building $1 failed" >&2; exit 1; }
  printf '%s\n' "$path"
}

# label CMD: the command as a table shows it: each path named in $LABELS
# ("PATH=NAME" words) replaced by its name, the scratch directory dropped.
label() {
  local text=$1 pair
  for pair in ${LABELS:-}; do text=${text//"${pair%%=*}"/"${pair#*=}"}; done
  printf '%s\n' "${text//"$work/"/}"
}

# bench NAME CMD...: ROUNDS rounds, each timing every command once with
# hyperfine (so the commands take turns and a noisy neighbour hits them
# alike), then the median of each command's times and its ratio to the first.
# Each round starts one command further down the list, so no command always
# runs right after the same one (GNU parallel's exit leaves the machine
# busy for a moment, which otherwise always fell on the first command).
# Uses the caller's $work (a scratch directory) and $ROUNDS.
bench() {
  local title=$1; shift
  local count=$# round
  : >"$work/all.csv"
  hyperfine -N --runs 1 --show-output "$@" >"$work/warmup.log" 2>&1 || {
    echo "$title: a command failed:" >&2; tail -5 "$work/warmup.log" >&2; return 0; }   # warm-up round
  for round in $(seq 0 $((ROUNDS - 1))); do
    local shift_by=$((round % count))
    local turn=("${@:shift_by+1}" "${@:1:shift_by}")
    hyperfine -N --runs 1 --style none --export-csv "$work/round.csv" "${turn[@]}" >/dev/null 2>&1 || {
      echo "$title: a command failed" >&2; return 0; }
    # mean is the 7th field from the end: a command may hold commas; row
    # k of this round is command (k - 1 + shift_by) mod count + 1 of the list
    awk -F, -v s="$shift_by" -v n="$count" \
      'NR > 1 { print (NR - 2 + s) % n + 1 "," $(NF - 6) }' "$work/round.csv" >>"$work/all.csv"
  done
  echo "== $title"
  local i=0
  for cmd in "$@"; do
    i=$((i + 1))
    median=$(awk -F, -v n="$i" '$1 == n { print $2 }' "$work/all.csv" | sort -g |
      awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    [ "$i" = 1 ] && base=$median
    awk -v c="$(label "$cmd")" -v m="$median" -v b="$base" \
      'BEGIN { printf "  %-62s %9.3f s %8.2fx\n", c, m, m / b }'
  done
}
