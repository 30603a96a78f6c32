//! The busy loop itself, as the tutorial writes it (`x = x ^ 1` forever),
//! with a duty cycle for loads below 100% and a count of iterations.
//!
//! At a load below 100% each slice is busy until this thread has used its
//! share of CPU time (CLOCK_THREAD_CPUTIME_ID, so time lost to preemption is
//! made up within the slice), then sleeps until the slice ends. At 100% it
//! never reads the CPU clock: only the cheap monotonic clock, once a batch.

use std::hint::black_box;
use std::io;
use std::time::{Duration, Instant};

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::Pid;

/// Iterations between looks at the clock: a few tens of microseconds.
const BATCH: u64 = 20_000;

/// How a worker learns it should stop.
pub trait Stop {
    /// Checked at least once per slice.
    fn requested(&self) -> bool;
    /// Whether `requested` is cheap enough (no system call) to check after
    /// every batch, so the worker stops within microseconds, not a slice.
    fn cheap(&self) -> bool {
        false
    }
    /// Sleeps up to `duration`; returns true if stopping was requested.
    fn sleep(&self, duration: Duration) -> bool;
}

/// Spins until `stop` says so; returns the loop iterations done.
pub fn spin(load: f64, slice: Duration, stop: &impl Stop) -> u64 {
    let mut iterations = 0u64;
    let mut x = 0u64;
    let busy_share = slice.mul_f64(load.clamp(0.0, 1.0));
    let check_every_batch = stop.cheap();
    loop {
        let slice_start = Instant::now();
        let slice_end = slice_start + slice;
        let cpu_start = thread_cpu_time();
        loop {
            for _ in 0..BATCH {
                x = black_box(x ^ 1);
            }
            iterations += BATCH;
            if check_every_batch && stop.requested() {
                return iterations;
            }
            let now = Instant::now();
            if now >= slice_end {
                break;
            }
            if load < 1.0 && thread_cpu_time().saturating_sub(cpu_start) >= busy_share {
                break;
            }
        }
        if stop.requested() {
            return iterations;
        }
        let rest = slice_end.saturating_duration_since(Instant::now());
        if !rest.is_zero() && stop.sleep(rest) {
            return iterations;
        }
    }
}

/// CPU time used by the calling thread.
fn thread_cpu_time() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or(Duration::ZERO)
}

/// The CPUs this process may run on, in order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    let set = sched_getaffinity(Pid::from_raw(0))?;
    Ok((0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect())
}

/// Pins the calling thread to one CPU.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    // Pid 0 is the calling thread.
    sched_setaffinity(Pid::from_raw(0), &set)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Stops after a number of slices; sleeps for real.
    struct AfterSlices(Cell<u32>);

    impl Stop for AfterSlices {
        fn requested(&self) -> bool {
            self.0.set(self.0.get().saturating_sub(1));
            self.0.get() == 0
        }
        fn sleep(&self, duration: Duration) -> bool {
            std::thread::sleep(duration);
            false
        }
    }

    #[test]
    fn full_load_spins_for_whole_slices() {
        let started = Instant::now();
        let iterations = spin(1.0, Duration::from_millis(20), &AfterSlices(Cell::new(3)));
        assert!(iterations >= BATCH * 3);
        assert!(started.elapsed() >= Duration::from_millis(60));
    }

    #[test]
    fn partial_load_uses_about_its_share_of_cpu() {
        let cpu_before = thread_cpu_time();
        let started = Instant::now();
        spin(0.25, Duration::from_millis(40), &AfterSlices(Cell::new(5)));
        let cpu = thread_cpu_time() - cpu_before;
        let wall = started.elapsed();
        // 25% of 200ms is 50ms of CPU; it must not spin the whole time.
        assert!(cpu >= Duration::from_millis(10), "cpu {cpu:?}");
        assert!(cpu < wall.mul_f64(0.6), "cpu {cpu:?} of wall {wall:?}");
    }

    #[test]
    fn pinning_to_an_allowed_cpu_works() {
        let cpus = allowed_cpus().unwrap();
        assert!(!cpus.is_empty());
        std::thread::spawn(move || pin_current_thread(cpus[0]).unwrap())
            .join()
            .unwrap();
    }
}
