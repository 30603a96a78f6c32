//! The counts of a run and what follows from them: how many jobs are done,
//! failed and succeeded, whether a failed attempt runs again (`--retries`),
//! whether the run is stopping and why (`--halt` or SIGHUP), and the exit
//! code in GNU parallel's scheme.

use crate::cli::{Halt, HaltCondition};
use crate::config::Config;
use crate::exit::Exit;
use crate::job::Record;

/// Whether the run is stopping, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Jobs keep starting.
    No,
    /// Start no job; let the running ones finish.
    Soon(Why),
    /// Start no job; kill the running ones.
    Now(Why),
}

/// Why the run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// SIGHUP: GNU parallel finishes the running jobs and starts no more.
    HangUp,
    /// A `--halt` rule was met.
    Halt,
}

#[derive(Debug)]
pub struct Tally {
    /// The most runs of a failing job; None: until it succeeds.
    max_runs: Option<u32>,
    halt: Option<Halt>,
    done: u64,
    failed: u64,
    succeeded: u64,
    stop: Stop,
    /// `--halt ...,fail=1` ends with the failing job's own code.
    halt_code: Option<u8>,
}

impl Tally {
    pub fn new(cfg: &Config) -> Tally {
        Tally::with(cfg.max_runs, cfg.halt)
    }

    pub fn with(max_runs: Option<u32>, halt: Option<Halt>) -> Tally {
        Tally {
            max_runs,
            halt,
            done: 0,
            failed: 0,
            succeeded: 0,
            stop: Stop::No,
            halt_code: None,
        }
    }

    pub fn done(&self) -> u64 {
        self.done
    }

    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// A failed attempt runs again while the run goes on and it has run
    /// fewer than `--retries` times: GNU parallel's `--retries 3` is 3 runs
    /// in all, `--retries 0` runs until the job succeeds.
    pub fn wants_retry(&self, record: &Record) -> bool {
        !record.succeeded()
            && self.max_runs.is_none_or(|max| record.spec.attempt < max)
            && !self.stopping()
    }

    /// Counts a finished job, then applies the `--halt` rule.
    pub fn count(&mut self, record: &Record) {
        self.done += 1;
        let success = record.succeeded();
        if success {
            self.succeeded += 1;
        } else {
            self.failed += 1;
        }
        let Some(halt) = self.halt else { return };
        if self.stopping() || !self.rule_met(halt.condition) {
            return;
        }
        self.stop = if halt.now {
            Stop::Now(Why::Halt)
        } else {
            Stop::Soon(Why::Halt)
        };
        // GNU parallel: halting on the first failure ends with that job's
        // status; halting on successes ends with success, whatever failed
        // before.
        if !success && halt.condition == HaltCondition::Failed(1) {
            self.halt_code = Some(record.exit.code());
        }
        if matches!(halt.condition, HaltCondition::Succeeded(_)) {
            self.halt_code = Some(0);
        }
    }

    /// GNU parallel's note on stderr under `--halt`: each job of the kind
    /// the rule counts ("failed", "succeeded", "finished") is named.
    pub fn halt_note(&self, record: &Record) -> Option<&'static str> {
        match (self.halt?.condition, record.succeeded()) {
            (HaltCondition::Failed(_) | HaltCondition::FailedPercent(_), false) => Some("failed"),
            (HaltCondition::Succeeded(_), true) => Some("succeeded"),
            (HaltCondition::Done(_), _) => Some("finished"),
            _ => None,
        }
    }

    fn rule_met(&self, condition: HaltCondition) -> bool {
        match condition {
            HaltCondition::Failed(n) => self.failed >= n,
            // GNU parallel waits for a few jobs before judging a rate.
            HaltCondition::FailedPercent(pct) => {
                self.done >= 3 && (self.failed as f64) * 100.0 >= pct * self.done as f64
            }
            HaltCondition::Succeeded(n) => self.succeeded >= n,
            HaltCondition::Done(n) => self.done >= n,
        }
    }

    /// SIGHUP: start no new job, let the running ones finish.
    pub fn hang_up(&mut self) {
        if self.stop == Stop::No {
            self.stop = Stop::Soon(Why::HangUp);
        }
    }

    pub fn stop(&self) -> Stop {
        self.stop
    }

    pub fn stopping(&self) -> bool {
        self.stop() != Stop::No
    }

    /// The running jobs are to be killed: a `--halt now` rule was met (a
    /// SIGHUP lets them finish, whatever `--halt` says).
    pub fn kill_now(&self) -> bool {
        matches!(self.stop, Stop::Now(_))
    }

    pub fn exit_code(&self) -> u8 {
        self.halt_code
            .unwrap_or_else(|| Exit::Failed(self.failed).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::tests::record;

    fn halt(now: bool, condition: HaltCondition) -> Option<Halt> {
        Some(Halt { now, condition })
    }

    #[test]
    fn the_exit_code_counts_failed_jobs() {
        let mut tally = Tally::with(Some(1), None);
        for code in [0, 1, 0, 2] {
            tally.count(&record(1, code));
        }
        assert_eq!((tally.done(), tally.failed()), (4, 2));
        assert_eq!(tally.exit_code(), 2);
        assert!(!tally.stopping());
    }

    #[test]
    fn retries_count_every_run_as_gnu_parallel_does() {
        let tally = Tally::with(Some(3), None);
        let mut failed = record(1, 1);
        assert!(tally.wants_retry(&failed));
        failed.spec.attempt = 3;
        assert!(!tally.wants_retry(&failed), "--retries 3: 3 runs in all");
        assert!(
            !Tally::with(Some(1), None).wants_retry(&record(1, 1)),
            "one run"
        );
        assert!(
            Tally::with(None, None).wants_retry(&failed),
            "--retries 0: no limit"
        );
        assert!(
            !tally.wants_retry(&record(1, 0)),
            "a success is never retried"
        );
    }

    #[test]
    fn halt_now_on_the_first_failure_ends_with_its_code() {
        let mut tally = Tally::with(Some(1), halt(true, HaltCondition::Failed(1)));
        tally.count(&record(1, 0));
        assert!(!tally.stopping());
        tally.count(&record(2, 7));
        assert_eq!(tally.stop(), Stop::Now(Why::Halt));
        assert!(tally.kill_now());
        assert_eq!(tally.exit_code(), 7);
        assert!(!tally.wants_retry(&record(3, 1)), "no retry while stopping");
    }

    #[test]
    fn halt_soon_lets_running_jobs_finish() {
        let mut tally = Tally::with(Some(1), halt(false, HaltCondition::Succeeded(2)));
        tally.count(&record(1, 0));
        tally.count(&record(2, 0));
        assert_eq!(tally.stop(), Stop::Soon(Why::Halt));
        assert!(!tally.kill_now());
        assert_eq!(tally.exit_code(), 0);
    }

    #[test]
    fn halting_on_successes_ends_with_success() {
        let mut tally = Tally::with(Some(1), halt(true, HaltCondition::Succeeded(1)));
        tally.count(&record(1, 1));
        tally.count(&record(2, 0));
        assert_eq!(tally.stop(), Stop::Now(Why::Halt));
        assert_eq!(tally.exit_code(), 0, "as GNU parallel, though job 1 failed");
    }

    #[test]
    fn a_failure_rate_is_judged_after_three_jobs() {
        let mut tally = Tally::with(Some(1), halt(false, HaltCondition::FailedPercent(50.0)));
        tally.count(&record(1, 1));
        tally.count(&record(2, 1));
        assert!(!tally.stopping(), "two jobs are too few to judge");
        tally.count(&record(3, 0));
        assert!(tally.stopping());
        assert_eq!(tally.exit_code(), 2);
    }

    #[test]
    fn done_counts_every_finished_job() {
        let mut tally = Tally::with(Some(1), halt(false, HaltCondition::Done(2)));
        tally.count(&record(1, 1));
        assert!(!tally.stopping());
        tally.count(&record(2, 0));
        assert!(tally.stopping());
    }

    #[test]
    fn a_hang_up_under_halt_now_lets_running_jobs_finish() {
        let mut tally = Tally::with(Some(1), halt(true, HaltCondition::Failed(1)));
        tally.hang_up();
        assert!(tally.stopping());
        assert!(!tally.kill_now(), "SIGHUP is not a --halt rule");
        tally.count(&record(1, 3));
        assert_eq!(tally.stop(), Stop::Soon(Why::HangUp), "the reason stays");
        assert!(!tally.kill_now());
        assert_eq!(tally.exit_code(), 1);
    }

    #[test]
    fn a_hang_up_stops_starts() {
        let mut tally = Tally::with(Some(1), None);
        tally.hang_up();
        assert_eq!(tally.stop(), Stop::Soon(Why::HangUp));
        assert!(!tally.kill_now());
    }
}
