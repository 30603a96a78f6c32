//! pool-run faults that came from the old supervisor's shape (one type that
//! knew every mode), each pinned by the test that first showed it: output
//! that bypassed the record, two write paths with two error policies, a
//! spawn error naming the wrong program, held output starving job starts,
//! one flag with two meanings, and a source that stopped reading its input.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{Running, shell, tool};

/// Bug 1: live lines must reach `--results` and the joblog's Receive column
/// as grouped output does (GNU parallel saves `a`, `xa` and logs 5 bytes).
#[test]
fn line_buffer_saves_results_and_counts_received_bytes() {
    for keep_order in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("out");
        let joblog = dir.path().join("log");
        let mut cmd = tool("pool-run");
        if keep_order {
            cmd.arg("-k");
        }
        cmd.args(["--line-buffer", "--results"])
            .arg(&results)
            .arg("--joblog")
            .arg(&joblog)
            .args(["echo {}; sleep 0.2; echo x{}", ":::", "a", "b"])
            .assert()
            .success();
        for value in ["a", "b"] {
            let saved = std::fs::read_to_string(results.join(format!("1/{value}/stdout"))).unwrap();
            assert_eq!(saved, format!("{value}\nx{value}\n"), "-k {keep_order}");
        }
        let log = std::fs::read_to_string(&joblog).unwrap();
        let received: Vec<&str> = log
            .lines()
            .skip(1)
            .map(|l| l.split('\t').nth(5).unwrap())
            .collect();
        assert_eq!(received, ["5", "5"], "-k {keep_order}: {log}");
    }
}

/// Bug 2: a stderr nobody reads loses the stderr lines, never the run:
/// every job runs and prints its stdout, as in grouped mode.
#[test]
fn line_buffer_with_a_closed_stderr_runs_every_job() {
    for mode in ["--line-buffer", "--group"] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = std::process::Command::new(crate::support::bin_path("pool-run"));
        cmd.args(["-j1", "-k"]);
        if mode == "--line-buffer" {
            cmd.arg(mode);
        }
        cmd.args(["echo e{} >&2; echo o{}", ":::", "1", "2", "3", "4"])
            .stdin(Stdio::null())
            .stderr(Stdio::from(writer))
            .stdout(Stdio::piped());
        let child = cmd.spawn().unwrap();
        let out = crate::support::output_bounded(child);
        assert_eq!(out.status.code(), Some(0), "{mode}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "o1\no2\no3\no4\n",
            "{mode}"
        );
    }
}

/// Bug 3: the spawn error names the program that could not be started:
/// srun for a job inside an allocation (the job fails), salloc for the
/// run's allocation outside one (nothing ran: 255).
#[test]
fn a_missing_srun_is_named_not_the_users_program() {
    let dir = tempfile::tempdir().unwrap();
    let out = tool("pool-run")
        .env("PATH", dir.path())
        .env("SLURM_JOB_ID", "1")
        .args(["--slurm", "echo", ":::", "a"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot run 'srun': command not found"),
        "{stderr}"
    );
    assert!(!stderr.contains("'echo'"), "{stderr}");
    let out = tool("pool-run")
        .env("PATH", dir.path())
        .env_remove("SLURM_JOB_ID")
        .args(["--slurm", "echo", ":::", "a"])
        .output()
        .unwrap();
    let errors = crate::support::stderr_lines(&out);
    assert_eq!(out.status.code(), Some(255), "{errors:?}");
    assert_eq!(
        errors,
        ["pool-run: error: --slurm: cannot run 'salloc': command not found"]
    );
}

/// Bug 4: output held for `-k` behind a slow job must not use up the
/// descriptors later jobs need: pool-run waits, as GNU parallel does,
/// instead of failing them with "Too many open files".
#[test]
fn held_output_under_keep_order_never_starves_job_starts() {
    let out = shell(
        "ulimit -n 64 && $POOL_RUN -k -j8 \
         'if [ {} = 1 ]; then sleep 1; fi; head -c 300000 /dev/zero' ::: $(seq 100) >$TMPFILE; \
         echo rc=$?; wc -c <$TMPFILE",
        b"",
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout, "rc=0\n30000000\n", "{stderr}");
    assert!(!stderr.contains("Too many open files"), "{stderr}");
}

/// Bug 5: SIGHUP means "start no new job, let the running ones finish",
/// whatever `--halt` says: their output is printed and the run exits 0.
#[test]
fn sighup_under_halt_now_still_lets_running_jobs_finish() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let script = format!("touch {d}/{{}}; sleep 1; echo done {{}}");
    let running = Running::start(
        "pool-run",
        &[
            "-j2",
            "--halt",
            "now,fail=1",
            &script,
            ":::",
            "1",
            "2",
            "3",
            "4",
        ],
    );
    for n in ["1", "2"] {
        let marker = dir.path().join(n);
        let deadline = std::time::Instant::now() + crate::support::CHILD_TIMEOUT;
        while !marker.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "job {n} never started"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    running.signal(libc::SIGHUP);
    let (status, rest, stderr) = running.finish();
    assert_eq!(status.code(), Some(0), "{status:?} {stderr}");
    let mut lines: Vec<&str> = rest.lines().collect();
    lines.sort();
    assert_eq!(lines, ["done 1", "done 2"], "{stderr}");
    assert!(!dir.path().join("3").exists(), "job 3 must not start");
}

/// Bug 6: `-X` and `-n` batches wait for more input, so the source must
/// keep reading until the end of input is seen, however much is pending.
#[test]
fn batches_from_stdin_never_wait_forever_for_the_end_of_input() {
    let hundred: String = (1..=100).map(|n| format!("{n}\n")).collect();
    let joined: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    tool("pool-run")
        .args(["-X", "echo"])
        .write_stdin(hundred.clone())
        .assert()
        .success()
        .stdout(format!("{}\n", joined.join(" ")));
    let two_hundred: String = (1..=200).map(|n| format!("{n}\n")).collect();
    let out = tool("pool-run")
        .args(["-k", "-n", "100", "echo"])
        .write_stdin(two_hundred)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], joined.join(" "));
    tool("pool-run")
        .args(["-X", "true"])
        .write_stdin("1\n2\n")
        .assert()
        .success();
}
