//! The contention benchmark: N threads increment one counter, once per way of
//! sharing it; throughput and whether the total came out right.
//! `bench/lock-demo.sh` runs the same loops written in C beside it.

use crate::cli::Sync;
use crate::contend::{Contention, contend};

pub const ALL: [Sync; 4] = [Sync::None, Sync::Mutex, Sync::Atomic, Sync::ThreadLocal];

/// `threads` threads each increment the counter `iterations` times.
pub fn run(sync: Sync, threads: u32, iterations: u64) -> Contention {
    contend(sync, &vec![vec![1i64]; threads as usize], iterations)
}

/// Increments per second over the whole run.
pub fn ops_per_second(run: &Contention) -> f64 {
    let seconds = run.elapsed.as_secs_f64();
    if seconds > 0.0 {
        run.writes as f64 / seconds
    } else {
        0.0
    }
}

/// The label of a way in the table ("none" reads as "split" there, which is
/// what it measures: a separate load and store).
pub fn label(sync: Sync) -> &'static str {
    match sync {
        Sync::None => "split",
        other => other.name(),
    }
}
