//! Round-trip latency between two processes over each transport: the parent
//! sends, the echo child sends back, the parent times each round trip. One
//! round trip is what lmbench `lat_pipe` and `perf bench sched pipe` report;
//! one-way (= round trip / 2) is what rigtorp's ipc-bench reports.

use std::io;
use std::time::{Duration, Instant};

use common::proc::{fork_child, signal_process, wait_child};
use common::signal::Signal;
use common::time::LatencySummary;

use crate::cli::{Pin, Transport};
use crate::transport;

/// What one transport measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub round_trip: LatencySummary,
    /// Every round trip, sorted (for `--histogram`).
    pub samples: Vec<std::time::Duration>,
    pub round_trips_per_s: f64,
    pub cpus: [Option<i32>; 2],
}

/// Round trips not timed, before the timed ones (caches, page faults).
const WARMUP: u32 = 1000;

fn pin_to(cpu: Option<usize>) {
    if let Some(cpu) = cpu {
        let mut set = nix::sched::CpuSet::new();
        if set.set(cpu).is_ok() {
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
        }
    }
}

/// The CPUs for (parent, child) under `pin`.
fn placement(pin: Pin) -> io::Result<(Option<usize>, Option<usize>)> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))?;
    let allowed: Vec<usize> = (0..nix::sched::CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect();
    let first = allowed.first().copied();
    Ok(match pin {
        Pin::None => (None, None),
        Pin::Same => (first, first),
        Pin::Split => {
            if allowed.len() < 2 {
                return Err(io::Error::other(
                    "--pin split needs two CPUs, this process may use one",
                ));
            }
            (Some(allowed[0]), Some(allowed[1]))
        }
    })
}

fn current_cpu() -> Option<i32> {
    // SAFETY: sched_getcpu takes nothing and returns a CPU number or -1.
    let cpu = unsafe { libc::sched_getcpu() };
    (cpu >= 0).then_some(cpu)
}

/// Measures `rounds` round trips over `transport`. Must be called while the
/// process has one thread (it forks the echo child).
pub fn measure(transport: Transport, rounds: u32, pin: Pin) -> io::Result<Measured> {
    let (parent_cpu, child_cpu) = placement(pin)?;
    let original = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))?;
    let (mut mine, theirs) = transport::pair(transport)?;
    let total = u64::from(WARMUP + rounds);
    let child = fork_child(move || {
        pin_to(child_cpu);
        let mut end = theirs;
        // Reports where it ran, then echoes every value.
        if end
            .send(current_cpu().map_or(u64::MAX, |c| c as u64))
            .is_err()
        {
            return 3;
        }
        for _ in 0..total {
            match end.recv() {
                Ok(value) if end.send(value).is_ok() => {}
                _ => return 3,
            }
        }
        0
    })?;
    pin_to(parent_cpu);
    let result = time_round_trips(&mut mine, rounds);
    let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &original);
    let parent_at = current_cpu();
    if result.is_err() {
        let _ = signal_process(child, Signal::KILL);
    }
    let _ = wait_child(child, true);
    let (samples_total, mut samples, child_at) = result?;
    let round_trip = LatencySummary::from_samples(&mut samples).map_err(io::Error::other)?;
    Ok(Measured {
        round_trip,
        samples,
        round_trips_per_s: f64::from(rounds) / samples_total.as_secs_f64().max(f64::MIN_POSITIVE),
        cpus: [parent_at, child_at],
    })
}

type Timed = (Duration, Vec<Duration>, Option<i32>);

fn time_round_trips(end: &mut transport::End, rounds: u32) -> io::Result<Timed> {
    let child_cpu = end.recv()?;
    for i in 0..WARMUP {
        end.send(u64::from(i))?;
        end.recv()?;
    }
    let mut samples = Vec::with_capacity(rounds as usize);
    let started = Instant::now();
    for i in 0..rounds {
        let t0 = Instant::now();
        end.send(u64::from(i))?;
        let echoed = end.recv()?;
        samples.push(t0.elapsed());
        if echoed != u64::from(i) {
            return Err(io::Error::other(format!("sent {i}, got back {echoed}")));
        }
    }
    let child_cpu = i32::try_from(child_cpu).ok();
    Ok((started.elapsed(), samples, child_cpu))
}
