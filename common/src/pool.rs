//! A pool of long-lived worker processes, as Python's `multiprocessing.Pool`
//! builds one: a fixed set of forked workers, each taking task after task
//! from one shared queue until it is told to stop. A worker that finishes
//! early takes the next task, so one worker runs several. fork-demo's pool
//! scene and spin-cores' tutorial programs both show this; pool-run starts
//! a fresh process per job instead, on purpose.

use std::io;

use crate::exit::ChildExit;
use crate::ipc::Queue;
use crate::proc::{fork_child, wait_child};

/// Tells a worker there are no more tasks.
const STOP: &[u8] = b"stop";

/// Running workers and the queue they take task numbers from. Dropping a
/// pool that was not joined still stops and reaps every worker.
#[derive(Debug)]
pub struct Pool {
    queue: Queue,
    workers: Vec<u32>,
}

impl Pool {
    /// Forks `workers` processes; each runs `task` on every task number it
    /// takes and exits 1 if any call returned false. Call it while this
    /// process has one thread (see [`fork_child`]).
    pub fn start(workers: u32, task: impl Fn(u64) -> bool) -> io::Result<Pool> {
        let mut pool = Pool {
            queue: Queue::new()?,
            workers: Vec::new(),
        };
        for _ in 0..workers {
            let (queue, task) = (&pool.queue, &task);
            let pid = fork_child(move || {
                let mut ok = true;
                while let Ok(Some(message)) = queue.get() {
                    if message == STOP {
                        break;
                    }
                    let number = String::from_utf8_lossy(&message).parse::<u64>();
                    ok &= number.is_ok_and(task);
                }
                i32::from(!ok)
            })?;
            pool.workers.push(pid);
        }
        Ok(pool)
    }

    /// The workers' pids, in the order they started.
    pub fn pids(&self) -> &[u32] {
        &self.workers
    }

    /// Hands task `number` to whichever worker is free first (apply_async).
    pub fn submit(&self, number: u64) -> io::Result<()> {
        self.queue.put(number.to_string().as_bytes())
    }

    /// No more tasks (close), then waits for every worker (join). Returns how
    /// the first worker that failed ended, if one did.
    pub fn join(mut self) -> io::Result<Option<ChildExit>> {
        self.stop_and_reap()
    }

    fn stop_and_reap(&mut self) -> io::Result<Option<ChildExit>> {
        for _ in &self.workers {
            self.queue.put(STOP)?;
        }
        let mut failed = None;
        for pid in std::mem::take(&mut self.workers) {
            if let Some((exit, _)) = wait_child(pid, true)?
                && !exit.success()
            {
                failed = failed.or(Some(exit));
            }
        }
        Ok(failed)
    }
}

/// `Pool(workers)`, `apply_async` of each task number, close, join: the
/// whole life of a pool. Returns how the first failed worker ended, if one
/// did.
pub fn run(
    workers: u32,
    tasks: impl IntoIterator<Item = u64>,
    task: impl Fn(u64) -> bool,
) -> io::Result<Option<ChildExit>> {
    let pool = Pool::start(workers, task)?;
    for number in tasks {
        pool.submit(number)?;
    }
    pool.join()
}

impl Drop for Pool {
    fn drop(&mut self) {
        if !self.workers.is_empty() {
            let _ = self.stop_and_reap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_runs_once_and_a_worker_runs_several() {
        let (reader, writer) = crate::ipc::pipe().unwrap();
        let pool = Pool::start(2, |n| {
            use std::io::Write;
            let line = format!("{n} {}\n", std::process::id());
            (&writer).write_all(line.as_bytes()).is_ok()
        })
        .unwrap();
        for n in 0..6 {
            pool.submit(n).unwrap();
        }
        let pids = pool.pids().to_vec();
        assert_eq!(pool.join().unwrap(), None);
        drop(writer);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &reader, &mut text).unwrap();
        let mut tasks: Vec<u64> = text
            .lines()
            .map(|line| line.split(' ').next().unwrap().parse().unwrap())
            .collect();
        tasks.sort_unstable();
        assert_eq!(tasks, [0, 1, 2, 3, 4, 5]);
        // 6 tasks on 2 workers: every task ran in one of the pool's pids.
        assert!(
            text.lines()
                .all(|line| pids.iter().any(|pid| line.ends_with(&pid.to_string())))
        );
    }

    #[test]
    fn a_failed_task_fails_its_worker() {
        let pool = Pool::start(1, |n| n != 3).unwrap();
        for n in 0..5 {
            pool.submit(n).unwrap();
        }
        assert_eq!(pool.join().unwrap(), Some(ChildExit::Exited(1)));
    }
}
