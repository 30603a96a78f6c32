//! What the run does to jobs already running, from outside them: list
//! them (SIGUSR1), kill the youngest (--limit), stop and continue the
//! younger ones (--memsuspend), and stop them all (Ctrl-C, --halt now).

use std::time::{Duration, Instant};

use bstr::ByteSlice;
use common::proc;
use common::signal::{Signal, SignalWatcher};

use super::{Finished, Jobs, Running, STOP_GRACE};
use crate::backend::PlaceId;
use crate::output::Output;

impl Jobs {
    /// SIGUSR1: what runs now, one line per job (its number, pid, time so
    /// far and command), after a count, for stderr.
    pub fn listing(&self, done: u64) -> String {
        let mut text = format!(
            "pool-run: {} jobs running, {done} done",
            self.running.iter().filter(|j| j.exit.is_none()).count()
        );
        for job in self.running.iter().filter(|j| j.exit.is_none()) {
            text.push_str(&format!(
                "\npool-run: job {} (pid {}, {:.1}s): {}",
                job.spec.seq,
                job.pid,
                job.started.elapsed().as_secs_f64(),
                job.command.to_str_lossy()
            ));
        }
        text
    }

    /// --limit said "way over" for `place`: its youngest job still running
    /// (the highest sequence number, not already being stopped) gets
    /// --termseq now, as at a timeout (its joblog exit value is -1, as in
    /// GNU parallel).
    pub fn kill_youngest(&mut self, place: PlaceId) {
        let now = Instant::now();
        let youngest = self
            .running
            .iter_mut()
            .filter(|j| j.place == place && j.exit.is_none() && !j.clock.timed_out)
            .max_by_key(|j| j.spec.seq);
        if let Some(job) = youngest {
            job.clock.expire(now);
            self.timeouts.enforce(job.pid, &mut job.clock, now);
        }
    }

    /// The places jobs run on now, each once.
    pub fn places_running(&self) -> Vec<PlaceId> {
        let mut places: Vec<PlaceId> = self
            .running
            .iter()
            .filter(|j| j.exit.is_none())
            .map(|j| j.place)
            .collect();
        places.sort_unstable();
        places.dedup();
        places
    }

    /// --memsuspend: the `oldest` jobs run, the younger ones are stopped.
    pub fn run_oldest(&mut self, oldest: usize) {
        let mut by_age: Vec<&mut Running> = self
            .running
            .iter_mut()
            .filter(|j| j.exit.is_none())
            .collect();
        by_age.sort_by_key(|j| j.spec.seq);
        for (i, job) in by_age.into_iter().enumerate() {
            job.set_suspended(i >= oldest);
        }
    }

    /// --memsuspend: memory came back; the oldest stopped job goes on.
    pub fn resume_one(&mut self) {
        let oldest = self
            .running
            .iter_mut()
            .filter(|j| j.suspended)
            .min_by_key(|j| j.spec.seq);
        if let Some(job) = oldest {
            job.set_suspended(false);
        }
    }

    /// Ctrl-C, SIGTERM or `--halt now`: TERM to every job's group, KILL
    /// after the grace, until no process of any job is left.
    /// Returns what each stopped job ran (for --timeline).
    pub fn stop_all(&mut self, signals: &SignalWatcher, out: &mut Output) -> Vec<Finished> {
        let mut stopped = Vec::new();
        for job in &self.running {
            let _ = proc::signal_group_and_continue(job.pid, Signal::TERM);
        }
        let kill_at = Instant::now() + STOP_GRACE;
        let give_up = kill_at + Duration::from_secs(5);
        let mut killed = false;
        loop {
            let _ = self.reap(out);
            let (gone, left): (Vec<Running>, Vec<Running>) = std::mem::take(&mut self.running)
                .into_iter()
                .partition(|job| job.exit.is_some() && !proc::group_exists(job.pid));
            self.running = left;
            stopped.extend(gone.into_iter().map(Running::finished));
            self.reindex();
            if self.running.iter().all(|job| job.exit.is_some()) {
                proc::reap_exited_children();
            }
            let now = Instant::now();
            if self.running.is_empty() || now >= give_up {
                break;
            }
            // A second Ctrl-C (or SIGTERM) while stopping: kill at once.
            let again = signals.wait(Some(Duration::from_millis(5)));
            let interrupted =
                matches!(again, Ok(Some(r)) if matches!(r.signal, Signal::INT | Signal::TERM));
            if !killed && (now >= kill_at || interrupted) {
                for job in &self.running {
                    let _ = proc::signal_group(job.pid, Signal::KILL);
                }
                killed = true;
            }
        }
        if let Some(watchdog) = self.watchdog.as_mut() {
            for job in &self.running {
                watchdog.ended(job.pid);
            }
            watchdog.send();
        }
        stopped.extend(self.running.drain(..).map(Running::finished));
        self.index_of.clear();
        proc::reap_exited_children();
        stopped
    }

    /// Before exiting: the killed leftovers are gone and reaped (they are our
    /// children once their parents died: we are a subreaper).
    pub fn wait_for_killed_groups(&mut self, signals: &SignalWatcher) {
        let give_up = Instant::now() + Duration::from_secs(5);
        while !self.killed_groups.is_empty() && Instant::now() < give_up {
            proc::reap_exited_children();
            self.killed_groups.retain(|&pgid| proc::group_exists(pgid));
            if !self.killed_groups.is_empty() {
                let _ = signals.wait(Some(Duration::from_millis(5)));
            }
        }
        proc::reap_exited_children();
    }
}

impl Running {
    /// Stops or continues the job's whole group, when that changes.
    fn set_suspended(&mut self, suspended: bool) {
        if self.suspended != suspended {
            let signal = if suspended {
                Signal::STOP
            } else {
                Signal::CONT
            };
            let _ = proc::signal_group(self.pid, signal);
            self.suspended = suspended;
        }
    }
}
