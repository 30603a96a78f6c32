//! fork-demo as users run it: real pids in the tutorial's wording, a child
//! that really is the parent's child, no duplicated buffers, each process's
//! own memory, and the benchmark's JSON.

use assert_cmd::assert::OutputAssertExt;
use predicates::str::contains;

use crate::support::{CHILD_TIMEOUT, assert_usage_errors, shell, stderr_lines, tool};

fn fork_demo() -> assert_cmd::Command {
    tool("fork-demo")
}

fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().success().get_output().clone();
    String::from_utf8(out.stdout).unwrap()
}

/// The number inside the first `(...)` after `prefix` in `line`.
fn pid_after(line: &str, prefix: &str) -> u32 {
    let rest = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{line:?} !~ {prefix:?}"));
    rest[..rest.find(')').unwrap()].parse().unwrap()
}

#[test]
fn default_run_prints_the_tutorial_lines_with_real_pids() {
    let text = stdout_of(&mut fork_demo());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let parent = pid_after(lines[0], "Process (");
    assert!(lines[0].ends_with(") start..."), "{text}");
    assert_eq!(pid_after(lines[1], "I ("), parent);
    let child = pid_after(
        lines[1],
        &format!("I ({parent}) just created a child process ("),
    );
    assert!(lines[1].ends_with(")."));
    assert_eq!(
        lines[2],
        format!("I am child process ({child}) and my parent is {parent}."),
        "the child's parent is the process that forked it"
    );
    assert_ne!(child, parent);
}

#[test]
fn start_line_is_printed_once_into_a_pipe_and_a_file() {
    let out = shell(
        "$FORK_DEMO | cat; $FORK_DEMO > \"$TMPFILE\"; cat \"$TMPFILE\"",
        b"",
        CHILD_TIMEOUT,
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    out.assert().success();
    assert_eq!(text.matches("start...").count(), 2, "{text}");
    assert_eq!(text.lines().count(), 6, "{text}");
}

#[test]
fn race_mode_prints_the_same_three_lines_in_any_order() {
    let text = stdout_of(fork_demo().arg("--race"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].ends_with("start..."),
        "the start line comes before the fork"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("I am child process"))
            .count(),
        1
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("just created")).count(),
        1
    );
}

#[test]
fn several_children_are_listed_after_reaping() {
    let text = stdout_of(fork_demo().args(["-n", "3"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 3 * 2 + 3, "{text}");
    let children: Vec<u32> = lines
        .iter()
        .filter(|l| l.starts_with("I am child process ("))
        .map(|l| pid_after(l, "I am child process ("))
        .collect();
    assert_eq!(children.len(), 3);
    for (line, child) in lines[7..].iter().zip(&children) {
        assert_eq!(
            *line,
            format!("Reaped child process ({child}): exit code 0.")
        );
    }
}

#[test]
fn a_failing_child_becomes_the_exit_code() {
    let out = fork_demo()
        .args(["--child-exit", "3"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("fork-demo: error: child process "),
        "{lines:?}"
    );
    assert!(lines[0].ends_with("ended with exit code 3"), "{lines:?}");
}

#[test]
fn process_prints_the_multiprocessing_lines() {
    let text = stdout_of(fork_demo().args(["process", "--name", "test"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let parent: u32 = lines[0]
        .strip_prefix("Parent process ")
        .and_then(|rest| rest.strip_suffix('.'))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(lines[1], "Child process will start.");
    let child = pid_after(lines[2], "Run child process test (");
    assert!(lines[2].ends_with(")..."));
    assert_ne!(child, parent);
    assert_eq!(lines[3], "Child process end.");
}

#[test]
fn memory_shows_each_process_has_its_own_copy_then_the_queue_fix() {
    let text = stdout_of(fork_demo().arg("memory"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].ends_with("has ret = [[], [], []]"), "{text}");
    assert!(
        lines[1].ends_with("appended 0: its ret = [[0], [], []]"),
        "{text}"
    );
    assert!(
        lines[2].ends_with("appended 1: its ret = [[], [1], []]"),
        "{text}"
    );
    assert!(
        lines[3].ends_with("appended 4: its ret = [[], [], [4]]"),
        "{text}"
    );
    assert!(lines[4].contains("still has ret = [[], [], []]"), "{text}");
    assert!(lines[5].ends_with("ret = [[0], [1], [4]]"), "{text}");
}

#[test]
fn bench_json_parses_with_ordered_percentiles() {
    let text = stdout_of(fork_demo().args(["bench", "--json", "-i", "5"]));
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    for row in rows {
        let (p50, p99) = (
            row["p50_us"].as_f64().unwrap(),
            row["p99_us"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p99, "{row}");
        assert_eq!(row["iterations"], 5);
    }
}

#[test]
fn bad_input_is_a_usage_error_with_one_line() {
    assert_usage_errors(
        "fork-demo",
        2,
        &[
            &["-n", "0"],
            &["--children", "x"],
            &["bench", "-i", "-1"],
            &["memory", "-n", "65"],
        ],
    );
    fork_demo()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("memory"));
}

/// `bench --histogram`: a histogram under each operation, counting every run.
#[test]
fn bench_histogram_shows_each_operations_distribution() {
    let out = tool("fork-demo")
        .args(["bench", "-i", "50", "--histogram"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let medians = text
        .lines()
        .filter(|l| l.contains(" | ") && l.contains("<- p50"))
        .count();
    assert_eq!(medians, 6, "one per operation: {text}");
}
