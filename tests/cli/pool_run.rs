//! pool-run as users run it (first step: inputs, placeholders, quoting,
//! grouping, order, exit statuses, streaming, Ctrl-C, bad input).

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::support::{Running, pid_exists, stderr_lines, tool};

fn pool_run() -> assert_cmd::Command {
    tool("pool-run")
}

fn stdout_of(args: &[&str]) -> String {
    crate::support::success_stdout("pool-run", args)
}

#[test]
fn placeholders_fill_like_gnu_parallel() {
    let cases: &[(&str, &str)] = &[
        ("{}", "dir/sub/file.tar.gz"),
        ("{.}", "dir/sub/file.tar"),
        ("{/}", "file.tar.gz"),
        ("{//}", "dir/sub"),
        ("{/.}", "file.tar"),
        ("{#}", "1"),
        ("{%}", "1"),
        ("{1}", "dir/sub/file.tar.gz"),
        ("{1/.}", "file.tar"),
        ("x{}y", "xdir/sub/file.tar.gzy"),
    ];
    for (placeholder, expected) in cases {
        let text = stdout_of(&[
            "--dry-run",
            "echo",
            placeholder,
            ":::",
            "dir/sub/file.tar.gz",
        ]);
        assert_eq!(
            text,
            format!("echo {}\n", crate_quote(expected)),
            "{placeholder}"
        );
    }
}

/// What --dry-run shows for a word: quoted like the shell would need it.
fn crate_quote(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c))
    {
        word.to_string()
    } else {
        format!("'{word}'")
    }
}

#[test]
fn no_placeholder_appends_and_jobs_number_in_order() {
    assert_eq!(
        stdout_of(&["-k", "echo", "x", ":::", "a", "b"]),
        "x a\nx b\n"
    );
    assert_eq!(
        stdout_of(&["-k", "-j1", "echo", "{#}", ":::", "a", "b", "c"]),
        "1\n2\n3\n"
    );
}

#[test]
fn cartesian_and_linked_sources() {
    assert_eq!(
        stdout_of(&["-k", "echo", ":::", "a", "b", ":::", "1", "2"]),
        "a 1\na 2\nb 1\nb 2\n"
    );
    assert_eq!(
        stdout_of(&["-k", "echo", "{2}{1}", ":::", "a", "b", ":::+", "1", "2"]),
        "1a\n2b\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inputs");
    std::fs::write(&file, "x\ny\n").unwrap();
    let path = file.to_str().unwrap();
    assert_eq!(
        stdout_of(&["-k", "echo", ":::", "1", "::::", path]),
        "1 x\n1 y\n"
    );
    assert_eq!(stdout_of(&["-k", "-a", path, "echo"]), "x\ny\n");
}

#[test]
fn stdin_lines_and_nul_records() {
    let out = pool_run()
        .args(["-k", "echo", "got"])
        .write_stdin("a b\nc\n")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "got a b\ngot c\n",
        "a line is one argument"
    );
    let out = pool_run()
        .args(["-0", "-k", "echo"])
        .write_stdin("x\ny\0z\0")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "x\ny\nz\n");
}

#[test]
fn hostile_input_stays_data_in_shell_commands() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let hostile = format!("; touch {}", canary.display());
    let text = stdout_of(&["-k", "echo {} | cat", ":::", &hostile, "$(id)", "it's"]);
    assert_eq!(text, format!("{hostile}\n$(id)\nit's\n"));
    assert!(!canary.exists(), "input text ran as code");
}

#[test]
fn no_command_runs_each_line_as_a_command() {
    assert_eq!(
        stdout_of(&["-k", ":::", "echo one", "echo two | tr o 0"]),
        "one\ntw0\n"
    );
}

#[test]
fn keep_order_under_reversed_durations() {
    let text = stdout_of(&["-k", "-j3", "sleep {}; echo {}", ":::", "0.3", "0.2", "0.1"]);
    assert_eq!(text, "0.3\n0.2\n0.1\n");
}

#[test]
fn concurrent_large_outputs_are_never_interleaved() {
    let out = pool_run()
        .args([
            "-j2",
            "head -c 1000000 /dev/zero | tr '\\0' {}",
            ":::",
            "a",
            "b",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.len(), 2_000_000, "nothing lost");
    let first = text.as_bytes()[0];
    assert!(text[..1_000_000].bytes().all(|b| b == first), "interleaved");
    assert!(text[1_000_000..].bytes().all(|b| b != first), "interleaved");
}

#[test]
fn exit_status_counts_failed_jobs() {
    pool_run()
        .args(["exit {}", ":::", "0", "0"])
        .assert()
        .code(0);
    pool_run()
        .args(["exit {}", ":::", "0", "1"])
        .assert()
        .code(1);
    pool_run()
        .args(["exit {}", ":::", "1", "2", "255"])
        .assert()
        .code(3);
    pool_run()
        .args(["sh", "-c", "kill -9 $$", ":::", "a"])
        .assert()
        .code(1);
    let many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    let mut args = vec!["false".to_string(), ":::".to_string()];
    args.extend(many);
    pool_run().args(&args).assert().code(101);
}

#[test]
fn missing_command_is_a_failed_job_with_one_line() {
    let out = pool_run()
        .args(["-k", "prockit-no-such-command", ":::", "a", "b"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].ends_with("cannot run 'prockit-no-such-command': command not found"),
        "{lines:?}"
    );
}

#[test]
fn jobs_start_as_input_streams_in() {
    let (running, mut stdin) = Running::start_with_stdin("pool-run", &["echo"]);
    stdin.write_all(b"first\n").unwrap();
    stdin.flush().unwrap();
    // Input is still open: only streaming can print this line now.
    assert_eq!(running.next_line(), "first");
    stdin.write_all(b"second\n").unwrap();
    drop(stdin);
    let (status, rest, _) = running.finish();
    assert!(status.success());
    assert_eq!(rest, "second\n");
}

#[test]
fn sigint_leaves_no_process_of_any_job() {
    let running = Running::start(
        "pool-run",
        &[
            "-u",
            "-j2",
            "sleep 100 & echo $!; echo $$; wait; : {}",
            ":::",
            "1",
            "2",
        ],
    );
    let pids: Vec<u32> = (0..4)
        .map(|_| running.next_line().parse().unwrap())
        .collect();
    assert!(pids.iter().all(|&pid| pid_exists(pid)));
    running.signal(libc::SIGINT);
    let (status, _, stderr) = running.finish();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    assert_eq!(
        stderr,
        "pool-run: stopped by SIGINT: 0 jobs done (0 failed), 2 running jobs stopped\n"
    );
    for pid in pids {
        assert!(!pid_exists(pid), "process {pid} of a job survived");
    }
}

#[test]
fn bad_jobs_value_is_one_line_and_255() {
    let out = pool_run()
        .args(["-j", "abc", "echo"])
        .assert()
        .code(255)
        .stdout("")
        .get_output()
        .clone();
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("pool-run: error: ") && lines[0].contains("'abc'"),
        "{lines:?}"
    );
    pool_run().args(["echo", ":::"]).assert().code(255);
}

#[test]
fn timeout_kills_the_jobs_whole_group() {
    let out = pool_run()
        .args([
            "--timeout",
            "300ms",
            "sleep 100 & echo $!; sleep 100; : {}",
            ":::",
            "a",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let grandchild = crate::support::printed_pid(&out);
    assert!(
        !pid_exists(grandchild),
        "the timed-out job's grandchild {grandchild} survived"
    );
}

#[test]
fn retries_run_a_failed_job_again_and_print_its_last_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("count");
    let script = format!(
        ": {{}}; echo x >> {0}; n=$(wc -l < {0}); echo attempt $n; test $n -ge 3",
        counter.display()
    );
    let out = pool_run()
        .args(["--retries", "5", &script, ":::", "a"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "attempt 3\n");
    pool_run()
        .args(["--retries", "1", "false", ":::", "a", "b"])
        .assert()
        .code(2);
}

#[test]
fn halt_now_stops_at_the_first_failure_with_its_status() {
    let out = pool_run()
        .args([
            "-j1",
            "-k",
            "--halt",
            "now,fail=1",
            "echo {}; exit {}",
            ":::",
            "0",
            "3",
            "0",
            "0",
        ])
        .assert()
        .code(3)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "0\n3\n",
        "no job started after the failure"
    );
}

#[test]
fn halt_now_kills_running_jobs_and_soon_lets_them_finish() {
    // Job 1 fails at once while job 2 sleeps: now kills job 2, soon waits for it.
    let now = pool_run()
        .args([
            "-j2",
            "--halt",
            "now,fail=1",
            "sleep {}; echo done {}; exit 1",
            ":::",
            "0",
            "0.5",
        ])
        .assert()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(now.stdout).unwrap(), "done 0\n");
    let soon = pool_run()
        .args([
            "-j2",
            "-k",
            "--halt",
            "soon,fail=1",
            "sleep {}; echo done {}; exit 1",
            ":::",
            "0",
            "0.5",
            "0",
        ])
        .assert()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(soon.stdout).unwrap(),
        "done 0\ndone 0.5\n",
        "the third job never started"
    );
}

#[test]
fn joblog_has_gnu_parallels_columns_and_resume_skips_what_it_lists() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("jobs.log");
    let log = log.to_str().unwrap();
    pool_run()
        .args(["-k", "--joblog", log, "exit {}", ":::", "0", "1", "0"])
        .assert()
        .code(1);
    let text = std::fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"
    );
    assert_eq!(lines.len(), 4);
    let mut rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split('\t').collect()).collect();
    rows.sort_by_key(|r| r[0].to_string());
    for (row, (seq, exitval, command)) in rows.iter().zip([
        ("1", "0", "exit 0"),
        ("2", "1", "exit 1"),
        ("3", "0", "exit 0"),
    ]) {
        assert_eq!(row.len(), 9, "{row:?}");
        assert_eq!(
            (row[0], row[1], row[6], row[7], row[8]),
            (seq, ":", exitval, "0", command)
        );
        assert!(row[2].parse::<f64>().unwrap() > 1.6e9, "epoch start time");
        assert!(row[3].trim().parse::<f64>().unwrap() >= 0.0);
    }
    // --resume-failed runs only job 2 again; --resume then runs nothing.
    let out = pool_run()
        .args([
            "-k",
            "--joblog",
            log,
            "--resume-failed",
            "echo {}",
            ":::",
            "0",
            "1",
            "0",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1\n");
    let out = pool_run()
        .args(["--joblog", log, "--resume", "echo {}", ":::", "0", "1", "0"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
}

#[test]
fn json_gives_one_object_per_finished_job() {
    let out = pool_run()
        .args([
            "-k",
            "--json",
            "echo out {}; echo err >&2; exit 4",
            ":::",
            "a",
            "b",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["seq"], 1);
    assert_eq!(rows[0]["args"], serde_json::json!(["a"]));
    assert_eq!(rows[0]["exit_code"], 4);
    assert_eq!(rows[0]["stdout"], "out a\n");
    assert_eq!(rows[0]["stderr"], "err\n");
    assert!(rows[1]["wall_s"].as_f64().unwrap() >= 0.0);
}

#[test]
fn several_records_per_job() {
    assert_eq!(
        stdout_of(&["-k", "-n", "2", "echo", ":::", "a", "b", "c"]),
        "a b\nc\n"
    );
    // A lone {} becomes one word per record; inside a word they are joined.
    assert_eq!(
        stdout_of(&["-n", "2", "printf", "%s:", "{}", ":::", "a", "b"]),
        "a:b:"
    );
    assert_eq!(
        stdout_of(&["-n", "2", "printf", "%s:", "x{}", ":::", "a", "b"]),
        "xa b:"
    );
    assert_eq!(
        stdout_of(&["-j1", "-X", "echo", "x{}y", ":::", "a", "b", "c"]),
        "xay xby xcy\n"
    );
    assert_eq!(
        stdout_of(&["-j1", "-m", "echo", "{}", ":::", "a", "b", "c"]),
        "a b c\n"
    );
    // Input known up front spreads over the job slots, as in GNU parallel.
    assert_eq!(
        stdout_of(&[
            "-j4", "-k", "-m", "echo", ":::", "1", "2", "3", "4", "5", "6", "7"
        ]),
        "1 2\n3 4\n5 6\n7\n"
    );
    let out = pool_run()
        .args(["-k", "-n", "3", "echo"])
        .write_stdin("1\n2\n3\n4\n")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1 2 3\n4\n");
}

#[test]
fn colsep_splits_records_into_numbered_columns() {
    let out = pool_run()
        .args(["-k", "--colsep", ",\\s*", "echo", "{2}={1}"])
        .write_stdin("a, 1\nb,2\n")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1=a\n2=b\n");
    pool_run()
        .args(["--colsep", "(", "echo"])
        .assert()
        .code(255);
}

#[test]
fn results_saves_each_jobs_output_in_gnu_parallels_tree() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("out");
    pool_run()
        .args([
            "-k",
            "--results",
            results.to_str().unwrap(),
            "echo out {}; echo err {} >&2",
            ":::",
            "a",
            "b/c",
        ])
        .assert()
        .success()
        .stdout("out a\nout b/c\n");
    assert_eq!(
        std::fs::read_to_string(results.join("1/a/stdout")).unwrap(),
        "out a\n"
    );
    assert_eq!(
        std::fs::read_to_string(results.join("1/a/stderr")).unwrap(),
        "err a\n"
    );
    assert_eq!(
        std::fs::read_to_string(results.join("1/a/seq")).unwrap(),
        "1\n"
    );
    assert_eq!(
        std::fs::read_to_string(results.join("1/b_c/stdout")).unwrap(),
        "out b/c\n"
    );
}

#[test]
fn termseq_chooses_the_timeout_signals_and_a_timed_out_job_fails() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let out = pool_run()
        .args([
            "--timeout",
            "200ms",
            "--termseq",
            "INT,100,KILL,10",
            "--joblog",
            log.to_str().unwrap(),
        ])
        .args([
            "trap 'echo got INT; exit 0' INT; sleep 10 & wait; : {}",
            ":::",
            "x",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "got INT\n",
        "INT came first"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(row[6], "-1", "a timed-out job logs Exitval -1: {row:?}");
}

#[test]
fn pipe_splits_stdin_into_blocks_of_whole_records_in_order() {
    let input: String = (1..=20_000).map(|i| format!("{i}\n")).collect();
    let out = pool_run()
        .args(["--pipe", "--block", "10k", "-k", "cat"])
        .write_stdin(input.clone())
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        input,
        "-k keeps block order, nothing lost"
    );
    let out = pool_run()
        .args(["--pipe", "--block", "10k", "-k", "wc -l"])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .clone();
    let counts: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(counts.len() > 5, "several blocks: {counts:?}");
    assert_eq!(
        counts.iter().sum::<u64>(),
        20_000,
        "every record in exactly one block"
    );
}

#[test]
fn pipe_cuts_at_the_record_end_given() {
    let out = pool_run()
        .args([
            "--pipe",
            "--block",
            "1",
            "--recend",
            "\\n--\\n",
            "-k",
            "cat; echo '|'",
        ])
        .write_stdin("a\n--\nb\n--\nc\n")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "a\n--\n|\nb\n--\n|\nc\n|\n"
    );
}

#[test]
fn jobs_inherit_no_descriptor_beyond_stdin_stdout_stderr() {
    let text = stdout_of(&["ls /proc/self/fd; : {}", ":::", "x"]);
    // ls itself opens one descriptor for the directory it lists.
    let fds: Vec<u32> = text.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(&fds[..3], &[0, 1, 2], "{fds:?}");
    assert!(fds.len() <= 4, "leaked descriptors: {fds:?}");
}

#[test]
fn line_buffer_prints_lines_as_they_come() {
    // Job 1's first line comes out before job 2 ends, although job 1 ends last.
    let text = stdout_of(&[
        "-j2",
        "--line-buffer",
        "echo start {}; sleep 0.{}; echo end {}",
        ":::",
        "3",
        "1",
    ]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let start_3 = lines.iter().position(|l| *l == "start 3").unwrap();
    let end_1 = lines.iter().position(|l| *l == "end 1").unwrap();
    assert!(start_3 < end_1, "{lines:?}");
    assert_eq!(lines.last(), Some(&"end 3"));
}

/// --memfree, --memsuspend and --load (GNU parallel's E7) hold starts
/// back while the machine is short, but never the only job: with limits no
/// machine meets, jobs still run, one at a time, in order. (GNU parallel
/// 20221122 starts nothing under such a --memsuspend and waits forever.)
#[test]
fn admission_limits_hold_jobs_back_but_never_the_only_one() {
    for (flag, value) in [
        ("--memfree", "1000000G"),
        ("--memsuspend", "1000000G"),
        ("--load", "0"),
    ] {
        let text = stdout_of(&[
            "-j4",
            flag,
            value,
            "echo {}; sleep 0.1",
            ":::",
            "a",
            "b",
            "c",
        ]);
        assert_eq!(text, "a\nb\nc\n", "{flag}: one after another, in order");
    }
}

/// The lines come through pool-run (--line-buffer), so each job is known
/// to the watchdog before its line is seen. (With -u a job can print in
/// the microseconds between its spawn and its registration: the gap
/// HACKING.md names.)
#[test]
fn jobs_do_not_outlive_a_sigkilled_pool_run() {
    let mut running = Running::start(
        "pool-run",
        &[
            "--line-buffer",
            "-j2",
            "sleep 100 & echo $!; sleep 100; : {}",
            ":::",
            "1",
            "2",
        ],
    );
    let pids: Vec<u32> = (0..2)
        .map(|_| running.next_line().parse().unwrap())
        .collect();
    running.signal(libc::SIGKILL);
    let status = running.wait_status();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    for pid in pids {
        assert!(
            crate::support::wait_until_not_running(pid, std::time::Duration::from_secs(10)),
            "job process {pid} kept running after pool-run was killed"
        );
    }
}

#[test]
fn a_background_grandchild_holding_the_output_does_not_hang_the_run() {
    let out = pool_run()
        .args(["sleep 100 & echo $!; : {}", ":::", "a"])
        .assert()
        .success()
        .get_output()
        .clone();
    let grandchild = crate::support::printed_pid(&out);
    assert!(
        !pid_exists(grandchild),
        "the grandchild {grandchild} was left running"
    );
}

#[test]
fn tag_prefixes_every_line_with_the_values() {
    let text = stdout_of(&["-k", "--tag", "printf 'x\\ny\\n'; : {}", ":::", "a", "b"]);
    assert_eq!(text, "a\tx\na\ty\nb\tx\nb\ty\n");
}

#[test]
fn orphans_of_a_job_are_reaped_while_the_run_goes_on() {
    // Job 1 leaves a short-lived background process (not holding its output)
    // and prints its pid; pool-run adopts it as subreaper when job 1 ends and
    // must reap it when it dies, not leave a zombie until the run is over.
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let script = format!(
        "case {{}} in \
           1) sleep 0.2 </dev/null >/dev/null 2>&1 & echo $!;; \
           2) until [ -e '{go}' ]; do sleep 0.01; done;; \
         esac",
        go = go.display()
    );
    let running = Running::start(
        "pool-run",
        &["-j2", "--timeout", "20s", &script, ":::", "1", "2"],
    );
    let orphan: u32 = running.next_line().parse().unwrap();
    let gone = crate::support::wait_until_gone(orphan, std::time::Duration::from_secs(10));
    std::fs::write(&go, b"").unwrap();
    let (status, _, _) = running.finish();
    assert!(status.success(), "{status:?}");
    assert!(gone, "the orphan {orphan} stayed a zombie while job 2 ran");
}

#[test]
fn tagstring_fills_placeholders_into_the_prefix() {
    let text = stdout_of(&[
        "-k",
        "--tagstring",
        "job{#} {/.}:",
        "printf 'x\\ny\\n'; : {}",
        ":::",
        "d/a.txt",
        "d/b.txt",
    ]);
    assert_eq!(text, "job1 a:\tx\njob1 a:\ty\njob2 b:\tx\njob2 b:\ty\n");
}

#[test]
fn line_buffer_with_keep_order_streams_only_the_job_whose_turn_it_is() {
    // Job 2 ends first; job 1 prints a line only after that, then blocks until
    // the test has seen that line. Under -k, job 1's line must come out while
    // it still runs, and job 2's output must wait until job 1 is done.
    let dir = tempfile::tempdir().unwrap();
    let two_done = dir.path().join("two-done");
    let go = dir.path().join("go");
    let script = format!(
        "case {{}} in \
           1) until [ -e '{two}' ]; do sleep 0.01; done; echo one-a; \
              until [ -e '{go}' ]; do sleep 0.01; done; echo one-b;; \
           2) echo two; touch '{two}';; \
         esac",
        two = two_done.display(),
        go = go.display()
    );
    let running = Running::start(
        "pool-run",
        &[
            "-j2",
            "-k",
            "--line-buffer",
            "--timeout",
            "20s",
            &script,
            ":::",
            "1",
            "2",
        ],
    );
    assert_eq!(
        running.next_line(),
        "one-a",
        "job 1 prints live, job 2 waits"
    );
    std::fs::write(&go, b"").unwrap();
    let (status, rest, _) = running.finish();
    assert!(status.success(), "{status:?}");
    assert_eq!(rest, "one-b\ntwo\n");
}

#[test]
fn sighup_finishes_running_jobs_and_starts_no_more() {
    let running = Running::start(
        "pool-run",
        &[
            "-j1",
            "-u",
            "echo started {}; sleep 0.5; echo ended {}",
            ":::",
            "1",
            "2",
            "3",
        ],
    );
    assert_eq!(running.next_line(), "started 1");
    running.signal(libc::SIGHUP);
    let (status, rest, _) = running.finish();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(
        rest, "ended 1\n",
        "job 1 finished, jobs 2 and 3 never started"
    );
}

/// On a terminal the bar steps aside for every job's output: each output
/// line stands alone, and the bar's last state is the last line.
#[test]
fn the_bar_on_a_terminal_never_shares_a_line_with_output() {
    use crate::support::pty::Pty;
    let mut command = std::process::Command::new(crate::support::bin_path("pool-run"));
    command.args(["--bar", "-k", "-j1", "echo", "out-{}", ":::", "a", "b", "c"]);
    let mut pty = Pty::spawn(command);
    let status = pty.wait_and_keep(std::time::Duration::from_secs(20));
    assert!(status.success());
    let screen = pty.screen();
    let lines = crate::support::pty::visible_lines(&screen);
    assert_eq!(lines[..3], ["out-a", "out-b", "out-c"], "{screen:?}");
    assert_eq!(lines.len(), 4, "{screen:?}");
    assert!(
        lines[3].starts_with("100% 3/3 done, 0 running, 0 failed"),
        "{screen:?}"
    );

    // TERM=dumb: a terminal that cannot erase a line gets no bar.
    let mut command = std::process::Command::new(crate::support::bin_path("pool-run"));
    command
        .env("TERM", "dumb")
        .args(["--bar", "-k", "echo", ":::", "a", "b"]);
    let mut pty = Pty::spawn(command);
    assert!(
        pty.wait_and_keep(std::time::Duration::from_secs(20))
            .success()
    );
    let screen = pty.screen();
    assert!(
        !screen.contains('\x1b') && !screen.contains("done,"),
        "{screen:?}"
    );
}

/// Off a terminal there is no bar (no carriage return, no escape code)
/// unless it is forced, and then it is plain lines.
#[test]
fn the_bar_off_a_terminal_is_absent_unless_forced() {
    let run = |bar: &str| {
        let out = pool_run()
            .args([bar, "-k", "echo", ":::", "a", "b"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(out.stdout, b"a\nb\n", "the bar never touches stdout");
        String::from_utf8(out.stderr).unwrap()
    };
    assert_eq!(run("--bar"), "");
    let forced = run("--bar=always");
    assert!(!forced.contains(['\r', '\x1b']), "{forced:?}");
    assert!(
        forced.lines().last().unwrap().starts_with("100% 2/2 done"),
        "{forced:?}"
    );
}

/// `pool-run echo` on a terminal waits for the user's lines: it says so.
#[test]
fn reading_input_from_a_terminal_is_announced_once() {
    use crate::support::pty::Pty;
    let mut command = std::process::Command::new(crate::support::bin_path("pool-run"));
    command.args(["-k", "echo", "got"]);
    let mut pty = Pty::spawn(command);
    pty.wait_for("end it with Ctrl-D", std::time::Duration::from_secs(10));
    pty.type_keys(b"x\n");
    pty.wait_for("got x", std::time::Duration::from_secs(10));
    pty.type_keys(b"\x04");
    let status = pty.wait_and_keep(std::time::Duration::from_secs(10));
    assert!(status.success());
    assert_eq!(
        pty.screen()
            .matches("reading input from the terminal")
            .count(),
        1
    );
}

/// The bars of a --timeline SVG: (lane, outcome, tooltip) each, read as XML.
fn timeline_bars(path: &std::path::Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the timeline is valid XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| {
            n.has_tag_name("rect") && n.attribute("class").is_some_and(|c| c.starts_with("job "))
        })
        .map(|n| {
            let outcome = n.attribute("class").unwrap()["job ".len()..].to_string();
            let title = n
                .children()
                .find(|c| c.has_tag_name("title"))
                .and_then(|t| t.text())
                .unwrap_or_default()
                .to_string();
            (
                n.attribute("data-lane").unwrap().to_string(),
                outcome,
                title,
            )
        })
        .collect()
}

#[test]
fn the_timeline_draws_one_bar_per_attempt_in_its_lane_and_colour() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("run.svg");
    // Job 1 succeeds, 2 fails, 3 is killed by --timeout, 4 fails once and
    // succeeds on its retry (a marker file remembers the first run).
    let marker = dir.path().join("ran-once");
    let script = format!(
        "case {{}} in 1) true;; 2) exit 3;; 3) sleep 5;; 4) test -e {m} || {{ touch {m}; exit 1; }};; esac",
        m = marker.display()
    );
    pool_run()
        .args(["-j1", "--retries", "2", "--timeout", "0.3", "--timeline"])
        .arg(&svg)
        .args([&script, ":::", "1", "2", "3", "4"])
        .assert()
        .code(2);
    let bars = timeline_bars(&svg);
    let by_job = |seq: &str| -> Vec<String> {
        bars.iter()
            .filter(|(_, _, title)| title.starts_with(&format!("job {seq} ")))
            .map(|(_, outcome, _)| outcome.clone())
            .collect()
    };
    assert_eq!(by_job("1"), ["ok"]);
    assert_eq!(by_job("2"), ["retried", "failed"], "two runs in all");
    assert_eq!(by_job("3"), ["retried", "killed"]);
    assert_eq!(by_job("4"), ["retried", "ok"]);
    assert!(bars.iter().all(|(lane, _, _)| lane == "0"), "-j1: one lane");

    // Two slots: two lanes, each job in the lane of the slot it ran in.
    pool_run()
        .args(["-j2", "--timeline"])
        .arg(&svg)
        .args(["sleep 0.2; : {}", ":::", "a", "b", "c", "d"])
        .assert()
        .success();
    let lanes: std::collections::BTreeSet<String> = timeline_bars(&svg)
        .into_iter()
        .map(|(lane, _, _)| lane)
        .collect();
    assert_eq!(lanes.into_iter().collect::<Vec<_>>(), ["0", "1"]);
}

/// Ctrl-C: the picture of what ran so far is still a valid file, and the
/// jobs Ctrl-C stopped are in it.
#[test]
fn the_timeline_stays_valid_when_the_run_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("run.svg");
    let running = crate::support::Running::start(
        "pool-run",
        &[
            "-u",
            "-j2",
            "--timeline",
            svg.to_str().unwrap(),
            "echo {}; sleep {}",
            ":::",
            "0",
            "0",
            "30",
            "30",
        ],
    );
    // The two quick jobs print, end, and the two long ones start.
    for _ in 0..4 {
        running.next_line();
    }
    assert!(crate::support::wait_while(
        std::time::Duration::from_secs(10),
        || !svg.exists()
    ));
    running.signal(libc::SIGINT);
    let (status, _, _) = running.finish();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGINT));
    let bars = timeline_bars(&svg);
    let outcomes: Vec<&str> = bars
        .iter()
        .map(|(_, outcome, _)| outcome.as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["ok", "ok", "killed", "killed"],
        "the two jobs that ended, then the two Ctrl-C stopped: {bars:?}"
    );
}

/// `sem` (pool-run under that name): GNU parallel's counting semaphore. Six
/// commands started by a loop, `-j2`: never more than two at once, all six
/// done after `sem --wait`.
#[test]
fn sem_caps_commands_across_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let sem = dir.path().join("sem");
    std::os::unix::fs::symlink(crate::support::bin_path("pool-run"), &sem).unwrap();
    let log = dir.path().join("log");
    let script = format!(
        "export XDG_RUNTIME_DIR={d}; for i in 1 2 3 4 5 6; do {sem} -j2 --id t 'echo + >> {log}; sleep 0.2; echo - >> {log}'; done; {sem} -j2 --id t --wait",
        d = dir.path().display(),
        sem = sem.display(),
        log = log.display()
    );
    let out = crate::support::shell(&script, b"", std::time::Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = std::fs::read_to_string(&log).unwrap();
    let (mut running, mut most) = (0i32, 0i32);
    for event in events.lines() {
        running += if event == "+" { 1 } else { -1 };
        most = most.max(running);
    }
    assert_eq!(
        events.lines().filter(|l| *l == "-").count(),
        6,
        "all done after --wait: {events}"
    );
    assert_eq!(most, 2, "two at a time: {events}");
}

/// `--semaphore --fg` waits and passes the status on; a holder killed with
/// its group frees its slot (the kernel drops the lock).
#[test]
fn a_semaphore_slot_is_freed_when_its_holder_dies() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().as_os_str();
    let fg = |args: &[&str]| {
        pool_run()
            .env("XDG_RUNTIME_DIR", runtime)
            .args(["--semaphore", "--fg", "-j1", "--id", "k"])
            .args(args)
            .assert()
            .get_output()
            .clone()
    };
    assert_eq!(fg(&["exit 3"]).status.code(), Some(3));
    let holder = crate::support::Running::start_with_env(
        "pool-run",
        &[
            "--semaphore",
            "--fg",
            "-j1",
            "--id",
            "k",
            "echo holding; sleep 30",
        ],
        &[("XDG_RUNTIME_DIR", runtime)],
    );
    assert_eq!(holder.next_line(), "holding");
    holder.signal_group(libc::SIGKILL);
    let out = fg(&["echo free"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "free\n");
}

/// Started as `parallel` (a symlink), pool-run is the drop-in unchanged.
#[test]
fn started_as_parallel_it_is_the_drop_in() {
    let dir = tempfile::tempdir().unwrap();
    let parallel = dir.path().join("parallel");
    std::os::unix::fs::symlink(crate::support::bin_path("pool-run"), &parallel).unwrap();
    let out = assert_cmd::Command::new(&parallel)
        .args(["--will-cite", "-k", "echo", ":::", "a", "b"])
        .timeout(crate::support::CHILD_TIMEOUT)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, b"a\nb\n");
}

/// A bash function exported to pool-run (`export -f`) runs as a command,
/// through bash, as in GNU parallel.
#[test]
fn exported_bash_functions_run_as_commands() {
    let script = "f() { echo \"f got $1\"; }; export -f f; $POOL_RUN -k f ::: 1 2";
    let out = crate::support::shell(
        &format!("exec bash -c '{}'", script.replace('\'', "'\\''")),
        b"",
        std::time::Duration::from_secs(30),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "f got 1\nf got 2\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SIGUSR1 lists the running jobs on stderr, as GNU parallel does; the run
/// goes on and loses nothing.
#[test]
fn sigusr1_lists_the_running_jobs_and_the_run_goes_on() {
    let running = Running::start(
        "pool-run",
        &[
            "-u",
            "-j2",
            "echo started {}; sleep 0.5; echo done {}",
            ":::",
            "a",
            "b",
        ],
    );
    let mut seen: Vec<String> = (0..2).map(|_| running.next_line()).collect();
    running.signal(libc::SIGUSR1);
    let (status, rest, stderr) = running.finish();
    assert!(status.success(), "{status:?} {stderr}");
    seen.extend(rest.lines().map(str::to_string));
    seen.sort();
    assert_eq!(seen, ["done a", "done b", "started a", "started b"]);
    assert!(
        stderr.contains("pool-run: 2 jobs running, 0 done"),
        "{stderr}"
    );
    assert!(stderr.contains("pool-run: job 1 (pid "), "{stderr}");
    assert!(stderr.contains("echo started a"), "{stderr}");
}

/// `{= =}` needs perl, as GNU parallel does: without it, one line and 255
/// before any job runs; an expression that does not compile, the same.
#[test]
fn perl_expressions_fail_early_with_one_line() {
    let fails_with = |cmd: &mut assert_cmd::Command, words: &str| {
        let out = cmd.assert().code(255).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
        assert!(out.stdout.is_empty());
    };
    let empty = tempfile::tempdir().unwrap();
    fails_with(
        tool("pool-run")
            .env("PATH", empty.path())
            .args(["echo", "{= s/a/b/ =}", ":::", "a"]),
        "need perl",
    );
    fails_with(
        tool("pool-run").args(["echo", "{= s/(/ =}", ":::", "a"]),
        "does not compile",
    );
}

/// A runtime error in an expression is a warning; the job still runs, with
/// the value as the code left it.
#[test]
fn a_perl_expression_that_dies_warns_and_the_job_runs() {
    let out = tool("pool-run")
        .args(["-k", "echo", "x{= die \"no\\n\" if /b/ =}", ":::", "a", "b"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "xa\nxb\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));
}

/// --files: each job's stdout lands in a kept file named as GNU parallel
/// names them, and the names are what is printed (in input order with -k).
/// Its stderr still reaches stderr (GNU parallel 20221122 drops it).
#[test]
fn files_saves_each_output_and_prints_the_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = tool("pool-run")
        .args(["-k", "--files", "--tmpdir"])
        .arg(dir.path())
        .args(["echo {}; echo e{} >&2", ":::", "a", "b"])
        .assert()
        .success()
        .get_output()
        .clone();
    let names = String::from_utf8(out.stdout).unwrap();
    let contents: Vec<String> = names
        .lines()
        .map(|name| {
            let path = std::path::Path::new(name);
            assert_eq!(path.parent(), Some(dir.path()), "{name}");
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(file.starts_with("par") && file.ends_with(".par"), "{file}");
            std::fs::read_to_string(path).unwrap()
        })
        .collect();
    assert_eq!(contents, ["a\n", "b\n"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ea") && stderr.contains("eb"), "{stderr}");
}

/// --retry-failed runs again, with the commands the joblog logged, the jobs
/// it lists as failed, and appends their lines: as GNU parallel does. (-j1:
/// a joblog's lines come in the order jobs end.)
#[test]
fn retry_failed_reruns_the_logged_failures_like_gnu_parallel() {
    let Some(parallel) = crate::reliability::gnu_parallel() else {
        return;
    };
    let pool_run = crate::support::bin_path("pool-run").display().to_string();
    let run_with = |program: &str| {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "cd {dir} && {program} -j1 --joblog jl 'echo {{}}; exit {{}}' ::: 0 1 2 0; \
             echo first $?; {program} -j1 --joblog jl --retry-failed echo ignored ::: x; \
             echo second $?; cut -f1,7,8,9 jl",
            dir = dir.path().display()
        );
        let out = crate::support::shell(&script, b"", std::time::Duration::from_secs(30));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ours = run_with(&pool_run);
    assert_eq!(ours, run_with(&format!("{parallel} --will-cite")));
    assert!(ours.contains("second 2\n"), "{ours}");
}

/// pool-run as a script's interpreter: with --shebang the script's lines
/// are the input; with --shebang-wrap the script runs once per argument.
#[test]
fn scripts_can_name_pool_run_in_their_shebang_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pool_run = crate::support::bin_path("pool-run");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let lines = write(
        "lines",
        format!("#!{} --shebang -k echo got\na\nb\n", pool_run.display()),
    );
    let wrapped = write(
        "wrapped",
        format!(
            "#!{} --shebang-wrap -k /bin/sh\necho arg $1\n",
            pool_run.display()
        ),
    );
    let run = |script: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(script)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run(&lines, &[]), "got a\ngot b\n");
    assert_eq!(run(&wrapped, &["x", "y"]), "arg x\narg y\n");
}

/// -J NAME reads ~/.parallel/NAME's options, ~/.parallel/config is read
/// without one, $PARALLEL's come first too, --plain reads neither, as GNU
/// parallel reads them.
#[test]
fn profiles_and_the_parallel_variable_add_options() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".parallel")).unwrap();
    std::fs::write(
        home.path().join(".parallel/tagged"),
        "-k # in order\n--tag\n",
    )
    .unwrap();
    tool("pool-run")
        .env("HOME", home.path())
        .args(["-J", "tagged", "echo", ":::", "a", "b"])
        .assert()
        .success()
        .stdout("a\ta\nb\tb\n");
    tool("pool-run")
        .env("PARALLEL", "-k --tagstring '<{}>'")
        .args(["echo", ":::", "a", "b"])
        .assert()
        .success()
        .stdout("<a>\ta\n<b>\tb\n");
    let missing = tool("pool-run")
        .env("HOME", home.path())
        .args(["-J", "nope", "echo", ":::", "a"])
        .assert()
        .code(255)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("-J nope"));
    std::fs::write(home.path().join(".parallel/config"), "--tagstring cfg\n").unwrap();
    let with = |extra: &[&str]| {
        let out = tool("pool-run")
            .env("HOME", home.path())
            .env("PARALLEL", "-k")
            .args(extra)
            .args(["echo", ":::", "a", "b"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{extra:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        with(&[]),
        "cfg\ta\ncfg\tb\n",
        "the default profile, then $PARALLEL"
    );
    let plain = with(&["--plain"]);
    assert!(!plain.contains("cfg"), "--plain reads no profile: {plain}");
}

/// --semaphore-timeout: after SECS without a slot the command runs anyway;
/// with -SECS sem gives up with exit 1, as GNU parallel's sem.
#[test]
fn semaphore_timeouts_run_anyway_or_give_up() {
    let runtime = tempfile::tempdir().unwrap();
    let sem = |args: &[&str]| {
        let mut cmd = tool("pool-run");
        cmd.env("XDG_RUNTIME_DIR", runtime.path())
            .args(["--semaphore", "--id", "held", "--fg"])
            .args(args);
        cmd
    };
    let mut holder = std::process::Command::new(crate::support::bin_path("pool-run"))
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["--semaphore", "--id", "held", "--fg", "sleep 2"])
        .spawn()
        .unwrap();
    // The holder has its slot once a give-up call fails (bounded: 2 s).
    let held = crate::support::wait_while(std::time::Duration::from_secs(2), || {
        sem(&["--st", "-0.05", "true"])
            .output()
            .unwrap()
            .status
            .success()
    });
    assert!(held, "the holder never took the slot");
    sem(&["--st", "-0.2", "echo", "ran"])
        .assert()
        .code(1)
        .stdout("");
    sem(&["--st", "0.2", "echo", "ran"])
        .assert()
        .success()
        .stdout("ran\n");
    // The holder ends on its own (its sleep holds the slot, not killed away).
    let status = crate::support::wait_bounded(&mut holder, std::time::Duration::from_secs(10));
    assert!(status.success());
}

/// --parens changes what encloses a perl expression, as GNU parallel's.
#[test]
fn parens_choose_the_perl_expression_delimiters() {
    tool("pool-run")
        .args([
            "-k",
            "--parens",
            "<<>>",
            "echo",
            "<< s/a/b/ >>",
            "{= x =}",
            ":::",
            "abc",
        ])
        .assert()
        .success()
        .stdout("bbc {= x =}\n");
}

/// --template FILE=OUT writes FILE, replacement strings filled in, to OUT
/// before each job; the job can read it.
#[test]
fn templates_are_filled_in_for_each_job() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.txt"), "name={}\nseq={#}\n").unwrap();
    tool("pool-run")
        .current_dir(dir.path())
        .args([
            "-k",
            "--tmpl",
            "t.txt=out{}.txt",
            "cat out{}.txt",
            ":::",
            "a",
            "b",
        ])
        .assert()
        .success()
        .stdout("name=a\nseq=1\nname=b\nseq=2\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("outb.txt")).unwrap(),
        "name=b\nseq=2\n"
    );
}

/// --tty: each job in turn reads the terminal itself (one at a time);
/// without a terminal the jobs read nothing, as in GNU parallel.
#[test]
fn tty_jobs_read_the_terminal_one_at_a_time() {
    use crate::support::pty::Pty;
    use std::time::Duration;
    let mut command = std::process::Command::new(crate::support::bin_path("pool-run"));
    command.args(["--tty", "read x; echo got-{}-$x", ":::", "a", "b"]);
    let mut pty = Pty::spawn(command);
    pty.type_keys(b"one\n");
    pty.wait_for("got-a-one", Duration::from_secs(10));
    pty.type_keys(b"two\n");
    pty.wait_for("got-b-two", Duration::from_secs(10));
    assert!(pty.wait(Duration::from_secs(10)).success());
    let detached = std::process::Command::new("setsid")
        .arg(crate::support::bin_path("pool-run"))
        .args(["--tty", "cat; echo end {}", ":::", "a"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(detached.status.success());
    assert_eq!(String::from_utf8_lossy(&detached.stdout), "end a\n");
}

/// -p asks on the terminal before each job (`COMMAND ?...`) and runs only
/// the ones answered y; without a terminal it stops with one line.
#[test]
fn interactive_runs_only_the_jobs_answered_yes() {
    use crate::support::pty::Pty;
    use std::time::Duration;
    let mut command = std::process::Command::new(crate::support::bin_path("pool-run"));
    command.args(["-p", "-j1", "-k", "echo", "ran-{}", ":::", "a", "b"]);
    let mut pty = Pty::spawn(command);
    pty.wait_for("echo ran-a ?...", Duration::from_secs(10));
    pty.type_keys(b"y\n");
    pty.wait_for("echo ran-b ?...", Duration::from_secs(10));
    pty.type_keys(b"n\n");
    assert!(pty.wait_and_keep(Duration::from_secs(10)).success());
    let screen = pty.screen();
    assert!(screen.contains("ran-a\r\n"), "{screen:?}");
    assert!(!screen.contains("ran-b\r\n"), "{screen:?}");
    let detached = std::process::Command::new("setsid")
        .arg(crate::support::bin_path("pool-run"))
        .args(["-p", "echo", ":::", "a"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(detached.status.code(), Some(255));
    assert_eq!(String::from_utf8_lossy(&detached.stderr).lines().count(), 1);
    assert!(detached.stdout.is_empty());
}

/// The state letter (R, S, T, ...) of each child of `parent` whose command
/// line holds `marker`, by that marker's job number.
fn job_states(parent: u32, markers: &[&str]) -> Vec<Option<char>> {
    let mut states = vec![None; markers.len()];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let dir = entry.path();
        let (Ok(stat), Ok(cmdline)) = (
            std::fs::read_to_string(dir.join("stat")),
            std::fs::read(dir.join("cmdline")),
        ) else {
            continue;
        };
        let Some((_, after)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = after.split(' ').collect();
        if fields.get(1) != Some(&parent.to_string().as_str()) {
            continue;
        }
        let cmdline = String::from_utf8_lossy(&cmdline);
        for (i, marker) in markers.iter().enumerate() {
            if cmdline.contains(marker) {
                states[i] = fields[0].chars().next();
            }
        }
    }
    states
}

/// MemAvailable, in bytes.
fn available_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// GNU parallel's --memsuspend: below twice SIZE available, only the oldest
/// jobs run (one at SIZE, two from 1 to 1.5 x SIZE) and the younger ones
/// are stopped; every job still finishes. Other tests running at the same
/// time move the machine's free memory: a run during which it left the
/// band where exactly the youngest is stopped, or in which the youngest
/// was not seen stopped, is run again (at most 5 times); one run must show
/// it.
#[test]
fn memsuspend_stops_the_youngest_job_and_it_finishes_later() {
    let mut tries = Vec::new();
    for _ in 0..5 {
        // Available is 1.25 x SIZE: the two oldest run, the third is stopped.
        let size = available_memory() / 5 * 4;
        let in_band = |available: u64| available >= size && available < size / 2 * 3;
        let running = Running::start(
            "pool-run",
            &[
                "-k",
                "-j3",
                "--memsuspend",
                &size.to_string(),
                "sleep 2; echo done {}",
                ":::",
                "1",
                "2",
                "3",
            ],
        );
        let markers = ["done 1", "done 2", "done 3"];
        let mut states = Vec::new();
        let mut history: Vec<Vec<Option<char>>> = Vec::new();
        let mut steady = true;
        let seen = crate::support::wait_while(std::time::Duration::from_secs(5), || {
            steady &= in_band(available_memory());
            states = job_states(running.pid(), &markers);
            if history.last() != Some(&states) {
                history.push(states.clone());
            }
            states[2] != Some('T')
        });
        let (status, stdout, _) = running.finish();
        if !steady || !seen {
            // Memory moved under it (or pool-run looked at another moment
            // than the test did): this run proves nothing either way.
            tries.push(history);
            continue;
        }
        assert_ne!(states[0], Some('T'), "the oldest job runs: {states:?}");
        assert!(status.success());
        assert_eq!(stdout, "done 1\ndone 2\ndone 3\n", "every job finished");
        return;
    }
    panic!("in none of 5 runs was the youngest job stopped while memory held still: {tries:?}");
}

/// --limit's exit 2 ("way over") kills the youngest running job, once per
/// answer; the older one finishes. The kill is a timeout's: exit value -1
/// and signal 15 in the joblog, and the run fails.
#[test]
fn limit_way_over_kills_the_youngest_running_job() {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let log = dir.path().join("log");
    let limit = format!(
        "if [ -e {go} ]; then rm {go}; exit 2; fi; exit 0",
        go = go.display()
    );
    let older = format!("sleep 1; touch {}; sleep 1; echo older", go.display());
    let out = pool_run()
        .args(["-j2", "--joblog", log.to_str().unwrap(), "--limit", &limit])
        .args([":::", &older, "sleep 30; echo younger"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "older\n");
    assert_eq!(out.status.code(), Some(1), "one job failed");
    let joblog = std::fs::read_to_string(&log).unwrap();
    let killed: Vec<(&str, &str, &str)> = joblog
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0], f[6], f[7])
        })
        .collect();
    assert!(killed.contains(&("2", "-1", "15")), "{joblog}");
    assert!(killed.contains(&("1", "0", "0")), "{joblog}");
}

#[test]
fn limit_over_holds_even_the_only_job_until_it_says_below() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    let limit = format!(
        "echo x >> {c}; [ $(wc -l < {c}) -gt 3 ]",
        c = calls.display()
    );
    let text = stdout_of(&["-k", "--limit", &limit, "echo", ":::", "a", "b"]);
    assert_eq!(text, "a\nb\n");
    let asked = std::fs::read_to_string(&calls).unwrap().lines().count();
    assert!(asked >= 5, "3 refusals, then once per start: {asked}");
}

/// --compress-program: output over the memory bound goes through the
/// program and comes back whole; output that fits in memory never runs it.
#[test]
fn compress_program_carries_spilled_output_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    let program = dir.path().join("zz");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\necho \"c$*\" >> {}\nif [ \"$1\" = -dc ]; then exec gzip -dc; else exec gzip -c; fi\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let text = stdout_of(&[
        "-k",
        "--compress-program",
        program.to_str().unwrap(),
        "seq {}",
        ":::",
        "100000",
        "3",
    ]);
    let expected: String = (1..=100_000)
        .chain(1..=3)
        .map(|n| format!("{n}\n"))
        .collect();
    assert!(text == expected, "the output came back whole");
    let calls = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(
        calls, "c\nc-dc\n",
        "once each way, for the one spilled stream"
    );
}

/// A compress program that fails is one clear error, never output cut
/// short as if whole.
#[test]
fn a_failing_compress_program_is_an_error_not_short_output() {
    for program in ["false", "head -c 1000 | gzip -c; cat > /dev/null"] {
        let out = pool_run()
            .args(["-k", "--compress-program", program])
            .args([
                "--decompress-program",
                "gzip -dc",
                "seq {}",
                ":::",
                "100000",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255), "{program}");
        assert!(
            out.stdout.is_empty(),
            "{program}: nothing printed as if whole"
        );
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{program}: {lines:?}");
        assert!(lines[0].contains("compress-program"), "{lines:?}");
    }
}

/// -o/--open-tty: the jobs read the terminal as under --tty, but -j stays:
/// a job that does not read it runs at once, and the readers take turns,
/// oldest first.
#[test]
fn open_tty_keeps_the_job_count_and_readers_take_turns() {
    use crate::support::pty::Pty;
    use std::time::Duration;
    let mut command = std::process::Command::new(crate::support::bin_path("pool-run"));
    command.args(["-o", "-j3", ":::", "read x; echo got-a-$x", "echo other"]);
    command.arg("read x; echo got-b-$x");
    let mut pty = Pty::spawn(command);
    pty.wait_for("other", Duration::from_secs(10));
    pty.type_keys(b"one\n");
    pty.wait_for("got-a-one", Duration::from_secs(10));
    pty.type_keys(b"two\n");
    pty.wait_for("got-b-two", Duration::from_secs(10));
    assert!(pty.wait(Duration::from_secs(10)).success());
}

/// --shuf reads stdin to its end, then runs every record once, in a random
/// order (GNU parallel: "generate all jobs, and shuffle them").
#[test]
fn shuf_runs_stdin_records_in_a_random_order() {
    let input: String = (1..=200).map(|n| format!("{n}\n")).collect();
    let out = pool_run()
        .args(["--shuf", "-j1", "echo"])
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut numbers: Vec<u32> = text.lines().map(|l| l.parse().unwrap()).collect();
    assert_ne!(text, input, "200 records in input order: not shuffled");
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=200).collect::<Vec<u32>>(), "each once");
}

/// -j FILE (GNU parallel's E6): the job count is the file's content, read
/// again as each job ends, so a running pool grows and shrinks: job 1 runs
/// alone and raises it to 3, job 4 lowers it back to 1.
#[test]
fn jobs_from_a_file_change_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("procfile");
    std::fs::write(&file, "1\n").unwrap();
    let command = format!(
        "echo {{#}}:{{%}}; [ {{#}} = 1 ] && echo 3 > {f}; [ {{#}} = 4 ] && echo 1 > {f}; sleep 0.3",
        f = file.display()
    );
    let text = stdout_of(&[
        "-k",
        "-j",
        file.to_str().unwrap(),
        &command,
        ":::",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
    ]);
    let slots: Vec<&str> = text.lines().map(|l| l.split(':').nth(1).unwrap()).collect();
    assert_eq!(slots[0], "1", "{text}");
    assert_eq!(&slots[1..4], ["1", "2", "3"], "three at once: {text}");
    assert!(slots[4..].iter().all(|s| *s == "1"), "back to one: {text}");
}

/// GNU parallel's O10: a single output line over 4 GB passes through whole
/// (no 32-bit size anywhere on its way: pipe, spill file, stdout).
#[test]
fn an_output_line_over_4_gb_passes_through_whole() {
    let out = crate::support::shell(
        &format!(
            "{} -k 'head -c 4300000000 /dev/zero | tr \"\\0\" a; echo' ::: 1 | wc -lc",
            crate::support::bin_path("pool-run").display()
        ),
        b"",
        std::time::Duration::from_secs(300),
    );
    assert!(out.status.success());
    let counts: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    // One line: 4.3e9 bytes of `a`, then the appended value and a newline.
    assert_eq!(counts, [1, 4_300_000_002]);
}

/// GNU parallel's O9: a disk that fills while output spills to it is an
/// error, one line and 255, never output silently cut short. The disk is a
/// 1 MiB tmpfs mounted for the test (root only).
#[test]
fn a_disk_that_fills_while_output_spills_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        crate::support::skipped("a full disk: mounting a small tmpfs needs root");
        return;
    }
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(dir.path());
    // The disk is $TMPDIR, or --tmpdir (GNU parallel: the same thing).
    let tmpdir = ["--tmpdir".into(), dir.path().as_os_str().to_owned()];
    for (env, flags) in [
        (dir.path().as_os_str(), &[][..]),
        ("/tmp".as_ref(), &tmpdir[..]),
    ] {
        let out = pool_run()
            .env("TMPDIR", env)
            .args(flags)
            .args(["head -c 3000000 /dev/zero; echo", ":::", "1"])
            .output()
            .unwrap();
        failed_with_one_line(&out, &["No space left"]);
    }
    // --tee keeps stdin on that disk for jobs that start later: a stdin
    // larger than the disk is the same error, not jobs counting less.
    let out = pool_run()
        .args(tmpdir)
        .args(["--pipe", "--tee", "-j1", "wc -c; : {}", ":::", "1", "2"])
        .write_stdin(vec![b'x'; 3_000_000])
        .output()
        .unwrap();
    failed_with_one_line(&out, &["--tee", "No space left"]);
}

/// pool-run stopped with exit 255, one stderr line holding each of
/// `words`, and nothing on stdout (no output as if whole, no job's).
fn failed_with_one_line(out: &std::process::Output, words: &[&str]) {
    assert_eq!(out.status.code(), Some(255), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {out:?}");
    let lines = stderr_lines(out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    for word in words {
        assert!(lines[0].contains(word), "{word:?} in {lines:?}");
    }
}

/// --tmpdir is $TMPDIR for the jobs too, as in GNU parallel; a directory
/// that cannot take files is refused before any job.
#[test]
fn tmpdir_reaches_the_jobs_and_must_be_a_writable_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = pool_run()
        .arg("--tmpdir")
        .arg(dir.path())
        .args(["echo $TMPDIR", ":::", "x"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(printed.trim_end(), format!("{} x", dir.path().display()));
    let missing = dir.path().join("missing");
    let out = pool_run()
        .arg("--tmpdir")
        .arg(&missing)
        .args(["echo", ":::", "x"])
        .output()
        .unwrap();
    failed_with_one_line(&out, &["is not a writable directory"]);
}

/// GNU parallel's O2, O3, O5, O6: a job's stdout goes to stdout and its
/// stderr to stderr, nothing else in either, in every output mode.
#[test]
fn stdout_and_stderr_stay_apart_in_every_output_mode() {
    for mode in [&[][..], &["-k"], &["--line-buffer"], &["-u"]] {
        let out = pool_run()
            .args(mode)
            .args(["-j2", "echo out{}; echo err{} >&2", ":::", "1", "2"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{mode:?}");
        let mut stdout: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        let mut stderr: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(String::from)
            .collect();
        stdout.sort();
        stderr.sort();
        assert_eq!(stdout, ["out1", "out2"], "{mode:?}");
        assert_eq!(stderr, ["err1", "err2"], "{mode:?}");
    }
}

/// GNU parallel's O8: no temporary file is left when pool-run is killed,
/// even while a job's output is spilled to disk (the spill file has no
/// name: O_TMPFILE).
#[test]
fn a_killed_pool_run_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().as_os_str();
    let running = Running::start_with_env(
        "pool-run",
        &["head -c 1000000 /dev/zero; sleep 30", ":::", "1"],
        &[("TMPDIR", tmp)],
    );
    // Spilled: one of pool-run's descriptors is a file in TMPDIR.
    let fds = format!("/proc/{}/fd", running.pid());
    let spilled = || {
        std::fs::read_dir(&fds)
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|target| target.starts_with(dir.path()))
            })
    };
    assert!(
        crate::support::wait_while(std::time::Duration::from_secs(10), || !spilled()),
        "the output never spilled to TMPDIR"
    );
    running.signal(libc::SIGKILL);
    drop(running);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// --latest-line on a terminal: one row per job, redrawn in place, so the
/// screen ends with each job's last line; off a terminal, each job's last
/// line once (in job order with -k, tagged with --tag).
#[test]
fn latest_line_keeps_one_row_per_job() {
    use crate::support::pty::{Pty, screen_rows};
    let script = "for i in 1 2 3; do echo job{} line $i; sleep 0.05; done; echo err{} >&2; printf 'job{} end'";
    let mut command = std::process::Command::new(crate::support::bin_path("pool-run"));
    command.args(["--ll", "-k", script, ":::", "1", "2", "3"]);
    let mut pty = Pty::spawn(command);
    let status = pty.wait_and_keep(Duration::from_secs(30));
    assert!(status.success());
    let screen = pty.screen();
    assert_eq!(
        screen_rows(&screen),
        ["job1 end", "job2 end", "job3 end"],
        "{screen:?}"
    );
    assert!(
        screen.contains("job2 line 2"),
        "rows showed lines as they came: {screen:?}"
    );

    let out = tool("pool-run")
        .args(["--ll", "-k", "--tag", script, ":::", "1", "2"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1\tjob1 end\n2\tjob2 end\n"
    );
    assert!(out.stderr.is_empty(), "stderr lines are rows too");
}
