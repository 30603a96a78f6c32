//! lock-demo as users run it: the tutorial's thread lines, the race and its
//! fixes, the bank, the benchmark's JSON, and bad input.

use predicates::str::contains;

use crate::support::{assert_usage_errors, tool};

fn lock_demo() -> assert_cmd::Command {
    tool("lock-demo")
}

fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn threads_prints_the_tutorial_lines_in_order() {
    let expected = "thread MainThread is running...\n\
                    thread LoopThread is running...\n\
                    thread LoopThread >>> 1\n\
                    thread LoopThread >>> 2\n\
                    thread LoopThread >>> 3\n\
                    thread LoopThread >>> 4\n\
                    thread LoopThread >>> 5\n\
                    thread LoopThread ended.\n\
                    thread MainThread ended.\n";
    lock_demo()
        .args(["threads", "--delay", "1ms"])
        .assert()
        .success()
        .stdout(expected);
}

#[test]
fn synchronised_races_always_end_at_zero() {
    for sync in ["mutex", "atomic", "thread-local"] {
        for _ in 0..3 {
            let out = lock_demo()
                .args(["race", "--json", "--check", "--sync", sync, "-i", "200000"])
                .assert()
                .success()
                .get_output()
                .clone();
            let run = &json_lines(&out)[0];
            assert_eq!(run["balance"], 0, "{sync}: {run}");
            assert_eq!(run["lost_updates"], 0, "{sync}");
            assert_eq!(run["writes"], 800_000);
        }
    }
}

#[test]
fn unsynchronised_race_reports_its_numbers_and_exits_0() {
    let out = lock_demo()
        .args(["-i", "200000"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    let balance: i64 = lines[0].parse().expect("first line is the balance alone");
    assert_eq!(lines[2], format!("balance: {balance}, expected 0"));
    assert!(lines[3].starts_with("lost updates: "), "{text}");
    assert!(
        lines[4].starts_with("threads ran at the same time: "),
        "{text}"
    );
}

#[test]
fn check_fails_when_updates_were_lost() {
    // Lost updates are likely, not certain: retry until one run loses some
    // (bounded), then --check must say so with exit 1.
    for _ in 0..20 {
        let out = lock_demo()
            .args(["--json", "--check", "-i", "1000000"])
            .output()
            .unwrap();
        let run = &json_lines(&out)[0];
        if run["balance"] != 0 {
            assert_eq!(out.status.code(), Some(1), "{run}");
            return;
        }
        assert_eq!(out.status.code(), Some(0));
    }
    panic!("20 unsynchronised races on 2 threads never lost an update");
}

#[test]
fn bank_with_a_mutex_ends_at_exactly_the_thread_count() {
    lock_demo()
        .args([
            "bank",
            "--sync",
            "mutex",
            "--threads",
            "100",
            "--work",
            "1ms",
            "--check",
        ])
        .assert()
        .success()
        .stdout("Account balance: 100 (expected 100: 100 threads deposited 1 each, sync mutex)\n");
}

#[test]
fn bank_without_a_lock_loses_deposits() {
    let out = lock_demo()
        .args(["bank", "--json", "--threads", "50", "--work", "200ms"])
        .assert()
        .success()
        .get_output()
        .clone();
    let run = &json_lines(&out)[0];
    let balance = run["balance"].as_i64().unwrap();
    assert!(balance < 50, "50 overlapping deposits all arrived: {run}");
    assert_eq!(run["correct"], false);
}

#[test]
fn bench_json_has_a_correct_row_per_way() {
    let out = lock_demo()
        .args(["bench", "--json", "-n", "2", "-i", "100000"])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows = json_lines(&out);
    let ways: Vec<&str> = rows.iter().map(|r| r["sync"].as_str().unwrap()).collect();
    assert_eq!(ways, ["split", "mutex", "atomic", "thread-local"]);
    for row in &rows[1..] {
        assert_eq!(row["balance"], 200_000, "{row}");
        assert!(row["ops_per_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bad_input_is_a_usage_error_with_one_line() {
    assert_usage_errors(
        "lock-demo",
        2,
        &[
            &["--sync", "spin"],
            &["race", "--iterations", "-1"],
            &["bank", "--threads", "0"],
            &["threads", "--delay", "5x"],
            &["frobnicate"],
        ],
    );
}

#[test]
fn help_lists_the_demos() {
    lock_demo().arg("--help").assert().success().stdout(
        contains("threads")
            .and(contains("bank"))
            .and(contains("bench")),
    );
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn threads_takes_the_listings_name_and_count() {
    lock_demo()
        .args([
            "threads",
            "--wording",
            "002",
            "--name",
            "Worker",
            "--count",
            "2",
        ])
        .assert()
        .success()
        .stdout("MainThread\nWorker\nWorker 0\nWorker 1\nWorker\nend MainThread\n");
    lock_demo()
        .args(["threads", "--wording", "003"])
        .assert()
        .success()
        .stdout(
            "thread MainThread is running...\nhello world\nthread TestThread is running...\n\
             hello  test\nthread TestThread ended\nthread MainThread ended\n",
        );
}

#[test]
fn the_locked_counter_reaches_threads_times_iterations() {
    let out = lock_demo()
        .args(["counter", "--sync", "mutex", "-n", "5", "-i", "100000"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nglobal num: 500000\n"), "{text}");
    for n in 1..=5 {
        assert!(
            text.contains(&format!("thread Thread-{n} is running...\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("thread Thread-{n} ended.\n")),
            "{text}"
        );
    }
}

#[test]
fn every_way_of_per_thread_data_counts_each_thread_alone() {
    for (with, prefix) in [
        ("local-variable", "function echo: "),
        ("shared-map", ""),
        ("thread-local", ""),
    ] {
        let out = lock_demo()
            .args(["per-thread", "--with", with, "-i", "50000"])
            .assert()
            .success()
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stdout);
        for n in 1..=5 {
            assert!(
                text.contains(&format!("\n{prefix}Thread-{n} 50000\n")),
                "{with}: {text}"
            );
        }
    }
}

#[test]
fn a_deadlock_is_reported_within_its_wait_and_ordered_locks_have_none() {
    let started = std::time::Instant::now();
    lock_demo()
        .args(["deadlock", "--wait", "100ms"])
        .assert()
        .success()
        .stdout(contains(
            "thread Thread-1 holds lock A and waits for lock B...",
        ))
        .stdout(contains(
            "thread Thread-2 holds lock B and waits for lock A...",
        ))
        .stdout(contains(
            "deadlock: after 100ms neither thread had its second lock",
        ));
    // Bounded: the demo ends on its own (the suite's timeout would fail it).
    assert!(started.elapsed() < crate::support::CHILD_TIMEOUT);
    lock_demo()
        .args(["deadlock", "--ordered"])
        .assert()
        .success()
        .stdout(contains("no deadlock"))
        .stdout(contains("thread Thread-2 took lock A, then lock B"));
}

#[test]
fn bank_prints_the_tutorials_line_in_chinese() {
    lock_demo()
        .args([
            "bank", "--sync", "mutex", "--lang", "zh", "-n", "20", "--work", "1ms",
        ])
        .assert()
        .success()
        .stdout("账户余额为: ￥20元\n");
}
