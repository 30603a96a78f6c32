//! The running jobs: spawned each in a process group of its own, their
//! pipes read as data arrives (into the output sink, so no job ever blocks
//! on a full pipe), reaped with `waitpid(-1)` (jobs and the orphans they
//! leave, since pool-run is a subreaper), `--timeout`'s signal sequence, and
//! the stop of every job on Ctrl-C or `--halt now`. One poll(2) over the
//! signal pipe, the stdin feed and the jobs' pipes (see `watch`: straight
//! in the poll while few, through an epoll set when many): no thread per
//! job.

mod control;

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::process::{ChildStderr, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use bstr::BString;
use common::cli::Failure;
use common::exit::ChildExit;
use common::proc;
use common::signal::{Signal, SignalWatcher};
use nix::poll::{PollFd, PollFlags, poll};
use nix::sys::epoll::EpollFlags;

use crate::backend::PlaceId;

use crate::blocks::Block;
use crate::cli::{TermSeq, Timeout};
use crate::exit::Exit;
use crate::feed::{FIFO_RETRY, Fed, Feeding, PendingFifo};
use crate::job::{JobSpec, Record};
use crate::job_pipes::{Pipe, drain, set_nonblocking, token};
use crate::output::{Output, Stream};
use crate::timeouts::{Clock, Timeouts};
use crate::watch::Watcher;
use crate::watchdog::Watchdog;

/// How long a job's pipes may stay open after its main process exited (a
/// background grandchild holding them) before the rest of its group is killed.
const LEFTOVER_GRACE: Duration = Duration::from_millis(200);
/// After SIGTERM to the jobs on Ctrl-C, how long before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// A job that has started.
#[derive(Debug)]
struct Running {
    /// Its pipes' tokens in the epoll set (see `token`).
    key: u64,
    spec: JobSpec,
    slot: usize,
    place: PlaceId,
    pid: u32,
    command: BString,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    /// --pipe, --pipe-part: the block on its way into the job's stdin
    /// (or its --fifo).
    feeding: Option<Feeding>,
    /// --fifo: the named pipe the job has not opened yet.
    fifo: Option<PendingFifo>,
    exit: Option<ChildExit>,
    exited_at: Option<Instant>,
    started: Instant,
    started_wall: SystemTime,
    clock: Clock,
    /// --memsuspend stopped its group (SIGSTOP).
    suspended: bool,
}

/// A job whose command could not be spawned, handed back whole.
#[derive(Debug)]
pub struct NotStarted {
    pub spec: JobSpec,
    pub command_line: BString,
    pub err: io::Error,
}

/// A job whose process has ended and whose pipes are closed.
#[derive(Debug)]
pub struct Finished {
    pub slot: usize,
    pub place: PlaceId,
    pub record: Record,
}

#[derive(Debug)]
pub struct Jobs {
    /// --nice: the niceness of every job's group.
    nice: Option<i32>,
    running: Vec<Running>,
    timeouts: Timeouts,
    /// Jobs' stdout and stderr come through pipes (not under -u).
    capture: bool,
    /// Told of every job's group, to kill them if pool-run is killed.
    watchdog: Option<Watchdog>,
    /// Groups of finished jobs that got SIGKILL for their leftovers; waited
    /// for (and their orphans reaped) before pool-run exits.
    killed_groups: Vec<u32>,
    /// A job keeps its block until it ends (a retry reads it again);
    /// without retries it goes once the job has read it, freeing memory.
    keep_blocks: bool,
    /// Every open pipe of every running job, by token.
    watcher: Watcher,
    /// The key of the next job started.
    next_key: u64,
    /// Where each running job's key is in `running`.
    index_of: HashMap<u64, usize>,
    /// --round-robin: a job's stdin stays open for more blocks.
    round_robin: bool,
}

impl Jobs {
    pub fn new(
        timeout: Option<Timeout>,
        termseq: TermSeq,
        capture: bool,
        watchdog: Option<Watchdog>,
        nice: Option<i32>,
        keep_blocks: bool,
    ) -> Result<Jobs, Failure> {
        Ok(Jobs {
            watcher: Watcher::new(),
            next_key: 0,
            index_of: HashMap::new(),
            round_robin: false,
            keep_blocks,
            nice,
            running: Vec::new(),
            timeouts: Timeouts::new(timeout, termseq),
            capture,
            watchdog,
            killed_groups: Vec::new(),
        })
    }

    /// --round-robin: every job's stdin stays open for the blocks after
    /// its first.
    pub fn with_round_robin(mut self, round_robin: bool) -> Jobs {
        self.round_robin = round_robin;
        self
    }

    /// --round-robin: `block` goes to the running job with the fewest
    /// blocks waiting to be written, and among those to the one given the
    /// fewest so far: turn by turn while the jobs keep up, to the faster
    /// ones when some lag (GNU parallel gives it to whichever job's pipe
    /// takes it first). Handed back if no job takes blocks.
    pub fn give_block(&mut self, block: Block) -> Result<(), Block> {
        let Some(job) = self
            .running
            .iter_mut()
            .filter(|j| j.feeding.as_ref().is_some_and(Feeding::is_open))
            .min_by_key(|j| j.feeding.as_ref().map(|f| (f.waiting(), f.given)))
        else {
            return Err(block);
        };
        if let Some(feeding) = job.feeding.as_mut() {
            let was_idle = feeding.idle;
            feeding.give(block);
            if was_idle {
                job.watch_feed(EpollFlags::EPOLLOUT, &mut self.watcher);
            }
        }
        Ok(())
    }

    /// --round-robin: stdin has ended; each job's stdin closes once its
    /// blocks are written.
    pub fn end_of_blocks(&mut self) {
        for job in &mut self.running {
            if job
                .feeding
                .as_mut()
                .is_some_and(|f| f.is_open() && f.close_when_written())
            {
                job.close(Pipe::Feed, &mut self.watcher);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The pid (and process group) of the oldest job still running.
    pub fn oldest_running_pid(&self) -> Option<u32> {
        self.running
            .iter()
            .filter(|job| job.exit.is_none())
            .min_by_key(|job| job.spec.seq)
            .map(|job| job.pid)
    }

    /// Starts a job's command in a new process group; `feed`: its stdin
    /// is a pipe for its block.
    pub fn spawn(
        &mut self,
        mut spec: JobSpec,
        (slot, place): (usize, PlaceId),
        command_line: BString,
        mut command: Command,
        feed: bool,
    ) -> Result<(), Box<NotStarted>> {
        if self.capture {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let started = Instant::now();
        let mut child = match proc::spawn_in_new_group(&mut command) {
            Ok(child) => child,
            Err(err) => {
                return Err(Box::new(NotStarted {
                    spec,
                    command_line,
                    err,
                }));
            }
        };
        // The watchdog first: the job may already be running.
        if let Some(watchdog) = self.watchdog.as_mut() {
            watchdog.started(child.id());
        }
        if let Some(nice) = self.nice {
            // The job's whole group (it leads it), so what it starts later
            // inherits the niceness: no pre_exec hook, no extra exec.
            // SAFETY: setpriority on a process group we just created.
            unsafe {
                libc::setpriority(libc::PRIO_PGRP, child.id(), nice);
            }
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let stdin = child.stdin.take().filter(|_| feed);
        let block = if feed { spec.block.clone() } else { None };
        let (feeding, fifo) = match (stdin, block) {
            (Some(pipe), Some(block)) => {
                let feeding = Feeding::new(OwnedFd::from(pipe), block);
                let feeding = if self.round_robin {
                    feeding.keep_open()
                } else {
                    feeding
                };
                (Some(feeding), None)
            }
            (None, Some(block)) => (None, PendingFifo::of(spec.named.as_ref(), block)),
            _ => (None, None),
        };
        let key = self.next_key;
        self.next_key += 1;
        let pipes = [
            (
                stdout.as_ref().map(AsFd::as_fd),
                Pipe::Out,
                EpollFlags::EPOLLIN,
            ),
            (
                stderr.as_ref().map(AsFd::as_fd),
                Pipe::Err,
                EpollFlags::EPOLLIN,
            ),
            (
                feeding.as_ref().map(|f| f.pipe.as_fd()),
                Pipe::Feed,
                EpollFlags::EPOLLOUT,
            ),
        ];
        for (fd, pipe, events) in pipes {
            let Some(fd) = fd else { continue };
            let watched =
                set_nonblocking(fd).and_then(|()| self.watcher.add(fd, events, token(key, pipe)));
            if let Err(err) = watched {
                // Cannot fail on fresh pipe ends of ours short of ENOMEM;
                // a job whose pipes cannot be watched would block the loop,
                // so it goes, and comes back whole (its block included).
                let _ = proc::signal_group(child.id(), Signal::KILL);
                return Err(Box::new(NotStarted {
                    spec,
                    command_line,
                    err,
                }));
            }
        }
        if (feeding.is_some() || fifo.is_some()) && !self.keep_blocks {
            spec.block = None;
        }
        self.index_of.insert(key, self.running.len());
        self.running.push(Running {
            key,
            spec,
            slot,
            place,
            pid: child.id(),
            command: command_line,
            stdout,
            stderr,
            feeding,
            fifo,
            exit: None,
            exited_at: None,
            started,
            started_wall: SystemTime::now(),
            clock: self.timeouts.clock(started),
            suspended: false,
        });
        // The handle is not needed: the job is reaped by pid.
        drop(child);
        Ok(())
    }

    /// The next moment something is due without any event: a leftover
    /// grace ending, or a timeout.
    pub fn next_due(&self) -> Option<Instant> {
        let leftovers = self
            .running
            .iter()
            .filter_map(|j| j.exited_at.map(|at| at + LEFTOVER_GRACE));
        let timeouts = self
            .running
            .iter()
            .filter(|j| j.exit.is_none())
            .filter_map(|j| j.clock.deadline);
        let fifos = self
            .running
            .iter()
            .any(|j| j.fifo.is_some())
            .then(|| Instant::now() + FIFO_RETRY);
        leftovers.chain(timeouts).chain(fifos).min()
    }

    /// Sleeps in poll until a job's pipe has data (read into `out`), a
    /// signal came, the stdin feed has input, or `due` comes.
    pub fn wait(
        &mut self,
        signals: &SignalWatcher,
        wake: Option<BorrowedFd<'_>>,
        due: Option<Instant>,
        out: &mut Output,
    ) -> Result<(), Failure> {
        if let Some(watchdog) = self.watchdog.as_mut() {
            watchdog.send();
        }
        self.open_fifos();
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        fds.extend(self.watcher.poll_fds());
        let pipes_end = fds.len();
        fds.extend(wake.map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
        let polled = match poll(&mut fds, common::ipc::poll_timeout(due)) {
            Ok(_) => fds[1..pipes_end]
                .iter()
                .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
                .collect(),
            Err(nix::errno::Errno::EINTR) => Vec::new(),
            Err(err) => return Err(io_failure("waiting for jobs", &err.into())),
        };
        drop(fds);
        if polled.iter().any(|revents| !revents.is_empty()) {
            self.handle_ready_pipes(&polled, out)?;
        }
        Ok(())
    }

    /// --fifo: the named pipes whose job has opened them now become feeds.
    fn open_fifos(&mut self) {
        for job in self.running.iter_mut() {
            let Some(pending) = job.fifo.take() else {
                continue;
            };
            match pending.open() {
                Ok(feeding) => {
                    let watched = self.watcher.add(
                        feeding.pipe.as_fd(),
                        EpollFlags::EPOLLOUT,
                        token(job.key, Pipe::Feed),
                    );
                    if watched.is_ok() {
                        job.feeding = Some(feeding);
                    }
                }
                Err(again) => job.fifo = again,
            }
        }
    }

    /// Reads the job pipes that have data, closes those at their end, and
    /// feeds the job stdins that take more: what the poll found ready
    /// (`polled`: the revents of the watcher's descriptors).
    fn handle_ready_pipes(
        &mut self,
        polled: &[PollFlags],
        out: &mut Output,
    ) -> Result<(), Failure> {
        loop {
            let ready = self
                .watcher
                .ready(polled)
                .map_err(|e| io_failure("waiting for jobs", &e))?;
            for &(event, flags) in &ready.events {
                let (key, pipe) = Pipe::of_token(event);
                let (Some(&i), Some(pipe)) = (self.index_of.get(&key), pipe) else {
                    continue;
                };
                let job = &mut self.running[i];
                match pipe {
                    Pipe::Feed => match job.feeding.as_mut().map(Feeding::pump) {
                        // All written (or unwanted): the job sees the end
                        // of its input.
                        Some(Fed::Done) => job.close(Pipe::Feed, &mut self.watcher),
                        // --round-robin, nothing to write until the next
                        // block: stop asking if the pipe is writable.
                        Some(Fed::Idle) => job.watch_feed(EpollFlags::empty(), &mut self.watcher),
                        Some(Fed::Full) | None => {}
                    },
                    Pipe::Out | Pipe::Err => {
                        let hung_up = flags.contains(EpollFlags::EPOLLHUP)
                            && !flags.contains(EpollFlags::EPOLLIN);
                        if hung_up {
                            // EOF is certain: close without a read that
                            // would return 0.
                            job.close(pipe, &mut self.watcher);
                        } else {
                            job.pump(pipe, out, &mut self.watcher)?;
                        }
                    }
                }
            }
            if !ready.more {
                return Ok(());
            }
        }
    }

    /// Reaps whatever child has ended: a job (its status collected, what
    /// is in its pipes read), or an orphan adopted as subreaper, reaped at
    /// once so no zombie piles up on a long run.
    pub fn reap(&mut self, out: &mut Output) -> Result<(), Failure> {
        while let Some((pid, exit)) =
            proc::reap_any_exited().map_err(|e| io_failure("waiting for jobs", &e))?
        {
            let Some(job) = self.running.iter_mut().find(|j| j.pid == pid) else {
                continue;
            };
            job.exit = Some(exit);
            job.exited_at = Some(Instant::now());
            // What it did not read, nobody will.
            job.close(Pipe::Feed, &mut self.watcher);
            job.fifo = None;
            job.pump(Pipe::Out, out, &mut self.watcher)?;
            job.pump(Pipe::Err, out, &mut self.watcher)?;
        }
        Ok(())
    }

    /// A job finished after `runtime`: under --timeout N% the median moves,
    /// and so do the deadlines of the jobs not signalled yet.
    fn ran_for(&mut self, runtime: Duration) {
        if self.timeouts.ran_for(runtime) {
            let limit = self.timeouts.limit();
            for job in self.running.iter_mut().filter(|j| j.exit.is_none()) {
                job.clock.reset(job.started, limit);
            }
        }
    }

    /// --timeout: each job at its deadline gets its next signal.
    pub fn enforce_timeouts(&mut self) {
        let now = Instant::now();
        for job in self.running.iter_mut().filter(|j| j.exit.is_none()) {
            self.timeouts.enforce(job.pid, &mut job.clock, now);
        }
    }

    /// A job that is complete: exited, and its pipes closed (or its
    /// leftovers killed after the grace).
    pub fn next_finished(&mut self, out: &mut Output) -> Result<Option<Finished>, Failure> {
        let now = Instant::now();
        let Some(i) = self.running.iter().position(|j| {
            j.exit.is_some()
                && ((j.stdout.is_none() && j.stderr.is_none())
                    || j.exited_at.is_some_and(|at| now >= at + LEFTOVER_GRACE))
        }) else {
            return Ok(None);
        };
        let job = &mut self.running[i];
        if job.stdout.is_some() || job.stderr.is_some() {
            // A background grandchild still holds the output: the job is
            // over, what is left of its group goes.
            if let Ok(true) = proc::signal_group(job.pid, Signal::KILL) {
                self.killed_groups.push(job.pid);
            }
            job.pump(Pipe::Out, out, &mut self.watcher)?;
            job.pump(Pipe::Err, out, &mut self.watcher)?;
            job.close(Pipe::Out, &mut self.watcher);
            job.close(Pipe::Err, &mut self.watcher);
        }
        let job = self.remove(i);
        if let Some(watchdog) = self.watchdog.as_mut() {
            watchdog.ended(job.pid);
        }
        // A timed-out job's group goes entirely, whatever outlived it.
        if job.clock.timed_out && matches!(proc::signal_group(job.pid, Signal::KILL), Ok(true)) {
            self.killed_groups.push(job.pid);
        }
        let finished = job.finished();
        if !finished.record.timed_out {
            self.ran_for(finished.record.runtime);
        }
        Ok(Some(finished))
    }

    /// Takes job `i` out of the table (its pipes are closed by now, so
    /// they have left the epoll set).
    fn remove(&mut self, i: usize) -> Running {
        let job = self.running.swap_remove(i);
        self.index_of.remove(&job.key);
        if let Some(moved) = self.running.get(i) {
            self.index_of.insert(moved.key, i);
        }
        job
    }

    fn reindex(&mut self) {
        self.index_of = self
            .running
            .iter()
            .enumerate()
            .map(|(i, job)| (job.key, i))
            .collect();
    }
}

impl Running {
    /// Reads what one of the job's pipes has now into the sink; closes
    /// it at its end.
    fn pump(&mut self, pipe: Pipe, out: &mut Output, watcher: &mut Watcher) -> Result<(), Failure> {
        let slot = self.slot;
        let ended = match pipe {
            Pipe::Out => self
                .stdout
                .as_mut()
                .map(|reader| drain(reader, |bytes| out.data(slot, Stream::Out, bytes))),
            Pipe::Err => self
                .stderr
                .as_mut()
                .map(|reader| drain(reader, |bytes| out.data(slot, Stream::Err, bytes))),
            Pipe::Feed => None,
        };
        if ended.transpose()? == Some(true) {
            self.close(pipe, watcher);
        }
        Ok(())
    }

    /// What the poll loop watches the job's stdin feed for: writable, or
    /// (idle) nothing but errors.
    fn watch_feed(&mut self, events: EpollFlags, watcher: &mut Watcher) {
        if let Some(feeding) = self.feeding.as_ref() {
            watcher.modify(feeding.pipe.as_fd(), events, token(self.key, Pipe::Feed));
        }
    }

    /// Closes one of the job's pipes, out of the watcher first (a
    /// descriptor closed while a child being spawned still holds a copy
    /// would otherwise stay in an epoll set).
    fn close(&mut self, pipe: Pipe, watcher: &mut Watcher) {
        let fd: Option<OwnedFd> = match pipe {
            Pipe::Out => self.stdout.take().map(OwnedFd::from),
            Pipe::Err => self.stderr.take().map(OwnedFd::from),
            Pipe::Feed => self.feeding.take().map(|f| f.pipe),
        };
        if let Some(fd) = fd {
            watcher.delete(fd.as_fd());
        }
    }

    fn finished(self) -> Finished {
        Finished {
            slot: self.slot,
            place: self.place,
            record: Record {
                runtime: self.started.elapsed(),
                spec: self.spec,
                command: self.command,
                host: String::new(),
                exit: self.exit.unwrap_or(ChildExit::Exited(0)),
                timed_out: self.clock.timed_out,
                started_wall: self.started_wall,
            },
        }
    }
}

fn io_failure(what: &str, err: &io::Error) -> Failure {
    Failure::io(Exit::Error, what, err)
}
