//! `spin-cores`: N busy loops fill N cores, measured.
//!
//! The tutorial's point, shown with numbers: one busy loop fills one core, N
//! loops fill N cores in a language without a GIL. Every interval a sample of
//! the CPU spin-cores used and of each core's usage; at the end a summary.
//! `compare` prints the tutorial's sequential / threads / processes table.

mod cli;
mod compare;
mod exit;
mod machine;
mod programs;
mod spin;
mod workers;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::cli::{Failure, print, run_tool};
use common::signal::{self, Signal, SignalWatcher};
use common::time::format_duration;

use crate::cli::{Cli, Command, CompareArgs, Config, Mode};
use crate::exit::Exit;
use crate::machine::{Machine, format_cores};
use crate::workers::Workers;

pub fn main() -> ExitCode {
    run_tool(&cli::HELP, Exit::Usage, run)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let failed =
        |what: &str, err: std::io::Error| Failure::new(Exit::Failed, format!("{what} ({err})"));
    match cli.command {
        None => spin_run(&Config::from_args(&cli.default)?),
        Some(Command::Compare(args)) => match args.program {
            Some(program) => {
                Ok(programs::run(program, args.tasks, args.work(), args.io(), args.lang)?.into())
            }
            None => compare_run(&args),
        },
        Some(Command::WorkerSpin(args)) => {
            workers::worker_process(f64::from(args.load) / 100.0, args.slice, args.cpu)
                .map_err(|e| failed("worker", e))?;
            Ok(Exit::Success.into())
        }
        Some(Command::WorkerCountdown { work }) => {
            compare::countdown(work);
            Ok(Exit::Success.into())
        }
        Some(Command::WorkerSleep { io }) => {
            std::thread::sleep(io);
            Ok(Exit::Success.into())
        }
    }
}

/// Busy workers until the duration ends or a signal says stop.
fn spin_run(cfg: &Config) -> Result<u8, Failure> {
    let signals = SignalWatcher::new(&[Signal::INT, Signal::TERM, Signal::HUP])
        .map_err(|e| Failure::new(Exit::Failed, format!("watching signals ({e})")))?;
    let mut whole_run = Machine::start();
    let mut per_sample = Machine::start();
    let cpu_at_start = workers::own_cpu_time();
    let started = Instant::now();
    if cfg.show_cpus {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        print(Exit::Failed, &format!("{cpus}\n"))?;
    }
    let workers = Workers::start(cfg).map_err(|e| {
        Failure::new(
            Exit::Failed,
            format!("starting {} workers ({e})", cfg.workers),
        )
    })?;
    if cfg.json {
        let start = StartJson {
            head: RunJson::new("start", cfg),
            pids: workers.pids(),
        };
        print(Exit::Failed, &format!("{}\n", to_json(&start)))?;
    }
    let in_place = !cfg.json && std::io::stdout().is_terminal();
    let end = cfg.duration.map(|limit| started + limit);
    let mut next_sample = started + cfg.interval;
    let mut last = (started, cpu_at_start);
    let mut printed_in_place = false;
    let stopped_by = loop {
        let now = Instant::now();
        // A sample due at the very end still comes out (`-d 1s` with the
        // default 1s interval gives one sample, then the summary).
        if now >= next_sample && end.is_none_or(|end| next_sample <= end) && !cfg.quiet {
            let cpu = workers.cpu_time();
            let percent = percent_of(cpu.saturating_sub(last.1), now - last.0);
            last = (now, cpu);
            next_sample += cfg.interval;
            let cores = per_sample.per_core();
            print(
                Exit::Failed,
                &sample_text(cfg, now - started, percent, &cores, in_place),
            )?;
            printed_in_place |= in_place;
            continue;
        }
        if end.is_some_and(|end| now >= end) {
            break None;
        }
        let wake = end.map_or(next_sample, |end| end.min(next_sample));
        let received = signals
            .wait(Some(wake - now))
            .map_err(|e| Failure::new(Exit::Failed, format!("waiting for signals ({e})")))?;
        if let Some(received) = received {
            break Some(received.signal);
        }
    };
    let stopped = workers.stop();
    let elapsed = started.elapsed();
    let cpu = stopped.cpu_time.saturating_sub(cpu_at_start);
    let cores = whole_run.per_core();
    let summary = summary_text(cfg, elapsed, cpu, &stopped.iterations, &cores, stopped_by);
    let lead = if printed_in_place { "\n" } else { "" };
    if !cfg.quiet {
        print(Exit::Failed, &format!("{lead}{summary}"))?;
    }
    match stopped_by {
        Some(signal) => Ok(signal::reraise(signal)),
        None => Ok(Exit::Success.into()),
    }
}

/// CPU time over wall time, in percent of one core.
fn percent_of(cpu: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        0.0
    } else {
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn sample_text(cfg: &Config, at: Duration, percent: f64, cores: &[f32], in_place: bool) -> String {
    if cfg.json {
        let sample = SampleJson {
            kind: "sample",
            at_s: round2(at.as_secs_f64()),
            workers: cfg.workers,
            cpu_percent: round2(percent),
            requested_percent: cfg.requested_percent(),
            cores,
        };
        return format!("{}\n", to_json(&sample));
    }
    let line = format!(
        "cpu {percent:.1}% of {:.0}% requested | {} | cores {}",
        cfg.requested_percent(),
        count(cfg.workers, "worker", "workers"),
        format_cores(cores)
    );
    if in_place {
        // On a terminal the line is the progress too: how far the run is.
        let progress = match cfg.duration {
            Some(limit) => format!(" | {:.0}s of {}", at.as_secs_f64(), format_duration(limit)),
            None => format!(" | {:.0}s, Ctrl-C stops", at.as_secs_f64()),
        };
        format!("\r\x1b[K{line}{progress}")
    } else {
        format!("{line}\n")
    }
}

fn summary_text(
    cfg: &Config,
    elapsed: Duration,
    cpu: Duration,
    iterations: &[u64],
    cores: &[f32],
    stopped_by: Option<Signal>,
) -> String {
    let percent = percent_of(cpu, elapsed);
    let share = percent / (cfg.workers as f64 * 100.0);
    let seconds = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    let loops: Vec<f64> = iterations.iter().map(|&n| n as f64 / seconds).collect();
    if cfg.json {
        let summary = SummaryJson {
            head: RunJson::new("summary", cfg),
            wall_s: elapsed.as_secs_f64(),
            cpu_time_s: cpu.as_secs_f64(),
            cpu_percent: round2(percent),
            requested_percent: cfg.requested_percent(),
            share,
            loops_per_s: loops.iter().map(|l| l.round()).collect(),
            cores,
            stopped_by: stopped_by.map(Signal::name),
        };
        return format!("{}\n", to_json(&summary));
    }
    let loops_text: Vec<String> = loops.iter().map(|l| format!("{:.1}M", l / 1e6)).collect();
    format!(
        "workers: {}, load {:.0}%, ran {}\n\
         cpu: {percent:.1}% of {:.0}% requested ({:.1}% of a core per worker)\n\
         loops/s per worker: {}\n\
         machine per core: {}\n",
        match cfg.mode {
            Mode::Threads => count(cfg.workers, "thread", "threads"),
            Mode::Processes => count(cfg.workers, "process", "processes"),
        },
        cfg.load * 100.0,
        format_duration(Duration::from_millis(
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        )),
        cfg.requested_percent(),
        share * 100.0,
        loops_text.join(" "),
        format_cores(cores)
    )
}

fn compare_run(args: &CompareArgs) -> Result<u8, Failure> {
    let rows = compare::run(args)
        .map_err(|e| Failure::new(Exit::Failed, format!("running the tasks ({e})")))?;
    let sequential = rows.first().cloned();
    let mut text = String::new();
    if !args.json {
        text.push_str(&format!(
            "{:<14} {:>28}   {:>28}\n",
            "",
            format!("CPU-bound ({} x countdown {})", args.tasks, args.work()),
            format!(
                "IO-bound ({} x wait {})",
                args.tasks,
                format_duration(args.io())
            ),
        ));
    }
    for row in &rows {
        let cpu_speedup =
            compare::speedup(sequential.as_ref().and_then(|s| s.cpu_bound), row.cpu_bound);
        let io_speedup =
            compare::speedup(sequential.as_ref().and_then(|s| s.io_bound), row.io_bound);
        if args.json {
            let record = CompareJson {
                way: &row.way,
                tasks: args.tasks,
                cpu_bound_s: row.cpu_bound.map(|d| d.as_secs_f64()),
                cpu_bound_speedup: cpu_speedup,
                io_bound_s: row.io_bound.map(|d| d.as_secs_f64()),
                io_bound_speedup: io_speedup,
            };
            text.push_str(&format!("{}\n", to_json(&record)));
        } else {
            let cell = |time: Option<Duration>, speedup: Option<f64>| match (time, speedup) {
                (Some(t), Some(s)) => format!("{:>9.3}s {:>6.2}x", t.as_secs_f64(), s),
                _ => "-".to_string(),
            };
            text.push_str(&format!(
                "{:<14} {:>28}   {:>28}\n",
                row.way,
                cell(row.cpu_bound, cpu_speedup),
                cell(row.io_bound, io_speedup)
            ));
        }
    }
    if !args.json {
        text.push_str(&compare::reading(&rows, args.tasks));
        text.push('\n');
    }
    print(Exit::Failed, &text)?;
    Ok(Exit::Success.into())
}
/// The fields a run's `start` and `summary` records begin with
/// (schemas/spin-cores.schema.json).
#[derive(Debug, serde::Serialize)]
struct RunJson {
    #[serde(rename = "type")]
    kind: &'static str,
    mode: &'static str,
    workers: usize,
    load_percent: f64,
}

impl RunJson {
    fn new(kind: &'static str, cfg: &Config) -> RunJson {
        RunJson {
            kind,
            mode: cfg.mode.name(),
            workers: cfg.workers,
            load_percent: cfg.load * 100.0,
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct StartJson {
    #[serde(flatten)]
    head: RunJson,
    /// Worker processes (empty for threads).
    pids: Vec<u32>,
}

#[derive(Debug, serde::Serialize)]
struct SampleJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Seconds since the start.
    at_s: f64,
    workers: usize,
    cpu_percent: f64,
    requested_percent: f64,
    cores: &'a [f32],
}

#[derive(Debug, serde::Serialize)]
struct SummaryJson<'a> {
    #[serde(flatten)]
    head: RunJson,
    wall_s: f64,
    cpu_time_s: f64,
    cpu_percent: f64,
    requested_percent: f64,
    share: f64,
    loops_per_s: Vec<f64>,
    cores: &'a [f32],
    stopped_by: Option<String>,
}

/// A row of `compare --json` (schemas/spin-cores-compare.schema.json).
#[derive(Debug, serde::Serialize)]
struct CompareJson<'a> {
    way: &'a str,
    tasks: u32,
    cpu_bound_s: Option<f64>,
    cpu_bound_speedup: Option<f64>,
    io_bound_s: Option<f64>,
    io_bound_speedup: Option<f64>,
}

/// A record as one JSON line (serializing these structs cannot fail).
fn to_json(record: &impl serde::Serialize) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

/// `n` and the noun, singular for one ("1 worker", "2 workers").
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
