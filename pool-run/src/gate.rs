//! Admission: whether a job may start now, beyond having a free slot.
//! `--delay` spaces starts out; `--memfree` and `--load` hold starts back
//! while this machine is short of memory or busy (never the only job: with
//! nothing running, a job starts anyway). It also says when to look again,
//! so the loop sleeps in poll instead of spinning.

use std::time::{Duration, Instant};

use crate::cli::Config;

/// How long a start held back by memory or load waits before a new look.
const RECHECK: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct Gate {
    delay: Duration,
    memfree: Option<u64>,
    load: Option<f64>,
    machine: Option<sysinfo::System>,
    last_start: Option<Instant>,
    recheck_at: Option<Instant>,
}

impl Gate {
    pub fn new(cfg: &Config) -> Gate {
        let machine = (cfg.memfree.is_some() || cfg.load.is_some())
            .then(|| sysinfo::System::new().ok())
            .flatten();
        Gate {
            delay: cfg.delay,
            memfree: cfg.memfree,
            load: cfg.load,
            machine,
            last_start: None,
            recheck_at: None,
        }
    }

    /// Whether a job may start now, with `running` jobs running.
    pub fn may_start(&mut self, running: usize) -> bool {
        if self.last_start.is_some_and(|at| at.elapsed() < self.delay) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(delay_ms: u64) -> Gate {
        Gate {
            delay: Duration::from_millis(delay_ms),
            memfree: None,
            load: None,
            machine: None,
            last_start: None,
            recheck_at: None,
        }
    }

    #[test]
    fn delay_spaces_starts_and_says_when_the_next_may_go() {
        let mut gate = gate(60_000);
        assert!(gate.may_start(0));
        assert_eq!(gate.next_due(true), None);
        gate.started();
        assert!(!gate.may_start(1));
        let due = gate.next_due(true).unwrap();
        assert!(due > Instant::now() + Duration::from_secs(59));
        assert_eq!(gate.next_due(false), None, "no free slot: nothing is due");
    }

    #[test]
    fn without_delay_or_limits_every_start_may_go() {
        let mut gate = gate(0);
        gate.started();
        assert!(gate.may_start(10));
        assert_eq!(gate.next_due(true), None);
    }

    #[test]
    fn memory_never_holds_back_the_only_job() {
        let mut gate = gate(0);
        gate.memfree = Some(u64::MAX);
        gate.machine = sysinfo::System::new().ok();
        assert!(gate.may_start(0));
        assert!(!gate.may_start(1));
        assert!(
            gate.next_due(true).is_some(),
            "a held start is looked at again"
        );
    }
}
