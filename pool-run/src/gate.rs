//! Admission: whether a job may start now, beyond having a free slot.
//! `--delay` spaces starts out; `--memfree` and `--load` hold starts back
//! while this machine is short of memory or busy (never the only job: with
//! nothing running, a job starts anyway). It also says when to look again,
//! so the loop sleeps in poll instead of spinning.
//!
//! Descriptors are admitted too, as GNU parallel does ("No more file
//! handles"): each running job needs a few, and outputs held for `-k` keep
//! their spill files open. A start that would pass `ulimit -n` waits for a
//! job to end instead of failing, and so does one whose spawn hit EMFILE.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::config::Config;

/// How long a start held back by memory or load waits before a new look.
const RECHECK: Duration = Duration::from_millis(250);

/// Descriptors a running job may hold: the read ends of its two pipes, and
/// a spill file for each stream.
const FILES_PER_JOB: usize = 4;
/// Descriptors a start needs for a moment beyond that: both ends of two
/// pipes, the stdin, a --pipe block file.
const FILES_TO_START: usize = 6;
/// Room for what pool-run opens after admission is set up (the stdin
/// thread's descriptors, a joblog line, a results file).
const FILES_SPARE: usize = 8;

#[derive(Debug)]
pub struct Gate {
    delay: Duration,
    memfree: Option<u64>,
    load: Option<f64>,
    machine: Option<sysinfo::System>,
    last_start: Option<Instant>,
    recheck_at: Option<Instant>,
    /// `ulimit -n`, and the descriptors open before any job.
    file_limit: usize,
    files_base: usize,
    /// A spawn ran out of descriptors: no start until a job ends.
    out_of_files: bool,
    warned: bool,
}

impl Gate {
    pub fn new(cfg: &Config) -> Gate {
        let machine = (cfg.memfree.is_some() || cfg.load.is_some())
            .then(|| sysinfo::System::new().ok())
            .flatten();
        let mut gate = Gate::unlimited(cfg.delay);
        gate.memfree = cfg.memfree;
        gate.load = cfg.load;
        gate.machine = machine;
        gate.file_limit = file_limit();
        gate.files_base = open_files() + FILES_SPARE;
        gate
    }

    /// No limit but `delay` between starts.
    fn unlimited(delay: Duration) -> Gate {
        Gate {
            delay,
            memfree: None,
            load: None,
            machine: None,
            last_start: None,
            recheck_at: None,
            file_limit: usize::MAX,
            files_base: 0,
            out_of_files: false,
            warned: false,
        }
    }

    /// Whether a job may start now, with `running` jobs running and
    /// `held_files` descriptors kept by finished outputs.
    pub fn may_start(&mut self, running: usize, held_files: usize) -> bool {
        if self.last_start.is_some_and(|at| at.elapsed() < self.delay) {
            return false;
        }
        // Never hold back the only job: with nothing running, start anyway.
        if running > 0 && !self.files_allow(running, held_files) {
            return false;
        }
        let Some(machine) = self.machine.as_mut() else {
            return true;
        };
        if running == 0 {
            return true;
        }
        machine.refresh_memory();
        let memory_ok = self
            .memfree
            .is_none_or(|need| machine.available_memory() >= need);
        let load_ok = self
            .load
            .is_none_or(|max| sysinfo::System::load_average().is_ok_and(|l| l.one < max));
        if memory_ok && load_ok {
            self.recheck_at = None;
            true
        } else {
            self.recheck_at = Some(Instant::now() + RECHECK);
            false
        }
    }

    /// Whether one more job fits `ulimit -n`.
    fn files_allow(&mut self, running: usize, held_files: usize) -> bool {
        let need = self.files_base + held_files + running * FILES_PER_JOB + FILES_TO_START;
        let fits = !self.out_of_files && need <= self.file_limit;
        if !fits {
            self.warn_once();
        }
        fits
    }

    /// A spawn failed for want of descriptors (EMFILE, ENFILE): wait for
    /// a job to end, then try again.
    pub fn out_of_files(&mut self) {
        self.out_of_files = true;
        self.warn_once();
    }

    /// A job ended: its descriptors are free again.
    pub fn job_ended(&mut self) {
        self.out_of_files = false;
    }

    fn warn_once(&mut self) {
        if !self.warned {
            self.warned = true;
            let limit = self.file_limit;
            let _ = writeln!(
                io::stderr(),
                "pool-run: warning: out of file descriptors (ulimit -n {limit}): running fewer jobs at once; raising the limit may help"
            );
        }
    }

    /// A job started now.
    pub fn started(&mut self) {
        self.last_start = Some(Instant::now());
    }

    /// When a start held back now may go ahead without any event.
    pub fn next_due(&self, any_free: bool) -> Option<Instant> {
        let delay = self
            .last_start
            .filter(|_| !self.delay.is_zero() && any_free)
            .map(|at| at + self.delay);
        delay.into_iter().chain(self.recheck_at).min()
    }
}

/// `ulimit -n`: the soft limit on open descriptors.
fn file_limit() -> usize {
    use nix::sys::resource::{Resource, getrlimit};
    getrlimit(Resource::RLIMIT_NOFILE)
        .ok()
        .and_then(|(soft, _)| usize::try_from(soft).ok())
        .unwrap_or(usize::MAX)
}

/// Descriptors open now.
fn open_files() -> usize {
    // The directory's own descriptor is among those listed.
    std::fs::read_dir("/proc/self/fd").map_or(3, |dir| dir.count().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(delay_ms: u64) -> Gate {
        Gate::unlimited(Duration::from_millis(delay_ms))
    }

    #[test]
    fn delay_spaces_starts_and_says_when_the_next_may_go() {
        let mut gate = gate(60_000);
        assert!(gate.may_start(0, 0));
        assert_eq!(gate.next_due(true), None);
        gate.started();
        assert!(!gate.may_start(1, 0));
        let due = gate.next_due(true).unwrap();
        assert!(due > Instant::now() + Duration::from_secs(59));
        assert_eq!(gate.next_due(false), None, "no free slot: nothing is due");
    }

    #[test]
    fn without_delay_or_limits_every_start_may_go() {
        let mut gate = gate(0);
        gate.started();
        assert!(gate.may_start(10, 0));
        assert_eq!(gate.next_due(true), None);
    }

    #[test]
    fn memory_never_holds_back_the_only_job() {
        let mut gate = gate(0);
        gate.memfree = Some(u64::MAX);
        gate.machine = sysinfo::System::new().ok();
        assert!(gate.may_start(0, 0));
        assert!(!gate.may_start(1, 0));
        assert!(
            gate.next_due(true).is_some(),
            "a held start is looked at again"
        );
    }

    #[test]
    fn held_files_and_running_jobs_share_the_descriptor_limit() {
        let mut gate = gate(0);
        gate.file_limit = 64;
        gate.files_base = 20;
        // 20 + 8 jobs x 4 + 6 = 58: one more may start.
        assert!(gate.may_start(8, 0));
        assert!(!gate.may_start(8, 7), "7 held files leave no room");
        assert!(gate.may_start(0, 1000), "the only job always starts");
        assert!(gate.warned, "said once");
    }

    #[test]
    fn a_spawn_out_of_files_waits_for_a_job_to_end() {
        let mut gate = gate(0);
        gate.out_of_files();
        assert!(!gate.may_start(3, 0));
        assert!(gate.may_start(0, 0), "nothing running: try anyway");
        gate.job_ended();
        assert!(gate.may_start(3, 0));
    }

    #[test]
    fn the_limit_is_the_one_the_kernel_reports() {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        let soft = line.split_whitespace().nth(3).unwrap();
        assert_eq!(file_limit().to_string(), soft);
        assert!(open_files() >= 3, "stdin, stdout and stderr at least");
    }
}
