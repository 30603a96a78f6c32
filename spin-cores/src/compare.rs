//! The tutorial's comparison table: the same tasks run one after another,
//! with a thread each, with a process each, and through a pool (CPU-bound) or
//! an event loop (IO-bound), timed by the wall clock. In Python only
//! processes speed up CPU-bound work (the GIL); in Rust threads do too. For
//! IO-bound work every concurrent way overlaps the waiting.

use std::hint::black_box;
use std::io;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
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

/// A pool of one thread per CPU taking tasks from a shared counter, the
/// counterpart of `multiprocessing.Pool`.
fn in_pool(tasks: u32, workers: u32, task: impl Fn() + Sync) {
    let next = AtomicU32::new(0);
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < tasks {
                    task();
                }
            });
        }
    });
}

/// One thread waiting on every task's timer at once: it sleeps until the
/// earliest pending deadline, completes what is due, and goes on, as an event
/// loop does (the counterpart of the tutorial's coroutines).
fn in_event_loop(tasks: u32, io: Duration) {
    let start = Instant::now();
    let mut deadlines: Vec<Instant> = (0..tasks).map(|_| start + io).collect();
    deadlines.sort_unstable();
    for due in deadlines {
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
    }
}

pub fn pool_size() -> u32 {
    thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

pub fn run(args: &CompareArgs) -> io::Result<Vec<Row>> {
    let (tasks, work, io) = (args.tasks, args.work, args.io);
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
            Some(timed(|| {
                in_pool(tasks, pool, || countdown(work));
                Ok(())
            })?),
            None,
        ),
        row(
            "event loop".into(),
            None,
            Some(timed(|| {
                in_event_loop(tasks, io);
                Ok(())
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
    format!(
        "reading: CPU-bound, threads ran {threads:.2}x faster than one after another \
         (at most {} with {tasks} tasks on {cpus} CPUs: Rust threads have no GIL); \
         IO-bound, every concurrent way overlaps the waits (best {io:.2}x, at most {tasks}x), \
         the event loop with one thread",
        tasks.min(cpus)
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

    #[test]
    fn event_loop_waits_until_the_timers_are_due() {
        let started = Instant::now();
        in_event_loop(5, Duration::from_millis(30));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn pool_runs_every_task_once() {
        let done = AtomicU32::new(0);
        in_pool(7, 3, || {
            done.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(done.load(Ordering::Relaxed), 7);
    }
}
