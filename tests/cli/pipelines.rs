//! The tools inside real shell pipelines: transparent data flow, quiet ends
//! when a reader closes early, reports kept off stdout.

use std::time::Duration;

use assert_cmd::assert::OutputAssertExt;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

use crate::support::{CHILD_TIMEOUT, shell};

fn sh(script: &str) -> std::process::Output {
    shell(script, b"", CHILD_TIMEOUT)
}

#[test]
fn subproc_is_transparent_in_a_pipeline() {
    sh("echo hi | $SUBPROC cat | wc -c")
        .assert()
        .success()
        .stdout(predicates::str::is_match("^ *3\n$").unwrap())
        .stderr("Exit code 0\n");
}

#[test]
fn subproc_output_into_head_ends_without_a_panic() {
    // seq dies of SIGPIPE once head exits; subproc says so, like a shell would.
    sh("$SUBPROC seq 1 1000000 | head -1")
        .assert()
        .success()
        .stdout("1\n")
        .stderr("Exit code 141 (killed by SIGPIPE)\n");
}

#[test]
fn subproc_help_into_head_ends_quietly() {
    sh("$SUBPROC --help | head -1; exit 0")
        .assert()
        .success()
        .stdout(contains("subproc").or(contains("Run")))
        .stderr("");
}

#[test]
fn subproc_report_with_stderr_closed_is_dropped_silently() {
    sh("$SUBPROC sh -c 'exit 6' 2>&-; echo \"rc=$?\"")
        .assert()
        .success()
        .stdout("rc=6\n");
}

#[test]
fn subproc_hands_the_terminal_to_the_command() {
    // `script` runs the command on a fresh pseudo-terminal, as an interactive
    // prompt would. The command runs in its own process group; without the
    // hand-over its read would stop it with SIGTTIN and the pipeline would
    // hang until the limit.
    shell(
        "script -qec \"$SUBPROC sh -c 'read x; echo got \\$x'\" /dev/null",
        b"hello\n",
        Duration::from_secs(10),
    )
    .assert()
    .success()
    .stdout(contains("got hello").and(contains("Exit code 0")));
}

#[test]
fn lock_demo_output_into_head_ends_quietly() {
    sh("$LOCK_DEMO threads --delay 1ms | head -1")
        .assert()
        .success()
        .stdout("thread MainThread is running...\n")
        .stderr("");
}

#[test]
fn lock_demo_json_feeds_a_filter() {
    sh("$LOCK_DEMO bench --json -i 1000 | grep -v '\"sync\":\"split\"' | grep -c '\"correct\":true'")
        .assert()
        .success()
        .stdout("3\n");
}

#[test]
fn spin_cores_into_head_stops_quietly() {
    sh("$SPIN_CORES -n 1 --interval 50ms | head -1")
        .assert()
        .success()
        .stdout(predicates::str::starts_with("cpu "))
        .stderr("");
}

#[test]
fn pingpong_words_feed_a_filter() {
    sh("$PINGPONG --delay 0 | grep -o Pong | wc -l")
        .assert()
        .success()
        .stdout(predicates::str::is_match("^ *25\n$").unwrap());
}

#[test]
fn pool_run_into_head_ends_quietly_and_stops_its_jobs() {
    sh("seq 1 100000 | $POOL_RUN -k -j2 echo | head -1")
        .assert()
        .success()
        .stdout("1\n")
        .stderr("");
}

#[test]
fn pool_run_memory_stays_bounded_with_keep_order_and_a_slow_first_job() {
    // Job 1 sleeps while 39 others each print 1 MiB: held in memory that
    // would be 39 MiB; spilled to temporary files it is a few.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let script = format!(
        "seq 40 | $SUBPROC --report {} --json $POOL_RUN -k -j2 'if [ {{}} = 1 ]; then sleep 0.5; fi; head -c 1048576 /dev/zero' | wc -c",
        report.display()
    );
    let out = sh(&script);
    out.clone().assert().success();
    let total: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(total, 40 * 1_048_576, "nothing lost");
    let report: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    let rss = report["max_rss_kib"].as_u64().unwrap();
    assert!(rss < 16 * 1024, "pool-run peaked at {rss} KiB");
}

/// The benchmarks say what they measure while they measure it, on a
/// terminal only, and erase it before each row: the screen ends up with
/// the rows alone.
#[test]
fn bench_status_shows_on_a_terminal_and_leaves_only_the_rows() {
    use crate::support::pty::{Pty, visible_lines};
    let mut command = std::process::Command::new(crate::support::bin_path("fork-demo"));
    command.args(["bench", "-i", "20"]);
    let mut pty = Pty::spawn(command);
    assert!(pty.wait_and_keep(Duration::from_secs(30)).success());
    let screen = pty.screen();
    assert!(
        screen.contains("measuring fork+_exit+wait (1 of 6)"),
        "{screen:?}"
    );
    let lines = visible_lines(&screen);
    assert!(lines.iter().all(|l| !l.contains("measuring")), "{lines:?}");
    assert_eq!(lines.len(), 2 + 6, "title, header, six rows: {lines:?}");
    // Off a terminal: nothing on stderr.
    let out = crate::support::tool("pingpong")
        .args(["bench", "-i", "100", "--transport", "pipe"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// spin-cores with a time limit shows how far it is, on a terminal.
#[test]
fn spin_cores_shows_its_progress_on_a_terminal() {
    use crate::support::pty::Pty;
    let mut command = std::process::Command::new(crate::support::bin_path("spin-cores"));
    command.args(["-n", "1", "-t", "600ms", "--interval", "200ms"]);
    let mut pty = Pty::spawn(command);
    assert!(pty.wait_and_keep(Duration::from_secs(30)).success());
    assert!(pty.screen().contains("s of 600ms"), "{:?}", pty.screen());
}
