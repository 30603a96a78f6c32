//! The running jobs: spawned each in a process group of its own, their
//! pipes read as data arrives (into the output sink, so no job ever blocks
//! on a full pipe), reaped with `waitpid(-1)` (jobs and the orphans they
//! leave, since pool-run is a subreaper), `--timeout`'s signal sequence, and
//! the stop of every job on Ctrl-C or `--halt now`. One poll(2) over the
//! signal pipe, the stdin feed and every job's pipes: no thread per job.

use std::io::{self, ErrorKind, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use bstr::{BString, ByteSlice};
use common::cli::Failure;
use common::exit::ChildExit;
use common::proc;
use common::signal::{Signal, SignalWatcher};
use nix::poll::{PollFd, PollFlags, poll};

use crate::backend::PlaceId;
use crate::blocks::Block;
use crate::cli::{TermSeq, Timeout};
use crate::exit::Exit;
use crate::job::{JobSpec, Record};
use crate::output::{Output, Stream};
use crate::watchdog::Watchdog;

/// How long a job's pipes may stay open after its main process exited (a
/// background grandchild holding them) before the rest of its group is killed.
const LEFTOVER_GRACE: Duration = Duration::from_millis(200);
/// The pipe size asked for a job's stdin when pool-run feeds it a block:
/// Linux's default limit for one pipe (fs.pipe-max-size).
const FEED_PIPE_SIZE: libc::c_int = 1024 * 1024;
/// After SIGTERM to the jobs on Ctrl-C, how long before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// A job that has started.
#[derive(Debug)]
struct Running {
    spec: JobSpec,
    slot: usize,
    place: PlaceId,
    pid: u32,
    command: BString,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    /// --pipe, --pipe-part: the block on its way into the job's stdin.
    feeding: Option<Feeding>,
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

/// A block being written into a job's stdin as the pipe takes it, from
/// the poll loop like the job's output is read: a slow job never holds up
/// the others, and the pipe's end closes once the block is through.
#[derive(Debug)]
struct Feeding {
    pipe: ChildStdin,
    block: Block,
    done: u64,
}

impl Feeding {
    /// Writes what the pipe takes now; true once the block is all written
    /// or the job closed its stdin (it does not want the rest).
    fn pump(&mut self) -> bool {
        loop {
            match self.block.write_some(&self.pipe, self.done) {
                Ok(0) => return false,
                Ok(n) => {
                    self.done += n;
                    if self.done >= self.block.len() {
                        return true;
                    }
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }
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
    timeout: Option<Timeout>,
    /// Runtimes of the finished jobs, sorted (--timeout N%).
    runtimes: Vec<Duration>,
    termseq: TermSeq,
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
}

impl Jobs {
    pub fn new(
        timeout: Option<Timeout>,
        termseq: TermSeq,
        capture: bool,
        watchdog: Option<Watchdog>,
        nice: Option<i32>,
        keep_blocks: bool,
    ) -> Jobs {
        Jobs {
            keep_blocks,
            nice,
            running: Vec::new(),
            timeout,
            runtimes: Vec::new(),
            termseq,
            capture,
            watchdog,
            killed_groups: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
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
    ) -> Result<(), NotStarted> {
        if self.capture {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let started = Instant::now();
        let mut child = match proc::spawn_in_new_group(&mut command) {
            Ok(child) => child,
            Err(err) => {
                return Err(NotStarted {
                    spec,
                    command_line,
                    err,
                });
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
        if let Some(pipe) = &stdin {
            // A bigger pipe takes a block in fewer, larger writes (the
            // system's limit may refuse; the default still works).
            // SAFETY: fcntl on a pipe end we own.
            unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, FEED_PIPE_SIZE) };
        }
        for fd in [
            stdout.as_ref().map(AsFd::as_fd),
            stderr.as_ref().map(AsFd::as_fd),
            stdin.as_ref().map(AsFd::as_fd),
        ]
        .into_iter()
        .flatten()
        {
            // Cannot fail on a fresh pipe end of ours; if it did, reads
            // would block the loop, so say so.
            if let Err(err) = set_nonblocking(fd) {
                return Err(NotStarted {
                    spec,
                    command_line,
                    err,
                });
            }
        }
        let feeding = match (stdin, &spec.block) {
            (Some(pipe), Some(block)) => Some(Feeding {
                pipe,
                block: block.clone(),
                done: 0,
            }),
            _ => None,
        };
        if feeding.is_some() && !self.keep_blocks {
            spec.block = None;
        }
        self.running.push(Running {
            spec,
            slot,
            place,
            pid: child.id(),
            command: command_line,
            stdout,
            stderr,
            feeding,
            exit: None,
            exited_at: None,
            started,
            started_wall: SystemTime::now(),
            deadline: self.limit().map(|limit| started + limit),
            timed_out: false,
            term_step: 0,
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
            .filter_map(|j| j.deadline);
        leftovers.chain(timeouts).min()
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
        let mut fds: Vec<BorrowedFd<'_>> = vec![signals.as_fd()];
        fds.extend(wake);
        let base = fds.len();
        let mut owners: Vec<(usize, Stream)> = Vec::new();
        for (i, job) in self.running.iter().enumerate() {
            if let Some(pipe) = &job.stdout {
                fds.push(pipe.as_fd());
                owners.push((i, Stream::Out));
            }
            if let Some(pipe) = &job.stderr {
                fds.push(pipe.as_fd());
                owners.push((i, Stream::Err));
            }
        }
        let reading = fds.len();
        let mut feeders: Vec<usize> = Vec::new();
        for (i, job) in self.running.iter().enumerate() {
            if let Some(feeding) = &job.feeding {
                fds.push(feeding.pipe.as_fd());
                feeders.push(i);
            }
        }
        let mut poll_fds: Vec<PollFd<'_>> = fds
            .iter()
            .enumerate()
            .map(|(k, fd)| {
                let events = if k < reading {
                    PollFlags::POLLIN
                } else {
                    PollFlags::POLLOUT
                };
                PollFd::new(*fd, events)
            })
            .collect();
        match poll(&mut poll_fds, common::ipc::poll_timeout(due)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(err) => return Err(io_failure("waiting for jobs", &err.into())),
        }
        // (job, stream, hung up with nothing left to read)
        let ready: Vec<(usize, Stream, bool)> = owners
            .iter()
            .enumerate()
            .filter_map(|(k, &(i, stream))| {
                // Bits nix does not know: read, and let the read tell.
                let Some(events) = poll_fds[base + k].revents() else {
                    return Some((i, stream, false));
                };
                let closed =
                    events.contains(PollFlags::POLLHUP) && !events.contains(PollFlags::POLLIN);
                (!events.is_empty()).then_some((i, stream, closed))
            })
            .collect();
        // Jobs whose stdin takes more (or whose reader is gone: the write says).
        let writable: Vec<usize> = feeders
            .iter()
            .enumerate()
            .filter(|&(k, _)| {
                poll_fds[reading + k]
                    .revents()
                    .is_none_or(|e| !e.is_empty())
            })
            .map(|(_, &i)| i)
            .collect();
        drop(poll_fds);
        drop(fds);
        for i in writable {
            let job = &mut self.running[i];
            if job.feeding.as_mut().is_some_and(Feeding::pump) {
                // All written (or unwanted): the job sees the end of its input.
                job.feeding = None;
            }
        }
        for (i, stream, closed) in ready {
            let job = &mut self.running[i];
            match (closed, stream) {
                // EOF is certain: close without a read that would return 0.
                (true, Stream::Out) => job.stdout = None,
                (true, Stream::Err) => job.stderr = None,
                (false, _) => job.pump(stream, out)?,
            }
        }
        Ok(())
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
            job.feeding = None;
            job.pump(Stream::Out, out)?;
            job.pump(Stream::Err, out)?;
        }
        Ok(())
    }

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

    /// How long a job may run now: --timeout's duration, or its share of
    /// the median runtime once three jobs have finished.
    fn limit(&self) -> Option<Duration> {
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

    /// A job finished after `runtime`: under --timeout N% the median moves,
    /// and so do the deadlines of the jobs not signalled yet.
    fn ran_for(&mut self, runtime: Duration) {
        if !matches!(self.timeout, Some(Timeout::OfMedian(_))) {
            return;
        }
        let at = self.runtimes.partition_point(|r| *r < runtime);
        self.runtimes.insert(at, runtime);
        let limit = self.limit();
        for job in self
            .running
            .iter_mut()
            .filter(|j| j.term_step == 0 && j.exit.is_none())
        {
            job.deadline = limit.map(|limit| job.started + limit);
        }
    }

    /// --timeout: at the deadline the job's whole group gets the first
    /// signal of --termseq, then each next one after its wait.
    pub fn enforce_timeouts(&mut self) {
        let now = Instant::now();
        let steps = &self.termseq.0;
        for job in self.running.iter_mut().filter(|j| j.exit.is_none()) {
            if job.deadline.is_none_or(|d| d > now) {
                continue;
            }
            job.timed_out = true;
            match steps.get(job.term_step) {
                Some(&(signal, wait)) => {
                    let _ = proc::signal_group_and_continue(job.pid, signal);
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
            job.pump(Stream::Out, out)?;
            job.pump(Stream::Err, out)?;
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
        let finished = job.finished();
        if !finished.record.timed_out {
            self.ran_for(finished.record.runtime);
        }
        Ok(Some(finished))
    }

    /// Ctrl-C, SIGTERM or `--halt now`: TERM to every job's group, KILL
    /// after the grace, until no process of any job is left.
    pub fn stop_all(&mut self, signals: &SignalWatcher, out: &mut Output) {
        for job in &self.running {
            let _ = proc::signal_group_and_continue(job.pid, Signal::TERM);
        }
        let kill_at = Instant::now() + STOP_GRACE;
        let give_up = kill_at + Duration::from_secs(5);
        let mut killed = false;
        loop {
            let _ = self.reap(out);
            self.running
                .retain(|job| job.exit.is_none() || proc::group_exists(job.pid));
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
        self.running.clear();
        proc::reap_exited_children();
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
    /// Reads what one of the job's pipes has now into the sink.
    fn pump(&mut self, stream: Stream, out: &mut Output) -> Result<(), Failure> {
        let slot = self.slot;
        match stream {
            Stream::Out => drain(&mut self.stdout, |bytes| out.data(slot, stream, bytes)),
            Stream::Err => drain(&mut self.stderr, |bytes| out.data(slot, stream, bytes)),
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
                timed_out: self.timed_out,
                started_wall: self.started_wall,
            },
        }
    }
}

fn io_failure(what: &str, err: &io::Error) -> Failure {
    Failure::io(Exit::Error, what, err)
}

/// Makes our read end of a job's pipe non-blocking. One fcntl: a fresh pipe
/// end has no other status flags to keep.
fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Reads what is available now, handing each chunk to `each`; closes the
/// pipe at end of file. Fails only if `each` does (a full disk).
fn drain<R: Read>(
    pipe: &mut Option<R>,
    mut each: impl FnMut(&[u8]) -> Result<(), Failure>,
) -> Result<(), Failure> {
    thread_local! {
        // One read buffer, zeroed once: zeroing 64 KiB per call was 90% of
        // pool-run's own instructions per job (callgrind).
        static CHUNK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 64 * 1024]);
    }
    CHUNK.with(|chunk| {
        let chunk = &mut chunk.borrow_mut();
        let Some(reader) = pipe.as_mut() else {
            return Ok(());
        };
        loop {
            match reader.read(chunk) {
                Ok(0) => {
                    *pipe = None;
                    return Ok(());
                }
                Ok(n) => each(&chunk[..n])?,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(_) => {
                    *pipe = None;
                    return Ok(());
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_hands_over_everything_then_closes_at_end_of_file() {
        let mut pipe = Some(io::Cursor::new(b"hello world".to_vec()));
        let mut got = Vec::new();
        drain(&mut pipe, |bytes| {
            got.extend_from_slice(bytes);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, b"hello world");
        assert!(pipe.is_none(), "end of file closes the pipe");
    }

    #[test]
    fn a_failing_sink_stops_the_drain() {
        let mut pipe = Some(io::Cursor::new(b"x".to_vec()));
        let err = drain(&mut pipe, |_| Err(Failure::new(255u8, "disk full"))).unwrap_err();
        assert_eq!(err.message, "disk full");
    }
}
