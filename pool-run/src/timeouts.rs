//! `--timeout` and `--termseq`: when each running job is due its next
//! signal. A limit is a fixed duration or a share of the median runtime of
//! the jobs finished so far (`N%`, from the third on); at the deadline the
//! job's whole group gets --termseq's signals in turn, then KILL.

use std::time::{Duration, Instant};

use common::proc;
use common::signal::Signal;

use crate::cli::{TermSeq, Timeout};

#[derive(Debug)]
pub struct Timeouts {
    timeout: Option<Timeout>,
    /// Runtimes of the finished jobs, sorted (--timeout N%).
    runtimes: Vec<Duration>,
    termseq: TermSeq,
}

/// One job's place in its timeout sequence.
#[derive(Debug)]
pub struct Clock {
    /// When the next signal is due.
    pub deadline: Option<Instant>,
    pub timed_out: bool,
    /// How far through --termseq the job is.
    step: usize,
}

impl Timeouts {
    pub fn new(timeout: Option<Timeout>, termseq: TermSeq) -> Timeouts {
        Timeouts {
            timeout,
            runtimes: Vec::new(),
            termseq,
        }
    }

    /// The clock of a job started at `started`.
    pub fn clock(&self, started: Instant) -> Clock {
        Clock {
            deadline: self.limit().map(|limit| started + limit),
            timed_out: false,
            step: 0,
        }
    }

    /// How long a job may run now: --timeout's duration, or its share of
    /// the median runtime once three jobs have finished.
    pub fn limit(&self) -> Option<Duration> {
        match self.timeout? {
            Timeout::After(limit) => Some(limit),
            Timeout::OfMedian(percent) => {
                if self.runtimes.len() < 3 {
                    return None;
                }
                let median = self.runtimes[self.runtimes.len() / 2];
                Some(median.mul_f64(percent / 100.0))
            }
        }
    }

    /// A job finished after `runtime`; true if that moved the limit (under
    /// --timeout N% the median moves), so the running jobs' clocks are
    /// to be set again.
    pub fn ran_for(&mut self, runtime: Duration) -> bool {
        if !matches!(self.timeout, Some(Timeout::OfMedian(_))) {
            return false;
        }
        let at = self.runtimes.partition_point(|r| *r < runtime);
        self.runtimes.insert(at, runtime);
        true
    }

    /// At its deadline, the group of job `pgid` gets the next signal of
    /// --termseq (the deadline moves on by its wait), or KILL once the
    /// sequence is spent.
    pub fn enforce(&self, pgid: u32, clock: &mut Clock, now: Instant) {
        if clock.deadline.is_none_or(|d| d > now) {
            return;
        }
        clock.timed_out = true;
        match self.termseq.0.get(clock.step) {
            Some(&(signal, wait)) => {
                let _ = proc::signal_group_and_continue(pgid, signal);
                clock.step += 1;
                clock.deadline = Some(now + wait);
            }
            None => {
                let _ = proc::signal_group(pgid, Signal::KILL);
                clock.deadline = None;
            }
        }
    }
}

impl Clock {
    /// The job is to be stopped now (--limit), as if its time were up.
    pub fn expire(&mut self, now: Instant) {
        if self.step == 0 {
            self.deadline = Some(now);
        }
    }

    /// The limit moved: a job not signalled yet gets the new deadline.
    pub fn reset(&mut self, started: Instant, limit: Option<Duration>) {
        if self.step == 0 {
            self.deadline = limit.map(|limit| started + limit);
        }
    }
}
