//! Admission: whether a job may start now, beyond having a free slot.
//! `--delay` spaces starts out; `--memfree` and `--load` hold starts back
//! while this machine is short of memory or busy (never the only job: with
//! nothing running, a job starts anyway). It also says when to look again,
//! so the loop sleeps in poll instead of spinning.
//!
//! Descriptors are admitted too, as GNU parallel does ("No more file
//! handles"): each running job needs a few, and outputs held for `-k` keep
//! their spill files open. A start that would pass `ulimit -n` waits for a
//! job to end instead of failing.
//!
//! `--limit` asks the user's command before each start, and
//! `--memsuspend` stops the youngest jobs while memory is short: both are
//! also asked every little while as jobs run (`watch`), since their answer
//! can be about the running jobs (kill the youngest, suspend, resume).
//!
//! And a start that fails for want of a resource (EMFILE, ENFILE from a
//! pipe or a file; EAGAIN, ENOMEM from fork: `ulimit -u`, memory) is no
//! failure of the job: it waits for a running job to end and runs then, and
//! from then on no more jobs run at once than were running when it failed
//! (GNU parallel lowers its job count the same way). One warning per run.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::backend::PlaceId;
use crate::config::Config;
use crate::limit::{Limit, Verdict};

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

/// A look at the machine's load (see `Gate::load_now`).
#[derive(Debug, Clone, Copy)]
struct LoadSeen {
    at: Instant,
    /// Processes running or waiting for a disk then, pool-run not counted.
    active: usize,
    /// Jobs pool-run started since.
    started_since: usize,
}

#[derive(Debug)]
pub struct Gate {
    delay: Duration,
    memfree: Option<u64>,
    load: Option<f64>,
    /// --noswap: the swap counters at the last look.
    noswap: Option<SwapWatch>,
    /// --memsuspend SIZE.
    memsuspend: Option<u64>,
    limit: Option<Limit>,
    /// --limit said "way over" at a start: the youngest job on these
    /// places is to go.
    kill_youngest: Vec<PlaceId>,
    /// When the running jobs are next looked at for --limit/--memsuspend.
    watch_at: Option<Instant>,
    machine: Option<sysinfo::System>,
    last_start: Option<Instant>,
    recheck_at: Option<Instant>,
    /// --load: the last look at the machine's load.
    load_seen: Option<LoadSeen>,
    /// `ulimit -n`, and the descriptors open before any job.
    file_limit: usize,
    files_base: usize,
    /// A start hit a shortage: no start until a job ends.
    short: bool,
    /// Jobs at once since the first shortage: what was running then.
    cap: Option<usize>,
    warned: bool,
}

/// --noswap: the machine swaps when pages went both in and out since the
/// last look (/proc/vmstat's pswpin and pswpout, as GNU parallel reads
/// vmstat).
#[derive(Debug)]
struct SwapWatch {
    last: Option<(u64, u64)>,
}

impl SwapWatch {
    fn new() -> SwapWatch {
        SwapWatch {
            last: read_swap_counts(),
        }
    }

    /// Whether the machine swapped in and out since the last look.
    fn swapping(&mut self) -> bool {
        let now = read_swap_counts();
        let was = std::mem::replace(&mut self.last, now);
        matches!((was, now), (Some(before), Some(after)) if swapped(before, after))
    }
}

fn read_swap_counts() -> Option<(u64, u64)> {
    swap_counts(&std::fs::read_to_string("/proc/vmstat").ok()?)
}

/// pswpin and pswpout of /proc/vmstat's text.
fn swap_counts(vmstat: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        vmstat.lines().find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            (key == name).then(|| value.trim().parse::<u64>().ok())?
        })
    };
    Some((field("pswpin")?, field("pswpout")?))
}

/// Pages went both in and out between the two samples.
fn swapped(before: (u64, u64), after: (u64, u64)) -> bool {
    after.0 > before.0 && after.1 > before.1
}

/// What a start ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortage {
    /// EMFILE, ENFILE: descriptors, for pipes or files.
    Files,
    /// EAGAIN, ENOMEM: processes (`ulimit -u`) or memory, for fork.
    Processes,
}

impl Shortage {
    /// The shortage an OS error number means, if it is one.
    pub fn of(errno: Option<i32>) -> Option<Shortage> {
        match errno? {
            libc::EMFILE | libc::ENFILE => Some(Shortage::Files),
            libc::EAGAIN | libc::ENOMEM => Some(Shortage::Processes),
            _ => None,
        }
    }

    /// What ran out, with the limit that applies, for a message.
    pub fn describe(self) -> String {
        use nix::sys::resource::{Resource, getrlimit};
        let (what, resource, flag) = match self {
            Shortage::Files => ("file descriptors", Resource::RLIMIT_NOFILE, "-n"),
            Shortage::Processes => ("processes or memory", Resource::RLIMIT_NPROC, "-u"),
        };
        match getrlimit(resource) {
            Ok((soft, _)) if soft != libc::RLIM_INFINITY => {
                format!("{what} (ulimit {flag} {soft})")
            }
            _ => what.to_string(),
        }
    }
}

impl Gate {
    pub fn new(cfg: &Config) -> Gate {
        let machine = (cfg.memfree.is_some() || cfg.load.is_some() || cfg.memsuspend.is_some())
            .then(|| sysinfo::System::new().ok())
            .flatten();
        let mut gate = Gate::unlimited(cfg.delay);
        // GNU parallel: no start below --memfree plus --memsuspend.
        gate.memfree = match (cfg.memfree, cfg.memsuspend) {
            (None, None) => None,
            (free, suspend) => Some(free.unwrap_or(0) + suspend.unwrap_or(0)),
        };
        gate.memsuspend = cfg.memsuspend;
        gate.limit = cfg.limit.clone().map(Limit::new);
        gate.load = cfg.load;
        gate.noswap = cfg.noswap.then(SwapWatch::new);
        gate.machine = machine;
        gate.file_limit = file_limit();
        gate.files_base = open_files() + FILES_SPARE;
        gate
    }

    /// No limit at all, for other modules' tests.
    #[cfg(test)]
    pub fn unlimited_for_tests() -> Gate {
        Gate::unlimited(Duration::ZERO)
    }

    /// No limit but `delay` between starts.
    fn unlimited(delay: Duration) -> Gate {
        Gate {
            delay,
            memfree: None,
            load: None,
            noswap: None,
            memsuspend: None,
            limit: None,
            kill_youngest: Vec::new(),
            watch_at: None,
            machine: None,
            last_start: None,
            recheck_at: None,
            load_seen: None,
            file_limit: usize::MAX,
            files_base: 0,
            short: false,
            cap: None,
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
        if running > 0
            && (self.short
                || self.cap.is_some_and(|cap| running >= cap)
                || !self.files_allow(running, held_files))
        {
            return false;
        }
        if running == 0 || (self.machine.is_none() && self.noswap.is_none()) {
            return true;
        }
        let machine = &mut self.machine;
        let memory_ok = self.memfree.is_none_or(|need| {
            machine.as_mut().is_none_or(|machine| {
                machine.refresh_memory();
                machine.available_memory() >= need
            })
        });
        let load_ok = self.load.is_none_or(|max| (self.load_now() as f64) < max);
        let swap_ok = self.noswap.as_mut().is_none_or(|watch| !watch.swapping());
        if memory_ok && load_ok && swap_ok {
            self.recheck_at = None;
            true
        } else {
            self.recheck_at = Some(Instant::now() + RECHECK);
            false
        }
    }

    /// GNU parallel's load: processes running or waiting for a disk right
    /// now (pool-run itself not counted), not an average that lags behind
    /// the starts. A look reads every /proc/PID/stat, too slow to take
    /// before each start, so one is kept for RECHECK with the jobs started
    /// since counted on top (a job that ends meanwhile is seen at the next
    /// look: the count errs towards holding back).
    fn load_now(&mut self) -> usize {
        let now = Instant::now();
        match self.load_seen {
            Some(seen) if now < seen.at + RECHECK => seen.active + seen.started_since,
            _ => {
                let active = crate::limit::active_processes().saturating_sub(1);
                self.load_seen = Some(LoadSeen {
                    at: now,
                    active,
                    started_since: 0,
                });
                active
            }
        }
    }

    /// --limit, asked as a job is about to start on `place` (`host` is its
    /// SSHLOGIN, `:` for this machine): whether it may. Unlike the other
    /// limits it holds back the only job too: the command is the user's
    /// own condition (GNU parallel waits the same way, host by host).
    pub fn limit_allows(&mut self, place: PlaceId, host: &str) -> bool {
        let Some(limit) = self.limit.as_mut() else {
            return true;
        };
        match limit.ask(host) {
            Verdict::Below => {
                // A refusal of another place in this pass stays due.
                if self.recheck_at.is_some_and(|at| at <= Instant::now()) {
                    self.recheck_at = None;
                }
                true
            }
            verdict => {
                if verdict == Verdict::WayOver && !self.kill_youngest.contains(&place) {
                    self.kill_youngest.push(place);
                }
                self.recheck_at = Some(Instant::now() + RECHECK);
                false
            }
        }
    }

    /// --limit and --memsuspend about the `running` jobs, every RECHECK
    /// while any run: what is to happen to them. --limit is asked for each
    /// of `hosts` (the places jobs run on, with their SSHLOGIN).
    pub fn watch(&mut self, running: usize, hosts: &[(PlaceId, String)]) -> Watch {
        let mut watch = Watch {
            kill_youngest: std::mem::take(&mut self.kill_youngest),
            memory: None,
        };
        if running == 0 || (self.limit.is_none() && self.memsuspend.is_none()) {
            self.watch_at = None;
            return watch;
        }
        let now = Instant::now();
        if self.watch_at.is_some_and(|at| at > now) {
            return watch;
        }
        self.watch_at = Some(now + RECHECK);
        if let Some(limit) = self.limit.as_mut() {
            for (place, host) in hosts {
                if limit.ask(host) == Verdict::WayOver && !watch.kill_youngest.contains(place) {
                    watch.kill_youngest.push(*place);
                }
            }
        }
        if let (Some(size), Some(machine)) = (self.memsuspend, self.machine.as_mut()) {
            machine.refresh_memory();
            watch.memory = Some(Memory::of(machine.available_memory(), size, running));
        }
        watch
    }

    /// Whether one more job fits `ulimit -n`.
    fn files_allow(&mut self, running: usize, held_files: usize) -> bool {
        let need = self.files_base + held_files + running * FILES_PER_JOB + FILES_TO_START;
        let fits = need <= self.file_limit;
        if !fits {
            self.warn_once(Shortage::Files);
        }
        fits
    }

    /// A start failed for want of `shortage` with `running` jobs running:
    /// wait for one to end, then try again, and never run more at once.
    pub fn short_of(&mut self, shortage: Shortage, running: usize) {
        self.short = true;
        let cap = running.max(1);
        self.cap = Some(self.cap.map_or(cap, |old| old.min(cap)));
        self.warn_once(shortage);
    }

    /// A job ended: what it held is free again.
    pub fn job_ended(&mut self) {
        self.short = false;
    }

    fn warn_once(&mut self, shortage: Shortage) {
        if !self.warned {
            self.warned = true;
            let _ = writeln!(
                io::stderr(),
                "pool-run: warning: out of {}: running fewer jobs at once; every job still runs",
                shortage.describe()
            );
        }
    }

    /// A job started now.
    pub fn started(&mut self) {
        let now = Instant::now();
        self.last_start = Some(now);
        if let Some(seen) = self.load_seen.as_mut() {
            seen.started_since += 1;
        }
        // --memsuspend looks at the new job at once (--limit was just asked).
        if self.memsuspend.is_some() {
            self.watch_at = Some(now);
        } else if self.limit.is_some() && self.watch_at.is_none() {
            self.watch_at = Some(now + RECHECK);
        }
    }

    /// When a start held back now may go ahead without any event.
    pub fn next_due(&self, any_free: bool) -> Option<Instant> {
        let delay = self
            .last_start
            .filter(|_| !self.delay.is_zero() && any_free)
            .map(|at| at + self.delay);
        delay
            .into_iter()
            // Held-back starts need a free slot: a job's end wakes us anyway.
            .chain(self.recheck_at.filter(|_| any_free))
            .chain(self.watch_at)
            .min()
    }
}

/// What --limit and --memsuspend want done to the running jobs.
#[derive(Debug, PartialEq)]
pub struct Watch {
    /// --limit said "way over" for these places: kill the youngest job
    /// on each.
    pub kill_youngest: Vec<PlaceId>,
    pub memory: Option<Memory>,
}

/// --memsuspend's answer.
#[derive(Debug, PartialEq)]
pub enum Memory {
    /// Short: only the N oldest jobs run, the others are stopped.
    RunOldest(usize),
    /// Enough: one stopped job may go on.
    ResumeOne,
}

impl Memory {
    /// GNU parallel's rule: below twice SIZE free, the oldest jobs run,
    /// one at SIZE and more as memory nears twice SIZE (1/(2 - free/SIZE),
    /// plus one); at twice SIZE and above, a stopped job resumes per look.
    fn of(free: u64, size: u64, running: usize) -> Memory {
        let size = size.max(1);
        if free >= size.saturating_mul(2) {
            return Memory::ResumeOne;
        }
        let share = free as f64 / size as f64;
        let more = if share < 1.0 {
            0
        } else {
            (1.0 / (2.0 - share)) as usize
        };
        Memory::RunOldest((more + 1).min(running.max(1)))
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
    fn load_adds_the_jobs_started_since_the_last_look_until_a_new_one() {
        let mut gate = gate(0);
        let looked = Instant::now();
        gate.load_seen = Some(LoadSeen {
            at: looked,
            active: 1,
            started_since: 0,
        });
        assert_eq!(gate.load_now(), 1);
        gate.started();
        gate.started();
        assert_eq!(gate.load_now(), 3, "the two jobs started since count");
        gate.load_seen.as_mut().unwrap().at = looked - RECHECK;
        gate.load_now();
        let seen = gate.load_seen.unwrap();
        assert!(seen.at >= looked, "a look older than RECHECK is taken anew");
        assert_eq!(seen.started_since, 0);
    }

    #[test]
    fn memsuspend_runs_the_oldest_jobs_as_gnu_parallel_counts_them() {
        let gib = 1 << 30;
        assert_eq!(Memory::of(0, gib, 8), Memory::RunOldest(1));
        assert_eq!(Memory::of(gib / 2, gib, 8), Memory::RunOldest(1));
        assert_eq!(Memory::of(gib, gib, 8), Memory::RunOldest(2));
        assert_eq!(Memory::of(gib + gib / 2, gib, 8), Memory::RunOldest(3));
        assert_eq!(Memory::of(gib + gib * 3 / 4, gib, 8), Memory::RunOldest(5));
        assert_eq!(Memory::of(gib + gib * 3 / 4, gib, 2), Memory::RunOldest(2));
        assert_eq!(Memory::of(2 * gib, gib, 8), Memory::ResumeOne);
    }

    #[test]
    fn limit_way_over_at_a_start_kills_the_youngest_and_holds_the_start() {
        let mut gate = gate(0);
        gate.limit = Some(Limit::new(crate::limit::LimitSpec::Command(
            "exit 2".into(),
        )));
        assert!(
            !gate.limit_allows(0, ":"),
            "no start, not even the only job"
        );
        assert!(gate.next_due(true).is_some(), "asked again later");
        let hosts = [(0, ":".to_string())];
        let watch = gate.watch(3, &hosts);
        assert_eq!(watch.kill_youngest, [0]);
        assert!(
            gate.watch(3, &hosts).kill_youngest.is_empty(),
            "once per answer, then every look"
        );
        assert!(
            gate.next_due(false).is_some(),
            "running jobs are looked at again"
        );
        gate.limit = Some(Limit::new(crate::limit::LimitSpec::Command(
            "exit 0".into(),
        )));
        assert!(gate.limit_allows(0, ":"));
        assert_eq!(gate.watch(0, &[]).memory, None);
    }

    #[test]
    fn swapping_is_pages_both_in_and_out() {
        let text = "nr_free_pages 1\npswpin 10\npswpout 20\npgfault 5\n";
        assert_eq!(swap_counts(text), Some((10, 20)));
        assert_eq!(swap_counts("pswpin 1\n"), None);
        assert!(swapped((10, 20), (11, 21)));
        assert!(!swapped((10, 20), (11, 20)), "only in: not swapping");
        assert!(!swapped((10, 20), (10, 20)));
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
    fn a_shortage_waits_for_a_job_to_end_then_caps_the_jobs_at_once() {
        let mut gate = gate(0);
        gate.short_of(Shortage::Processes, 3);
        assert!(!gate.may_start(2, 0), "no start until a job ends");
        assert!(gate.may_start(0, 0), "nothing running: try anyway");
        gate.job_ended();
        assert!(gate.may_start(2, 0));
        assert!(!gate.may_start(3, 0), "never more than worked");
        gate.short_of(Shortage::Files, 2);
        gate.job_ended();
        assert!(!gate.may_start(2, 0), "the cap only goes down");
        assert!(gate.may_start(1, 0));
        assert!(gate.warned);
    }

    #[test]
    fn shortages_are_the_errors_of_exhausted_resources() {
        assert_eq!(Shortage::of(Some(libc::EMFILE)), Some(Shortage::Files));
        assert_eq!(Shortage::of(Some(libc::ENFILE)), Some(Shortage::Files));
        assert_eq!(Shortage::of(Some(libc::EAGAIN)), Some(Shortage::Processes));
        assert_eq!(Shortage::of(Some(libc::ENOMEM)), Some(Shortage::Processes));
        assert_eq!(Shortage::of(Some(libc::ENOENT)), None);
        assert_eq!(Shortage::of(None), None);
        assert!(Shortage::Files.describe().starts_with("file descriptors"));
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
