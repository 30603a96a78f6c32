#!/usr/bin/env bash
# Records what each tutorial listing prints, into expected/<id>.txt: the
# fixtures tests/cli/listings.rs compares the catalogue's commands against.
# Usage: bash tests/listings/record.sh [DIR-OF-LISTINGS] [ID...]
#   DIR-OF-LISTINGS: the study's runnable listings (default ../shared/tutorials/listings
#   beside the checkout); fixed/ here holds the few this repository fixed itself.
# Needs pyenv with 2.7.18, 3.9.18 and 3.11.7, and gcc. Python runs unbuffered
# (-u) so a fork does not copy pending output (a terminal's behaviour).
# The listings that sleep run at the same time; the whole run takes about 20 s.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:-$here/../../../shared/tutorials/listings}" && pwd) || exit 2
shift $(( $# > 0 ? 1 : 0 ))
out=$here/expected
mkdir -p "$out"

# id  python  file  [args]      (python "c" = compile with gcc; "timeout" = stop it after 3 s)
table='
000-1  3.11.7  t000_fork.py
000-2  3.11.7  t000_process.py
000-3  3.11.7  t000_loopthread_fixed.py
000-4  3.11.7  t000_race.py
000-5  3.11.7  t000_lock.py
000-6  3.11.7  t000_spin.py timeout
001-1  3.9.18  t001_cpu_seq.py 10000000
001-2  3.9.18  t001_cpu_threads.py 10000000
001-3  3.9.18  t001_cpu_procs.py 10000000
001-4  3.9.18  t001_cpu_pool.py 10000000
001-5  3.9.18  t001_io_seq.py
001-6  3.9.18  t001_io_pool.py
001-7  3.9.18  t001_io_procs.py
001-8  3.9.18  t001_asyncio.py
002-1  2.7.18  fixed/t002_process.py
002-2  2.7.18  t002_pool.py
002-3  3.11.7  fixed/t002_subprocess.py
002-4  2.7.18  fixed/t002_thread.py
002-5  2.7.18  t002_race_fixed.py
002-6  2.7.18  t002_lock.py
002-7  2.7.18  t002_spin.py timeout
002-8  2.7.18  t002_bug.py
002-9  2.7.18  t002_fun.py
002-10 2.7.18  t002_fix.py
002-11 2.7.18  t002_poolmap.py
003-1  c       t003_fork.c
003-2  3.11.7  fixed/t003_fork.py
003-3  3.11.7  t003_process.py
003-4  3.11.7  t003_random.py
003-5  3.11.7  t003_pool.py
003-6  3.11.7  t003_queue.py
003-7  3.11.7  t003_thread.py
003-8  3.9.18  t003_nolock.py
003-9  3.9.18  t003_lock.py
003-10 3.9.18  t003_local_var.py
003-11 3.9.18  t003_global_dict.py
003-12 3.9.18  t003_threadlocal.py
004-1  3.11.7  t004_download_proc.py
004-2  3.11.7  t004_naive.py
004-3  3.11.7  t004_queue.py
004-4  3.11.7  t004_download_thread.py
004-5  3.11.7  t004_download_class.py
004-6  3.11.7  t004_bank.py
004-7  3.11.7  t004_bank_lock.py
'

record() { # record <id> <python> <file> [args...]
    local id=$1 py=$2 file=$3; shift 3
    local path=$src/$file
    [[ $file == fixed/* ]] && path=$here/$file
    local work; work=$(mktemp -d)
    mkdir -p "$work/me"  # 002-3 copies a directory named me
    cp "$src/t001_io_common.py" "$work/" 2>/dev/null
    (
        cd "$work" || exit 1
        if [[ $py == c ]]; then
            gcc -o prog "$path" && ./prog
        elif [[ ${1:-} == timeout ]]; then
            PYENV_VERSION=$py timeout -s KILL 3 python -u "$path"
        else
            PYENV_VERSION=$py python -u "$path" "$@"
        fi
    ) > "$out/$id.txt" 2> "$work/stderr"
    echo "recorded $id ($(wc -l < "$out/$id.txt") lines)"
    rm -rf "$work"
}

wanted=" $* "
while read -r id py file args; do
    [[ -z $id ]] && continue
    [[ $# -gt 0 && $wanted != *" $id "* ]] && continue
    # shellcheck disable=SC2086 # args are words
    record "$id" "$py" "$file" $args &
done <<< "$table"
wait
