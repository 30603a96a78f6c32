//! The one record that carries a job from its input to its outcome: the
//! source makes a `JobSpec`, which stays the same through retries and
//! requeues; when an attempt ends it becomes a `Record`, which the tally
//! counts and the output logs. Nothing copies a job's fields field by field.

use std::time::{Duration, SystemTime};

use bstr::BString;
use common::exit::ChildExit;

use std::rc::Rc;

use crate::blocks::{Block, Named};

/// What runs: the job's input, numbered, and how many times it has run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// The job's number in input order (`{#}`), kept through retries.
    pub seq: u64,
    pub values: Vec<BString>,
    /// 1 for the first run, 2 for the first retry, ...
    pub attempt: u32,
    /// --pipe, --pipe-part: the block this job reads on stdin.
    pub block: Option<Block>,
    /// --cat, --fifo: the file or named pipe its block comes through
    /// instead of stdin (`{}`).
    pub named: Option<Rc<Named>>,
    /// --onall, --nonall: the place (host) this job must run on.
    pub place: Option<crate::backend::PlaceId>,
    /// --hostgroups: the host groups it may run in (None: anywhere).
    pub groups: Option<Vec<String>>,
}

impl JobSpec {
    pub fn new(seq: u64, values: Vec<BString>) -> JobSpec {
        JobSpec {
            seq,
            values,
            attempt: 1,
            block: None,
            named: None,
            place: None,
            groups: None,
        }
    }

    /// The same job, to run once more after a failure.
    pub fn next_attempt(mut self) -> JobSpec {
        self.attempt += 1;
        self
    }
}

/// How one attempt of a job ended.
#[derive(Debug, Clone)]
pub struct Record {
    pub spec: JobSpec,
    /// The command as the joblog, --json and --dry-run show it.
    /// Bytes, as the job's argv got them.
    pub command: BString,
    /// The joblog's Host column: `:`, the sshlogin, or the Slurm node.
    pub host: String,
    pub exit: ChildExit,
    /// --timeout fired: a failure whatever the exit code.
    pub timed_out: bool,
    pub started_wall: SystemTime,
    pub runtime: Duration,
}

impl Record {
    /// A job whose program could not be started: it failed with the
    /// shell's code for that (127 not found, 126 not runnable).
    pub fn not_started(spec: JobSpec, command: BString, host: String, code: u8) -> Record {
        Record {
            spec,
            command,
            host,
            exit: ChildExit::Exited(code),
            timed_out: false,
            started_wall: SystemTime::now(),
            runtime: Duration::ZERO,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.exit.success() && !self.timed_out
    }

    /// The start as seconds since the epoch, as the joblog and --json show it.
    pub fn start_epoch(&self) -> f64 {
        self.started_wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A record of job `seq` that exited with `code`, for the stages' tests.
    pub fn record(seq: u64, code: u8) -> Record {
        Record {
            spec: JobSpec::new(seq, vec![format!("v{seq}").into()]),
            command: format!("cmd {seq}").into(),
            host: ":".to_string(),
            exit: ChildExit::Exited(code),
            timed_out: false,
            started_wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            runtime: Duration::from_millis(1500),
        }
    }

    #[test]
    fn a_retry_keeps_the_seq_and_counts_the_attempt() {
        let spec = JobSpec::new(7, vec!["a".into()]);
        let again = spec.clone().next_attempt();
        assert_eq!((again.seq, again.attempt), (7, 2));
        assert_eq!(again.values, spec.values);
    }

    #[test]
    fn a_timed_out_job_fails_whatever_its_code() {
        let mut r = record(1, 0);
        assert!(r.succeeded());
        r.timed_out = true;
        assert!(!r.succeeded());
        assert!(!record(1, 3).succeeded());
        assert_eq!(record(1, 0).start_epoch(), 1_700_000_000.0);
    }
}
