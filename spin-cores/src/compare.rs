//! The tutorial's comparison table: the same tasks run one after another,
//! with a thread each, with a process each, and through a pool (CPU-bound) or
//! an event loop (IO-bound), timed by the wall clock. In Python only
//! processes speed up CPU-bound work (the GIL); in Rust threads do too. For
//! IO-bound work every concurrent way overlaps the waiting.

use std::hint::black_box;
use std::io;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::CompareArgs;

/// One row of the table: the wall time of each kind of task, where the way
/// applies to it.
#[derive(Debug, Clone)]
pub struct Row {
    pub way: String,
    pub cpu_bound: Option<Duration>,
    pub io_bound: Option<Duration>,
}

/// The CPU-bound task: count down from `work`, one real step at a time.
pub fn countdown(work: u64) {
    let mut n = work;
    while n > 0 {
        n = black_box(n - 1);
    }
}

fn timed(run: impl FnOnce() -> io::Result<()>) -> io::Result<Duration> {
    let started = Instant::now();
    run()?;
    Ok(started.elapsed())
}

fn in_threads(tasks: u32, task: impl Fn() + Sync) {
    thread::scope(|scope| {
        for _ in 0..tasks {
            scope.spawn(&task);
        }
    });
}

/// Runs `tasks` copies of this binary's hidden worker subcommand at once.
fn in_processes(tasks: u32, args: &[String]) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    let mut children: Vec<Child> = Vec::new();
    for _ in 0..tasks {
        let spawned = Command::new(&exe).args(args).stdin(Stdio::null()).spawn();
        match spawned {
            Ok(child) => children.push(child),
            Err(err) => {
                for mut child in children {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return Err(err);
            }
        }
    }
    for mut child in children {
        let status = child.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "a task process failed ({status})"
            )));
        }
    }
    Ok(())
}

/// `multiprocessing.Pool`: long-lived worker processes (one per CPU, at
/// most one per task) taking the tasks from a shared queue. The pool is
/// forked after the thread rows' threads have ended, so this process has one
/// thread again.
fn in_pool(tasks: u32, workers: u32, task: impl Fn()) -> io::Result<()> {
    let run = common::pool::run(workers, 0..u64::from(tasks), |_| {
        task();
        true
    })?;
    match run {
        None => Ok(()),
        Some(exit) => Err(io::Error::other(format!(
            "a pool worker failed (exit {})",
            exit.code()
        ))),
    }
}

pub fn pool_size() -> u32 {
    thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

pub fn run(args: &CompareArgs) -> io::Result<Vec<Row>> {
    let (tasks, work, io) = (args.tasks, args.work(), args.io());
    let countdown_args = ["worker-countdown".to_string(), work.to_string()];
    let sleep_args = [
        "worker-sleep".to_string(),
        common::time::format_duration(io),
    ];
    let pool = pool_size().min(tasks);
    // One untimed task first: the first timed row would otherwise also pay
    // for the CPU waking up to full speed.
    countdown(work);
    let row = |way: String, cpu_bound, io_bound| Row {
        way,
        cpu_bound,
        io_bound,
    };
    Ok(vec![
        row(
            "sequential".into(),
            Some(timed(|| {
                (0..tasks).for_each(|_| countdown(work));
                Ok(())
            })?),
            Some(timed(|| {
                (0..tasks).for_each(|_| thread::sleep(io));
                Ok(())
            })?),
        ),
        row(
            "threads".into(),
            Some(timed(|| {
                in_threads(tasks, || countdown(work));
                Ok(())
            })?),
            Some(timed(|| {
                in_threads(tasks, || thread::sleep(io));
                Ok(())
            })?),
        ),
        row(
            "processes".into(),
            Some(timed(|| in_processes(tasks, &countdown_args))?),
            Some(timed(|| in_processes(tasks, &sleep_args))?),
        ),
        row(
            format!("pool of {pool}"),
            Some(timed(|| in_pool(tasks, pool, || countdown(work)))?),
            Some(timed(|| in_pool(tasks, pool, || thread::sleep(io)))?),
        ),
        row(
            "coroutines".into(),
            None,
            Some(timed(|| {
                crate::programs::as_coroutines(u64::from(tasks), io, |_, _| {})
            })?),
        ),
    ])
}

/// Speed-up of `time` over the sequential time.
pub fn speedup(sequential: Option<Duration>, time: Option<Duration>) -> Option<f64> {
    match (sequential, time) {
        (Some(seq), Some(t)) if !t.is_zero() => Some(seq.as_secs_f64() / t.as_secs_f64()),
        _ => None,
    }
}

/// The one-line reading of the table.
pub fn reading(rows: &[Row], tasks: u32) -> String {
    let sequential = rows.first();
    let best = |pick: fn(&Row) -> Option<Duration>| {
        rows.iter()
            .skip(1)
            .filter_map(|row| speedup(sequential.and_then(pick), pick(row)).map(|s| (s, &row.way)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    };
    let threads = rows
        .iter()
        .find(|row| row.way == "threads")
        .and_then(|row| speedup(sequential.and_then(|s| s.cpu_bound), row.cpu_bound))
        .unwrap_or(0.0);
    let io = best(|row| row.io_bound).map_or(0.0, |(s, _)| s);
    let cpus = pool_size();
    let most = f64::from(tasks.min(cpus));
    // The sentence follows the number: a speed-up the run did not show is
    // not claimed (too little --work, or other programs on the CPUs).
    let cpu_reading = if most < 1.5 {
        format!("CPU-bound, threads ran {threads:.2}x as fast: one CPU, nothing to gain")
    } else if threads >= 0.9 * most {
        format!(
            "CPU-bound, threads ran {threads:.2}x faster than one after another \
             (at most {most} with {tasks} tasks on {cpus} CPUs): Rust threads have no GIL"
        )
    } else {
        format!(
            "CPU-bound, threads ran only {threads:.2}x as fast (at most {most}): too little \
             --work to outweigh starting them, or other programs had the CPUs; \
             try more --work"
        )
    };
    format!(
        "reading: {cpu_reading}; IO-bound, every concurrent way overlaps the waits \
         (best {io:.2}x, at most {tasks}x), the coroutines on one thread"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speedup_divides_by_the_sequential_time() {
        let seq = Some(Duration::from_millis(400));
        assert_eq!(speedup(seq, Some(Duration::from_millis(200))), Some(2.0));
        assert_eq!(speedup(seq, None), None);
        assert_eq!(speedup(None, Some(Duration::from_millis(1))), None);
    }

    fn rows(threads: Duration) -> Vec<Row> {
        let row = |way: &str, cpu| Row {
            way: way.into(),
            cpu_bound: Some(cpu),
            io_bound: Some(Duration::from_millis(100)),
        };
        vec![
            row("sequential", Duration::from_millis(400)),
            row("threads", threads),
        ]
    }

    #[test]
    fn the_reading_never_claims_a_speed_up_the_table_does_not_show() {
        if pool_size() < 2 {
            return;
        }
        let fast = reading(&rows(Duration::from_millis(200)), 2);
        assert!(
            fast.contains("2.00x faster") && fast.contains("no GIL"),
            "{fast}"
        );
        let slow = reading(&rows(Duration::from_millis(480)), 2);
        assert!(
            slow.contains("only 0.83x") && !slow.contains("no GIL"),
            "{slow}"
        );
    }
}
