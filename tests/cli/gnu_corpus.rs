//! pool-run as a drop-in for GNU parallel: commands from GNU parallel's
//! tutorial and examples (`man parallel_tutorial`, `man parallel_examples`),
//! adapted only where they need the network or large files, each run with
//! GNU parallel (the oracle, installed by `.ci/run`) and with pool-run,
//! comparing stdout and exit status. Cases that differ today are listed in
//! `KNOWN_DIFFERENCES` with the reason; every other case must match. The
//! test prints the pass count.

use std::time::Duration;

/// One command line: the arguments after `parallel`, stdin, and whether
/// GNU parallel promises no output order (then both outputs are sorted).
struct Case {
    args: &'static str,
    stdin: &'static str,
    unordered: bool,
}

const fn ordered(args: &'static str) -> Case {
    Case {
        args,
        stdin: "",
        unordered: false,
    }
}

const fn unordered(args: &'static str) -> Case {
    Case {
        args,
        stdin: "",
        unordered: true,
    }
}

const fn piped(stdin: &'static str, args: &'static str) -> Case {
    Case {
        args,
        stdin,
        unordered: false,
    }
}

/// Written by sh in the scratch directory: the arguments are shell words.
const CASES: &[Case] = &[
    unordered("echo ::: A B C"),
    ordered("-k echo ::: A B C"),
    ordered("-k echo {} ::: A B C"),
    ordered("-k echo ::: A B ::: C D"),
    ordered("-k echo {1} {2} ::: A B ::: C D"),
    ordered("-k echo {2} {1} ::: A B ::: C D"),
    ordered("-k echo {1}-{2} ::: A B :::+ C D"),
    // -n with -m/-X: batches of at most N, then what is left spread over
    // the slots; -n0/-N0: one job per record, no value on the line.
    ordered("-j2 -k -m -n4 echo ::: 1 2 3 4 5 6 7"),
    ordered("-j3 -k -X -n2 echo a{}b ::: 1 2 3 4 5"),
    ordered("-j2 -k -m -n0 echo x ::: 1 2 3 4 5"),
    // -s cuts batches first; what is left is spread once it fits one job.
    ordered("-j2 -k -X -s 10 echo ::: 1 2 3 4 5 6"),
    ordered("-j3 -k -m -s 30 echo ::: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"),
    ordered("-k -n0 echo x {} ::: 1 2"),
    ordered("-k -N0 echo y {1} ::: 1 2"),
    // A numbered value the last -N batch lacks: the word goes, not ''.
    ordered("-k -N2 echo {1} {2} x ::: a b c"),
    ordered("-k -N2 'echo {1} {2} x' ::: a b c"),
    // :::+ stops at the shortest source; --link repeats the shorter ones.
    ordered("-k echo {1}-{2} ::: A B C :::+ 1 2"),
    ordered("-k echo {1}-{2}-{3} ::: A B C :::+ 1 2 ::: x y"),
    ordered("-k --link echo {1}-{2} ::: A B C ::: 1 2"),
    ordered("-k echo {.} ::: A.txt B.jpg dir.x/c"),
    ordered("-k echo {/} ::: dir/a.txt b.txt"),
    ordered("-k echo {//} ::: dir/sub/a.txt a.txt"),
    ordered("-k echo {/.} ::: dir/a.txt"),
    ordered("-k echo {#} ::: a b c"),
    ordered("-j1 -k echo {%} ::: a b c"),
    ordered("-k echo {1.} {2/} ::: a.b ::: c/d"),
    ordered("-k -n2 echo ::: A B C D E"),
    ordered("-k -n1 echo ::: a b"),
    ordered("-k -n3 echo {} ::: a b c d e"),
    ordered("-k -X echo pre-{}-post ::: A B C"),
    ordered("-k -X echo ::: a b c"),
    ordered("-j1 -k -m echo ::: A B C"),
    ordered("-k --tag echo ::: A B"),
    ordered("-k --tagstring {}-x echo ::: A B"),
    ordered("-k --tag --colsep , echo {2} ::: a,b"),
    piped("1\n2\n3\n", "-k echo"),
    piped("1\n2\n3\n", "-k echo x{}y"),
    piped("a b\nc d\n", "-k echo"),
    piped("a\0b\0", "-0 -k echo"),
    piped("a,b,c", "-d , -k echo"),
    piped("1\n2\n3\n4\n5\n", "-k -E 3 echo"),
    ordered("-k --colsep , echo {2} {1} ::: a,b c,d"),
    ordered("exit ::: 1 2 3 0"),
    ordered("-k exit ::: 0 0"),
    ordered("--joblog /dev/null -k exit ::: 1 2 0"),
    ordered("--dry-run -k echo ::: a b"),
    ordered("--dryrun -k echo {} x ::: a"),
    ordered("-k -v echo ::: a b"),
    ordered("-k -t echo ::: a"),
    ordered("-k -q echo 'a|b' ::: c"),
    ordered("-k 'echo {} | tr a-z A-Z' ::: ab cd"),
    ordered("-k echo ::: 'a b' 'c d'"),
    ordered("-k -j2 'sleep 0.{}; echo {}' ::: 3 1 2"),
    unordered("-j2 'sleep 0.{}; echo {}' ::: 3 1"),
    ordered("-j1 --halt now,fail=1 'echo {}; exit {}' ::: 0 1 2"),
    ordered("-j1 --halt soon,fail=1 'echo {}; exit {}' ::: 0 1 2"),
    ordered("-j1 --halt now,success=1 'echo {}; exit {}' ::: 1 0 2"),
    ordered("-k --arg-sep ,, echo ,, a b"),
    ordered("-k --arg-file-sep // echo // in.txt"),
    ordered("-k -a in.txt echo"),
    ordered("-k echo :::: in.txt"),
    ordered("-k echo :::: in.txt ::: x y"),
    ordered("-k echo {1}-{2} :::: in.txt ::::+ in2.txt"),
    ordered("-k -a in.txt -a in2.txt echo"),
    piped(
        "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        "-k --pipe --block 1k cat",
    ),
    piped("1\n2\n3\n", "-k --pipe wc -l"),
    ordered("-k --timeout 0.5 'sleep {}; echo {}' ::: 0.1 3"),
    ordered("-j0 -k echo ::: a b"),
    ordered("-j +0 -k echo ::: a b"),
    ordered("-j -1 -k echo ::: a b"),
    ordered("-j 50% -k echo ::: a b"),
    ordered("-P 2 -k echo ::: a b"),
    ordered("-j2 -j1 -k echo {%} ::: a b"),
    ordered("--lb -k echo ::: a"),
    ordered("--linebuffer -k echo ::: a"),
    ordered("--line-buffer -k echo ::: a"),
    ordered("-u echo ::: a"),
    ordered("--group -k echo ::: a"),
    ordered("--will-cite -k echo ::: a"),
    ordered("--no-notice -k echo ::: a"),
    ordered("-k printf '%s\\n' ::: a b"),
    ordered("-k 'echo $(( {} * 2 ))' ::: 1 2"),
    ordered("-k echo ::: \"it's\""),
    ordered("-k echo ::: '$HOME' '`date`'"),
    ordered("-k echo {} {} ::: a"),
    ordered("-k echo ::: a ::: b ::: c"),
    ordered("-k --retries 2 'echo try; false' ::: 1"),
    ordered("-k 'true; exit {}' ::: 0 1 1"),
    ordered("-k sh -c 'echo $0' ::: a b"),
    ordered("-k 'cd /; pwd' ::: x"),
    ordered("-k echo -n ::: a"),
    ordered("-k --results res echo ::: a b"),
    ordered("-k echo ::: a b | head -1"),
    ordered("-k --tag -n2 echo ::: a b c"),
    ordered("-k --link echo ::: A B ::: C D"),
    ordered("-k -I ,, echo ,, ::: A B"),
    ordered("-k -N2 echo ::: A B C D"),
    ordered("-k --trim lr echo ::: ' a '"),
    ordered("-j4 -m -k echo ::: 1 2 3 4 5 6 7 8 9 10"),
    ordered("-k --xapply echo ::: A B C ::: D E"),
    ordered("-k -I {x} echo pre{x}post ::: a b"),
    ordered("-k -I ,, echo ,, {} ::: a"),
    ordered("-k -N2 echo {2} {1} ::: A B C D"),
    ordered("-k -N3 echo ::: A B C D"),
    piped("1\n2\n3\n4\n5\n6\n7\n", "-k --pipe -N3 wc -l"),
    piped("a\nb\nc\n", "-k --pipe -N1 cat"),
    ordered("-k --trim l echo x{}x ::: '  a  '"),
    ordered("-k --trim r echo x{}x ::: '  a  '"),
    ordered("-k --trim n echo x{}x ::: '  a  '"),
    piped("  a  \n b\n", "-k --trim lr echo x{}x"),
    ordered("-k --header : echo {x}-{y} ::: x 1 2 ::: y a b"),
    ordered("-k --header : echo {y/} {x.} ::: x a.b ::: y c/d"),
    ordered("-k --header : --colsep , echo {v}={n} :::: table.csv"),
    ordered("-k --header : --tagstring {n} --colsep , echo {v} :::: table.csv"),
    ordered("-k --wd / pwd ::: a"),
    ordered("-k --nice 7 'ps -o ni= -p $$' ::: a"),
    unordered("--shuf echo ::: 1 2 3 4 5"),
    ordered("-k --env HOME echo ::: a"),
    ordered("-k -j1 --timeout 300% 'sleep {}; echo {}' ::: 0.1 0.1 0.1 0.1 2 0.1"),
    ordered("-k -j1 --timeout 1000% 'sleep {}; echo {}' ::: 0.1 0.1 0.1 0.2"),
    // From the tutorial's input sources chapter.
    ordered("-k echo ::: A B C ::: D E F"),
    ordered("-k echo {1} {2} {3} ::: A B ::: C D ::: E F"),
    ordered("-k echo {3} {2} {1} ::: A ::: B ::: C"),
    ordered("-k -a in.txt -a in2.txt echo {2} {1}"),
    ordered("-k --link -a in.txt -a in2.txt echo"),
    ordered("-k echo :::: in.txt in2.txt"),
    ordered("-k echo ::: A :::: in.txt"),
    piped("A\nB\n", "-k echo :::: - ::: x y"),
    piped("A\nB\n", "-k -a - echo"),
    piped("1\n2\n3\n", "-k echo {} ::: x"),
    // Replacement strings.
    ordered("-k echo {/.} {//} ::: /a/b/c.d.e"),
    ordered("-k echo {.} ::: noext .hidden a.b.c"),
    ordered("-k echo {//} ::: /a /a/ a"),
    ordered("-k echo {#}-{} ::: a b c d e f g h i j k"),
    ordered("-k echo {1/} {2.} ::: x/y.z ::: u/v.w"),
    ordered("-k echo {} ::: '' x"),
    ordered("-k echo pre{}post ::: a"),
    ordered("-k echo '{}' ::: a"),
    ordered(r#"-k echo "{}" ::: 'a b'"#),
    // Quoting: the values are data.
    ordered("-k echo ::: ';' '&' '|' '>' '<'"),
    ordered("-k 'echo {}' ::: '; echo hacked'"),
    ordered("-k echo ::: '*' '?'"),
    ordered("-k echo ::: 'a\\b'"),
    ordered(r#"-k 'printf "%s|\n" {}' ::: 'two words'"#),
    // Output control.
    ordered("-k --tag echo {} ::: a b"),
    ordered("-k --tag 'echo 1; echo 2' ::: x"),
    ordered("-k --tagstring [{#}] 'echo 1; echo 2' ::: x y"),
    ordered("-k 'echo out; echo err >&2' ::: a"),
    ordered("-k -u 'echo {}' ::: a"),
    ordered("-k --line-buffer 'echo {}; echo {}' ::: a b"),
    ordered("-k -j2 'sleep 0.{}; echo {}' ::: 2 1"),
    // Exit status.
    ordered("false ::: a b c"),
    ordered("'exit {}' ::: 0 0 7"),
    ordered("-j1 --halt soon,fail=2 'exit {}' ::: 1 0 1 0"),
    ordered("-j1 --halt now,done=2 'echo {}' ::: a b c"),
    ordered("-j1 --halt now,fail=50% 'exit {}' ::: 0 1 1 1"),
    ordered("no-such-command-here ::: a"),
    ordered("-k 'kill -9 $$' ::: a"),
    // Number of arguments.
    ordered("-k -n 3 echo ::: 1 2 3 4 5 6 7"),
    ordered("-k -N 2 echo {1}+{2} ::: 1 2 3 4 5"),
    ordered("-k -n 2 -j1 echo {} ::: 1 2 3"),
    ordered("-k -X -j1 echo {}x ::: a b"),
    piped("1\n2\n3\n4\n", "-k -n 2 echo"),
    piped("1\n2\n3\n4\n5\n", "-k -N 2 echo"),
    // --pipe.
    piped("a\nb\nc\nd\n", "-k --pipe -N2 sort -r"),
    piped("1\n2\n3\n4\n5\n6\n", "-k --pipe -N 4 wc -l"),
    piped("x;y;z;", "-k --pipe --recend ';' -N1 cat"),
    // Job slots.
    ordered("-k -j3 echo {%} ::: a"),
    ordered("-j1 -k echo {%} {#} ::: a b"),
    ordered("-k -j0 'echo {}' ::: 1 2 3"),
    // --plus.
    ordered("-k --plus echo {+/} {+.} {..} {/...} ::: dir/sub/a.tar.gz.x b c.d"),
    ordered("-k --plus echo {+..}:{+...}:{...}:{/..} ::: a.b.c.d x.y"),
    ordered("-k echo {..} ::: a.b.c"),
    // --plus's bash-like strings, run in perl as GNU parallel runs them.
    ordered("-k --plus echo {##} {0#} {:1:3} {%.gz} {/a/X} {:-def} {^a} ::: a.gz abc.gz ''"),
    ordered(
        "-k --plus echo {#a} '{##*a}' '{%z*}' '{%%.*}' {//a/X} {/#a/X} {/%z/X} {^^a} {,A} {,,A} ::: abazaz AbAz",
    ),
    ordered("-k --plus echo {0#} ::: 1 2 3 4 5 6 7 8 9 10 11"),
    ordered("-k --plus echo {##} ::: a b ::: c d"),
    piped("a\nb\nc\n", "-k --plus echo {##}-{#}"),
    // {= perl expression =} (the tutorial's own examples first).
    ordered(r"-k echo '{= s:\.[^.]+$::;s:\.[^.]+$::; =}' ::: foo.tar.gz"),
    ordered(r"-k echo {= s:\.[^.]+$::\;s:\.[^.]+$::\; =} ::: foo.tar.gz"),
    ordered("-k echo '{= s/a/b/g =}' ::: banana apple"),
    ordered("-k echo '{=2 $_ = uc =}' {1} ::: a b ::: c"),
    ordered("-k echo '{= $_ = \"a b\"; uq() =}' ::: x"),
    ordered("-k echo '{= $_ = $job->seq() =}' ::: x y"),
    ordered("-k echo '{= $_ = total_jobs() =}' ::: a b c"),
    ordered("-k 'echo {= $_ = Q($_) =}' ::: 'a b'"),
    // --rpl, with and without groups.
    ordered(r"-k --rpl '{..} s:\.[^.]+$::;s:\.[^.]+$::;' echo {..} ::: foo.tar.gz"),
    ordered(r"-k --rpl '{%(.+?)} s/$$1$//;' echo {%.tar.gz}.zip ::: foo.tar.gz"),
    ordered(r"-k --rpl '{/(\d+)} s/^.{$$1}//' echo {/2} ::: abcdef"),
    // The default strings renamed.
    ordered("-k -I ,, echo ,, {} ::: x"),
    ordered("-k --er EXT echo EXT {.} ::: a.txt"),
    ordered("-k --extensionreplace EXT echo EXT ::: a.txt"),
    ordered("-k --bnr BN echo BN {/} ::: d/a.txt"),
    ordered("-k --dnr DN echo DN {//} ::: d/a.txt"),
    ordered("-k --bner BNE echo BNE {/.} ::: d/a.txt"),
    ordered("-k --seqreplace SEQ echo SEQ {#} ::: a b"),
    ordered("-j1 -k --slotreplace SL echo SL {%} ::: a b"),
    // Questions about the machine, and GNU parallel's job variables.
    ordered("--number-of-cores"),
    ordered("--number-of-cpus"),
    ordered("--number-of-threads"),
    ordered("--number-of-sockets"),
    ordered("--minversion 20130722"),
    ordered("--minversion 20991231"),
    ordered("--total-jobs 5 --plus echo {##} ::: a b"),
    ordered("-k -j1 'echo $PARALLEL_SEQ $PARALLEL_JOBSLOT' ::: a b"),
    ordered("-k -j1 --process-slot-var SLOTV 'echo $SLOTV' ::: a b"),
    ordered("-k -v --silent echo ::: a"),
    ordered("-k --silent -v echo ::: a"),
    ordered("-k -C , echo {2} ::: a,b"),
    ordered("-k --no-keep-order -j1 echo ::: a b"),
    piped("a\nb\n", "--spreadstdin -k wc -l"),
    piped("a\nb\nc\n", "-k --skip-first-line echo"),
    ordered("-k --skip-first-line echo ::: a b c"),
    // --tee: all of stdin to every job.
    piped("1\n2\n3\n", "-k --pipe --tee wc {} ::: -l -w -c"),
    piped("b\na\nc\n", "-k --pipe --tee sort {} ::: -r -n"),
    // -L, -l, --xargs.
    piped("1\n2\n3\n4\n5\n", "-k -L 2 echo"),
    ordered("-k --max-lines 2 echo ::: a b c"),
    piped("a\nb\nc\n", "-k -l echo"),
    ordered("-k --xargs echo ::: a b c"),
    ordered("-j4 -k --xargs echo ::: a b c d e f g h"),
    ordered("-j4 -k -m echo ::: a b c d e f g h"),
    // -s, -x, the CPUs -j counts, --filter.
    ordered("-k -s 10 -m echo ::: aa bb cc dd ee"),
    ordered("-k -s 20 -X echo ::: aa bb cc dd ee"),
    ordered("-k -x -s 10 -m echo ::: aaaaaaaaaaaa"),
    ordered("--use-cores-instead-of-threads -j 100% --dry-run echo ::: 1"),
    ordered("--use-sockets-instead-of-threads -j +1 -k echo {%} ::: a"),
    ordered("-k --filter '{1} > 1' echo ::: 1 2 3"),
    ordered("-k --filter '\"{}\" =~ /b/' echo ::: ab cd"),
    ordered("-k --filter '{1} < {2}' echo ::: 1 2 3 ::: 1 2 3"),
    // --csv (GNU parallel reads it with perl's Text::CSV).
    ordered(r#"-k --csv echo {2} ::: 'a,"b,c",d' '"x ""q""",y,z'"#),
    ordered(r#"-k --csv --colsep ';' echo {1}-{2} ::: 'a;"b;c"'"#),
    ordered(r#"-k --csv echo ::: 'a,"b,c"'"#),
    ordered("-k --noswap echo ::: a b"),
    ordered("-k --color-failed 'echo {}; exit {}' ::: 0 1"),
    ordered("-k --tag --cf 'printf \"a\\nb\"; exit {}' ::: 1"),
    // --limit: the command's exit code holds starts back (1), lets them go
    // (0), or kills the youngest job (2: joblog -1, signal 15).
    ordered("-k -j2 --limit 'exit 0' echo ::: a b c"),
    ordered("-k -j2 --limit 'echo x >> calls; [ $(wc -l < calls) -gt 3 ]' echo ::: a b c"),
    // (One job left when the limit says 2: GNU parallel asks once per
    // running job, so with two the one it kills depends on timing.)
    ordered(
        "--joblog log -j2 --limit 'if [ -e go ]; then rm go; exit 2; fi; exit 0' ::: 'echo first' 'sleep 1; touch go; sleep 5; echo second'; echo $?; cut -f1,7,8 log",
    ),
    ordered("-k --limit 'mem 1k' echo ::: a b"),
    // --round-robin: -j jobs share the blocks (which job gets which varies
    // in GNU parallel: the sums and the job count are what is promised).
    piped(
        "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        "--pipe -N1 --round-robin -j4 wc -l | awk '{s+=$1} END {print s, NR}'",
    ),
    piped(
        "1\n2\n3\n",
        "-k --pipe -N1 --round-robin -j4 'cat; echo end'",
    ),
    piped(
        "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        "--round --pipe --block 3 -j2 'cat' | sort -n",
    ),
    // (GNU parallel runs one job or two here, as its timing goes.)
    ordered(
        "--pipe-part -a in.txt --block 1 --round-robin -j2 wc -l | awk '{s+=$1} END {print s}'",
    ),
    piped("1\n2\n", "-k --round-robin echo x"),
    // --color, --ctag, --ctagstring: GNU parallel's colour for each job
    // number (307 of them, then round again), a carriage return restarting
    // the colour and the tag.
    ordered("-k --color echo x ::: $(seq 400)"),
    ordered("-k --ctag echo x ::: a b c"),
    ordered("-k --ctagstring T{} echo x ::: a b"),
    ordered("-k --colour 'printf \"a\\nb\"' ::: 1 2"),
    ordered("-k --ctag --cf 'echo a; exit {}' ::: 0 1 0"),
    ordered("-k --lb --ctag echo ::: a b"),
    ordered("-k --ctag 'printf \"a\\rb\\r\\n\"' ::: 1"),
    // --shell-quote: the command lines, quoted GNU parallel's way, not run.
    ordered("-k --shell-quote ::: abc 'a\"b' '' 'x*' \"c'd\" 'a,b' '~u'"),
    ordered("-k --shell-quote echo {} {.} ::: 'a b.c'"),
    ordered("-k --shell-quote --shell-quote ::: 'a b'"),
    ordered("-k --shell-quote -q echo ::: 'a b'"),
    // xargs' old spellings: -e is -E (also on ::: lists), -i is -I.
    ordered("-k -eEND echo ::: 1 2 END 3"),
    piped("1\n2\nEND\n3\n", "-k -eEND echo"),
    ordered("-k -E END echo ::: a END b ::: c"),
    ordered("-k -iXX echo XX ::: b"),
    ordered("-k -s 20 --exit echo ::: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b"),
    // -L with --pipe: a record is N lines.
    piped("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "--pipe -L 3 -k wc -l"),
    piped(
        "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        "--pipe -L 3 --block 10 -k wc -l",
    ),
    piped(
        "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        "--pipe -L 3 -N2 -k wc -l",
    ),
    piped(
        "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        "--pipe -L 2 --block 7 -k 'echo {#}; cat'",
    ),
    // --rrs: the record separators taken out of each block.
    piped(
        "1\n2\n3\n4\n5\n6\n7\n",
        "--pipe --rrs --recend 5 -k 'cat; echo'",
    ),
    piped("a\nb\nc\n", "--pipe -N1 --rrs -k 'od -c'"),
    piped(
        "1\n2\n3\n13\n4\n",
        "--pipe -N2 --removerecsep --recstart 3 -k 'cat; echo'",
    ),
    // --csv: a quoted field may hold newlines.
    piped("a,\"b\nc\",d\nx,y,z\n", "--csv -k echo {2}-{3}"),
    piped("1;\"two\nlines\";3\n", "--csv --colsep ';' -k echo {2}"),
    // --shuf: stdin's records too, all read first (the order is random:
    // sorted, the outputs are the same).
    Case {
        args: "--shuf echo",
        stdin: "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        unordered: true,
    },
    // --compress: the output is the same, through whichever program.
    ordered("-k --compress 'seq {}' ::: 100000 3 | cksum"),
    ordered("-k --compress-program gzip 'seq {}; seq {} >&2' ::: 100000 5 2>/dev/null | cksum"),
    ordered(
        "-k --compress-program 'gzip -1' --decompress-program 'gzip -dc' 'seq {}' ::: 200000 | tail -2",
    ),
    ordered("-k --limit 'load 1000000' echo ::: a b"),
    // --header with --pipe: the input's first lines before every block.
    piped(
        "h x\na 1\na 2\nb 3\n",
        "--pipe --header : -N1 -k 'echo ---; cat'",
    ),
    piped("h x\na 1\na 2\nb 3\n", "--pipe --header 2 -N1 -k cat"),
    piped(
        "h x\na 1\na 2\nb 3\n",
        "--pipe --header : --block 4 -k 'echo ---; cat'",
    ),
    piped(
        "h x\na 1\na 2\nb 3\n",
        "--pipe --header 'h.*\\n' --block 4 -k cat",
    ),
    piped(
        "h x\na 1\na 2\nb 3\n",
        "--pipe --rrs --header : -N2 -k 'cat; echo'",
    ),
    // --group-by: the man page's table.csv examples, and perl values.
    piped(TABLE_CSV_BODY, "--pipe --colsep , --group-by 1 -kN1 wc"),
    piped(
        TABLE_CSV,
        "--pipe --colsep , --header : --group-by UserID -kN1 wc",
    ),
    piped(
        TABLE_CSV,
        "--pipe --colsep , --header : --group-by 'UserID s/\\D//g' -kN1 wc",
    ),
    piped(
        TABLE_CSV,
        "--colsep , --group-by 'UserID s/\\D//g' -kN1 cat",
    ),
    piped(
        "a 1\na 2\nb 3\nc 5\na 6\n",
        "--group-by 1 --colsep ' ' -kN1 'echo ---; cat'",
    ),
    piped("a 1\na 2\nb 3\n", "--group-by 1 -kN1 'echo ---; cat'"),
    piped(
        SEQ_20,
        "--group-by '$_ = int($_/7)' -k --block 10 'echo ---; cat'",
    ),
    piped(
        SEQ_20,
        "--group-by '$_ = int($_/7)' -j2 --round-robin 'wc -l' | sort",
    ),
    piped(
        TABLE_CSV,
        "--pipe --colsep , --header : --group-by 1 -kN1 wc",
    ),
    // --pipe-part's default block: 10 per job slot; -N: N per job slot.
    ordered("--pipe-part -a seq100.txt -k wc -l"),
    ordered("--pipe-part -a seq100.txt --block -1 -k wc -l"),
    ordered("--pipe-part -a seq100.txt --block -3 -j3 -k wc -c"),
    ordered("--pipe-part -a seq100.txt --block 20 --round-robin -k wc -l"),
    // --regexp: --recstart and --recend as perl regexes, line by line with
    // --pipe; a block that --rrs leaves empty starts no job.
    piped(
        FASTA,
        "--pipe --regexp --recstart '^>' -N1 -k 'echo ---; cat'",
    ),
    piped(
        FASTA,
        "--pipe --regexp --recstart '>[ab]' --recend '\\n' -N2 -k 'echo ---; cat'",
    ),
    piped(
        FASTA,
        "--pipe --regexp --recstart '>[ab]' --recend '\\n' --rrs -N1 -k 'echo ---; cat'",
    ),
    piped(
        SEQ_20,
        "--pipe --regexp --recend '[05]\\n' --block 10 -k 'echo ---; cat'",
    ),
    piped("a1b22c3\n", "--pipe --regex --recend '[0-9]+' --rrs cat"),
    piped(
        SEQ_20,
        "--pipe --regexp --recend '' -N3 -k 'echo ---; cat; echo'",
    ),
    piped("a\n\nb\n", "--pipe -N1 --rrs -k 'echo {#}; cat; echo'"),
    ordered("--pipe-part -a fasta.txt --regexp --recstart '^>' --block 3 -k 'echo ---; cat'"),
    ordered(
        "--pipe-part -a seq100.txt --regexp --recend '0\\n' --recstart '[35]' --block 50 -k wc -l",
    ),
    // --shard: which job a value goes to is random (a seeded hash), but
    // each value's lines meet in one job; --bin: value modulo -j, 0 last.
    piped(
        SHARD_INPUT,
        "--pipe --shard 1 -j3 'cut -d, -f1 | sort -u' | sort",
    ),
    piped(
        SHARD_INPUT,
        "--pipe --shard 2 -j4 'wc -l' | awk '{ s += $1 } END { print s }'",
    ),
    piped(
        SHARD_INPUT,
        "--pipe --bin 1 -j3 -k 'sort -u -t, -k1,1n | cut -d, -f1'",
    ),
    piped(
        SHARD_INPUT,
        "--pipe --bin '1 $_ *= 2' -j3 -k 'cut -d, -f1 | sort -u'",
    ),
    piped(TABLE_CSV, "--pipe --colsep , --bin UserID -j2 -k cat"),
    piped(
        "a 1\nb 2\nc 5\nd 4\n",
        "--pipe --bin 2 --colsep ' ' -j2 -k cat",
    ),
    // --pipe-part with --header, --skip-first-line and --group-by (its cuts
    // found by bisection, never splitting a group).
    ordered("--pipe-part -a usage.csv --header : --block 20 -k 'echo ---; cat'"),
    ordered("--pipe-part -a usage.csv --header 2 --block 30 -k 'echo ---; cat'"),
    ordered("--pipe-part -a usage.csv --skip-first-line --block 30 -k 'echo ---; cat'"),
    ordered("--pipe-part -a groups.csv --colsep , --group-by 1 --block 100 -k 'echo ---; cat'"),
    ordered("--pipe-part -a groups.csv --colsep , --group-by 1 --block 37 -k wc -l"),
    ordered(
        "--pipe-part -a groups.csv --colsep , --group-by '1 $_ = int($_/3)' --block 200 -k wc -l",
    ),
    ordered("--pipe-part -a groups.csv --group-by '$_ = substr($_,0,1)' --block 200 -k wc -l"),
    ordered("--pipe-part -a usage.csv --colsep , --header : --group-by 1 -k 'echo ---; cat'"),
    ordered("--pipe-part -a usage.csv --colsep , --group-by UserID -k 'echo ---; cat'"),
    // -L / -l: a line ending in a blank goes on with the next (xargs'
    // rule); -l takes a number only when one follows.
    piped("a \nb \nc\nd\n", "-k -L 1 -q printf '[%s]'"),
    piped("a \nb\nc\nd\ne \n", "-k -L 2 echo"),
    piped("a\nb\nc\n", "-k -l 2 echo"),
    piped("a\nb\nc\n", "-k -l2 echo"),
    piped("a \nb\nc\n", "-k -l echo"),
    // --hostgroups: the argument's groups cut off and in the job's
    // environment (-S : is this machine, in group g).
    ordered("--hostgroups -S @g/: -k 'echo $PARALLEL_ARGHOSTGROUPS' ::: a@g b@g"),
    // --compress with --files and --results: the kept files are compressed.
    ordered("--tmpdir . --files --compress-program gzip -k echo ::: a b | xargs gzip -dc"),
    ordered("--results res --compress-program gzip echo ::: a >/dev/null; gzip -dc res/1/a/stdout"),
];

/// key,n lines for --shard and --bin: keys 0..6 over 28 lines.
const SHARD_INPUT: &str = "1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n0,7\n1,8\n2,9\n3,10\n4,11\n5,12\n6,13\n0,14\n1,15\n2,16\n3,17\n4,18\n5,19\n6,20\n0,21\n1,22\n2,23\n3,24\n4,25\n5,26\n6,27\n0,28\n";

const SEQ_100: &str = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n21\n22\n23\n24\n25\n26\n27\n28\n29\n30\n31\n32\n33\n34\n35\n36\n37\n38\n39\n40\n41\n42\n43\n44\n45\n46\n47\n48\n49\n50\n51\n52\n53\n54\n55\n56\n57\n58\n59\n60\n61\n62\n63\n64\n65\n66\n67\n68\n69\n70\n71\n72\n73\n74\n75\n76\n77\n78\n79\n80\n81\n82\n83\n84\n85\n86\n87\n88\n89\n90\n91\n92\n93\n94\n95\n96\n97\n98\n99\n100\n";
/// FASTA records, some not selected by `>[ab]`, after a line of junk.
const FASTA: &str = "junk\n>a\nxx\n>c\nyy\n>b\nzz\nzz\n>a\nq\n";
const SEQ_20: &str = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n";

/// The man page's --group-by table.
const TABLE_CSV: &str =
    "UserID, Consumption\n123,    1\n123,    2\n12-3,   1\n221,    3\n221,    1\n2/21,   5\n";
const TABLE_CSV_BODY: &str = "123,    1\n123,    2\n12-3,   1\n221,    3\n221,    1\n2/21,   5\n";

/// Cases pool-run answers differently today, and why (the compatibility
/// issue's remaining work; each is named in the README's table).
const FILTERED_ARE_NOT_FAILED: &str = "differs on purpose: GNU 20221122 exits with the number of jobs --filter left out, as if they had failed; pool-run exits 0 (no job failed: GNU documents the exit status as the failed jobs)";

const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "--pipe-part -a usage.csv --colsep , --group-by UserID -k 'echo ---; cat'",
        "differs on purpose: GNU 20221122's --pipe-part reads a --group-by column name from the header line, then cuts that line into the first group as data; pool-run gives it to every job, as both tools do with --pipe",
    ),
    (
        "--pipe --colsep , --header : --group-by 1 -kN1 wc",
        "differs on purpose: GNU 20221122 reads the header after its --group-by filter, so its random group marker ends up inside the header every job gets (20 bytes more per job); pool-run reads the header first and gives it unchanged",
    ),
    (
        "-k --filter '{1} > 1' echo ::: 1 2 3",
        FILTERED_ARE_NOT_FAILED,
    ),
    (
        "-k --filter '\"{}\" =~ /b/' echo ::: ab cd",
        FILTERED_ARE_NOT_FAILED,
    ),
    (
        "-k --filter '{1} < {2}' echo ::: 1 2 3 ::: 1 2 3",
        FILTERED_ARE_NOT_FAILED,
    ),
    (
        "-k echo ::: 'a\\b'",
        "depends on the calling shell: GNU parallel runs echo in the shell it was called from, and dash's echo turns \\b into a backspace while bash's does not; pool-run runs /bin/echo, which prints what bash users see",
    ),
    (
        "-j1 --halt now,done=2 'echo {}' ::: a b c",
        "differs on purpose: GNU 20221122 exits 101 here with no failed job, against its own documented scheme; pool-run exits 0 (no job failed)",
    ),
    (
        "-j1 --halt now,fail=50% 'exit {}' ::: 0 1 1 1",
        "differs on purpose: GNU 20221122 exits 50 (the percentage) here; pool-run exits with the number of failed jobs, as GNU documents",
    ),
    (
        "-k --results res echo ::: a b",
        "differs on purpose: pool-run also prints the output (GNU 20221122 prints nothing; its manual's examples show output); --results is a copy, not a redirect",
    ),
];

/// stdout and exit code of `program ARGS` run by sh in `dir`.
fn run(dir: &std::path::Path, program: &str, case: &Case) -> (String, Option<i32>) {
    let out = crate::support::shell(
        &format!("cd {} && {program} {}", dir.display(), case.args),
        case.stdin.as_bytes(),
        Duration::from_secs(30),
    );
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if case.unordered {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        text = lines.join("\n");
    }
    (text, out.status.code())
}

#[test]
fn gnu_parallels_documented_commands_give_its_output() {
    let Some(parallel) = crate::reliability::gnu_parallel() else {
        return;
    };
    let pool_run = crate::support::bin_path("pool-run");
    let (mut same, mut differ) = (0, Vec::new());
    for case in CASES {
        let ours_dir = tempfile::tempdir().unwrap();
        let theirs_dir = tempfile::tempdir().unwrap();
        for dir in [ours_dir.path(), theirs_dir.path()] {
            std::fs::write(dir.join("in.txt"), "f1\nf2\n").unwrap();
            std::fs::write(dir.join("in2.txt"), "g1\ng2\n").unwrap();
            std::fs::write(dir.join("table.csv"), "n,v\na,1\nb,2\n").unwrap();
            std::fs::write(dir.join("seq100.txt"), SEQ_100).unwrap();
            std::fs::write(dir.join("fasta.txt"), FASTA).unwrap();
            std::fs::write(dir.join("usage.csv"), TABLE_CSV).unwrap();
            let groups: String = (1..=300).map(|i| format!("{},{i}\n", i / 7)).collect();
            std::fs::write(dir.join("groups.csv"), groups).unwrap();
        }
        let theirs = run(theirs_dir.path(), &format!("{parallel} --will-cite"), case);
        let ours = run(ours_dir.path(), &pool_run.display().to_string(), case);
        if ours == theirs {
            same += 1;
            assert!(
                !KNOWN_DIFFERENCES.iter().any(|(args, _)| *args == case.args),
                "`{}` now matches: take it off KNOWN_DIFFERENCES",
                case.args
            );
        } else {
            differ.push((case.args, ours, theirs));
        }
    }
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "GNU parallel corpus: {same} of {} commands give GNU parallel's output and exit status\n",
            CASES.len()
        )
        .as_bytes(),
    );
    let unexplained: Vec<String> = differ
        .iter()
        .filter(|(args, _, _)| !KNOWN_DIFFERENCES.iter().any(|(known, _)| known == args))
        .map(|(args, ours, theirs)| {
            format!("`{args}`:\n  pool-run: {ours:?}\n  GNU:      {theirs:?}")
        })
        .collect();
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}
