//! pingpong as users run it: exact words, every transport, the tutorial's two
//! mistakes, a killed player, the benchmark's JSON, and bad input.

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use crate::support::{Running, assert_usage_errors, pid_exists, stderr_lines, tool};

fn pingpong() -> assert_cmd::Command {
    tool("pingpong")
}

fn words_of(args: &[&str]) -> String {
    crate::support::success_stdout("pingpong", args)
}

#[test]
fn default_game_is_fifty_alternating_words_and_a_newline() {
    let text = words_of(&["--delay", "0"]);
    assert_eq!(text, format!("{}\n", "PingPong".repeat(25)));
}

#[test]
fn default_run_with_the_tutorial_delay() {
    let text = words_of(&[]);
    assert_eq!(text, format!("{}\n", "PingPong".repeat(25)));
}

#[test]
fn every_transport_produces_the_same_words() {
    for transport in ["pipe", "socket", "eventfd", "shm"] {
        let text = words_of(&[
            "--delay",
            "0",
            "--transport",
            transport,
            "--iterations",
            "7",
            "--words",
            "Tic,Tac",
        ]);
        assert_eq!(text, "TicTacTicTacTicTacTic\n", "{transport}");
    }
}

#[test]
fn count_zero_and_one() {
    assert_eq!(words_of(&["--iterations", "0"]), "\n");
    assert_eq!(words_of(&["--iterations", "1", "--delay", "0"]), "Ping\n");
}

#[test]
fn naive_counts_each_copy_to_fifty() {
    let out = pingpong()
        .args(["--naive", "--delay", "0"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.matches("Ping").count(), 50, "{text}");
    assert_eq!(text.matches("Pong").count(), 50, "{text}");
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("its own copy"), "{lines:?}");
}

#[test]
fn shared_queue_prints_exactly_fifty_words() {
    let out = pingpong()
        .args(["--shared-queue", "--delay", "1ms"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let words = text.matches("Ping").count() + text.matches("Pong").count();
    assert_eq!(words, 50, "{text}");
    assert!(text.ends_with('\n'));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("took back its own message"), "{lines:?}");
}

/// The pids of pingpong's children, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The two players' pids, once pingpong has forked both (bounded wait).
fn both_players(pingpong: u32) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let players = children_of(pingpong);
        if players.len() == 2 {
            return players;
        }
        assert!(Instant::now() < deadline, "players never started");
        std::thread::yield_now();
    }
}

#[test]
fn a_killed_player_ends_the_game_with_an_error_and_no_leftovers() {
    for transport in ["pipe", "eventfd", "shm"] {
        let running = Running::start(
            "pingpong",
            &[
                "--iterations",
                "100000",
                "--delay",
                "10ms",
                "--transport",
                transport,
            ],
        );
        let players = both_players(running.pid());
        // SAFETY: kill(2) on a child of the process under test.
        unsafe { libc::kill(players[1] as i32, libc::SIGKILL) };
        let started = Instant::now();
        let (status, _, stderr) = running.finish();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{transport}: pingpong hung"
        );
        assert_eq!(status.code(), Some(1), "{transport}: {status:?}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{transport}: {lines:?}");
        assert!(
            lines[0].starts_with(&format!(
                "pingpong: error: the Pong process ({})",
                players[1]
            )),
            "{transport}: {lines:?}"
        );
        assert!(lines[0].contains("SIGKILL"), "{lines:?}");
        for pid in players {
            assert!(!pid_exists(pid), "{transport}: player {pid} left behind");
        }
    }
}

#[test]
fn sigint_stops_both_players() {
    let running = Running::start("pingpong", &["--iterations", "100000", "--delay", "10ms"]);
    let players = both_players(running.pid());
    running.signal(libc::SIGINT);
    let (status, _, _) = running.finish();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    for pid in players {
        assert!(!pid_exists(pid), "player {pid} left behind");
    }
}

#[test]
fn bench_json_parses_with_ordered_percentiles() {
    let out = pingpong()
        .args([
            "bench",
            "--json",
            "--iterations",
            "200",
            "--transport",
            "all",
            "--pin",
            "none",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["transport"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pipe", "socket", "eventfd", "shm"]);
    for row in &rows {
        let (p50, p99) = (
            row["rt_p50_us"].as_f64().unwrap(),
            row["rt_p99_us"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p99, "{row}");
        assert_eq!(row["iterations"], 200);
        assert!((row["one_way_p50_us"].as_f64().unwrap() * 2.0 - p50).abs() < 1e-9);
        assert_eq!(row["pin"], "none");
    }
}

#[test]
fn bench_text_names_the_pinning_as_the_flag_spells_it() {
    for pin in ["none", "same"] {
        let out = pingpong()
            .args([
                "bench",
                "--iterations",
                "50",
                "--transport",
                "pipe",
                "--pin",
                pin,
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(first, format!("50 round trips per transport, pin {pin}"));
    }
}

#[test]
fn bad_input_is_a_usage_error_with_one_line() {
    assert_usage_errors(
        "pingpong",
        2,
        &[
            &["--transport", "x"],
            &["--iterations", "-1"],
            &["--words", "Ping"],
            &["bench", "--transport", "carrier-pigeon"],
            &["--naive", "--shared-queue"],
        ],
    );
}

/// `--histogram`: under the row, one line per bucket whose counts add up to
/// the round trips, the median's bucket marked.
#[test]
fn bench_histogram_counts_every_round_trip_and_marks_the_median() {
    let out = pingpong()
        .args(["bench", "-i", "500", "--transport", "pipe", "--histogram"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let buckets: Vec<&str> = text.lines().filter(|l| l.contains(" | ")).collect();
    assert!(!buckets.is_empty(), "{text}");
    let total: usize = buckets
        .iter()
        .map(|l| {
            let after_bar = l
                .split(" | ")
                .nth(1)
                .unwrap()
                .trim_start_matches(['#', ' ']);
            after_bar
                .split_whitespace()
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 500, "{text}");
    let marked = buckets.iter().filter(|l| l.contains("<- p50")).count();
    assert_eq!(marked, 1, "{text}");
    pingpong()
        .args(["bench", "--json", "--histogram"])
        .assert()
        .code(2);
}
