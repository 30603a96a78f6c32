//! The supervisor: one loop that starts jobs while slots are free, reads
//! every running job's stdout and stderr as data arrives (so no job ever
//! blocks on a full pipe), reaps jobs on SIGCHLD, enforces timeouts, and
//! writes each finished job's output whole. One poll(2) over the signal
//! pipe, the stdin feed and the jobs' pipes; no thread per job, no sleeping.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStderr, ChildStdout, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use common::cli::Failure;
use common::exit::ChildExit;
use common::proc::{self, spawn_in_new_group};
use common::signal::{Signal, SignalWatcher};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::capture::Capture;
use crate::cli::{Batch, Config, HaltCondition, Resume, Tag};
use crate::exit::Exit;
use crate::input::{self, Chunk, StdinFeed};
use crate::remote::{EXIT_255_MARKER, Hosts, JobFiles, START_MARKER};
use crate::template::{Fill, Invocation, Spread};
use crate::watchdog::Watchdog;

/// How long a job's pipes may stay open after its main process exited (a
/// background grandchild holding them) before the rest of its group is killed.
const LEFTOVER_GRACE: Duration = Duration::from_millis(200);
/// After SIGTERM to the jobs on Ctrl-C, how long before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// Input waiting for a slot: a new job, or a failed one to try again.
struct Pending {
    seq: Option<u64>,
    values: Vec<String>,
    attempt: u32,
    /// --pipe: the block this job reads on stdin.
    block: Option<Rc<Vec<u8>>>,
}

/// A job that has started.
struct Job {
    seq: u64,
    slot: usize,
    /// Index into the run's hosts (0 and `:` when there is no -S).
    host: usize,
    /// Runs on another machine: its stderr carries the wrapper's markers.
    remote: bool,
    /// --line-buffer: the markers already taken out of the stream.
    markers: Markers,
    pid: u32,
    values: Vec<String>,
    command: String,
    /// --tag / --tagstring: the prefix of its output lines.
    tag: Option<String>,
    attempt: u32,
    block: Option<Rc<Vec<u8>>>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    out: Capture,
    err: Capture,
    /// --line-buffer: the unfinished last line of each stream.
    partial_out: Vec<u8>,
    partial_err: Vec<u8>,
    exit: Option<ChildExit>,
    exited_at: Option<Instant>,
    started: Instant,
    started_wall: SystemTime,
    /// When the next --timeout signal is due.
    deadline: Option<Instant>,
    timed_out: bool,
    /// How far through --termseq the job is.
    term_step: usize,
}

/// How a job ended, for the joblog, --json and the counts.
struct Outcome {
    seq: u64,
    values: Vec<String>,
    command: String,
    tag: Option<String>,
    /// The joblog's Host column: `:` or the sshlogin.
    host: String,
    attempt: u32,
    block: Option<Rc<Vec<u8>>>,
    exit: ChildExit,
    started_wall: SystemTime,
    runtime: Duration,
    out: Capture,
    err: Capture,
    /// --timeout fired: a failure whatever the exit code.
    timed_out: bool,
}

/// A finished job's output, waiting for its turn under -k.
struct Done {
    out: Capture,
    err: Capture,
    /// --tag: the prefix of every line.
    tag: Option<String>,
}

struct Supervisor<'a> {
    cfg: &'a Config,
    /// Programs found on PATH, so each job's spawn execs the file directly
    /// instead of trying every PATH entry again.
    programs: HashMap<String, PathBuf>,
    /// /dev/null, every job's stdin unless --pipe gives it a block.
    null: File,
    running: Vec<Job>,
    free_slots: BTreeSet<usize>,
    /// Where jobs run, and which host each slot (1-based) belongs to.
    hosts: Hosts,
    slot_host: Vec<usize>,
    /// All slots of hosts not dropped.
    capacity: usize,
    /// The write end of every remote job's ssh stdin, never written: when
    /// pool-run ends, however it ends, the remote sides see end-of-file and
    /// kill their jobs. The read end is what each ssh gets.
    keepalive: Option<(File, File)>,
    next_seq: u64,
    done: u64,
    failed: u64,
    succeeded: u64,
    /// The exit code a --halt on failure ends with.
    halt_code: Option<u8>,
    halting: bool,
    retry: VecDeque<Pending>,
    /// -k: finished outputs by seq, and the next seq to print.
    waiting: BTreeMap<u64, Done>,
    next_to_print: u64,
    joblog: Option<File>,
    skip: HashSet<u64>,
    last_start: Option<Instant>,
    /// Told of every job's group, to kill them if pool-run is killed.
    watchdog: Option<Watchdog>,
    /// Groups of finished jobs that got SIGKILL for their leftovers; waited
    /// for (and their orphans reaped) before pool-run exits.
    killed_groups: Vec<u32>,
    /// --memfree / --load: the machine's figures, and when to look again
    /// after they held a start back.
    machine: Option<sysinfo::System>,
    recheck_at: Option<Instant>,
    /// --bar: jobs in all (when the input is known up front), when the run
    /// began, and when the bar was last drawn.
    total: Option<u64>,
    began: Instant,
    drawn_at: Option<Instant>,
}

fn io_failure(what: &str, err: &io::Error) -> Failure {
    Failure::io(Exit::Error, what, err)
}

/// The joblog's sequence numbers to skip under --resume / --resume-failed.
fn resume_set(path: &Path, resume: Resume) -> io::Result<HashSet<u64>> {
    if resume == Resume::No {
        return Ok(HashSet::new());
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(err) => return Err(err),
    };
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let seq = fields.first()?.trim().parse::<u64>().ok()?;
            let ok = fields.get(6).map(|f| f.trim()) == Some("0")
                && fields.get(7).map(|f| f.trim()) == Some("0");
            (resume == Resume::Finished || ok).then_some(seq)
        })
        .collect())
}

fn open_joblog(cfg: &Config) -> Result<(Option<File>, HashSet<u64>), Failure> {
    let Some((path, append)) = &cfg.joblog else {
        return Ok((None, HashSet::new()));
    };
    let what = format!("opening the joblog '{}'", path.display());
    let skip = resume_set(path, cfg.resume).map_err(|e| io_failure(&what, &e))?;
    let append = *append || cfg.resume != Resume::No;
    let exists = path.metadata().is_ok_and(|m| m.len() > 0);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| io_failure(&what, &e))?;
    if !(append && exists) {
        file.write_all(
            b"Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n",
        )
        .map_err(|e| io_failure(&what, &e))?;
    }
    Ok((Some(file), skip))
}

pub fn run(cfg: &Config) -> Result<u8, Failure> {
    let signals = SignalWatcher::new(&[Signal::INT, Signal::TERM, Signal::HUP, Signal::CHLD])
        .map_err(|e| io_failure("watching signals", &e))?;
    // Orphans of a job (its background grandchildren) become ours, so a
    // stopped run can reap them too.
    let _ = proc::become_subreaper();
    // Jobs get stdin, stdout and stderr, and nothing else we inherited.
    let _ = proc::close_inherited_fds_on_exec();
    let (joblog, skip) = open_joblog(cfg)?;
    // Forked now, while pool-run has one thread (the stdin reader comes next).
    let watchdog = if cfg.dry_run {
        None
    } else {
        Some(Watchdog::start().map_err(|e| io_failure("starting the watchdog", &e))?)
    };
    let (hosts, unreachable) = if cfg.hosts.is_empty() || cfg.dry_run {
        (Hosts::local(cfg.jobs), Vec::new())
    } else {
        Hosts::connect(
            cfg.hosts.clone(),
            &cfg.ssh,
            cfg.jobs_given.then_some(cfg.jobs),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            !cfg.ungroup,
        )
        .map_err(|e| io_failure("connecting to the hosts", &e))?
    };
    if hosts.all_dropped() {
        return Err(Failure::new(
            Exit::Error,
            format!(
                "every host is unreachable ({})",
                unreachable.join("; ").replace("pool-run: ", "")
            ),
        ));
    }
    for line in &unreachable {
        let _ = writeln!(io::stderr(), "{line}");
    }
    let mut slot_host = vec![0];
    for (h, &n) in hosts.slots.iter().enumerate() {
        slot_host.extend(std::iter::repeat_n(h, n));
    }
    let capacity = slot_host.len() - 1;
    let keepalive = if hosts
        .slots
        .iter()
        .enumerate()
        .any(|(h, n)| *n > 0 && hosts.is_remote(h))
    {
        let (reader, writer) = std::io::pipe().map_err(|e| io_failure("setting up ssh", &e))?;
        Some((
            File::from(std::os::fd::OwnedFd::from(reader)),
            File::from(std::os::fd::OwnedFd::from(writer)),
        ))
    } else {
        None
    };
    let mut pending: VecDeque<Vec<String>> = VecDeque::new();
    let mut blocks: VecDeque<Vec<u8>> = VecDeque::new();
    let mut feed: Option<StdinFeed> = None;
    if let Some((size, recend)) = &cfg.pipe {
        feed = Some(
            input::stream_blocks(*size, recend.clone())
                .map_err(|e| io_failure("reading stdin", &e))?,
        );
    } else if cfg.sources.is_empty() {
        feed =
            Some(input::stream_stdin(cfg.delimiter).map_err(|e| io_failure("reading stdin", &e))?);
    } else {
        pending = input::combine(&cfg.sources, cfg.delimiter)
            .map_err(|e| io_failure("reading the input", &e))?
            .into();
    }
    let mut sup = Supervisor {
        cfg,
        programs: HashMap::new(),
        null: File::open("/dev/null").map_err(|e| io_failure("opening /dev/null", &e))?,
        running: Vec::new(),
        free_slots: (1..=capacity).collect(),
        hosts,
        slot_host,
        capacity,
        keepalive,
        next_seq: 1,
        done: 0,
        failed: 0,
        succeeded: 0,
        halt_code: None,
        halting: false,
        retry: VecDeque::new(),
        waiting: BTreeMap::new(),
        next_to_print: 1,
        joblog,
        skip,
        last_start: None,
        killed_groups: Vec::new(),
        watchdog,
        machine: (cfg.memfree.is_some() || cfg.load.is_some())
            .then(|| sysinfo::System::new().ok())
            .flatten(),
        recheck_at: None,
        total: (feed.is_none() && cfg.batch == Batch::One).then_some(pending.len() as u64),
        began: Instant::now(),
        drawn_at: None,
    };
    // A killed pool-run takes its ssh masters down too.
    if let Some(watchdog) = sup.watchdog.as_mut() {
        for &pid in &sup.hosts.master_pids {
            watchdog.started(pid);
        }
        if let Some(dir) = sup.hosts.control_dir() {
            watchdog.directory(dir);
        }
    }
    loop {
        // Take what the stdin thread has read, while there is room.
        if let Some(f) = &feed {
            while pending.len() < sup.capacity.max(64) && blocks.len() < sup.capacity {
                match f.batches.try_recv() {
                    Ok(Ok(Chunk::Records(batch))) => {
                        pending.extend(batch.into_iter().map(|record| vec![record]))
                    }
                    Ok(Ok(Chunk::Block(block))) => blocks.push_back(block),
                    Ok(Err(err)) => return sup.abort(&signals, io_failure("reading stdin", &err)),
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        feed = None;
                        break;
                    }
                }
            }
        }
        while !sup.halting && !sup.free_slots.is_empty() && sup.may_start_now() {
            let next = match sup.retry.pop_front() {
                Some(retry) => retry,
                None => match blocks.pop_front() {
                    Some(block) => Pending {
                        seq: None,
                        values: Vec::new(),
                        attempt: 1,
                        block: Some(Rc::new(block)),
                    },
                    None => match take_job(cfg, &mut pending, feed.is_none()) {
                        Some(values) => Pending {
                            seq: None,
                            values,
                            attempt: 1,
                            block: None,
                        },
                        None => break,
                    },
                },
            };
            if let Err(failure) = sup.start(next) {
                return sup.abort(&signals, failure);
            }
        }
        let input_left =
            !sup.retry.is_empty() || !pending.is_empty() || !blocks.is_empty() || feed.is_some();
        if sup.running.is_empty() && (sup.halting || !input_left) {
            break;
        }
        if let Err(err) = sup.wait_for_events(
            &signals,
            feed.as_ref()
                .filter(|_| pending.len() < sup.capacity && blocks.len() < sup.capacity),
        ) {
            return sup.abort(&signals, io_failure("waiting for jobs", &err));
        }
        if let Some(f) = &feed {
            let mut drain = [0u8; 256];
            while matches!((&f.wake).read(&mut drain), Ok(n) if n > 0) {}
        }
        while let Some(received) = signals
            .try_next()
            .map_err(|e| io_failure("reading signals", &e))?
        {
            match received.signal {
                Signal::CHLD => {}
                // GNU parallel: on SIGHUP finish running jobs, start no new ones.
                Signal::HUP => sup.halting = true,
                signal => {
                    let stopped = sup.running.len();
                    sup.stop_all(&signals);
                    let summary = format!(
                        "pool-run: stopped by {signal}: {} jobs done ({} failed), {stopped} running jobs stopped\n",
                        sup.done, sup.failed
                    );
                    let _ = io::stderr().write_all(summary.as_bytes());
                    // Dying of the signal skips destructors: end the ssh
                    // masters (and their socket directory) first.
                    sup.hosts.disconnect();
                    drop(sup);
                    return Ok(common::signal::reraise(signal));
                }
            }
        }
        if let Err(err) = sup.reap() {
            return sup.abort(&signals, io_failure("capturing output", &err));
        }
        sup.enforce_timeouts();
        if let Err(failure) = sup.finish_ready() {
            return sup.abort(&signals, failure);
        }
        if sup.halting && cfg.halt.is_some_and(|h| h.now) && !sup.running.is_empty() {
            sup.stop_all(&signals);
        }
    }
    sup.wait_for_killed_groups(&signals);
    sup.cancel_slurm_leftovers();
    if cfg.bar {
        sup.draw_bar(true);
    }
    Ok(match sup.halt_code {
        Some(code) => code,
        None => Exit::Failed(sup.failed).into(),
    })
}

impl Supervisor<'_> {
    /// --delay, --memfree and --load: whether a job may start now.
    fn may_start_now(&mut self) -> bool {
        if self
            .last_start
            .is_some_and(|at| at.elapsed() < self.cfg.delay)
        {
            return false;
        }
        let Some(machine) = self.machine.as_mut() else {
            return true;
        };
        // Never hold back the only job: with nothing running, start anyway.
        if self.running.is_empty() {
            return true;
        }
        machine.refresh_memory();
        let memory_ok = self
            .cfg
            .memfree
            .is_none_or(|need| machine.available_memory() >= need);
        let load_ok = self
            .cfg
            .load
            .is_none_or(|max| sysinfo::System::load_average().is_ok_and(|l| l.one < max));
        if memory_ok && load_ok {
            self.recheck_at = None;
            true
        } else {
            self.recheck_at = Some(Instant::now() + Duration::from_millis(250));
            false
        }
    }

    /// --bar: done/total, running, failed and an ETA, on stderr, at most ten
    /// times a second (and once more at the end).
    fn draw_bar(&mut self, last: bool) {
        if !last
            && self
                .drawn_at
                .is_some_and(|at| at.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.drawn_at = Some(Instant::now());
        let elapsed = self.began.elapsed().as_secs_f64();
        let line = match self.total.filter(|t| *t > 0) {
            Some(total) => {
                let pct = self.done as f64 * 100.0 / total as f64;
                let eta = if self.done > 0 {
                    elapsed / self.done as f64 * total.saturating_sub(self.done) as f64
                } else {
                    0.0
                };
                format!(
                    "\r{pct:3.0}% {}/{total} done, {} running, {} failed, ETA {eta:.0}s\x1b[K",
                    self.done,
                    self.running.len(),
                    self.failed
                )
            }
            None => format!(
                "\r{} done, {} running, {} failed, {elapsed:.0}s\x1b[K",
                self.done,
                self.running.len(),
                self.failed
            ),
        };
        let mut stderr = io::stderr().lock();
        let _ = stderr.write_all(line.as_bytes());
        if last {
            let _ = stderr.write_all(b"\n");
        }
    }

    fn start(&mut self, pending: Pending) -> Result<(), Failure> {
        let seq = match pending.seq {
            Some(seq) => seq,
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                seq
            }
        };
        if self.skip.contains(&seq) {
            // --resume: done in an earlier run; keep -k's order moving.
            return self.emit(
                seq,
                Done {
                    out: Capture::new(),
                    err: Capture::new(),
                    tag: None,
                },
            );
        }
        self.last_start = Some(Instant::now());
        let slot = self.take_slot();
        let host = self.slot_host.get(slot).copied().unwrap_or(0);
        let host_name = self.hosts.name(host);
        let values = pending.values;
        let tag = match &self.cfg.tag {
            None => None,
            Some(Tag::Values) => Some(values.join(" ")),
            Some(Tag::Text(text)) => Some(text.fill_text(Fill {
                values: &values,
                seq,
                slot,
                host: &host_name,
                spread: Spread::Joined,
            })),
        };
        let invocation = match &self.cfg.template {
            Some(template) => template.fill(Fill {
                values: &values,
                seq,
                slot,
                host: &host_name,
                spread: match self.cfg.batch {
                    Batch::One => Spread::Joined,
                    Batch::Max(_) | Batch::Fit { context: false } => Spread::Words,
                    Batch::Fit { context: true } => Spread::Context,
                },
            }),
            None => Invocation::Shell(values.join(" ")),
        };
        let command_line = invocation.display();
        if self.cfg.dry_run {
            self.free_slots.insert(slot);
            let out = Capture::from_bytes(format!("{command_line}\n").into_bytes());
            return self.emit(
                seq,
                Done {
                    out,
                    err: Capture::new(),
                    tag: None,
                },
            );
        }
        let files = if self.hosts.is_remote(host) {
            let fill = |t: &crate::template::Template| {
                t.fill_text(Fill {
                    values: &values,
                    seq,
                    slot,
                    host: &host_name,
                    spread: Spread::Joined,
                })
            };
            let block = match (&pending.block, self.hosts.control_dir()) {
                (Some(block), Some(dir)) => {
                    let local = dir.join(format!("block-{seq}"));
                    std::fs::write(&local, block.as_slice())
                        .map_err(|e| io_failure("storing a --pipe block", &e))?;
                    let remote = format!(".pool-run-block.{}.{seq}", std::process::id());
                    Some((local, remote))
                }
                _ => None,
            };
            JobFiles {
                transfer: self.cfg.transfer.iter().map(fill).collect(),
                fetch: self.cfg.fetch.iter().map(fill).collect(),
                cleanup: self.cfg.cleanup,
                block,
            }
        } else {
            JobFiles::default()
        };
        let remote = self
            .hosts
            .job_command(host, &invocation, &files)
            .filter(|_| self.hosts.is_remote(host));
        let is_remote = remote.is_some();
        let slurm = match &self.cfg.slurm {
            Some(slurm) => {
                let srun = self.program("srun");
                Some(crate::slurm::job_command(&srun, slurm, &invocation))
            }
            None => None,
        };
        let mut command = match (slurm.or(remote), &invocation) {
            (Some(command), _) => command,
            (None, Invocation::Direct(argv)) => {
                let mut command = Command::new(self.program(&argv[0]));
                command.arg0(&argv[0]).args(&argv[1..]);
                command
            }
            (None, Invocation::Shell(line)) => {
                let mut command = Command::new(self.program("sh"));
                command.arg0("sh").arg("-c").arg(line);
                command
            }
        };
        match &pending.block {
            Some(block) if !is_remote => {
                // The block goes through an anonymous file: the job reads it at
                // its own pace, and the loop never waits on a job's stdin.
                let file =
                    block_file(block).map_err(|e| io_failure("storing a --pipe block", &e))?;
                command.stdin(Stdio::from(file));
            }
            _ => {
                // A copy of one /dev/null opened at start (a dup is cheaper
                // than opening the device again for every job), or for ssh
                // the pipe whose end-of-file stops the remote job (a --pipe
                // block goes to the host as a file first).
                let source = match (&self.keepalive, is_remote) {
                    (Some((reader, _)), true) => reader,
                    _ => &self.null,
                };
                let stdin = source
                    .try_clone()
                    .map_err(|e| io_failure("setting up a job", &e))?;
                command.stdin(Stdio::from(stdin));
            }
        }
        if !self.cfg.ungroup {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let started = Instant::now();
        let started_wall = SystemTime::now();
        match spawn_in_new_group(&mut command) {
            Ok(mut child) => {
                let stdout = child.stdout.take();
                let stderr = child.stderr.take();
                for fd in [
                    stdout.as_ref().map(AsFd::as_fd),
                    stderr.as_ref().map(AsFd::as_fd),
                ]
                .into_iter()
                .flatten()
                {
                    set_nonblocking(fd).map_err(|e| io_failure("setting up a job", &e))?;
                }
                if let Some(watchdog) = self.watchdog.as_mut() {
                    watchdog.started(child.id());
                }
                self.running.push(Job {
                    seq,
                    slot,
                    host,
                    remote: is_remote,
                    markers: Markers::default(),
                    pid: child.id(),
                    values,
                    command: command_line,
                    tag,
                    attempt: pending.attempt,
                    block: pending.block.clone(),
                    stdout,
                    stderr,
                    out: Capture::new(),
                    err: Capture::new(),
                    partial_out: Vec::new(),
                    partial_err: Vec::new(),
                    exit: None,
                    exited_at: None,
                    started,
                    started_wall,
                    deadline: self.cfg.timeout.map(|limit| started + limit),
                    timed_out: false,
                    term_step: 0,
                });
                // The handle is not needed: the job is reaped by pid.
                drop(child);
                Ok(())
            }
            Err(err) => {
                // The job could not start: a failed job with the shell's
                // code, and a line in its place in the output.
                self.free_slots.insert(slot);
                let program = match &invocation {
                    Invocation::Direct(argv) => argv[0].clone(),
                    Invocation::Shell(_) => "sh".to_string(),
                };
                let why = if err.kind() == ErrorKind::NotFound {
                    "command not found".to_string()
                } else {
                    err.to_string()
                };
                let code = if err.kind() == ErrorKind::NotFound {
                    127
                } else {
                    126
                };
                let line = format!("pool-run: job {seq}: cannot run '{program}': {why}\n");
                self.record(Outcome {
                    seq,
                    values,
                    command: command_line,
                    tag,
                    host: host_name,
                    attempt: pending.attempt,
                    block: pending.block.clone(),
                    exit: ChildExit::Exited(code),
                    started_wall,
                    runtime: started.elapsed(),
                    out: Capture::new(),
                    err: Capture::from_bytes(line.into_bytes()),
                    timed_out: false,
                })
            }
        }
    }

    /// A free slot, on the host with the fewest running jobs (so jobs spread
    /// over every host, not the first one's slots first).
    fn take_slot(&mut self) -> usize {
        let mut busy = vec![0usize; self.hosts.slots.len()];
        for job in &self.running {
            busy[job.host] += 1;
        }
        let slot_host = &self.slot_host;
        let best = self
            .free_slots
            .iter()
            .copied()
            .min_by_key(|&slot| (busy[slot_host[slot]], slot));
        match best {
            Some(slot) => {
                self.free_slots.remove(&slot);
                slot
            }
            None => self.running.len() + 1,
        }
    }

    /// The file `name` runs: looked up on PATH once, then remembered. A name
    /// with a slash, or one not found, is left to exec as is (a missing
    /// command then fails its job with "command not found").
    fn program(&mut self, name: &str) -> PathBuf {
        if name.contains('/') {
            return PathBuf::from(name);
        }
        if let Some(path) = self.programs.get(name) {
            return path.clone();
        }
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| is_executable(candidate))
        });
        let path = found.unwrap_or_else(|| PathBuf::from(name));
        self.programs.insert(name.to_string(), path.clone());
        path
    }

    /// The next moment something is due without any event: a leftover
    /// grace ending, a timeout, or the --delay before the next start.
    fn next_deadline(&self) -> Option<Instant> {
        let leftovers = self
            .running
            .iter()
            .filter_map(|j| j.exited_at.map(|at| at + LEFTOVER_GRACE))
            .chain(self.recheck_at);
        let timeouts = self
            .running
            .iter()
            .filter(|j| j.exit.is_none())
            .filter_map(|j| j.deadline);
        let delay = self
            .last_start
            .filter(|_| !self.cfg.delay.is_zero() && !self.free_slots.is_empty())
            .map(|at| at + self.cfg.delay);
        leftovers.chain(timeouts).chain(delay).min()
    }

    /// Sleeps in poll until a job's pipe has data, a signal came, the stdin
    /// feed has input, or something falls due.
    fn wait_for_events(
        &mut self,
        signals: &SignalWatcher,
        feed: Option<&StdinFeed>,
    ) -> io::Result<()> {
        if let Some(watchdog) = self.watchdog.as_mut() {
            watchdog.send();
        }
        let timeout = match self.next_deadline() {
            Some(at) => {
                let millis = at
                    .saturating_duration_since(Instant::now())
                    .as_millis()
                    .saturating_add(1);
                PollTimeout::try_from(i32::try_from(millis).unwrap_or(i32::MAX))
                    .unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let mut fds: Vec<BorrowedFd<'_>> = vec![signals.as_fd()];
        if let Some(feed) = feed {
            fds.push(feed.wake.as_fd());
        }
        let mut owners: Vec<(usize, bool)> = Vec::new();
        for (i, job) in self.running.iter().enumerate() {
            if let Some(out) = &job.stdout {
                fds.push(out.as_fd());
                owners.push((i, true));
            }
            if let Some(err) = &job.stderr {
                fds.push(err.as_fd());
                owners.push((i, false));
            }
        }
        let mut poll_fds: Vec<PollFd<'_>> = fds
            .iter()
            .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        match poll(&mut poll_fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(err) => return Err(err.into()),
        }
        let base = fds.len() - owners.len();
        // (job, is stdout, hung up with nothing left to read)
        let ready: Vec<(usize, bool, bool)> = owners
            .iter()
            .enumerate()
            .filter_map(|(k, &(i, is_stdout))| {
                // Bits nix does not know: read, and let the read tell.
                let Some(events) = poll_fds[base + k].revents() else {
                    return Some((i, is_stdout, false));
                };
                let closed =
                    events.contains(PollFlags::POLLHUP) && !events.contains(PollFlags::POLLIN);
                (!events.is_empty()).then_some((i, is_stdout, closed))
            })
            .collect();
        drop(poll_fds);
        drop(fds);
        for (i, is_stdout, closed) in ready {
            let live = prints_live(self.cfg, self.next_to_print, self.running[i].seq);
            let job = &mut self.running[i];
            match (closed, is_stdout) {
                // EOF is certain: close without a read that would return 0.
                (true, true) => job.stdout = None,
                (true, false) => job.stderr = None,
                (false, _) => job.pump(is_stdout, live)?,
            }
        }
        Ok(())
    }

    /// Reaps whatever child has ended: a job (its status collected), or an
    /// orphan adopted as subreaper, reaped at once so no zombie piles up on
    /// a long run.
    fn reap(&mut self) -> io::Result<()> {
        let (cfg, next) = (self.cfg, self.next_to_print);
        while let Some((pid, exit)) = proc::reap_any_exited()? {
            let Some(job) = self.running.iter_mut().find(|j| j.pid == pid) else {
                continue;
            };
            job.exit = Some(exit);
            job.exited_at = Some(Instant::now());
            // Whatever is already in the pipes belongs to the job.
            let live = prints_live(cfg, next, job.seq);
            job.pump(true, live)?;
            job.pump(false, live)?;
        }
        Ok(())
    }

    /// --timeout: at the deadline the job's whole group gets the first
    /// signal of --termseq, then each next one after its wait.
    fn enforce_timeouts(&mut self) {
        let now = Instant::now();
        let steps = &self.cfg.termseq.0;
        for job in self.running.iter_mut().filter(|j| j.exit.is_none()) {
            if job.deadline.is_none_or(|d| d > now) {
                continue;
            }
            job.timed_out = true;
            match steps.get(job.term_step) {
                Some(&(signal, wait)) => {
                    let _ = proc::signal_group(job.pid, signal);
                    let _ = proc::signal_group(job.pid, Signal::CONT);
                    job.term_step += 1;
                    job.deadline = Some(now + wait);
                }
                None => {
                    // The sequence is spent and the job still runs: KILL.
                    let _ = proc::signal_group(job.pid, Signal::KILL);
                    job.deadline = None;
                }
            }
        }
    }

    /// Records every job that is complete: exited, and its pipes closed
    /// (or its leftovers killed after the grace).
    fn finish_ready(&mut self) -> Result<(), Failure> {
        let now = Instant::now();
        let mut i = 0;
        while i < self.running.len() {
            let job = &mut self.running[i];
            let Some(exit) = job.exit else {
                i += 1;
                continue;
            };
            if job.stdout.is_some() || job.stderr.is_some() {
                if job.exited_at.is_some_and(|at| now < at + LEFTOVER_GRACE) {
                    i += 1;
                    continue;
                }
                // A background grandchild still holds the output: the job is
                // over, what is left of its group goes.
                if let Ok(true) = proc::signal_group(job.pid, Signal::KILL) {
                    self.killed_groups.push(job.pid);
                }
                let live = prints_live(self.cfg, self.next_to_print, self.running[i].seq);
                let job = &mut self.running[i];
                job.pump(true, live)
                    .map_err(|e| io_failure("capturing output", &e))?;
                job.pump(false, live)
                    .map_err(|e| io_failure("capturing output", &e))?;
                job.stdout = None;
                job.stderr = None;
            }
            let job = self.running.swap_remove(i);
            if let Some(watchdog) = self.watchdog.as_mut() {
                watchdog.ended(job.pid);
            }
            // A timed-out job's group goes entirely, whatever outlived it.
            if job.timed_out && matches!(proc::signal_group(job.pid, Signal::KILL), Ok(true)) {
                self.killed_groups.push(job.pid);
            }
            let mut err = with_partial(job.err, &job.partial_err)
                .map_err(|e| io_failure("capturing output", &e))?;
            // A --pipe block sent to a host is no longer needed here.
            if job.remote
                && job.block.is_some()
                && let Some(dir) = self.hosts.control_dir()
            {
                let _ = std::fs::remove_file(dir.join(format!("block-{}", job.seq)));
            }
            // Under -u there are no markers: every exit is the job's.
            if self.hosts.is_remote(job.host) && !self.cfg.ungroup {
                let started = job.markers.start
                    || err
                        .strip_prefix(START_MARKER)
                        .map_err(|e| io_failure("capturing output", &e))?;
                let exited_255 = exit == ChildExit::Exited(255);
                let own_255 = exited_255
                    && started
                    && (job.markers.exit_255
                        || remove_last(&mut err, EXIT_255_MARKER)
                            .map_err(|e| io_failure("capturing output", &e))?);
                if exited_255 && !own_255 && !job.timed_out {
                    // ssh could not reach the host, or lost it: not the
                    // job's failure. It goes back to the queue, for any host.
                    self.retry.push_front(Pending {
                        seq: Some(job.seq),
                        values: job.values,
                        attempt: job.attempt,
                        block: job.block,
                    });
                    self.connection_failed(job.host, job.slot, &mut err)?;
                    continue;
                }
                self.hosts.connected(job.host);
            }
            let host = match &self.cfg.slurm {
                Some(_) => crate::slurm::take_node(&mut err)
                    .map_err(|e| io_failure("capturing output", &e))?
                    .unwrap_or_else(|| ":".to_string()),
                None => self.hosts.name(job.host),
            };
            if !self.hosts.dropped[job.host] {
                self.free_slots.insert(job.slot);
            }
            self.record(Outcome {
                seq: job.seq,
                values: job.values,
                command: job.command,
                tag: job.tag,
                host,
                attempt: job.attempt,
                block: job.block,
                exit,
                started_wall: job.started_wall,
                runtime: job.started.elapsed(),
                // --line-buffer printed the whole lines already; what is left
                // is an unfinished last line, or all of it for a job that
                // -k held back.
                out: with_partial(job.out, &job.partial_out)
                    .map_err(|e| io_failure("capturing output", &e))?,
                err,
                timed_out: job.timed_out,
            })?;
        }
        Ok(())
    }

    /// A job's ssh could not reach its host. After `MAX_FAILURES` in a row
    /// the host is dropped (one line); when no host is left, the run ends.
    fn connection_failed(
        &mut self,
        host: usize,
        slot: usize,
        err: &mut Capture,
    ) -> Result<(), Failure> {
        if !self.hosts.connection_failed(host) {
            if !self.hosts.dropped[host] {
                self.free_slots.insert(slot);
            }
            return Ok(());
        }
        let gone: Vec<usize> = (1..self.slot_host.len())
            .filter(|&s| self.slot_host[s] == host)
            .collect();
        for s in &gone {
            self.free_slots.remove(s);
        }
        self.capacity = self.capacity.saturating_sub(gone.len());
        let why = ssh_error(err);
        let name = self.hosts.name(host);
        if self.hosts.all_dropped() {
            return Err(Failure::new(
                Exit::Error,
                format!(
                    "every host is gone ({name}: {} failed connections in a row: {why}); {} jobs done",
                    crate::remote::MAX_FAILURES,
                    self.done
                ),
            ));
        }
        let _ = writeln!(
            io::stderr(),
            "pool-run: dropping {name} after {} failed connections in a row: {why}",
            crate::remote::MAX_FAILURES
        );
        Ok(())
    }

    /// A job ended: retry it, or count it, log it, print it, and check --halt.
    fn record(&mut self, outcome: Outcome) -> Result<(), Failure> {
        let success = outcome.exit.success() && !outcome.timed_out;
        if !success && outcome.attempt <= self.cfg.retries && !self.halting {
            self.retry.push_back(Pending {
                seq: Some(outcome.seq),
                values: outcome.values,
                attempt: outcome.attempt + 1,
                block: outcome.block,
            });
            return Ok(());
        }
        self.done += 1;
        if success {
            self.succeeded += 1;
        } else {
            self.failed += 1;
        }
        let mut outcome = outcome;
        self.log(&outcome)?;
        if let Some(dir) = &self.cfg.results {
            save_results(dir, &mut outcome).map_err(|e| io_failure("writing --results", &e))?;
        }
        let seq = outcome.seq;
        let (exit, done) = if self.cfg.json {
            let line =
                json_line(&mut outcome).map_err(|e| io_failure("reading captured output", &e))?;
            (
                outcome.exit,
                Done {
                    out: Capture::from_bytes(line.into_bytes()),
                    err: Capture::new(),
                    tag: None,
                },
            )
        } else {
            let tag = outcome.tag.take();
            (
                outcome.exit,
                Done {
                    out: outcome.out,
                    err: outcome.err,
                    tag,
                },
            )
        };
        self.emit(seq, done)?;
        self.check_halt(success, exit);
        if self.cfg.bar {
            self.draw_bar(false);
        }
        Ok(())
    }

    fn check_halt(&mut self, success: bool, exit: ChildExit) {
        let Some(halt) = self.cfg.halt else { return };
        if self.halting {
            return;
        }
        let hit = match halt.condition {
            HaltCondition::Failed(n) => self.failed >= n,
            HaltCondition::FailedPercent(pct) => {
                // GNU parallel waits for a few jobs before judging a rate.
                self.done >= 3 && (self.failed as f64) * 100.0 >= pct * self.done as f64
            }
            HaltCondition::Succeeded(n) => self.succeeded >= n,
            HaltCondition::Done(n) => self.done >= n,
        };
        if hit {
            self.halting = true;
            // GNU parallel: halting on the first failure ends with that job's status.
            if !success && halt.condition == HaltCondition::Failed(1) {
                self.halt_code = Some(exit.code());
            }
        }
    }

    /// One joblog line, in GNU parallel's columns.
    fn log(&mut self, outcome: &Outcome) -> Result<(), Failure> {
        let Some(file) = self.joblog.as_mut() else {
            return Ok(());
        };
        let start = outcome
            .started_wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        // GNU parallel logs a timed-out job with Exitval -1.
        let (exitval, signal) = match outcome.exit {
            _ if outcome.timed_out => (-1, outcome.exit.signal().unwrap_or(0)),
            ChildExit::Exited(code) => (i32::from(code), 0),
            ChildExit::Signaled { signal, .. } => (0, signal),
        };
        let line = format!(
            "{}\t{}\t{start:.3}\t{:>10.3}\t0\t{}\t{exitval}\t{signal}\t{}\n",
            outcome.seq,
            outcome.host,
            outcome.runtime.as_secs_f64(),
            outcome.out.len() + outcome.err.len(),
            outcome.command
        );
        file.write_all(line.as_bytes())
            .map_err(|e| io_failure("writing the joblog", &e))
    }

    /// Writes a job's output now, or (with -k) when its turn comes.
    fn emit(&mut self, seq: u64, done: Done) -> Result<(), Failure> {
        if !self.cfg.keep_order {
            return write_whole(done);
        }
        self.waiting.insert(seq, done);
        let before = self.next_to_print;
        while let Some(done) = self.waiting.remove(&self.next_to_print) {
            self.next_to_print += 1;
            write_whole(done)?;
        }
        if self.cfg.line_buffer && self.next_to_print != before {
            self.promote_next()?;
        }
        Ok(())
    }

    /// --line-buffer -k: the job whose turn it is now prints what it has
    /// held back, whole lines only, and from now on prints lines as they come.
    fn promote_next(&mut self) -> Result<(), Failure> {
        let next = self.next_to_print;
        let Some(job) = self.running.iter_mut().find(|j| j.seq == next) else {
            return Ok(());
        };
        let held_out = std::mem::replace(&mut job.out, Capture::new());
        let held_err = std::mem::replace(&mut job.err, Capture::new());
        let tag = job.tag.as_deref();
        let flush = |mut held: Capture,
                     partial: &mut Vec<u8>,
                     out: &mut dyn Write,
                     markers: Option<&mut Markers>| {
            let mut bytes = held.read_all()?;
            bytes.append(partial);
            let cut = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            *partial = bytes.split_off(cut);
            if let Some(markers) = markers {
                markers.take_from(&mut bytes);
            }
            Capture::from_bytes(bytes).write_to(out, tag)?;
            out.flush()
        };
        flush(
            held_out,
            &mut job.partial_out,
            &mut io::stdout().lock(),
            None,
        )
        .map_err(|e| Failure::io(Exit::Error, "writing output", &e))?;
        flush(
            held_err,
            &mut job.partial_err,
            &mut io::stderr().lock(),
            job.remote.then_some(&mut job.markers),
        )
        .map_err(|e| Failure::io(Exit::Error, "writing output", &e))?;
        Ok(())
    }

    /// Ctrl-C, SIGTERM or `--halt now`: TERM to every job's group, KILL
    /// after the grace, until no process of any job is left.
    fn stop_all(&mut self, signals: &SignalWatcher) {
        for job in &self.running {
            let _ = proc::signal_group(job.pid, Signal::TERM);
            let _ = proc::signal_group(job.pid, Signal::CONT);
        }
        let kill_at = Instant::now() + STOP_GRACE;
        let give_up = kill_at + Duration::from_secs(5);
        let mut killed = false;
        loop {
            // Stopping: their output is not wanted any more.
            let _ = self.reap();
            self.running
                .retain(|job| job.exit.is_none() || proc::group_exists(job.pid));
            if self.running.iter().all(|job| job.exit.is_some()) {
                proc::reap_exited_children();
            }
            if self.running.is_empty() {
                break;
            }
            let now = Instant::now();
            if now >= give_up {
                break;
            }
            if !killed && now >= kill_at {
                for job in &self.running {
                    let _ = proc::signal_group(job.pid, Signal::KILL);
                }
                killed = true;
            }
            // A second Ctrl-C (or SIGTERM) while stopping: kill at once.
            let again = signals.wait(Some(Duration::from_millis(5)));
            if let Ok(Some(received)) = again
                && matches!(received.signal, Signal::INT | Signal::TERM)
                && !killed
            {
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
        self.running.clear();
        proc::reap_exited_children();
        self.cancel_slurm_leftovers();
    }

    /// --slurm outside an allocation: nothing of this run stays queued.
    fn cancel_slurm_leftovers(&mut self) {
        if self.cfg.slurm.as_ref().is_some_and(|s| !s.in_allocation) {
            let scancel = self.program("scancel");
            crate::slurm::cancel_leftovers(&scancel);
        }
    }

    /// Before exiting: the killed leftovers are gone and reaped (they are our
    /// children once their parents died: we are a subreaper).
    fn wait_for_killed_groups(&mut self, signals: &SignalWatcher) {
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

    /// An error ends the run: stop the jobs first, then report it.
    fn abort(&mut self, signals: &SignalWatcher, failure: Failure) -> Result<u8, Failure> {
        self.stop_all(signals);
        Err(failure)
    }
}

impl Job {
    /// Reads what one of the job's pipes has now: into its capture, or with
    /// --line-buffer straight out as whole lines.
    /// `live`: --line-buffer, and (under -k) this job's turn to print.
    fn pump(&mut self, stdout: bool, live: bool) -> io::Result<()> {
        match (stdout, live) {
            (true, false) => drain(&mut self.stdout, &mut self.out),
            (false, false) => drain(&mut self.stderr, &mut self.err),
            (true, true) => drain_lines(
                &mut self.stdout,
                &mut self.partial_out,
                &mut io::stdout().lock(),
                self.tag.as_deref(),
                None,
            ),
            (false, true) => drain_lines(
                &mut self.stderr,
                &mut self.partial_err,
                &mut io::stderr().lock(),
                self.tag.as_deref(),
                self.remote.then_some(&mut self.markers),
            ),
        }
    }
}

/// Removes the last `marker` in `capture` (the end marker of a remote job
/// that exited 255, which --return's messages may follow); true if found.
/// Only jobs that exited 255 get here, so reading it all is rare.
fn remove_last(capture: &mut Capture, marker: &[u8]) -> io::Result<bool> {
    if capture.strip_suffix(marker)? {
        return Ok(true);
    }
    let bytes = capture.read_all()?;
    let Some(at) = bytes.windows(marker.len()).rposition(|w| w == marker) else {
        return Ok(false);
    };
    let mut rebuilt = Capture::new();
    rebuilt.push(&bytes[..at])?;
    rebuilt.push(&bytes[at + marker.len()..])?;
    *capture = rebuilt;
    Ok(true)
}

/// ssh's own complaint: the last line of a failed job's stderr.
fn ssh_error(err: &mut Capture) -> String {
    let bytes = err.read_all().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("ssh failed")
        .to_string()
}

/// The remote wrapper's marker lines seen in a job's stderr while it was
/// streamed (--line-buffer), where they cannot be stripped at the end.
#[derive(Debug, Default, Clone, Copy)]
struct Markers {
    start: bool,
    exit_255: bool,
}

impl Markers {
    /// Removes marker lines from whole lines of stderr, noting them.
    fn take_from(&mut self, lines: &mut Vec<u8>) {
        if !lines.contains(&0x1f) {
            return;
        }
        let mut kept = Vec::with_capacity(lines.len());
        for line in lines.split_inclusive(|&b| b == b'\n') {
            if line == START_MARKER {
                self.start = true;
            } else if line == EXIT_255_MARKER {
                self.exit_255 = true;
            } else {
                kept.extend_from_slice(line);
            }
        }
        *lines = kept;
    }
}

/// Whether job `seq` prints its lines as they come: --line-buffer, and
/// under -k only the job whose turn it is.
fn prints_live(cfg: &Config, next_to_print: u64, seq: u64) -> bool {
    cfg.line_buffer && (!cfg.keep_order || seq == next_to_print)
}

/// A job's captured output followed by its unfinished last line.
fn with_partial(mut capture: Capture, partial: &[u8]) -> io::Result<Capture> {
    capture.push(partial)?;
    Ok(capture)
}

/// --line-buffer: reads what is available and writes every complete line
/// at once, keeping an unfinished last line for later.
fn drain_lines<R: Read>(
    pipe: &mut Option<R>,
    partial: &mut Vec<u8>,
    out: &mut impl Write,
    tag: Option<&str>,
    markers: Option<&mut Markers>,
) -> io::Result<()> {
    let mut capture = Capture::from_bytes(std::mem::take(partial));
    let result = drain(pipe, &mut capture);
    let mut bytes = capture.read_all()?;
    if let Some(last) = bytes.iter().rposition(|&b| b == b'\n') {
        let rest = bytes.split_off(last + 1);
        if let Some(markers) = markers {
            markers.take_from(&mut bytes);
        }
        Capture::from_bytes(bytes).write_to(out, tag)?;
        out.flush()?;
        *partial = rest;
    } else {
        *partial = bytes;
    }
    result
}

/// A --pipe block in an anonymous temporary file, rewound for reading.
fn block_file(block: &[u8]) -> io::Result<File> {
    use std::io::Seek;
    let mut file = tempfile::tempfile()?;
    file.write_all(block)?;
    file.rewind()?;
    Ok(file)
}

/// Bytes of arguments -X and -m put into one command: far below the
/// kernel's limit (ARG_MAX, 2 MiB here, shared with the environment).
const FIT_BUDGET: usize = 128 * 1024;

/// The values of the next job from the pending input records, or None to
/// wait for more input (a batch is not cut short while input may still come).
fn take_job(
    cfg: &Config,
    pending: &mut VecDeque<Vec<String>>,
    input_done: bool,
) -> Option<Vec<String>> {
    let split = |record: Vec<String>| -> Vec<String> {
        match &cfg.colsep {
            Some(colsep) => record
                .iter()
                .flat_map(|value| colsep.split(value).map(str::to_string).collect::<Vec<_>>())
                .collect(),
            None => record,
        }
    };
    match cfg.batch {
        Batch::One => pending.pop_front().map(split),
        Batch::Max(n) => {
            if pending.is_empty() || (pending.len() < n && !input_done) {
                return None;
            }
            let take = n.min(pending.len());
            Some(pending.drain(..take).flat_map(split).collect())
        }
        Batch::Fit { .. } => {
            let mut bytes = 0;
            let mut take = 0;
            for record in pending.iter() {
                let size: usize = record.iter().map(|v| v.len() + 1).sum();
                if take > 0 && bytes + size > FIT_BUDGET {
                    break;
                }
                bytes += size;
                take += 1;
            }
            let full = take < pending.len();
            if take == 0 || (!full && !input_done) {
                return None;
            }
            Some(pending.drain(..take).flat_map(split).collect())
        }
    }
}

/// --results: DIR/1/<value>/2/<value>/{stdout,stderr,seq}, as GNU parallel.
fn save_results(dir: &Path, outcome: &mut Outcome) -> io::Result<()> {
    let mut path = dir.to_path_buf();
    for (i, value) in outcome.values.iter().enumerate() {
        let name: String = value
            .chars()
            .map(|c| if c == '/' || c == '\0' { '_' } else { c })
            .collect();
        path.push((i + 1).to_string());
        path.push(if name.is_empty() || name == "." || name == ".." {
            format!("_{name}")
        } else {
            name
        });
    }
    std::fs::create_dir_all(&path)?;
    outcome
        .out
        .write_to(&mut File::create(path.join("stdout"))?, None)?;
    outcome
        .err
        .write_to(&mut File::create(path.join("stderr"))?, None)?;
    std::fs::write(path.join("seq"), format!("{}\n", outcome.seq))
}

fn json_line(outcome: &mut Outcome) -> io::Result<String> {
    let (exit, signal) = match outcome.exit {
        ChildExit::Exited(code) => (Some(code), None),
        ChildExit::Signaled { signal, .. } => (None, Signal::from_number(signal).map(Signal::name)),
    };
    let start = outcome
        .started_wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let value = serde_json::json!({
        "seq": outcome.seq,
        "args": outcome.values,
        "command": outcome.command,
        "exit": exit,
        "signal": signal,
        "start": start,
        "runtime": outcome.runtime.as_secs_f64(),
        "stdout": String::from_utf8_lossy(&outcome.out.read_all()?),
        "stderr": String::from_utf8_lossy(&outcome.err.read_all()?),
    });
    Ok(format!("{value}\n"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Makes our read end of a job's pipe non-blocking. One fcntl: a fresh pipe
/// end has no other status flags to keep.
fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Reads what is available now; closes the pipe at end of file. Fails
/// only if the capture cannot be stored (a full disk).
fn drain<R: Read>(pipe: &mut Option<R>, into: &mut Capture) -> io::Result<()> {
    thread_local! {
        // One read buffer, zeroed once: zeroing 64 KiB per call was 90% of
        // pool-run's own instructions per job (callgrind).
        static CHUNK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 64 * 1024]);
    }
    CHUNK.with(|chunk| drain_with(pipe, into, &mut chunk.borrow_mut()))
}

fn drain_with<R: Read>(
    pipe: &mut Option<R>,
    into: &mut Capture,
    chunk: &mut [u8],
) -> io::Result<()> {
    let Some(reader) = pipe.as_mut() else {
        return Ok(());
    };
    loop {
        match reader.read(chunk) {
            Ok(0) => {
                *pipe = None;
                return Ok(());
            }
            Ok(n) => into.push(&chunk[..n])?,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(_) => {
                *pipe = None;
                return Ok(());
            }
        }
    }
}

/// One job's stdout, then its stderr, each whole, holding the stream's lock
/// so no other output lands in between.
fn write_whole(mut done: Done) -> Result<(), Failure> {
    if !done.out.is_empty() {
        let mut stdout = io::stdout().lock();
        done.out
            .write_to(&mut stdout, done.tag.as_deref())
            .and_then(|()| stdout.flush())
            .map_err(|e| Failure::io(Exit::Error, "writing output", &e))?;
    }
    if !done.err.is_empty() {
        let mut stderr = io::stderr().lock();
        let _ = done.err.write_to(&mut stderr, done.tag.as_deref());
    }
    Ok(())
}
