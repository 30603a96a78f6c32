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

/// The last number on a line (`pid: 12, num is 34` gives 34).
fn last_number(line: &str) -> u64 {
    let digits: String = line
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

#[test]
fn a_forked_child_sees_the_parents_number_a_spawned_one_draws_its_own() {
    let forked = stdout_of(fork_demo().arg("inherit"));
    let lines: Vec<&str> = forked.lines().collect();
    assert_eq!(lines.len(), 2, "{forked}");
    assert_ne!(
        lines[0].split(',').next(),
        lines[1].split(',').next(),
        "two pids"
    );
    assert_eq!(last_number(lines[0]), last_number(lines[1]), "{forked}");
    // A number from 0 to 100 drawn twice: five runs all drawing the same
    // pair by chance is a 1 in 10^10 event.
    let differed = (0..5).any(|_| {
        let spawned = stdout_of(fork_demo().args(["inherit", "--start", "spawn"]));
        let lines: Vec<&str> = spawned.lines().collect();
        assert_eq!(lines.len(), 2, "{spawned}");
        last_number(lines[0]) != last_number(lines[1])
    });
    assert!(differed, "a spawned child draws its own number");
}

#[test]
fn pool_workers_are_long_lived_one_runs_a_second_task() {
    let text = stdout_of(fork_demo().args(["pool", "apply", "--sleep", "50ms"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "Waiting for all subprocesses done...");
    assert_eq!(lines.last(), Some(&"All subprocesses done."));
    let runs: Vec<(u64, u32)> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("Run task "))
        .map(|rest| {
            let task = rest.split(' ').next().unwrap().parse().unwrap();
            (task, pid_after(rest, &format!("{task} (pid: ")))
        })
        .collect();
    assert_eq!(runs.len(), 5, "{text}");
    let mut pids: Vec<u32> = runs.iter().map(|r| r.1).collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 4, "4 workers ran the 5 tasks: {text}");
    for task in 0..5u64 {
        assert!(text.contains(&format!("Task {task} result is: {}\n", task * task)));
    }
}

#[test]
fn pool_map_writes_each_file_and_prints_the_results_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout_of(
        fork_demo()
            .current_dir(dir.path())
            .args(["pool", "map", "-n", "5"]),
    );
    assert_eq!(text, "[1, 8, 27, 64, 125]\n");
    let five = std::fs::read_to_string(dir.path().join("TEXT/5.txt")).unwrap();
    assert_eq!(five, "25\n");
}

#[test]
fn memory_queues_bring_back_every_number_grouped_by_queue() {
    let text = stdout_of(fork_demo().args(["memory", "--only", "queues"]));
    let numbers: Vec<u64> = text
        .trim()
        .trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .map(|n| n.parse().unwrap())
        .collect();
    let expected: Vec<u64> = (0..3)
        .flat_map(|k| (0..1000).filter(move |i| i % 3 == k))
        .collect();
    assert_eq!(numbers, expected);
}

#[test]
fn the_writer_runs_ahead_unless_the_queue_is_bounded() {
    let position = |text: &str, line: &str| {
        text.lines()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("no {line:?} in {text}"))
    };
    let free =
        stdout_of(fork_demo().args(["queue", "--write-every", "10ms", "--read-every", "200ms"]));
    assert!(
        position(&free, "write_task end") < position(&free, "read, 2"),
        "{free}"
    );
    assert_eq!(free.lines().last(), Some("DONE"));
    let bounded = stdout_of(fork_demo().args([
        "queue",
        "--write-every",
        "10ms",
        "--read-every",
        "200ms",
        "--maxsize",
        "1",
    ]));
    // write, 3 must wait until read, 2 made room for it; so must the end.
    assert!(
        position(&bounded, "read, 2") < position(&bounded, "write_task end"),
        "{bounded}"
    );
    for n in 1..=4 {
        assert!(bounded.contains(&format!("read, {n}\n")), "{bounded}");
    }
}

#[test]
fn downloads_run_at_the_same_time_in_every_form() {
    for with in ["processes", "threads", "thread-struct"] {
        let text = stdout_of(fork_demo().args([
            "download", "--with", with, "--min", "100ms", "--max", "200ms", "--lang", "zh",
        ]));
        let lines: Vec<&str> = text.lines().collect();
        let started: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with("开始下载"))
            .collect();
        let finished: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains("下载完成! 耗费了"))
            .collect();
        assert_eq!((started.len(), finished.len()), (2, 2), "{with}: {text}");
        assert!(
            started[1] < finished[0],
            "{with}: both start before either ends: {text}"
        );
        assert!(lines.last().unwrap().starts_with("总共耗费了"), "{text}");
        let pid_lines = lines
            .iter()
            .filter(|l| l.starts_with("启动下载进程"))
            .count();
        assert_eq!(pid_lines, if with == "processes" { 2 } else { 0 }, "{text}");
    }
}

#[test]
fn a_crashed_process_spares_the_others_a_crashed_thread_does_not() {
    let text = stdout_of(fork_demo().arg("crash"));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[3].contains(": killed by SIGSEGV. Child process")
            && lines[3].contains(": exited with code 0. Parent process"),
        "{text}"
    );
    let died = lines
        .iter()
        .find(|l| l.contains("thread 1 died with it"))
        .unwrap();
    assert!(died.contains("killed by SIGSEGV"), "{text}");
    assert!(!text.contains("thread 1 finished"), "{text}");
    assert!(text.contains("join() returned the panic"), "{text}");
}

#[test]
fn tutorial_003_wordings_of_fork_and_process() {
    let c = stdout_of(fork_demo().args(["--wording", "c"]));
    let lines: Vec<&str> = c.lines().collect();
    assert_eq!(lines.len(), 2, "no start line: {c}");
    let parent = pid_after(lines[0], "I (");
    assert!(
        lines[1].ends_with(&format!("and my parent is ({parent})")),
        "{c}"
    );
    let python = stdout_of(fork_demo().args(["--wording", "003"]));
    assert!(python.lines().all(|l| l.ends_with(").")), "{python}");
    let process = stdout_of(fork_demo().args(["process", "--wording", "003"]));
    let lines: Vec<&str> = process.lines().collect();
    assert_eq!((lines[1], lines[3]), ("Process will start", "Process end."));
}
