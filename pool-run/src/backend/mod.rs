//! Where and how a job's process runs, and what its end means. A back-end
//! turns a filled-in job into the local `Command` pool-run spawns (`prepare`)
//! and reads its end (`conclude`): whether it ran, and on which host, or
//! never reached its place and goes back to the queue. The supervisor names
//! no back-end; `from_config` chooses one, once.
//!
//! The wrap order, innermost first, is the same for every back-end: the
//! job's words (direct, or `sh -c` with quoted values); then the remote
//! wrapper (ssh: own session, start/255 control lines, killed with the
//! session) or the Slurm task (node line, then exec); then the transport
//! (`ssh host`, `srun`); last, for ssh with files, the sh script that sends
//! and fetches them around the ssh.
//!
//! Adding a back-end: a file here with a type that implements `Backend`,
//! and one line in `from_config`.

pub mod local;
pub mod slurm;
pub mod ssh;

use std::fmt;
use std::process::Command;

use common::cli::Failure;
use common::exit::ChildExit;

use crate::config::Config;
use crate::job::JobSpec;
use crate::output::Captured;
use crate::template::{Fill, Invocation};
use crate::watchdog::Watchdog;

/// Index of a place in `Backend::places`.
pub type PlaceId = usize;

/// Somewhere jobs run: this machine (`:`), an ssh host, a Slurm cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// As `{host}` and the joblog show it.
    pub name: String,
    /// Job slots there (0: unreachable from the start).
    pub slots: usize,
    /// -S's host groups (--hostgroups) it is in.
    pub groups: Vec<String>,
}

/// A job about to start.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub spec: &'a JobSpec,
    pub place: PlaceId,
    pub invocation: &'a Invocation,
    /// The job's values for other templates (--transferfile, --return).
    pub fill: Fill<'a>,
}

/// What to spawn for a job.
#[derive(Debug)]
pub struct Spawn {
    /// stdin set; stdout and stderr are the job table's to set.
    pub command: Command,
    /// The program `command` starts, as an error names it.
    pub program: String,
    /// Its stderr carries a wrapper's control lines (see `frames`).
    pub framed: bool,
    /// Its stdin is a pipe the job table feeds the job's block into.
    pub feed: bool,
}

/// A job's process ended.
#[derive(Debug)]
pub struct Ended<'a> {
    pub spec: &'a JobSpec,
    pub place: PlaceId,
    pub exit: ChildExit,
    pub timed_out: bool,
    pub captured: &'a mut Captured,
    /// Jobs finished so far, for a message that ends the run.
    pub jobs_done: u64,
}

/// What a job's end means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It ran: record it, with this in the joblog's Host column.
    Ran { host: String },
    /// It never reached its place: it goes back to the front of the queue,
    /// uncounted. `drop_place`: that place is gone for the rest of the run.
    Lost { drop_place: bool },
}

pub trait Backend: fmt::Debug {
    fn places(&self) -> &[Place];
    /// The command of one job, its stdin set.
    fn prepare(&mut self, launch: &Launch<'_>) -> Result<Spawn, Failure>;
    /// Reads a job's end: control lines taken out, files cleaned up.
    fn conclude(&mut self, ended: Ended<'_>) -> Result<Verdict, Failure>;
    /// Tells the watchdog what to end if pool-run is SIGKILLed.
    fn guard(&self, _watchdog: &mut Watchdog) {}
    /// The run stopped, normally or not: nothing of it may stay queued.
    fn stopped(&mut self) {}
    /// Before pool-run dies of a signal (destructors do not run then).
    fn close(&mut self) {}
}

/// The back-end `cfg` asks for (this machine with `jobs` slots by default);
/// `spread`: --shard/--bin's pipe for each job, in job order.
pub fn from_config(cfg: &Config, spread: Vec<std::fs::File>) -> Result<Box<dyn Backend>, Failure> {
    if cfg.dry_run {
        return Ok(Box::new(local::Local::new(cfg.jobs)?));
    }
    if let Some(slurm) = &cfg.slurm {
        return Ok(Box::new(slurm::SlurmBackend::new(slurm.clone(), cfg.jobs)?));
    }
    if !cfg.remote.hosts.is_empty() {
        return Ok(Box::new(ssh::SshBackend::connect(cfg)?));
    }
    Ok(Box::new(
        local::Local::new(cfg.jobs)?
            .with_workdir(cfg.workdir.clone())
            .with_tee(cfg.tee)
            .with_spread(spread)
            .with_tty(cfg.tty_stdin),
    ))
}
