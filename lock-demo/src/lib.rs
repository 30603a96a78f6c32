//! `lock-demo`: threads share memory, and what that costs.
//!
//! The tutorial's lessons, runnable: a named thread started and joined
//! (`threads`); two threads racing on one balance and losing updates, then
//! the fixes (`race --sync mutex|atomic|thread-local`); the 100-thread bank
//! (`bank`); tutorial 003's five-thread counter (`counter`) and per-thread
//! data (`per-thread`); a deadlock, detected (`deadlock`); and a contention
//! benchmark of the four ways (`bench`).

mod bank;
mod bench;
mod cli;
mod contend;
mod exit;
mod scenes;
mod threads;

use std::process::ExitCode;

use common::cli::{Failure, print, run_tool};
use common::time::format_duration;

use crate::cli::{BankArgs, BenchArgs, Cli, Command, RaceArgs};
use crate::contend::Contention;
use crate::exit::Exit;

pub fn main() -> ExitCode {
    run_tool(&cli::HELP, Exit::Usage, run)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let exit = match cli.command {
        None => race(&cli.default)?,
        Some(Command::Race(args)) => race(&args)?,
        Some(Command::Threads(args)) => {
            threads::run(&args)?;
            Exit::Success
        }
        Some(Command::Counter(args)) => scenes::counter(&args)?,
        Some(Command::PerThread(args)) => scenes::per_thread(&args)?,
        Some(Command::Deadlock(args)) => scenes::deadlock(&args)?,
        Some(Command::Bank(args)) => bank(&args)?,
        Some(Command::Bench(args)) => bench(&args)?,
    };
    Ok(exit.into())
}

fn checked(check: bool, correct: bool) -> Exit {
    if check && !correct {
        Exit::Failed
    } else {
        Exit::Success
    }
}

fn race(args: &RaceArgs) -> Result<Exit, Failure> {
    // The tutorial's two threads: one changes by 5, the other by 8.
    let run = contend::contend(
        args.balance.sync,
        &[vec![5, -5], vec![8, -8]],
        args.iterations,
    );
    if args.balance.json {
        print(
            Exit::Failed,
            &format!("{}\n", contention_json("race", run.sync.name(), &run)),
        )?;
    } else {
        print(Exit::Failed, &race_text(&run))?;
    }
    Ok(checked(
        args.balance.check,
        run.final_balance == run.expected,
    ))
}

fn race_text(run: &Contention) -> String {
    let how = match run.sync {
        cli::Sync::None => "read, then write back: nothing stops the other thread in between",
        cli::Sync::Mutex => "a Mutex held around each change",
        cli::Sync::Atomic => "one atomic fetch_add per change",
        cli::Sync::ThreadLocal => {
            "each thread changes its own copy; the copies are added at the end"
        }
    };
    let overlap = if run.overlap.is_zero() {
        "no: one thread finished before the other started; try more --iterations".to_string()
    } else {
        format!(
            "yes, for {} of {}",
            format_duration(round_to_micros(run.overlap)),
            format_duration(round_to_micros(run.elapsed))
        )
    };
    // First line: the balance alone, as the tutorial's print(balance).
    format!(
        "{balance}\n\
         sync: {sync} ({how})\n\
         balance: {balance}, expected {expected}\n\
         lost updates: {lost} of {writes} writes overwrote another thread's update\n\
         threads ran at the same time: {overlap}\n",
        balance = run.final_balance,
        sync = run.sync.name(),
        expected = run.expected,
        lost = run.lost,
        writes = run.writes,
    )
}

fn round_to_micros(duration: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_micros(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
}

/// A race or bench run as `--json` writes it (schemas/lock-demo.schema.json).
#[derive(Debug, serde::Serialize)]
struct ContentionJson<'a> {
    mode: &'a str,
    sync: &'a str,
    threads: usize,
    iterations: u64,
    balance: i64,
    expected: i64,
    correct: bool,
    writes: u64,
    lost_updates: u64,
    wall_s: f64,
    overlap_s: f64,
    ops_per_s: f64,
}

/// `bank --json`.
#[derive(Debug, serde::Serialize)]
struct BankJson<'a> {
    mode: &'a str,
    sync: &'a str,
    threads: u32,
    deposit: i64,
    work_s: f64,
    balance: i64,
    expected: i64,
    correct: bool,
}

/// A record as one JSON line (serializing these structs cannot fail).
fn to_json(record: &impl serde::Serialize) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

/// `sync`: how the run shared the balance, as `--sync` names it (bench
/// rows name the split-load/store way too).
fn contention_json(mode: &str, sync: &str, run: &Contention) -> String {
    to_json(&ContentionJson {
        mode,
        sync,
        threads: run.threads,
        iterations: run.iterations,
        balance: run.final_balance,
        expected: run.expected,
        correct: run.final_balance == run.expected,
        writes: run.writes,
        lost_updates: run.lost,
        wall_s: run.elapsed.as_secs_f64(),
        overlap_s: run.overlap.as_secs_f64(),
        ops_per_s: bench::ops_per_second(run),
    })
}

fn bank(args: &BankArgs) -> Result<Exit, Failure> {
    let balance = bank::deposit_all(args.balance.sync, args.threads, args.deposit, args.work);
    let expected = i64::from(args.threads) * args.deposit;
    let text = if args.balance.json {
        to_json(&BankJson {
            mode: "bank",
            sync: args.balance.sync.name(),
            threads: args.threads,
            deposit: args.deposit,
            work_s: args.work.as_secs_f64(),
            balance,
            expected,
            correct: balance == expected,
        }) + "\n"
    } else if args.lang == common::lang::Lang::Zh {
        // The tutorial's own line, in its words.
        format!("账户余额为: ￥{balance}元\n")
    } else {
        format!(
            "Account balance: {balance} (expected {expected}: {threads} threads deposited {deposit} each, sync {sync})\n",
            threads = args.threads,
            deposit = args.deposit,
            sync = args.balance.sync.name(),
        )
    };
    print(Exit::Failed, &text)?;
    Ok(checked(args.balance.check, balance == expected))
}

fn bench(args: &BenchArgs) -> Result<Exit, Failure> {
    let ways = if args.sync.is_empty() {
        bench::ALL.to_vec()
    } else {
        args.sync.clone()
    };
    if !args.json {
        print(
            Exit::Failed,
            &format!(
                "{} threads x {} increments\n{:<13} {:>14} {:>9} {:>14} {:>8}\n",
                args.threads, args.iterations, "sync", "ops/s", "ns/op", "final", "correct"
            ),
        )?;
    }
    let mut all_correct = true;
    for way in ways {
        let run = bench::run(way, args.threads, args.iterations);
        let correct = run.final_balance == run.expected;
        all_correct &= correct || way == cli::Sync::None;
        let line = if args.json {
            format!("{}\n", contention_json("bench", bench::label(way), &run))
        } else {
            let ops = bench::ops_per_second(&run);
            let ns_per_op = if ops > 0.0 { 1e9 / ops } else { 0.0 };
            format!(
                "{:<13} {:>14.0} {:>9.2} {:>14} {:>8}\n",
                bench::label(way),
                ops,
                ns_per_op,
                run.final_balance,
                if correct { "yes" } else { "NO" }
            )
        };
        print(Exit::Failed, &line)?;
    }
    // The split way is expected to be wrong: that is what it demonstrates.
    Ok(if all_correct {
        Exit::Success
    } else {
        Exit::Failed
    })
}
