//! The report after each attempt: the tutorial's `Exit code N` line (with why,
//! when it is not a plain exit), GNU `time -v`-style resource lines, or one
//! JSON object. It goes to stderr or a file, never to stdout, which belongs to
//! the command.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use common::exit::ChildExit;
use common::signal::Signal;
use common::time::{format_duration, format_seconds};

use crate::cli::{Config, ReportStyle};
use crate::supervise::Attempt;

/// Where reports are written.
#[derive(Debug)]
pub enum Sink {
    Stderr,
    File(File),
}

impl Sink {
    pub fn open(path: Option<&Path>) -> io::Result<Sink> {
        Ok(match path {
            Some(path) => Sink::File(File::create(path)?),
            None => Sink::Stderr,
        })
    }

    /// Writes `text` in one call, so a report line is never split by the
    /// command's own stderr output.
    pub fn write(&mut self, text: &str) -> io::Result<()> {
        match self {
            Sink::Stderr => io::stderr().lock().write_all(text.as_bytes()),
            Sink::File(file) => file.write_all(text.as_bytes()),
        }
    }
}

/// Which attempt this is, shown only when retries are on.
#[derive(Debug, Clone, Copy)]
pub struct AttemptNumber {
    pub current: u32,
    pub total: u32,
}

/// The report for one attempt, ready to write (ends with a newline), or
/// `None` for --quiet.
pub fn render(cfg: &Config, attempt: &Attempt, number: AttemptNumber) -> Option<String> {
    match cfg.style {
        ReportStyle::Quiet => None,
        ReportStyle::Json => Some(format!("{}\n", json(cfg, attempt, number))),
        ReportStyle::Text { rusage } => {
            let mut text = format!("Exit code {}", u8::from(attempt.exit(cfg.preserve_status)));
            let notes = notes(cfg, attempt, number);
            if !notes.is_empty() {
                text.push_str(&format!(" ({})", notes.join("; ")));
            }
            text.push('\n');
            if rusage {
                text.push_str(&rusage_lines(cfg, attempt));
            }
            Some(text)
        }
    }
}

/// The JSON report for a command that could not be started.
pub fn render_spawn_failure(cfg: &Config, code: u8, message: &str) -> Option<String> {
    (cfg.style == ReportStyle::Json).then(|| {
        let record = SpawnFailureJson {
            command: command_words(cfg),
            exit_code: code,
            error: message,
        };
        format!("{}\n", to_json(&record))
    })
}

fn notes(cfg: &Config, attempt: &Attempt, number: AttemptNumber) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(fired) = attempt.timeout {
        let mut note = format!(
            "timed out after {}, sent {}",
            format_duration(fired.after),
            fired.signal
        );
        if fired.killed
            && fired.signal != Signal::KILL
            && let Some(grace) = cfg.kill_after
        {
            note.push_str(&format!(", then SIGKILL after {}", format_duration(grace)));
        }
        notes.push(note);
    }
    if let ChildExit::Signaled {
        signal,
        core_dumped,
    } = attempt.exit
    {
        let name = Signal::from_number(signal).map_or_else(|| signal.to_string(), Signal::name);
        let core = if core_dumped { ", core dumped" } else { "" };
        notes.push(format!("killed by {name}{core}"));
    } else if attempt.timeout.is_some() && cfg.preserve_status {
        notes.push(format!("exited with {}", attempt.exit.code()));
    }
    if number.total > 1 {
        notes.push(format!("attempt {} of {}", number.current, number.total));
    }
    // On a plain timeout the killed-by note repeats what the exit code says.
    if attempt.timeout.is_some() && !cfg.preserve_status {
        notes.retain(|n| !n.starts_with("killed by"));
    }
    notes
}

fn rusage_lines(cfg: &Config, attempt: &Attempt) -> String {
    let usage = &attempt.rusage;
    let lines = [
        format!("Command being timed: \"{}\"", command_words(cfg).join(" ")),
        format!("User time (seconds): {:.2}", usage.user.as_secs_f64()),
        format!("System time (seconds): {:.2}", usage.system.as_secs_f64()),
        format!(
            "Elapsed (wall clock) time (seconds): {}",
            format_seconds(attempt.wall)
        ),
        format!("Maximum resident set size (kbytes): {}", usage.max_rss_kib),
        format!("Major (requiring I/O) page faults: {}", usage.major_faults),
        format!(
            "Minor (reclaiming a frame) page faults: {}",
            usage.minor_faults
        ),
        format!("Voluntary context switches: {}", usage.voluntary_switches),
        format!(
            "Involuntary context switches: {}",
            usage.involuntary_switches
        ),
    ];
    lines.iter().map(|line| format!("\t{line}\n")).collect()
}

/// One attempt as `--json` writes it (schemas/subproc.schema.json).
#[derive(Debug, serde::Serialize)]
struct AttemptJson {
    command: Vec<String>,
    attempt: u32,
    attempts: u32,
    /// What subproc exits with.
    exit_code: u8,
    /// The command's own code (128+N for signal N).
    child_exit_code: u8,
    signal: Option<String>,
    core_dumped: bool,
    timed_out: bool,
    timeout_killed: bool,
    stopped_by: Option<String>,
    wall_s: f64,
    user_s: f64,
    sys_s: f64,
    max_rss_kib: u64,
    minor_faults: u64,
    major_faults: u64,
    voluntary_switches: u64,
    involuntary_switches: u64,
}

/// A command that could not be started, as `--json` writes it.
#[derive(Debug, serde::Serialize)]
struct SpawnFailureJson<'a> {
    command: Vec<String>,
    exit_code: u8,
    error: &'a str,
}

/// A record as one JSON line (serializing these structs cannot fail).
fn to_json(record: &impl serde::Serialize) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

fn json(cfg: &Config, attempt: &Attempt, number: AttemptNumber) -> String {
    let usage = &attempt.rusage;
    let signal = attempt
        .exit
        .signal()
        .map(|n| Signal::from_number(n).map_or_else(|| n.to_string(), Signal::name));
    to_json(&AttemptJson {
        command: command_words(cfg),
        attempt: number.current,
        attempts: number.total,
        exit_code: attempt.exit(cfg.preserve_status).into(),
        child_exit_code: attempt.exit.code(),
        signal,
        core_dumped: matches!(
            attempt.exit,
            ChildExit::Signaled {
                core_dumped: true,
                ..
            }
        ),
        timed_out: attempt.timeout.is_some(),
        timeout_killed: attempt.timeout.is_some_and(|t| t.killed),
        stopped_by: attempt.stopped_by.map(Signal::name),
        wall_s: attempt.wall.as_secs_f64(),
        user_s: usage.user.as_secs_f64(),
        sys_s: usage.system.as_secs_f64(),
        max_rss_kib: usage.max_rss_kib,
        minor_faults: usage.minor_faults,
        major_faults: usage.major_faults,
        voluntary_switches: usage.voluntary_switches,
        involuntary_switches: usage.involuntary_switches,
    })
}

/// The command as shell words a person can paste back (`sh -c 'exit 1'`).
fn command_words(cfg: &Config) -> Vec<String> {
    std::iter::once(&cfg.program)
        .chain(cfg.args.iter())
        .map(|word: &OsString| word.to_string_lossy().into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::supervise::TimeoutFired;
    use clap::Parser;
    use common::proc::Rusage;
    use std::time::Duration;

    fn cfg(args: &[&str]) -> Config {
        let cli =
            Cli::try_parse_from(std::iter::once("subproc").chain(args.iter().copied())).unwrap();
        Config::from_cli(cli).unwrap()
    }

    fn attempt(exit: ChildExit, timeout: Option<TimeoutFired>) -> Attempt {
        Attempt {
            exit,
            rusage: Rusage::default(),
            wall: Duration::from_millis(5),
            timeout,
            stopped_by: None,
        }
    }

    const ONE: AttemptNumber = AttemptNumber {
        current: 1,
        total: 1,
    };

    #[test]
    fn plain_exit_is_the_tutorial_line() {
        let text = render(&cfg(&["true"]), &attempt(ChildExit::Exited(0), None), ONE).unwrap();
        assert_eq!(text, "Exit code 0\n");
    }

    #[test]
    fn signal_death_names_the_signal() {
        let killed = ChildExit::Signaled {
            signal: 9,
            core_dumped: false,
        };
        let text = render(&cfg(&["x"]), &attempt(killed, None), ONE).unwrap();
        assert_eq!(text, "Exit code 137 (killed by SIGKILL)\n");
        let segv = ChildExit::Signaled {
            signal: 11,
            core_dumped: true,
        };
        let text = render(&cfg(&["x"]), &attempt(segv, None), ONE).unwrap();
        assert_eq!(text, "Exit code 139 (killed by SIGSEGV, core dumped)\n");
    }

    #[test]
    fn timeouts_say_what_was_sent() {
        let term = ChildExit::Signaled {
            signal: 15,
            core_dumped: false,
        };
        let fired = TimeoutFired {
            after: Duration::from_secs(1),
            signal: Signal::TERM,
            killed: false,
        };
        let text = render(&cfg(&["-t", "1", "x"]), &attempt(term, Some(fired)), ONE).unwrap();
        assert_eq!(text, "Exit code 124 (timed out after 1s, sent SIGTERM)\n");

        let killed = TimeoutFired {
            killed: true,
            ..fired
        };
        let kill = ChildExit::Signaled {
            signal: 9,
            core_dumped: false,
        };
        let config = cfg(&["-t", "1", "-k", "2", "x"]);
        let text = render(&config, &attempt(kill, Some(killed)), ONE).unwrap();
        assert_eq!(
            text,
            "Exit code 137 (timed out after 1s, sent SIGTERM, then SIGKILL after 2s)\n"
        );

        let config = cfg(&["-t", "1", "--preserve-status", "x"]);
        let text = render(&config, &attempt(term, Some(fired)), ONE).unwrap();
        assert_eq!(
            text,
            "Exit code 143 (timed out after 1s, sent SIGTERM; killed by SIGTERM)\n"
        );
    }

    #[test]
    fn retries_number_the_attempts() {
        let number = AttemptNumber {
            current: 2,
            total: 3,
        };
        let text = render(
            &cfg(&["--retries", "2", "false"]),
            &attempt(ChildExit::Exited(1), None),
            number,
        )
        .unwrap();
        assert_eq!(text, "Exit code 1 (attempt 2 of 3)\n");
    }

    #[test]
    fn quiet_renders_nothing_and_rusage_adds_time_v_lines() {
        assert!(
            render(
                &cfg(&["-q", "true"]),
                &attempt(ChildExit::Exited(0), None),
                ONE
            )
            .is_none()
        );
        let text = render(
            &cfg(&["-v", "true"]),
            &attempt(ChildExit::Exited(0), None),
            ONE,
        )
        .unwrap();
        assert!(text.starts_with("Exit code 0\n\tCommand being timed: \"true\"\n"));
        assert!(text.contains("\tMaximum resident set size (kbytes): 0\n"));
    }

    #[test]
    fn json_has_every_field() {
        let text = render(
            &cfg(&["--json", "sh", "-c", "exit 3"]),
            &attempt(ChildExit::Exited(3), None),
            ONE,
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["command"], serde_json::json!(["sh", "-c", "exit 3"]));
        assert_eq!(value["exit_code"], 3);
        assert_eq!(value["signal"], serde_json::Value::Null);
        assert_eq!(value["timed_out"], false);
        assert!(value["wall_s"].as_f64().unwrap() > 0.0);
        assert_eq!(text.matches('\n').count(), 1);
    }
}
