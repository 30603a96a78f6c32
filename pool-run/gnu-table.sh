#!/usr/bin/env bash
# Rewrites README.md's table of GNU parallel options (between the
# gnu-options markers) and its counts from pool-run/gnu-options.tsv, the one
# source; tests/cli/gnu_options.rs fails when the README is stale.
# Usage: bash pool-run/gnu-table.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import re
rows = []
for line in open("pool-run/gnu-options.tsv", encoding="utf-8").read().split("\n"):
    if not line or line.startswith("#"):
        continue
    fields = line.split("\t", 2) + ["", ""]
    rows.append((fields[0], fields[1], fields[2]))
table = "| GNU parallel option | pool-run | how, or why not |\n|---|---|---|\n"
for option, status, note in rows:
    table += f"| `{option}` | {status} | {note.replace('|', chr(92) + '|')} |\n"
readme = open("README.md", encoding="utf-8").read()
start, end = "<!-- gnu-options:start -->\n", "<!-- gnu-options:end -->"
a = readme.index(start) + len(start)
b = readme.index(end, a)
readme = readme[:a] + table + readme[b:]
count = lambda s: sum(1 for r in rows if r[1] == s)
readme, n = re.subn(
    r"Every option of GNU parallel 20221122 \(\d+: \d+ same, \d+ differ, \d+ not\nsupported",
    f"Every option of GNU parallel 20221122 ({len(rows)}: {count('same')} same, "
    f"{count('differs')} differ, {count('no')} not\nsupported",
    readme,
)
assert n == 1, "the counts sentence moved: update gnu-table.sh"
open("README.md", "w", encoding="utf-8").write(readme)
print(f"{len(rows)} options: {count('same')} same, {count('differs')} differ, {count('no')} no")
PY
