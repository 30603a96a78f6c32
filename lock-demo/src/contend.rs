//! Threads changing one shared balance at the same time, in each of the four
//! ways of `Sync`. `race` and `bench` both run on this; only the steps differ
//! (race: +n then -n per iteration; bench: +1).
//!
//! `Sync::None` is the tutorial's `x = balance + n; balance = x`, written
//! without undefined behaviour: an atomic load, then an atomic write of the
//! computed value, both Relaxed, with nothing holding other threads off in
//! between. The write is a `swap`, which stores exactly what a store would
//! and hands back the value it replaced: when that differs from what this
//! thread read, another thread's update was overwritten. That is how the demo
//! counts lost updates instead of guessing them from the final balance (a +5
//! and a -5 that are both lost cancel out).

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::{Barrier, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::Sync;

thread_local! {
    /// Each thread's own balance for `Sync::ThreadLocal`.
    static LOCAL_BALANCE: Cell<i64> = const { Cell::new(0) };
}

/// What one run of contending threads did.
#[derive(Debug, Clone)]
pub struct Contention {
    pub sync: Sync,
    pub threads: usize,
    pub iterations: u64,
    pub final_balance: i64,
    pub expected: i64,
    /// Writes to the shared balance (or local changes, for thread-local).
    pub writes: u64,
    /// Updates overwritten by another thread (only `Sync::None` loses any).
    pub lost: u64,
    /// From the first thread's start to the last thread's end.
    pub elapsed: Duration,
    /// How long all threads were running at the same time.
    pub overlap: Duration,
}

struct Shared {
    racy: AtomicI64,
    locked: Mutex<i64>,
}

/// Runs one thread per entry of `steps`; each applies its steps, in order,
/// `iterations` times. All threads start together at a barrier.
pub fn contend(sync: Sync, steps: &[Vec<i64>], iterations: u64) -> Contention {
    let shared = Shared {
        racy: AtomicI64::new(0),
        locked: Mutex::new(0),
    };
    let barrier = Barrier::new(steps.len());
    let results: Vec<(u64, Instant, Instant)> = thread::scope(|scope| {
        let handles: Vec<_> = steps
            .iter()
            .map(|thread_steps| {
                let (shared, barrier) = (&shared, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let lost = work(sync, shared, thread_steps, iterations);
                    (lost, start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|handle| handle.join().ok())
            .collect()
    });
    let final_balance = match sync {
        Sync::Mutex => *shared.locked.lock().unwrap_or_else(PoisonError::into_inner),
        _ => shared.racy.load(Relaxed),
    };
    let per_iteration: i64 = steps.iter().map(|s| s.iter().sum::<i64>()).sum();
    let first_start = results.iter().map(|r| r.1).min();
    let last_end = results.iter().map(|r| r.2).max();
    let last_start = results.iter().map(|r| r.1).max();
    let first_end = results.iter().map(|r| r.2).min();
    let span = |from: Option<Instant>, to: Option<Instant>| match (from, to) {
        (Some(from), Some(to)) => to.saturating_duration_since(from),
        _ => Duration::ZERO,
    };
    Contention {
        sync,
        threads: steps.len(),
        iterations,
        final_balance,
        expected: per_iteration.saturating_mul(i64::try_from(iterations).unwrap_or(i64::MAX)),
        writes: steps.iter().map(|s| s.len() as u64).sum::<u64>() * iterations,
        lost: results.iter().map(|r| r.0).sum(),
        elapsed: span(first_start, last_end),
        overlap: span(last_start, first_end),
    }
}

/// One thread's loop; returns how many of its writes overwrote another's.
fn work(sync: Sync, shared: &Shared, steps: &[i64], iterations: u64) -> u64 {
    let mut lost = 0;
    match sync {
        Sync::None => {
            for _ in 0..iterations {
                for &step in steps {
                    let seen = shared.racy.load(Relaxed);
                    let replaced = shared.racy.swap(seen + step, Relaxed);
                    lost += u64::from(replaced != seen);
                }
            }
        }
        Sync::Mutex => {
            for _ in 0..iterations {
                let mut balance = shared.locked.lock().unwrap_or_else(PoisonError::into_inner);
                for &step in steps {
                    *balance += step;
                }
            }
        }
        Sync::Atomic => {
            for _ in 0..iterations {
                for &step in steps {
                    shared.racy.fetch_add(step, Relaxed);
                }
            }
        }
        Sync::ThreadLocal => {
            let mine = LOCAL_BALANCE.with(|balance| {
                for _ in 0..iterations {
                    for &step in steps {
                        // black_box: one real add per change, as the
                        // other ways do, not a multiplication folded by
                        // the optimiser.
                        balance.set(std::hint::black_box(balance.get() + step));
                    }
                }
                balance.replace(0)
            });
            shared.racy.fetch_add(mine, Relaxed);
        }
    }
    lost
}

#[cfg(test)]
mod tests {
    use super::*;

    fn race(sync: Sync) -> Contention {
        contend(sync, &[vec![5, -5], vec![8, -8]], 50_000)
    }

    #[test]
    fn every_synchronised_way_ends_at_zero_and_loses_nothing() {
        for sync in [Sync::Mutex, Sync::Atomic, Sync::ThreadLocal] {
            let run = race(sync);
            assert_eq!(run.final_balance, 0, "{sync:?}");
            assert_eq!(run.expected, 0);
            assert_eq!(run.lost, 0);
            assert_eq!(run.writes, 200_000);
        }
    }

    #[test]
    fn counting_ways_reach_the_exact_total() {
        for sync in [Sync::Mutex, Sync::Atomic, Sync::ThreadLocal] {
            let run = contend(sync, &[vec![1], vec![1], vec![1]], 10_000);
            assert_eq!(run.final_balance, 30_000, "{sync:?}");
            assert_eq!(run.expected, 30_000);
        }
    }

    #[test]
    fn a_lone_unsynchronised_thread_loses_nothing() {
        let run = contend(Sync::None, &[vec![1]], 10_000);
        assert_eq!((run.final_balance, run.lost), (10_000, 0));
        assert_eq!(run.overlap, run.elapsed, "one thread overlaps itself");
    }
}
