//! `fork-demo`: processes as the tutorials show them, with real pids.
//!
//! fork/getpid/getppid (the default), a `multiprocessing.Process` started and
//! joined (`process`), each process's own copy of memory after fork and a
//! queue to bring results back (`memory`), fork versus spawn (`inherit`), a
//! producer and a slow consumer (`queue`), concurrent downloads
//! (`download`), a pool of long-lived workers (`pool`), what a crash takes
//! down (`crash`), and what creating a process or a thread costs (`bench`).

mod bench;
mod cli;
mod demos;
mod exit;
mod pool;
mod scenes;

use std::process::ExitCode;

use common::cli::{Failure, print, run_tool};
use common::time::format_duration;

use crate::cli::{BenchArgs, Cli, Command, PoolCommand};
use crate::exit::Exit;

pub fn main() -> ExitCode {
    run_tool(&cli::HELP, Exit::Usage, run)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let exit = match cli.command {
        None => demos::fork(
            cli.default.race,
            cli.default.children,
            cli.default.child_exit,
            cli.default.wording,
        )?,
        Some(Command::Process(args)) => demos::process(&args.name, args.wording)?,
        Some(Command::Memory { children, only }) => match only {
            Some(step) => demos::memory_step(step, children)?,
            None => demos::memory(children)?,
        },
        Some(Command::Inherit { start }) => scenes::inherit(start)?,
        Some(Command::SpawnedChild) => scenes::spawned_child()?,
        Some(Command::Queue(args)) => scenes::queue(&args)?,
        Some(Command::Download(args)) => scenes::download(&args)?,
        Some(Command::Pool(PoolCommand::Apply(args))) => pool::apply(&args)?,
        Some(Command::Pool(PoolCommand::Map(args))) => pool::map(&args)?,
        Some(Command::Crash) => scenes::crash()?,
        Some(Command::Bench(args)) => bench(&args)?,
    };
    Ok(exit.into())
}

/// One operation of `bench --json` (schemas/fork-demo-bench.schema.json).
#[derive(Debug, serde::Serialize)]
struct BenchJson {
    operation: &'static str,
    iterations: usize,
    min_us: f64,
    mean_us: f64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    max_us: f64,
}

fn micros(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn bench(args: &BenchArgs) -> Result<Exit, Failure> {
    let prepared = bench::Prepared::new()
        .map_err(|e| Failure::new(Exit::Failed, format!("preparing ({e})")))?;
    if !args.json {
        print(
            Exit::Failed,
            &format!(
                "{} iterations per operation\n{:<28} {:>10} {:>10} {:>10} {:>10}\n",
                args.iterations, "operation", "p50", "p90", "p99", "max"
            ),
        )?;
    }
    let mut status = common::status::Status::on_stderr();
    for (number, op) in bench::OPERATIONS.into_iter().enumerate() {
        status.show(&format!(
            "fork-demo: measuring {} ({} of {}), {} iterations...",
            op.name,
            number + 1,
            bench::OPERATIONS.len(),
            args.iterations
        ));
        let measured = bench::measure(op, &prepared, args.iterations);
        status.clear();
        let (summary, samples) = measured
            .map_err(|e| Failure::new(Exit::Failed, format!("{} failed ({e})", op.name)))?;
        let line = if args.json {
            let record = BenchJson {
                operation: op.name,
                iterations: summary.count,
                min_us: micros(summary.min),
                mean_us: micros(summary.mean),
                p50_us: micros(summary.p50),
                p90_us: micros(summary.p90),
                p99_us: micros(summary.p99),
                max_us: micros(summary.max),
            };
            format!("{}\n", serde_json::to_string(&record).unwrap_or_default())
        } else {
            let f = |d: std::time::Duration| {
                format_duration(std::time::Duration::from_nanos(
                    u64::try_from(d.as_nanos() / 100 * 100).unwrap_or(u64::MAX),
                ))
            };
            format!(
                "{:<28} {:>10} {:>10} {:>10} {:>10}\n",
                op.name,
                f(summary.p50),
                f(summary.p90),
                f(summary.p99),
                f(summary.max)
            )
        };
        let line = if args.histogram {
            line + &common::time::histogram(&samples, &summary, 40)
        } else {
            line
        };
        print(Exit::Failed, &line)?;
    }
    Ok(Exit::Success)
}
