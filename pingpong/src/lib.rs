//! `pingpong`: two processes print Ping and Pong, passing the counter.
//!
//! The tutorial's IPC lesson (the counter must travel in messages, because
//! each process has its own memory) and its two mistakes (`--naive`,
//! `--shared-queue`), plus `bench`: round-trip latency over pipes, a
//! socketpair, eventfds and shared memory.

mod bench;
mod cli;
mod exit;
mod game;
mod transport;

use std::process::ExitCode;

use common::cli::{Failure, print, run_tool};
use common::time::format_duration;

use crate::cli::{BenchArgs, Cli, Command};
use crate::exit::Exit;

pub fn main() -> ExitCode {
    run_tool(&cli::HELP, Exit::Usage, run)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        None => game::run(&cli.default),
        Some(Command::Bench(args)) => bench(&args),
    }
}

/// One transport of `bench --json` (schemas/pingpong-bench.schema.json).
#[derive(Debug, serde::Serialize)]
struct BenchJson {
    transport: &'static str,
    /// Round trips measured (`-i`).
    iterations: usize,
    pin: &'static str,
    rt_p50_us: f64,
    rt_p90_us: f64,
    rt_p99_us: f64,
    rt_max_us: f64,
    rt_mean_us: f64,
    one_way_p50_us: f64,
    round_trips_per_s: f64,
    /// The CPU each process ran on at the end (null: unknown).
    cpus: [Option<i32>; 2],
}

fn micros(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn short(duration: std::time::Duration) -> String {
    // Tens of nanoseconds: finer would be the clock's own cost, not the IPC's.
    let nanos = u64::try_from(duration.as_nanos() / 10 * 10).unwrap_or(u64::MAX);
    format_duration(std::time::Duration::from_nanos(nanos))
}

fn bench(args: &BenchArgs) -> Result<u8, Failure> {
    if !args.json {
        print(
            Exit::Failed,
            &format!(
                "{} round trips per transport, pin {}\n{:<8} {:>9} {:>9} {:>9} {:>9} {:>12} {:>9} {:>7}\n",
                args.rounds,
                args.pin.name(),
                "",
                "p50 RT",
                "p90 RT",
                "p99 RT",
                "max RT",
                "RT/s",
                "1-way",
                "cpus"
            ),
        )?;
    }
    let mut status = common::status::Status::on_stderr();
    for (number, &transport) in args.transport.0.iter().enumerate() {
        status.show(&format!(
            "pingpong: measuring {} ({} of {}), {} round trips...",
            transport.name(),
            number + 1,
            args.transport.0.len(),
            args.rounds
        ));
        let measured = bench::measure(transport, args.rounds, args.pin);
        status.clear();
        let m = measured.map_err(|e| {
            Failure::new(
                Exit::Failed,
                format!("measuring {} ({e})", transport.name()),
            )
        })?;
        let rt = &m.round_trip;
        let cpu = |c: Option<i32>| c.map_or("?".to_string(), |c| c.to_string());
        let line = if args.json {
            let record = BenchJson {
                transport: transport.name(),
                iterations: rt.count,
                pin: args.pin.name(),
                rt_p50_us: micros(rt.p50),
                rt_p90_us: micros(rt.p90),
                rt_p99_us: micros(rt.p99),
                rt_max_us: micros(rt.max),
                rt_mean_us: micros(rt.mean),
                one_way_p50_us: micros(rt.p50) / 2.0,
                round_trips_per_s: m.round_trips_per_s,
                cpus: m.cpus,
            };
            format!("{}\n", serde_json::to_string(&record).unwrap_or_default())
        } else {
            format!(
                "{:<8} {:>9} {:>9} {:>9} {:>9} {:>12.0} {:>9} {:>7}\n",
                transport.name(),
                short(rt.p50),
                short(rt.p90),
                short(rt.p99),
                short(rt.max),
                m.round_trips_per_s,
                short(rt.p50 / 2),
                format!("{},{}", cpu(m.cpus[0]), cpu(m.cpus[1]))
            )
        };
        let line = if args.histogram {
            line + &common::time::histogram(&m.samples, rt, 40)
        } else {
            line
        };
        print(Exit::Failed, &line)?;
    }
    Ok(Exit::Success.into())
}
