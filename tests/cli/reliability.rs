//! Nothing lost, and the meaning users bring from the tools they migrate
//! from: GNU parallel's `--retries` and `--joblog -`. Where GNU parallel is
//! installed (`.ci/run` installs it) it is the oracle.

use crate::support::tool;

/// GNU parallel's path, or None with a visible line saying the comparison
/// is skipped.
pub fn gnu_parallel() -> Option<&'static str> {
    let found = std::process::Command::new("parallel")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        crate::support::skipped(
            "comparison with GNU parallel: not installed (bash .ci/run installs it)",
        );
    }
    found.then_some("parallel")
}

/// How many times a job that fails its first 4 runs ran under `--retries
/// n`, for `program` (pool-run or GNU parallel).
fn runs_under_retries(program: &std::path::Path, n: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("runs");
    let script = format!(
        ": {{}}; echo x >> {0}; test $(wc -l < {0}) -ge 5",
        counter.display()
    );
    let mut command = std::process::Command::new(program);
    if program.ends_with("parallel") {
        command.arg("--will-cite");
    }
    let status = command
        .args(["--retries", n, &script, ":::", "1"])
        .output()
        .unwrap()
        .status;
    let runs = std::fs::read_to_string(&counter).unwrap().lines().count();
    let expected_code = if runs >= 5 { 0 } else { 1 };
    assert_eq!(
        status.code(),
        Some(expected_code),
        "{program:?} --retries {n}"
    );
    runs
}

#[test]
fn retries_n_is_n_runs_in_all_as_in_gnu_parallel() {
    let pool_run = crate::support::bin_path("pool-run");
    let ours: Vec<usize> = ["1", "3", "0"]
        .iter()
        .map(|n| runs_under_retries(&pool_run, n))
        .collect();
    assert_eq!(ours, [1, 3, 5], "--retries 0: until it succeeds");
    if let Some(parallel) = gnu_parallel() {
        let theirs: Vec<usize> = ["1", "3", "0"]
            .iter()
            .map(|n| runs_under_retries(std::path::Path::new(parallel), n))
            .collect();
        assert_eq!(ours, theirs, "GNU parallel");
    }
}

#[test]
fn joblog_dash_writes_the_joblog_to_stdout_after_each_jobs_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = tool("pool-run")
        .current_dir(dir.path())
        .args(["-j1", "--joblog", "-", "echo", "hi", ":::", "a", "b"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("Seq\tHost\tStarttime"), "{text}");
    assert_eq!((lines[1], lines[3]), ("hi a", "hi b"));
    for (line, seq) in [(lines[2], "1"), (lines[4], "2")] {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!((fields[0], fields[6]), (seq, "0"), "{line}");
        assert!(fields[8].starts_with("echo hi "), "{line}");
    }
    assert!(!dir.path().join("-").exists(), "no file named -");
}

/// The code a shell shows for a command run to the end (128+N for a death
/// by signal N), bounded by the suite's limit.
fn code_of(program: &std::path::Path, args: &[&str]) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    let child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = crate::support::output_bounded(child).status;
    status.code().or(status.signal().map(|n| 128 + n))
}

/// coreutils `timeout -s 0` sends signal 0 (a no-op) at the timeout: the
/// command ends by the KILL of `-k` (137), or on its own (124).
#[test]
fn signal_zero_is_accepted_as_coreutils_timeout_does() {
    let subproc = crate::support::bin_path("subproc");
    let cases: [(&[&str], &[&str], i32); 2] = [
        (
            &["-s", "0", "-k", "0.5", "-t", "0.1", "sleep", "10"],
            &["-s", "0", "-k", "0.5", "0.1", "sleep", "10"],
            137,
        ),
        (
            &["-s", "EXIT", "-t", "0.1", "sleep", "0.5"],
            &["-s", "EXIT", "0.1", "sleep", "0.5"],
            124,
        ),
    ];
    for (ours, theirs, expected) in cases {
        assert_eq!(code_of(&subproc, ours), Some(expected), "{ours:?}");
        let coreutils = code_of(std::path::Path::new("timeout"), theirs);
        assert_eq!(coreutils, Some(expected), "timeout {theirs:?}");
    }
}

/// `| head` is the reader's choice: with `-u` as in the grouped modes,
/// pool-run stops quietly with 0 when its stdout's reader has gone; a job
/// that dies of SIGPIPE for its own reasons still fails.
#[test]
fn ungrouped_output_into_head_stops_quietly() {
    let out = crate::support::shell(
        "{ $POOL_RUN -u seq ::: 100000; echo rc=$? >&2; } | head -1",
        b"",
        std::time::Duration::from_secs(30),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "rc=0\n");
    tool("pool-run")
        .args(["-u", "kill -PIPE $$", ":::", "1"])
        .assert()
        .code(1);
}

/// Runs `script` (which uses $FORK_DEMO and friends) in sh and returns the
/// exit code it echoes last and its stderr lines.
fn sh_code_and_errors(script: &str) -> (String, Vec<String>) {
    let out = crate::support::shell(script, b"", std::time::Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let errors = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect();
    (stdout, errors)
}

/// Each tool's own output, and the variable that names its binary.
const OWING_STDOUT: [(&str, &str); 5] = [
    ("fork-demo", "$FORK_DEMO"),
    ("pingpong", "$PINGPONG"),
    ("lock-demo", "$LOCK_DEMO -i 1000"),
    ("spin-cores", "$SPIN_CORES -n 1 -t 0.2"),
    ("pool-run", "$POOL_RUN echo ::: a"),
];

/// Output owed to a stdout that was closed (`>&-`) is an error, not a
/// silent success on the /dev/null Rust's runtime puts there: one line,
/// the tool's error code; grouped pool-run starts no job (255).
#[test]
fn a_closed_stdout_is_an_error_in_every_tool() {
    for (tool, command) in OWING_STDOUT {
        let (code, errors) = sh_code_and_errors(&format!("exec 3>&1; {command} >&-; echo $? >&3"));
        let expected = if tool == "pool-run" { "255" } else { "1" };
        assert_eq!(code, expected, "{tool}: {errors:?}");
        assert_eq!(errors.len(), 1, "{tool}: {errors:?}");
        assert_eq!(
            errors[0],
            format!("{tool}: error: write error: Bad file descriptor (stdout is closed)")
        );
    }
}

/// Children get the descriptors the user gave: a closed stdout stays
/// closed for a command under subproc and for pool-run -u's jobs, which
/// report it themselves.
#[test]
fn children_see_the_closed_stdout_the_user_gave() {
    for command in ["$SUBPROC -q echo hi", "$POOL_RUN -u echo ::: hi"] {
        let (code, errors) = sh_code_and_errors(&format!("exec 3>&1; {command} >&-; echo $? >&3"));
        assert_eq!(code, "1", "{command}: {errors:?}");
        assert!(
            errors.iter().any(|e| e.contains("Bad file descriptor")),
            "{command}: {errors:?}"
        );
    }
}

/// A full disk on stdout (`>/dev/full`) is an error with one line in every
/// tool (this held before; the test keeps it).
#[test]
fn a_full_stdout_is_an_error_in_every_tool() {
    for (tool, command) in OWING_STDOUT {
        let (code, errors) =
            sh_code_and_errors(&format!("exec 3>&1; {command} >/dev/full; echo $? >&3"));
        let expected = if tool == "pool-run" { "255" } else { "1" };
        assert_eq!(code, expected, "{tool}: {errors:?}");
        assert_eq!(errors.len(), 1, "{tool}: {errors:?}");
        assert!(
            errors[0].starts_with(&format!("{tool}: error: ")),
            "{errors:?}"
        );
    }
    let (code, errors) =
        sh_code_and_errors("exec 3>&1; $SUBPROC -q echo hi >/dev/full; echo $? >&3");
    assert_eq!(code, "1", "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("No space left")),
        "{errors:?}"
    );
}

/// A background process the command leaves behind holds the pipeline's
/// pipe: subproc ends what is left of the command's group when it exits,
/// so `| cat` ends at once with the command's output; `--keep-leftovers`
/// lets it live.
#[test]
fn a_leftover_grandchild_never_hangs_a_pipeline() {
    let out = crate::support::shell(
        "$SUBPROC -q --timeout 30 -- sh -c 'sleep 300 & echo $!; echo parent-done' | cat",
        b"",
        std::time::Duration::from_secs(20),
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.get(1), Some(&"parent-done"), "{text}");
    assert!(out.status.success());
    let pid: u32 = lines[0].parse().unwrap();
    assert!(
        crate::support::wait_until_gone(pid, crate::support::CHILD_TIMEOUT),
        "the background sleep {pid} was left running"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pid");
    let kept = crate::support::shell(
        &format!(
            "$SUBPROC -q --keep-leftovers sh -c 'sleep 300 >/dev/null 2>&1 & echo $!' > {}",
            file.display()
        ),
        b"",
        std::time::Duration::from_secs(20),
    );
    assert!(kept.status.success());
    let pid: u32 = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        crate::support::pid_running(pid),
        "--keep-leftovers: it lives"
    );
    // SAFETY: kill(2) on the sleep this test started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

/// A reader that leaves (`| head -c`) is the reader's choice: pingpong's
/// players and fork-demo stop quietly with 0, in every pingpong mode.
#[test]
fn pingpong_and_fork_demo_into_head_stop_quietly() {
    let modes = [
        "--transport pipe",
        "--transport socket",
        "--transport eventfd",
        "--transport shm",
        "--naive",
        "--shared-queue",
    ];
    for mode in modes {
        let (code, errors) = sh_code_and_errors(&format!(
            "exec 3>&1; {{ $PINGPONG -i 300 {mode}; echo $? >&3; }} | head -c 10 >/dev/null"
        ));
        assert_eq!(
            (code.as_str(), errors.len()),
            ("0", 0),
            "{mode}: {errors:?}"
        );
    }
    let (code, errors) =
        sh_code_and_errors("exec 3>&1; { $FORK_DEMO; echo $? >&3; } | head -c 1 >/dev/null");
    assert_eq!(
        (code.as_str(), errors.len()),
        ("0", 0),
        "fork-demo: {errors:?}"
    );
}

/// `script` run by bash with only descriptors 0-2 open, so a `ulimit -n` in
/// it counts the same whatever the test harness (cargo, CI's shell) left
/// open.
fn with_only_stdio(script: &str) -> String {
    let script = script.replace('\'', "'\\''");
    format!(
        "bash -c 'for fd in /proc/$$/fd/*; do fd=${{fd##*/}}; \
         [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\" 2>/dev/null; done; {script}'"
    )
}

/// pool-run's stdout and stderr lines and exit code for `script` in sh.
fn pool_run_in_sh(script: &str) -> (Vec<String>, Vec<String>, Option<i32>) {
    let out = crate::support::shell(script, b"", std::time::Duration::from_secs(30));
    let lines = |bytes: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::to_string)
            .collect()
    };
    (lines(&out.stdout), lines(&out.stderr), out.status.code())
}

/// `ulimit -n 32` leaves room for fewer than 20 jobs' pipes: pool-run runs
/// fewer at once, warns once and runs every job, as GNU parallel does.
#[test]
fn out_of_descriptors_runs_fewer_jobs_at_once_and_every_job() {
    let (mut out, errors, code) = pool_run_in_sh(&with_only_stdio(
        "ulimit -n 32; seq 20 | $POOL_RUN -j20 echo",
    ));
    out.sort_by_key(|l| l.parse::<u32>().unwrap_or(0));
    let expected: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
    assert_eq!((out, code), (expected, Some(0)), "{errors:?}");
    assert_eq!(errors.len(), 1, "one warning: {errors:?}");
    assert!(
        errors[0].contains("warning: out of file descriptors"),
        "{errors:?}"
    );
    if let Some(parallel) = gnu_parallel() {
        let script = format!("ulimit -n 32; seq 20 | {parallel} --will-cite -j20 echo | wc -l");
        let (theirs, _, _) = pool_run_in_sh(&script);
        assert_eq!(theirs, ["20"], "GNU parallel finishes every job too");
    }
}

/// So few descriptors that not one job can start: no job is failed for it;
/// the run ends with 255 and one line naming the limit. "So few" is one
/// less than the fewest that run one job, found first (it moves when
/// pool-run's own descriptors change: the epoll set took one more).
#[test]
fn not_even_one_job_can_start_is_255_and_one_line() {
    let runs_one_job = |limit: u32| {
        let script = format!("ulimit -n {limit}; echo x | $POOL_RUN -j1 echo");
        pool_run_in_sh(&with_only_stdio(&script)).2 == Some(0)
    };
    let fewest = (4..64)
        .find(|&limit| runs_one_job(limit))
        .expect("some limit under 64 runs one job");
    let limit = fewest - 1;
    let (out, errors, code) = pool_run_in_sh(&with_only_stdio(&format!(
        "ulimit -n {limit}; seq 5 | $POOL_RUN -j5 echo"
    )));
    assert_eq!((out.len(), code), (0, Some(255)), "{errors:?}");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let expected = format!(
        "pool-run: error: cannot start even one job: out of file descriptors (ulimit -n {limit})"
    );
    assert!(errors[0].starts_with(&expected), "{errors:?}");
}

/// `ulimit -u` (processes per user) as an unprivileged user: forks fail
/// with EAGAIN past the limit. pool-run runs fewer jobs at once and runs
/// every job. Needs root to become `nobody` (CI runs as root).
#[test]
fn out_of_processes_runs_fewer_jobs_at_once_and_every_job() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        crate::support::skipped("ulimit -u test: needs root to run as nobody");
        return;
    }
    // A copy nobody can run, and a directory it can write its joblog to,
    // wherever the checkout is.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let binary = dir.path().join("pool-run");
    std::fs::copy(crate::support::bin_path("pool-run"), &binary).unwrap();
    let log = dir.path().join("log");
    let script = format!(
        "cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c \
         'ulimit -u 6; seq 10 | {} -j10 --joblog {} sleep 0.{{}}'",
        binary.display(),
        log.display()
    );
    let (out, errors, code) = pool_run_in_sh(&script);
    assert_eq!((out.len(), code), (0, Some(0)), "{errors:?}");
    assert_eq!(errors.len(), 1, "one warning: {errors:?}");
    assert!(
        errors[0].contains("warning: out of processes"),
        "{errors:?}"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    let succeeded = log
        .lines()
        .skip(1)
        .filter(|l| l.split('\t').nth(6) == Some("0"))
        .count();
    assert_eq!(succeeded, 10, "every job ran once and succeeded: {log}");
}

/// Under --halt, GNU parallel names on stderr each job its rule counts,
/// and says when it starts no more jobs; --timeout names each job it
/// kills. pool-run says the same, a line each.
#[test]
fn halt_and_timeout_name_the_jobs_they_act_on() {
    let lines = |args: &[&str]| {
        let out = tool("pool-run").args(args).output().unwrap();
        crate::support::stderr_lines(&out)
    };
    assert_eq!(
        lines(&[
            "-j1",
            "--halt",
            "soon,fail=2",
            "exit {}",
            ":::",
            "1",
            "0",
            "3",
            "0"
        ]),
        [
            "pool-run: this job failed: exit 1",
            "pool-run: this job failed: exit 3"
        ]
    );
    // The first job fails at once while the second sleeps: the run waits
    // for it, and it fails too.
    assert_eq!(
        lines(&[
            "-j2",
            "--halt",
            "soon,fail=1",
            "sleep {1}; exit {2}",
            ":::",
            "0",
            "2",
            "0",
            ":::+",
            "1",
            "2",
            "0"
        ]),
        [
            "pool-run: this job failed: sleep 0; exit 1",
            "pool-run: starting no more jobs; waiting for 1 jobs to finish",
            "pool-run: this job failed: sleep 2; exit 2"
        ]
    );
    assert_eq!(
        lines(&[
            "-k",
            "--timeout",
            "1",
            "sleep {}; echo {}",
            ":::",
            "0",
            "30"
        ]),
        ["pool-run: warning: this job was killed because it timed out: sleep 30; echo 30"]
    );
}
