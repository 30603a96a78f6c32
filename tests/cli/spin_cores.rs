//! spin-cores as users run it: measured samples and summary, worker processes
//! that never outlive it, the comparison table, and bad input.

use std::os::unix::process::ExitStatusExt;

use crate::support::{Running, assert_usage_errors, pid_exists, tool};

fn spin_cores() -> assert_cmd::Command {
    tool("spin-cores")
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn json_run_gives_samples_and_a_summary_of_two_workers() {
    let out = spin_cores()
        .args(["--timeout", "1s", "-n", "2", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let records = json_lines(&String::from_utf8_lossy(&out.stdout));
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(kinds.last(), Some(&"summary"));
    let samples: Vec<_> = records.iter().filter(|r| r["type"] == "sample").collect();
    assert_eq!(samples.len(), 1, "one sample at 1s: {kinds:?}");
    for sample in samples {
        assert_eq!(sample["workers"], 2);
        assert!(sample["cpu_percent"].as_f64().unwrap() >= 0.0);
        assert!(sample["cores"].is_array());
    }
    let summary = records.last().unwrap();
    assert_eq!(summary["workers"], 2);
    assert!(summary["cpu_time_s"].as_f64().unwrap() > 0.0, "{summary}");
    assert_eq!(summary["loops_per_s"].as_array().unwrap().len(), 2);
    assert!(summary["loops_per_s"][0].as_f64().unwrap() > 0.0);
    assert_eq!(summary["stopped_by"], serde_json::Value::Null);
}

#[test]
fn text_run_prints_a_line_per_sample_in_a_pipe() {
    let out = spin_cores()
        .args([
            "-t",
            "500ms",
            "-n",
            "1",
            "--interval",
            "100ms",
            "--load",
            "50",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    let samples = text.lines().filter(|l| l.starts_with("cpu ")).count();
    assert!(samples >= 3, "{text}");
    assert!(!text.contains('\r'), "no in-place updates in a pipe");
    assert!(text.contains("workers: 1 thread, load 50%"), "{text}");
    assert!(text.contains("loops/s per worker: "), "{text}");
}

#[test]
fn sigint_stops_worker_processes_and_leaves_none_behind() {
    let running = Running::start(
        "spin-cores",
        &[
            "--mode",
            "processes",
            "-n",
            "2",
            "--json",
            "--interval",
            "100ms",
        ],
    );
    let start: serde_json::Value = serde_json::from_str(&running.next_line()).unwrap();
    assert_eq!(start["type"], "start");
    let pids: Vec<u32> = start["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&pid| pid_exists(pid)));
    // A sample proves the workers are spinning before the interrupt.
    let sample: serde_json::Value = serde_json::from_str(&running.next_line()).unwrap();
    assert_eq!(sample["type"], "sample");
    running.signal(libc::SIGINT);
    let (status, rest, _) = running.finish();
    assert_eq!(
        status.signal(),
        Some(libc::SIGINT),
        "dies of the signal: {status:?}"
    );
    let summary = json_lines(&rest).pop().expect("a summary after Ctrl-C");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["stopped_by"], "SIGINT");
    assert!(
        summary["loops_per_s"][0].as_f64().unwrap() > 0.0,
        "workers reported counts"
    );
    for pid in pids {
        assert!(!pid_exists(pid), "worker {pid} outlived spin-cores");
    }
}

#[test]
fn bad_input_is_a_usage_error_with_one_line() {
    assert_usage_errors(
        "spin-cores",
        2,
        &[
            &["--load", "0"],
            &["--load", "150"],
            &["-n", "-1"],
            &["--timeout", "5x"],
            &["--mode", "fibers"],
        ],
    );
}

#[test]
fn compare_prints_every_row_with_speedups() {
    let out = spin_cores()
        .args(["compare", "--tasks", "2", "--work", "1000", "--io", "5ms"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert!(lines[0].contains("CPU-bound") && lines[0].contains("IO-bound"));
    for (line, way) in lines[1..6].iter().zip([
        "sequential",
        "threads",
        "processes",
        "pool of",
        "coroutines",
    ]) {
        assert!(line.starts_with(way), "{line}");
        assert!(line.contains('x'), "no speed-up in: {line}");
    }
    assert!(lines[1].matches("1.00x").count() == 2, "{}", lines[1]);
    assert!(lines[6].starts_with("reading: "));
}

#[test]
fn compare_json_has_a_row_per_way() {
    let out = spin_cores()
        .args(["compare", "--json", "--work", "1000", "--io", "1ms"])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["cpu_bound_speedup"], 1.0);
    assert!(
        rows[3]["io_bound_s"].is_number() && rows[3]["cpu_bound_s"].is_number(),
        "the process pool runs both kinds of task"
    );
    assert_eq!(rows[4]["way"], "coroutines");
    assert!(
        rows[4]["cpu_bound_s"].is_null(),
        "the coroutines row is IO-bound only"
    );
}

/// Interrupted twice, the way an impatient user or `timeout` does it (the
/// signal goes to the whole process group, twice): every worker process
/// still reports its count, none is lost to a signal or an interrupted
/// read, and spin-cores dies of the signal after its summary.
#[test]
fn interrupted_twice_every_worker_still_reports() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let running = Running::start(
            "spin-cores",
            &[
                "-n",
                "2",
                "--mode",
                "processes",
                "--json",
                "--interval",
                "100ms",
            ],
        );
        let start: serde_json::Value = serde_json::from_str(&running.next_line()).unwrap();
        assert_eq!(start["type"], "start");
        let sample: serde_json::Value = serde_json::from_str(&running.next_line()).unwrap();
        assert_eq!(sample["type"], "sample");
        running.signal_group(signal);
        running.signal_group(signal);
        let (status, rest, stderr) = running.finish();
        assert_eq!(status.signal(), Some(signal), "{status:?} {stderr}");
        assert_eq!(stderr, "", "no worker lost");
        let summary = json_lines(&rest).pop().expect("a summary");
        assert_eq!(summary["type"], "summary", "{rest}");
        let rates = summary["loops_per_s"].as_array().unwrap();
        assert_eq!(rates.len(), 2, "{summary}");
        assert!(
            rates.iter().all(|r| r.as_f64().unwrap() > 0.0),
            "signal {signal}: every worker's count is reported: {summary}"
        );
    }
}

#[test]
fn quiet_prints_nothing_and_show_cpus_prints_the_count() {
    spin_cores()
        .args(["-q", "-t", "200ms"])
        .assert()
        .success()
        .stdout("");
    let cpus = std::thread::available_parallelism().unwrap().get();
    spin_cores()
        .args(["--show-cpus", "-q", "-t", "200ms"])
        .assert()
        .success()
        .stdout(format!("{cpus}\n"));
}

#[test]
fn the_async_program_runs_coroutines_in_one_process_overlapping_their_waits() {
    let out = spin_cores()
        .args([
            "compare",
            "--program",
            "io-async",
            "--io",
            "50ms",
            "-n",
            "3",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    let last_start = lines.iter().rposition(|l| l.ends_with(" start")).unwrap();
    let first_end = lines.iter().position(|l| l.ends_with(" end")).unwrap();
    assert!(
        last_start < first_end,
        "every coroutine started before any ended: {text}"
    );
    let pids: std::collections::HashSet<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("child process: "))
        .map(|rest| rest.split(' ').next().unwrap())
        .collect();
    assert_eq!(pids.len(), 1, "one process: {text}");
    assert!(lines[9].starts_with("took "), "{text}");
}

#[test]
fn the_io_pool_program_says_what_it_really_runs() {
    let out = spin_cores()
        .args([
            "compare",
            "--program",
            "io-pool",
            "--io",
            "20ms",
            "--lang",
            "zh",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("runs a Pool of 2 processes"), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    let workers: std::collections::HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("子进程: "))
        .map(|rest| rest.split(' ').next().unwrap())
        .collect();
    assert_eq!(workers.len(), 2, "two worker processes: {text}");
    assert!(!workers.contains(std::process::id().to_string().as_str()));
}
