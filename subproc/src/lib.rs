//! `subproc`: run a command, report its exit code.
//!
//! The tutorial's `r = subprocess.call([...]); print("Exit code", r)` as a
//! tool: transparent stdin/stdout/stderr, the report on stderr, the child's
//! code as subproc's own, plus coreutils `timeout` semantics, signal
//! forwarding (like tini), resource usage (like GNU `time -v`), JSON and
//! retries.

mod cli;
mod exit;
mod report;
mod supervise;

use std::process::ExitCode;

use common::cli::{Failure, run_tool};
use common::proc;
use common::signal::{self, Signal, SignalWatcher};

use crate::cli::{Cli, Config};
use crate::exit::Exit;
use crate::report::{AttemptNumber, Sink};

pub fn main() -> ExitCode {
    run_tool(&cli::HELP, Exit::Failed, run)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let cfg = Config::from_cli(cli)?;
    let setup_failed =
        |what: &str, err: std::io::Error| Failure::new(Exit::Failed, format!("{what} ({err})"));
    let mut sink = Sink::open(cfg.report_file.as_deref()).map_err(|err| {
        let path = cfg
            .report_file
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display();
        setup_failed(&format!("cannot open the report file '{path}'"), err)
    })?;
    // Before anything else: an ignored SIGCHLD inherited from our parent would
    // make the kernel discard the child's status.
    signal::reset_to_default(&[Signal::CHLD]).map_err(|e| setup_failed("resetting SIGCHLD", e))?;
    let mut watched = supervise::FORWARDED.to_vec();
    watched.push(Signal::CHLD);
    let signals = SignalWatcher::new(&watched).map_err(|e| setup_failed("watching signals", e))?;
    // Orphans of the command become ours, so a timeout can reap them.
    proc::become_subreaper().map_err(|e| setup_failed("becoming a subreaper", e))?;

    let terminal = if cfg.foreground {
        None
    } else {
        common::terminal::Terminal::if_foreground()
    };

    let mut code = u8::from(Exit::Failed);
    for current in 1..=cfg.attempts {
        let number = AttemptNumber {
            current,
            total: cfg.attempts,
        };
        let attempt = match supervise::run_attempt(&cfg, &signals, terminal.as_ref()) {
            Ok(attempt) => attempt,
            Err(failure) => {
                if let Some(text) =
                    report::render_spawn_failure(&cfg, failure.code, &failure.message)
                {
                    write_report(&mut sink, &text);
                }
                return Err(failure);
            }
        };
        code = attempt.exit(cfg.preserve_status).into();
        if let Some(text) = report::render(&cfg, &attempt, number) {
            write_report(&mut sink, &text);
        }
        if code == 0 || attempt.stopped_by.is_some() || current == cfg.attempts {
            break;
        }
        if let Some(signal) = wait_between_attempts(&cfg, &signals)? {
            return Ok(signal::reraise(signal));
        }
    }
    Ok(code)
}

/// Sleeps --retry-delay, unless a terminating signal comes first (returned:
/// the user wants subproc to stop, and no command is running to tell).
fn wait_between_attempts(cfg: &Config, signals: &SignalWatcher) -> Result<Option<Signal>, Failure> {
    let until = std::time::Instant::now() + cfg.retry_delay;
    loop {
        let now = std::time::Instant::now();
        if now >= until {
            return Ok(None);
        }
        let received = signals
            .wait(Some(until - now))
            .map_err(|e| Failure::new(Exit::Failed, format!("waiting to retry ({e})")))?;
        if let Some(received) = received.filter(|r| supervise::is_terminating(r.signal)) {
            return Ok(Some(received.signal));
        }
    }
}

/// A report that cannot be written (stderr closed, disk full) is dropped
/// with one line when possible: the command's exit code matters more.
fn write_report(sink: &mut Sink, text: &str) {
    if let Err(err) = sink.write(text)
        && matches!(sink, Sink::File(_))
    {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("subproc: error: writing the report ({err})\n").as_bytes(),
        );
    }
}
