//! One run of the command: spawn it, then wait in a single loop for whichever
//! comes first of its exit, a signal to forward, or the timeout deadline.
//!
//! Everything arrives through one `SignalWatcher` (SIGCHLD included), so there
//! are no handlers, threads or busy polling: the loop sleeps in poll(2) until
//! the kernel has news or the next deadline is due.

use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

use common::cli::Failure;
use common::exit::ChildExit;
use common::proc::{self, ChildState, Rusage};
use common::signal::{Received, Signal, SignalWatcher};

use crate::cli::Config;
use crate::exit::Exit;
use common::terminal::Terminal;

/// Signals subproc passes on to the command.
pub const FORWARDED: [Signal; 6] = [
    Signal::INT,
    Signal::TERM,
    Signal::HUP,
    Signal::QUIT,
    Signal::USR1,
    Signal::USR2,
];

/// Forwarded signals that mean "stop": after them, leftovers of the command's
/// group are cleaned up, and no further attempt is started.
pub fn is_terminating(signal: Signal) -> bool {
    [Signal::INT, Signal::TERM, Signal::HUP, Signal::QUIT].contains(&signal)
}

/// How long to wait between checks that leftover group members are gone:
/// they may not be our children, so no SIGCHLD tells us.
const LEFTOVER_CHECK: Duration = Duration::from_millis(5);

/// After SIGKILL to leftovers, how long to wait for them before giving up
/// (a process in uninterruptible sleep cannot die sooner).
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How one attempt ended.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub exit: ChildExit,
    pub rusage: Rusage,
    pub wall: Duration,
    /// Set when the timeout fired.
    pub timeout: Option<TimeoutFired>,
    /// A terminating signal subproc received and forwarded.
    pub stopped_by: Option<Signal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutFired {
    pub after: Duration,
    pub signal: Signal,
    /// SIGKILL went out after --kill-after (or was the timeout signal).
    pub killed: bool,
}

impl Attempt {
    /// The code subproc exits with for this attempt.
    pub fn exit(&self, preserve_status: bool) -> Exit {
        match self.timeout {
            Some(fired) if !preserve_status && fired.killed => Exit::TimedOutKilled,
            Some(_) if !preserve_status => Exit::TimedOut,
            _ => Exit::Child(self.exit.code()),
        }
    }
}

/// Where signals go: the command's own group, or (with --foreground) the
/// command alone, since its group is ours.
#[derive(Debug, Clone, Copy)]
struct Target {
    pid: u32,
    whole_group: bool,
}

impl Target {
    fn send(self, signal: Signal) -> io::Result<()> {
        self.deliver(signal, false)
    }

    /// Sends `signal`, then SIGCONT so a stopped command acts on it.
    fn send_and_continue(self, signal: Signal) -> io::Result<()> {
        self.deliver(signal, true)
    }

    fn deliver(self, signal: Signal, and_continue: bool) -> io::Result<()> {
        let send = match (self.whole_group, and_continue) {
            (true, false) => proc::signal_group,
            (false, false) => proc::signal_process,
            (true, true) => proc::signal_group_and_continue,
            (false, true) => proc::signal_process_and_continue,
        };
        send(self.pid, signal).map(drop)
    }
}

/// What the loop waits for besides the child and signals.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    None,
    Timeout(Instant),
    KillAfter(Instant),
}

impl Deadline {
    fn at(self) -> Option<Instant> {
        match self {
            Deadline::None => None,
            Deadline::Timeout(at) | Deadline::KillAfter(at) => Some(at),
        }
    }
}

/// Why the command could not be started: the exit code and the reason.
pub fn spawn_failure(program: &std::ffi::OsStr, err: &io::Error) -> Failure {
    let (code, why) = proc::spawn_error(&program.to_string_lossy(), err);
    Failure::new(code, why)
}

fn wait_failed(err: &io::Error) -> Failure {
    Failure::new(
        Exit::Failed,
        format!("waiting for the command failed ({err})"),
    )
}

/// Runs the command once. `terminal` is the terminal to hand to the command's
/// group while it runs, when subproc is in the terminal's foreground.
pub fn run_attempt(
    cfg: &Config,
    signals: &SignalWatcher,
    terminal: Option<&Terminal>,
) -> Result<Attempt, Failure> {
    let started = Instant::now();
    let mut command = Command::new(&cfg.program);
    command.args(&cfg.args);
    let spawned = if cfg.foreground {
        command.spawn()
    } else {
        proc::spawn_in_new_group(&mut command)
    };
    let child = spawned.map_err(|err| spawn_failure(&cfg.program, &err))?;
    let target = Target {
        pid: child.id(),
        whole_group: !cfg.foreground,
    };
    // subproc reaps the child itself with wait4 (std's Child cannot give the
    // resource usage); dropping the handle neither waits nor kills.
    drop(child);
    let terminal = terminal.filter(|_| target.whole_group);
    if let Some(terminal) = terminal {
        // If this fails the command still runs; it just cannot read the
        // terminal (a SIGTTIN stop, handled below).
        let _ = terminal.give_to(target.pid);
    }

    let mut deadline = match cfg.timeout {
        Some(limit) => Deadline::Timeout(started + limit),
        None => Deadline::None,
    };
    let mut timeout: Option<TimeoutFired> = None;
    let mut stopped_by = None;
    let (exit, rusage) = loop {
        match proc::poll_child(target.pid).map_err(|e| wait_failed(&e))? {
            ChildState::Exited(exit, rusage) => break (exit, rusage),
            ChildState::Stopped(signal) => job_control(target, terminal, signal),
            ChildState::Running => {}
        }
        let now = Instant::now();
        if let Some(at) = deadline.at().filter(|at| *at <= now) {
            deadline = fire(cfg, target, deadline, at, &mut timeout, started)
                .map_err(|e| Failure::new(Exit::Failed, format!("signalling the command ({e})")))?;
            continue;
        }
        let received = signals
            .wait(deadline.at().map(|at| at - now))
            .map_err(|e| Failure::new(Exit::Failed, format!("waiting for signals ({e})")))?;
        if let Some(received) = received
            && let Some(signal) = forward(cfg, target, received)
        {
            stopped_by = Some(signal);
        }
    };
    let wall = started.elapsed();
    if let Some(terminal) = terminal {
        let _ = terminal.take_back();
    }

    // Ctrl-C or Ctrl-\ typed while the command held the terminal went to
    // its group alone: subproc never saw the signal. The command died of
    // it: its group is cleared as for any terminating signal (what ignored
    // SIGINT, like a `&` job of sh, gets TERM), --keep-leftovers or not.
    let interrupted_at_terminal = terminal.is_some()
        && matches!(exit, ChildExit::Signaled { signal, .. }
            if signal == Signal::INT.number() || signal == Signal::QUIT.number());
    if target.whole_group && interrupted_at_terminal && proc::group_exists(target.pid) {
        let _ = proc::signal_group_and_continue(target.pid, Signal::TERM);
        clear_group(target.pid, cfg.group_grace(), signals);
    } else if target.whole_group && (timeout.is_some() || stopped_by.is_some()) {
        clear_group(target.pid, cfg.group_grace(), signals);
    } else if target.whole_group && !cfg.keep_leftovers && proc::group_exists(target.pid) {
        // The command is done but a background process of its group lives
        // on (and may hold a pipe the pipeline waits on): TERM, then KILL
        // after the grace, as after a timeout.
        let _ = proc::signal_group_and_continue(target.pid, Signal::TERM);
        clear_group(target.pid, cfg.group_grace(), signals);
    }
    // Orphans the command left behind became ours (we are a subreaper);
    // collect those that have already ended so none stays a zombie.
    proc::reap_exited_children();
    Ok(Attempt {
        exit,
        rusage,
        wall,
        timeout,
        stopped_by,
    })
}

/// The deadline came: send the timeout signal, or SIGKILL after --kill-after.
/// Returns the next deadline.
fn fire(
    cfg: &Config,
    target: Target,
    deadline: Deadline,
    due: Instant,
    timeout: &mut Option<TimeoutFired>,
    started: Instant,
) -> io::Result<Deadline> {
    match deadline {
        Deadline::Timeout(_) => {
            let signal = cfg.timeout_signal;
            // A stopped command cannot act on the signal until continued
            // (coreutils does the same).
            target.send_and_continue(signal)?;
            let killed = signal == Signal::KILL;
            *timeout = Some(TimeoutFired {
                after: due - started,
                signal,
                killed,
            });
            Ok(match cfg.kill_after {
                Some(grace) if !killed => Deadline::KillAfter(due + grace),
                _ => Deadline::None,
            })
        }
        Deadline::KillAfter(_) => {
            target.send(Signal::KILL)?;
            if let Some(fired) = timeout {
                fired.killed = true;
            }
            Ok(Deadline::None)
        }
        Deadline::None => Ok(Deadline::None),
    }
}

/// The command stopped while it has the terminal. Reading the terminal too
/// early (before the hand-over) stops it with SIGTTIN/SIGTTOU: hand over and
/// continue it. Ctrl-Z or SIGSTOP: stop subproc too, so the shell sees the
/// job stopped, and continue the command when the shell continues us (`fg`).
/// Without a terminal a stop is somebody else's business: keep waiting.
fn job_control(target: Target, terminal: Option<&Terminal>, signal: Signal) {
    let Some(terminal) = terminal else {
        return;
    };
    if signal != Signal::TTIN && signal != Signal::TTOU {
        let _ = terminal.take_back();
        let _ = proc::stop_self();
    }
    if terminal.give_to(target.pid).is_ok() {
        let _ = target.send(Signal::CONT);
    }
}

/// Passes a received signal on to the command. Returns it when it is a
/// terminating one.
fn forward(cfg: &Config, target: Target, received: Received) -> Option<Signal> {
    let signal = received.signal;
    if signal == Signal::CHLD {
        return None;
    }
    // With --foreground the command shares our terminal and our group: the
    // terminal already sent it the same Ctrl-C or Ctrl-\.
    let came_from_terminal = received.from_kernel && cfg.foreground;
    let terminating = is_terminating(signal);
    if !came_from_terminal {
        // The command may have just exited: then there is nobody to tell.
        // A stopped command would not act on a terminating signal until
        // continued.
        let _ = if terminating {
            target.send_and_continue(signal)
        } else {
            target.send(signal)
        };
    }
    terminating.then_some(signal)
}

/// After a timeout or a terminating signal the command has exited, but
/// members of its group may live on (a background job that ignores SIGTERM).
/// Give them `grace`, then SIGKILL, and reap those that became ours.
fn clear_group(pgid: u32, grace: Duration, signals: &SignalWatcher) {
    let mut kill_at = Instant::now() + grace;
    let mut give_up_at = None;
    loop {
        proc::reap_exited_children();
        if !proc::group_exists(pgid) {
            return;
        }
        let now = Instant::now();
        if give_up_at.is_some_and(|at| now >= at) {
            return;
        }
        if give_up_at.is_none() && now >= kill_at {
            let _ = proc::signal_group(pgid, Signal::KILL);
            give_up_at = Some(now + KILL_WAIT);
            kill_at = now;
        }
        // Woken early by SIGCHLD when an adopted orphan dies; other signals
        // arriving now are dropped: subproc is already stopping.
        let _ = signals.wait(Some(LEFTOVER_CHECK));
    }
}
