//! subproc as users run it: real commands, real signals, real process groups.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;

use predicates::prelude::*;
use predicates::str::contains;

use crate::support::{Running, pid_exists, stderr_lines, tool};

fn subproc() -> assert_cmd::Command {
    tool("subproc")
}

fn json_report(output: &std::process::Output) -> serde_json::Value {
    let lines = stderr_lines(output);
    assert_eq!(lines.len(), 1, "one JSON line: {lines:?}");
    serde_json::from_str(&lines[0]).expect("the report is JSON")
}

#[test]
fn exit_codes_pass_through_with_the_tutorial_report() {
    for code in [0, 1, 42, 255] {
        subproc()
            .args(["sh", "-c", &format!("exit {code}")])
            .assert()
            .code(code)
            .stdout("")
            .stderr(format!("Exit code {code}\n"));
    }
}

#[test]
fn signal_death_is_128_plus_n_and_named() {
    subproc()
        .args(["sh", "-c", "kill -KILL $$"])
        .assert()
        .code(137)
        .stderr("Exit code 137 (killed by SIGKILL)\n");
    subproc()
        .args(["sh", "-c", "kill -TERM $$"])
        .assert()
        .code(143)
        .stderr("Exit code 143 (killed by SIGTERM)\n");
}

#[test]
fn command_not_found_is_127() {
    let out = subproc()
        .arg("prockit-no-such-command")
        .assert()
        .code(127)
        .get_output()
        .clone();
    assert_eq!(
        stderr_lines(&out),
        ["subproc: error: cannot run 'prockit-no-such-command': command not found"]
    );
}

#[test]
fn command_not_executable_is_126() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = subproc()
        .arg(&script)
        .assert()
        .code(126)
        .get_output()
        .clone();
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].ends_with("permission denied"), "{lines:?}");
}

#[test]
fn timeout_gives_124_and_names_the_signal() {
    subproc()
        .args(["--timeout", "200ms", "sleep", "20"])
        .assert()
        .code(124)
        .stderr("Exit code 124 (timed out after 200ms, sent SIGTERM)\n");
}

#[test]
fn timeout_preserve_status_gives_the_childs_code() {
    subproc()
        .args(["--timeout", "0.2", "--preserve-status", "sleep", "20"])
        .assert()
        .code(143);
}

#[test]
fn kill_after_gives_137_when_sigterm_is_ignored() {
    // The shell and its sleep ignore TERM; only the SIGKILL ends them.
    subproc()
        .args(["--timeout", "0.2", "--kill-after", "0.2"])
        .args(["sh", "-c", "trap '' TERM; sleep 20"])
        .assert()
        .code(137)
        .stderr(contains("then SIGKILL after 200ms"));
}

#[test]
fn timeout_kills_the_whole_process_group() {
    // The shell prints its background grandchild's pid, then waits.
    let out = subproc()
        .args([
            "--timeout",
            "0.3",
            "sh",
            "-c",
            "sleep 100 & echo $!; sleep 100",
        ])
        .assert()
        .code(124)
        .get_output()
        .clone();
    let grandchild: u32 = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .parse()
        .expect("grandchild pid on stdout");
    // subproc reaps the group before it exits: the pid is gone, not a zombie.
    assert!(!pid_exists(grandchild), "grandchild {grandchild} survived");
}

#[test]
fn leftovers_ignoring_sigterm_get_sigkill_after_the_grace() {
    let out = subproc()
        .args(["--timeout", "0.2", "--kill-after", "0.3"])
        .args(["sh", "-c", "(trap '' TERM; sleep 100) & echo $!; sleep 100"])
        .assert()
        .code(124)
        .get_output()
        .clone();
    let leftover = crate::support::printed_pid(&out);
    assert!(
        !pid_exists(leftover),
        "TERM-proof leftover {leftover} survived"
    );
}

#[test]
fn sigterm_to_subproc_is_forwarded_to_the_command() {
    let running = Running::start(
        "subproc",
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done",
        ],
    );
    assert_eq!(running.next_line(), "ready");
    running.signal(libc::SIGTERM);
    let (status, stdout, stderr) = running.finish();
    assert_eq!(stdout, "got TERM\n", "the command saw the forwarded signal");
    assert_eq!(
        status.code(),
        Some(3),
        "subproc exits with the command's status"
    );
    // The shell may itself report its sleep's death ("Terminated") first.
    assert!(stderr.ends_with("Exit code 3\n"), "{stderr:?}");
    assert!(!stderr.contains("subproc:"), "{stderr:?}");
}

#[test]
fn sigusr1_is_forwarded_and_the_command_goes_on() {
    let running = Running::start(
        "subproc",
        &[
            "sh",
            "-c",
            "trap 'echo got USR1' USR1; trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done",
        ],
    );
    assert_eq!(running.next_line(), "ready");
    running.signal(libc::SIGUSR1);
    assert_eq!(
        running.next_line(),
        "got USR1",
        "the command saw USR1 and kept running"
    );
    running.signal(libc::SIGTERM);
    let (status, _, stderr) = running.finish();
    assert_eq!(status.code(), Some(0));
    assert!(stderr.ends_with("Exit code 0\n"), "{stderr:?}");
}

#[test]
fn sigint_reaches_a_command_that_does_not_catch_it() {
    let running = Running::start("subproc", &["sh", "-c", "echo ready; exec sleep 100"]);
    assert_eq!(running.next_line(), "ready");
    running.signal(libc::SIGINT);
    let (status, _, stderr) = running.finish();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(status.signal(), None);
    assert_eq!(stderr, "Exit code 130 (killed by SIGINT)\n");
}

#[test]
fn json_report_fields_parse() {
    let out = subproc()
        .args(["--json", "sh", "-c", "echo out; exit 3"])
        .assert()
        .code(3)
        .stdout("out\n")
        .get_output()
        .clone();
    let report = json_report(&out);
    assert_eq!(
        report["command"],
        serde_json::json!(["sh", "-c", "echo out; exit 3"])
    );
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["signal"], serde_json::Value::Null);
    assert_eq!(report["timed_out"], false);
    for field in ["wall_s", "user_s", "sys_s"] {
        assert!(report[field].as_f64().is_some_and(|s| s >= 0.0), "{field}");
    }
    assert!(report["max_rss_kib"].as_u64().is_some_and(|kib| kib > 0));

    let out = subproc()
        .args(["--json", "--timeout", "0.1", "sleep", "10"])
        .assert()
        .code(124)
        .get_output()
        .clone();
    let report = json_report(&out);
    assert_eq!(report["timed_out"], true);
    assert_eq!(report["signal"], "SIGTERM");
    assert_eq!(report["exit_code"], 124);
}

#[test]
fn json_report_goes_to_a_file_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    subproc()
        .args(["--json", "--report"])
        .arg(&file)
        .args(["sh", "-c", "exit 5"])
        .assert()
        .code(5)
        .stderr("");
    let text = std::fs::read_to_string(&file).unwrap();
    let report: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(report["exit_code"], 5);
}

fn max_rss_kib(command: &[&str]) -> u64 {
    let out = subproc()
        .arg("--json")
        .args(command)
        .assert()
        .success()
        .get_output()
        .clone();
    json_report(&out)["max_rss_kib"]
        .as_u64()
        .expect("max_rss_kib")
}

#[test]
fn rusage_max_rss_grows_when_the_child_allocates() {
    let idle = max_rss_kib(&["sh", "-c", "true"]);
    // The shell holds 64 MiB in a variable.
    let big = max_rss_kib(&[
        "sh",
        "-c",
        "x=$(head -c 67108864 /dev/zero | tr '\\0' a); test ${#x} -eq 67108864",
    ]);
    assert!(big > idle + 60_000, "idle {idle} KiB, allocating {big} KiB");
}

#[test]
fn rusage_flag_prints_time_v_lines() {
    subproc()
        .args(["-v", "true"])
        .assert()
        .success()
        .stderr(contains("Exit code 0\n\tCommand being timed: \"true\"\n"))
        .stderr(contains("\tMaximum resident set size (kbytes): "))
        .stderr(contains("\tVoluntary context switches: "));
}

#[test]
fn stdin_and_stdout_pass_through() {
    subproc()
        .arg("cat")
        .write_stdin("hello\nworld\n")
        .assert()
        .success()
        .stdout("hello\nworld\n")
        .stderr("Exit code 0\n");
}

#[test]
fn quiet_drops_the_report() {
    subproc()
        .args(["-q", "sh", "-c", "exit 4"])
        .assert()
        .code(4)
        .stderr("");
}

#[test]
fn retries_rerun_until_success() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("count");
    // Fails twice, then succeeds: the file grows by one line per attempt.
    let script = format!(
        "echo x >> {0}; test $(wc -l < {0}) -ge 3",
        counter.display()
    );
    subproc()
        .args(["--retries", "5", "--retry-delay", "10ms", "sh", "-c", &script])
        .assert()
        .success()
        .stderr("Exit code 1 (attempt 1 of 6)\nExit code 1 (attempt 2 of 6)\nExit code 0 (attempt 3 of 6)\n");
    subproc()
        .args(["--retries", "1", "false"])
        .assert()
        .code(1)
        .stderr("Exit code 1 (attempt 1 of 2)\nExit code 1 (attempt 2 of 2)\n");
}

#[test]
fn malformed_timeout_is_125_with_one_line_naming_it() {
    let out = subproc()
        .args(["--timeout", "5x", "true"])
        .assert()
        .code(125)
        .stdout("")
        .get_output()
        .clone();
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("subproc: error: "), "{lines:?}");
    assert!(lines[0].contains("'5x'"), "{lines:?}");
}

#[test]
fn no_command_is_125_with_one_line() {
    let out = subproc().assert().code(125).stdout("").get_output().clone();
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("no command given"), "{lines:?}");
}

#[test]
fn unknown_flag_and_bad_signal_are_125() {
    subproc()
        .args(["--frobnicate", "true"])
        .assert()
        .code(125)
        .stderr(contains("'--frobnicate'").and(predicate::str::is_match("^[^\n]*\n$").unwrap()));
    subproc()
        .args(["--signal", "NOPE", "-t", "1", "true"])
        .assert()
        .code(125)
        .stderr(contains("unknown signal 'NOPE'"));
}

#[test]
fn options_after_the_command_belong_to_the_command() {
    subproc()
        .args(["-q", "echo", "--timeout", "5x"])
        .assert()
        .success()
        .stdout("--timeout 5x\n");
}

#[test]
fn help_and_version_go_to_stdout_with_exit_0() {
    subproc()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("Exit codes:"))
        .stderr("");
    subproc()
        .arg("--version")
        .assert()
        .success()
        .stdout(contains("subproc "));
}

/// Ctrl-C typed at a terminal goes to the foreground group, which subproc
/// has handed to the command: subproc itself never gets the SIGINT. When
/// the command dies of it, what is left of its group (here a background
/// `sleep`, which ignores SIGINT as every `&` job of a non-interactive sh
/// does) is cleared as after any terminating signal, with
/// `--keep-leftovers` too: nothing lives on, re-parented to init.
#[test]
fn ctrl_c_on_a_terminal_clears_the_commands_group() {
    use crate::support::pty::Pty;
    use std::time::Duration;
    for keep in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let mut command = std::process::Command::new(crate::support::bin_path("subproc"));
        if keep {
            command.arg("--keep-leftovers");
        }
        command.args([
            "sh",
            "-c",
            &format!(
                "sleep 95 & echo $! > {}; echo ready; sleep 95",
                pidfile.display()
            ),
        ]);
        let mut pty = Pty::spawn(command);
        pty.wait_for("ready", Duration::from_secs(10));
        pty.type_keys(b"\x03");
        let status = pty.wait(Duration::from_secs(10));
        let background: u32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone = crate::support::wait_until_not_running(background, Duration::from_secs(5));
        if !gone {
            // SAFETY: kill on a pid this test's command started.
            unsafe { libc::kill(background as i32, libc::SIGKILL) };
        }
        assert!(gone, "keep={keep}: the background sleep lives on");
        assert_eq!(status.code(), Some(130), "keep={keep}: died of SIGINT");
    }
}

/// A mistyped flag or subcommand: the one error line, then clap's tip.
#[test]
fn a_typo_gets_one_error_line_and_the_did_you_mean_tip() {
    let cases: [(&str, &[&str], &str); 2] = [
        ("subproc", &["--timout", "2", "true"], "'--timeout'"),
        ("fork-demo", &["memroy"], "'memory'"),
    ];
    for (name, args, suggestion) in cases {
        let out = tool(name)
            .args(args)
            .assert()
            .failure()
            .get_output()
            .clone();
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with(&format!("{name}: error: ")),
            "{lines:?}"
        );
        assert!(
            lines[1].trim_start().starts_with("tip: a similar"),
            "{lines:?}"
        );
        assert!(lines[1].ends_with(suggestion), "{lines:?}");
    }
}

/// Under `| head`, subproc's code is its command's: `seq` killed by
/// SIGPIPE gives 141, as with coreutils `timeout`, the oracle; subproc
/// adds no error line.
#[test]
fn under_head_the_code_is_the_commands_as_with_timeout() {
    let out = crate::support::shell(
        "exec 3>&1; { $SUBPROC -q seq 1000000; echo \"subproc=$?\" >&3; } | head -1 >/dev/null; \
         { timeout 10 seq 1000000; echo \"timeout=$?\" >&3; } | head -1 >/dev/null",
        b"",
        std::time::Duration::from_secs(30),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "subproc=141\ntimeout=141\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// fork-demo passes a failing child's code on, so a child may not use the
/// codes that mean something else: fork-demo's own 1 and 2, a shell's 126+.
#[test]
fn fork_demo_child_codes_never_collide_with_its_own() {
    for bad in ["1", "2", "126"] {
        let out = tool("fork-demo")
            .args(["--child-exit", bad])
            .assert()
            .code(2)
            .get_output()
            .clone();
        assert_eq!(stderr_lines(&out).len(), 1);
    }
    tool("fork-demo")
        .args(["--child-exit", "3"])
        .assert()
        .code(3);
}
